//! Helpers the tests of several files share.

use burn::prelude::*;
use elman_data::SequenceDataset;

/// [`fit`](crate::fit) from `start` on `data` with no validation set and no callback, where
/// it must succeed.
pub(crate) fn fit_plain(
    start: crate::Start,
    data: &SequenceDataset,
    config: &crate::TrainConfig,
    device: &Device,
) -> crate::TrainReport {
    crate::fit(start, data, None, config, device, |_, _| {}).unwrap()
}

pub(crate) fn sines(n_series: usize, seq_len: usize, seed: u64) -> SequenceDataset {
    elman_data::SineWaves {
        n_series,
        seq_len,
        seed,
        ..elman_data::SineWaves::default()
    }
    .generate()
}

pub(crate) fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Hand-derived values equal autodiff's, each within 1e-5 of its size (at least 1); `what`
/// names the case in a failure.
pub(crate) fn assert_close(hand: &[f32], autodiff: &[f32], what: &str) {
    assert_eq!(hand.len(), autodiff.len(), "{what}");
    for (h, a) in hand.iter().zip(autodiff) {
        assert!(
            (h - a).abs() <= 1e-5 * a.abs().max(1.0),
            "{what}: {h} vs {a}"
        );
    }
}

/// `n_epochs` of Adam over batches of 6 sequences in windows of 4 steps, shuffled with seed
/// 11: the settings of the small runs on `sines(24, 8, 6)` of several test files.
pub(crate) fn small_adam_run(n_epochs: usize) -> crate::TrainConfig {
    crate::TrainConfig {
        n_epochs,
        lr: 0.01,
        batch_size: 6,
        bptt: 4,
        optimizer: crate::OptimizerKind::Adam,
        loss: crate::LossKind::Mse,
        grad_clip: None,
        shuffle_seed: Some(11),
        fused: true,
        ..crate::TrainConfig::default()
    }
}
