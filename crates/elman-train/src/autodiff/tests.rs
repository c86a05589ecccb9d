//! The gated cells through the layer's window: the runs of autodiff over the steps, and resume.

use burn::prelude::*;
use elman_model::{ElmanConfig, ElmanWeights};

use crate::testing::{fit_plain, sines, small_adam_run};
use crate::{Start, TrainConfig, fit};

/// The gated cells train through the layer (one operation per window, its backward pass by
/// hand) as through Burn's autodiff over the steps: the same losses within float error, with
/// and without biases, and the report names the path.
#[test]
fn gated_cells_train_through_the_layer_as_through_the_steps() {
    let waves = sines(12, 10, 6);
    for cell in [elman_model::Cell::Lstm, elman_model::Cell::Gru] {
        for bias in [false, true] {
            let model = ElmanConfig {
                cell,
                bias,
                d_hidden: 7,
                w1_std: 0.3,
                w2_std: 0.3,
                ..ElmanConfig::default()
            };
            let weights = ElmanWeights::init(&model, 4);
            let layer = TrainConfig {
                grad_clip: Some(0.5),
                ..small_adam_run(3)
            };
            let steps = TrainConfig {
                fused: false,
                ..layer
            };
            let device = Device::flex();
            let run = |config: &TrainConfig| {
                fit_plain(Start::Fresh(weights.clone()), &waves, config, &device)
            };
            let (a, b) = (run(&layer), run(&steps));
            assert_eq!(
                (a.path, b.path),
                (crate::GradientPath::Layer, crate::GradientPath::Autodiff)
            );
            assert!(a.losses[2] < a.losses[0], "{cell:?} {bias}: {:?}", a.losses);
            for (x, y) in a.losses.iter().zip(&b.losses) {
                assert!(
                    (x - y).abs() <= 1e-5 * y,
                    "{cell:?} {bias}: layer {x} vs steps {y}"
                );
            }
        }
    }
}

/// A gated cell's run through the layer, stopped after two epochs and resumed from the
/// snapshot, ends with the uninterrupted run's losses and weights, bit for bit.
#[test]
fn a_gated_run_through_the_layer_resumes_exactly() {
    let (train_set, valid) = sines(24, 8, 6).split(0.25);
    let model = ElmanConfig {
        cell: elman_model::Cell::Gru,
        bias: true,
        d_hidden: 5,
        ..ElmanConfig::default()
    };
    let weights = ElmanWeights::init(&model, 6);
    let config = small_adam_run(4);
    let device = Device::flex();
    let mut saved = None;
    let whole = fit(
        Start::Fresh(weights),
        &train_set,
        Some(&valid),
        &config,
        &device,
        |r, snap| {
            if r.epoch == 1 {
                saved = Some(snap.state());
            }
        },
    )
    .unwrap();
    assert_eq!(whole.path, crate::GradientPath::Layer);
    let resumed = fit(
        Start::Resume(saved.unwrap()),
        &train_set,
        Some(&valid),
        &config,
        &device,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(resumed.losses, whole.losses);
    assert_eq!(resumed.valid_losses, whole.valid_losses);
    assert_eq!(
        ElmanWeights::from_module(&resumed.model),
        ElmanWeights::from_module(&whole.model)
    );
}
