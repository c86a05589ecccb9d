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

/// What a gated cell's hand-derived window gives: the window, and an LSTM's last memory.
pub(crate) type GatedWindow = (crate::bptt::Window, Option<Tensor<2>>);

/// A gated cell's hand-derived window (`hand`, given the plain weights `[W1, W2]`, time-major
/// inputs with the bias's 1 and targets, the start context and memory, `bias` and the loss)
/// equals Burn's autodiff over a window of 5 steps of 3 sequences from a non-zero state, with
/// and without biases, for both losses: the loss, both gradients, the last context and (for
/// the LSTM) the last memory.
pub(crate) fn assert_gated_window_matches_autodiff(
    cell: elman_model::Cell,
    hand: impl Fn(
        [Tensor<2>; 2],
        Tensor<2>,
        Tensor<2>,
        [Tensor<2>; 2],
        bool,
        crate::LossKind,
    ) -> GatedWindow,
) {
    use crate::LossKind;
    use elman_model::{ElmanConfig, ElmanState, ElmanWeights};
    let (batch, steps, d_input, d_hidden, d_output) = (3, 5, 2, 4, 2);
    let values = |n: usize, seed: f32| -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
    };
    let inputs = values(batch * steps * d_input, 0.0);
    let targets = values(batch * steps * d_output, 5.0);
    let (h0, c0) = (values(batch * d_hidden, 9.0), values(batch * d_hidden, 2.0));
    let device = Device::flex();
    let tensor3 = |v: &[f32], d: usize| {
        Tensor::<3>::from_data(TensorData::new(v.to_vec(), [batch, steps, d]), &device)
    };
    let state =
        |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [batch, d_hidden]), &device);
    let (x, y) = (tensor3(&inputs, d_input), tensor3(&targets, d_output));
    for bias in [false, true] {
        let config = ElmanConfig {
            d_input,
            d_hidden,
            d_output,
            cell,
            bias,
            w1_std: 0.5,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 4);
        // The hand path takes the bias's constant among its inputs, time-major.
        let rows = steps * batch;
        let x_major = x.clone().swap_dims(0, 1).reshape([rows, d_input]);
        let x_major = if bias {
            Tensor::cat(vec![x_major, Tensor::ones([rows, 1], &device)], 1)
        } else {
            x_major
        };
        let y_major = y.clone().swap_dims(0, 1).reshape([rows, d_output]);
        for loss in [LossKind::HalfSumSquares, LossKind::Mse] {
            let plain = weights.to_module(&device);
            let (window, memory) = hand(
                [plain.w1.val(), plain.w2.val()],
                x_major.clone(),
                y_major.clone(),
                [state(&h0), state(&c0)],
                bias,
                loss,
            );

            let ad = device.clone().autodiff();
            let model = weights.to_module(&ad);
            let start = ElmanState {
                context: state(&h0).autodiff(),
                memory: memory.as_ref().map(|_| state(&c0).autodiff()),
            };
            let (out, last) = model.forward_steps(x.clone().autodiff(), start);
            let squares = (out - y.clone().autodiff()).square().sum();
            let value = match loss {
                LossKind::HalfSumSquares => squares.div_scalar(2.0),
                LossKind::Mse => squares.div_scalar((rows * d_output) as f64),
            };
            let grads = value.clone().backward();
            let [g1, g2] = window.grads;
            let what = format!("{cell:?}, bias {bias}, {loss:?}");
            let mut pairs = vec![
                (to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
                (to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
                (to_vec(window.last), to_vec(last.context.inner())),
                (
                    to_vec(window.loss.unsqueeze()),
                    to_vec(value.inner().unsqueeze()),
                ),
            ];
            if let Some(memory) = memory {
                pairs.push((to_vec(memory), to_vec(last.memory.unwrap().inner())));
            }
            for (hand, autodiff) in pairs {
                assert_close(&hand, &autodiff, &what);
                assert!(autodiff.iter().any(|a| a.abs() > 1e-3), "{what}");
            }
        }
    }
}
