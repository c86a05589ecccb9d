//! Hand-derived BPTT against Burn's autodiff, on every backend.

use super::*;
use crate::layout::time_major;
use crate::testing::{assert_close, fit_plain, sines, to_vec};
use crate::{GradientPath, OptimizerKind, Start, TrainConfig};
use elman_model::{ElmanConfig, ElmanState, ElmanWeights};

/// The weight gradients' product cut into blocks equals the one product, for block counts
/// that divide the rows, that do not, and that exceed them.
#[test]
fn summed_products_is_one_product() {
    let device = Device::flex();
    let values = |n: usize, k: f32| -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 * k).sin() * 3.0).fract())
            .collect()
    };
    let (rows, m, n) = (24, 5, 3);
    let a = Tensor::<2>::from_data(TensorData::new(values(rows * m, 0.7), [rows, m]), &device);
    let b = Tensor::<2>::from_data(TensorData::new(values(rows * n, 1.3), [rows, n]), &device);
    let whole = to_vec(a.clone().transpose().matmul(b.clone()));
    for blocks in [1, 2, 5, 6, 24, 100] {
        let blocked = to_vec(summed_products(a.clone(), b.clone(), blocks));
        for (x, y) in blocked.iter().zip(&whole) {
            assert!((x - y).abs() < 1e-5, "{blocks} blocks: {x} vs {y}");
        }
    }
}

/// Hand-derived BPTT over a window equals Burn's autodiff: the loss, both gradients and the
/// last context, from a non-zero context, for both losses, on Flex (with the tanh kernel),
/// on ndarray (Burn's tanh) and on wgpu (Mesa's lavapipe here).
#[test]
fn hand_bptt_matches_autodiff() {
    let config = ElmanConfig {
        d_input: 2,
        d_hidden: 5,
        d_output: 3,
        ..ElmanConfig::default()
    };
    let weights = ElmanWeights::init(&config, 8);
    let (batch, steps) = (4, 6);
    let values = |n: usize, seed: f32| -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
    };
    let inputs = values(batch * steps * 2, 0.0);
    let targets = values(batch * steps * 3, 5.0);
    let h0 = values(batch * 5, 9.0);
    #[allow(deprecated)] // the deprecated backend, as a device without the kernels
    let devices = [
        Device::flex(),
        Device::ndarray(),
        Device::wgpu(burn::prelude::DeviceKind::DefaultDevice),
    ];
    for device in devices {
        let x = Tensor::<3>::from_data(TensorData::new(inputs.clone(), [batch, steps, 2]), &device);
        let y =
            Tensor::<3>::from_data(TensorData::new(targets.clone(), [batch, steps, 3]), &device);
        let h = Tensor::<2>::from_data(TensorData::new(h0.clone(), [batch, 5]), &device);
        for loss in [LossKind::HalfSumSquares, LossKind::Mse] {
            let plain = weights.to_module(&device);
            let window = window(
                [&plain.w1.val(), &plain.w2.val()],
                x.clone().swap_dims(0, 1).reshape([steps * batch, 2]),
                y.clone().swap_dims(0, 1).reshape([steps * batch, 3]),
                h.clone(),
                loss,
                true,
            );

            let ad = device.clone().autodiff();
            let model = weights.to_module(&ad);
            let (out, last) =
                model.forward_steps(x.clone().autodiff(), ElmanState::of(h.clone().autodiff()));
            let squares = (out - y.clone().autodiff()).square().sum();
            let value = match loss {
                LossKind::HalfSumSquares => squares.div_scalar(2.0),
                LossKind::Mse => squares.div_scalar((batch * steps * 3) as f64),
            };
            let grads = value.clone().backward();
            let [g1, g2] = window.grads;
            let pairs = [
                (to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
                (to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
                (to_vec(window.last), to_vec(last.context.inner())),
                (
                    to_vec(window.loss.sum().unsqueeze()),
                    to_vec(value.inner().unsqueeze()),
                ),
            ];
            for (hand, autodiff) in pairs {
                assert_close(&hand, &autodiff, &format!("{loss:?} on {device:?}"));
                assert!(autodiff.iter().any(|a| a.abs() > 1e-3));
            }
        }
    }
}

/// The GPU kernels' window (on wgpu, lavapipe here) equals autodiff's on Flex for batch
/// sizes, window lengths and hidden sizes that are and are not multiples of a workgroup's
/// width: the loss (the MSE, and the tutorial's halved sum of squares), both gradients and the
/// last context.
#[test]
fn gpu_windows_match_autodiff_for_many_shapes() {
    let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
    let cpu = Device::flex().autodiff();
    for (batch, steps, d_hidden, d_input, d_output, loss) in [
        (1, 1, 1, 1, 1, LossKind::Mse),
        (3, 4, 6, 1, 1, LossKind::Mse),
        (3, 4, 6, 1, 1, LossKind::HalfSumSquares),
        (5, 7, 33, 2, 3, LossKind::Mse),
        (5, 7, 33, 2, 3, LossKind::HalfSumSquares),
        (4, 3, 64, 1, 1, LossKind::Mse),
        (2, 40, 64, 1, 1, LossKind::Mse),
        (2, 2, 256, 1, 2, LossKind::Mse),
    ] {
        // (On lavapipe the widest shape takes the tensor operations.)
        assert!(d_hidden > 64 || kernel::recurrence_available(&gpu, d_hidden));
        let config = ElmanConfig {
            d_input,
            d_hidden,
            d_output,
            w1_std: 0.5 / (d_hidden as f64).sqrt(),
            w2_std: 0.3,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 3);
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
        };
        let (inputs, targets) = (
            values(batch * steps * d_input, 0.0),
            values(batch * steps * d_output, 5.0),
        );
        let h0 = values(batch * d_hidden, 9.0);
        let data = |values: &[f32], d: usize, device: &Device| {
            Tensor::<3>::from_data(TensorData::new(values.to_vec(), [batch, steps, d]), device)
        };
        let plain = weights.to_module(&gpu);
        let window = window(
            [&plain.w1.val(), &plain.w2.val()],
            time_major(data(&inputs, d_input, &gpu)),
            time_major(data(&targets, d_output, &gpu)),
            Tensor::from_data(TensorData::new(h0.clone(), [batch, d_hidden]), &gpu),
            loss,
            true,
        );
        let model = weights.to_module(&cpu);
        let (out, last) = model.forward_steps(
            data(&inputs, d_input, &cpu),
            ElmanState::of(Tensor::from_data(
                TensorData::new(h0, [batch, d_hidden]),
                &cpu,
            )),
        );
        let squares = (out - data(&targets, d_output, &cpu)).square().sum();
        let value = match loss {
            LossKind::Mse => squares.div_scalar((batch * steps * d_output) as f64),
            LossKind::HalfSumSquares => squares.div_scalar(2.0),
        };
        let grads = value.clone().backward();
        let [g1, g2] = window.grads;
        let shape = format!("batch {batch}, {steps} steps, hidden {d_hidden}, {loss:?}");
        for (what, gpu, autodiff) in [
            ("dW1", to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
            ("dW2", to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
            ("h_T", to_vec(window.last), to_vec(last.context.inner())),
            (
                "loss",
                to_vec(window.loss.sum().unsqueeze()),
                to_vec(value.inner().unsqueeze()),
            ),
        ] {
            assert_eq!(gpu.len(), autodiff.len(), "{what} of {shape}");
            let scale = autodiff.iter().fold(1e-3f32, |m, a| m.max(a.abs()));
            for (g, a) in gpu.iter().zip(&autodiff) {
                assert!(
                    (g - a).abs() <= 1e-4 * scale,
                    "{what} of {shape}: {g} vs {a}"
                );
            }
        }
    }
}

/// Mini-batches with truncated windows, Adam and clipping: the hand-derived path and
/// autodiff give the same losses, and the reports say which path ran.
#[test]
fn hand_bptt_and_autodiff_runs_agree() {
    let waves = sines(10, 12, 6);
    let weights = ElmanWeights::init(
        &ElmanConfig {
            d_hidden: 8,
            w1_std: 0.3,
            w2_std: 0.3,
            ..ElmanConfig::default()
        },
        2,
    );
    let hand = TrainConfig {
        n_epochs: 4,
        lr: 0.01,
        batch_size: 4,
        bptt: 5,
        optimizer: OptimizerKind::Adam,
        loss: LossKind::Mse,
        grad_clip: Some(0.5),
        shuffle_seed: Some(1),
        fused: true,
        ..TrainConfig::default()
    };
    let autodiff = TrainConfig {
        fused: false,
        ..hand
    };
    assert_eq!(hand.gradient_path(), GradientPath::HandBptt);
    for device in [Device::flex(), Device::flex().autodiff()] {
        let run = |config: &TrainConfig| {
            fit_plain(Start::Fresh(weights.clone()), &waves, config, &device)
        };
        let (a, b) = (run(&hand), run(&autodiff));
        assert_eq!(
            (a.path, b.path),
            (GradientPath::HandBptt, GradientPath::Autodiff)
        );
        assert!(a.losses[3] < a.losses[0], "{:?}", a.losses);
        for (x, y) in a.losses.iter().zip(&b.losses) {
            assert!((x - y).abs() <= 1e-5 * y, "hand {x} vs autodiff {y}");
        }
    }
}

/// With biases (a constant 1 after the inputs, a row of each matrix), hand-derived BPTT over a
/// window equals Burn's autodiff through the cell's tensor operations: the loss and both
/// gradients, on Flex (per step) and on wgpu (the GPU kernels' window), at hidden 5 and 33.
#[test]
fn hand_bptt_with_biases_matches_autodiff() {
    let (batch, steps) = (3, 4);
    for device in [
        Device::flex(),
        Device::wgpu(burn::prelude::DeviceKind::DefaultDevice),
    ] {
        for d_hidden in [5, 33] {
            let config = ElmanConfig {
                d_input: 2,
                d_hidden,
                d_output: 2,
                w1_std: 0.4,
                w2_std: 0.4,
                bias: true,
                ..ElmanConfig::default()
            };
            let weights = ElmanWeights::init(&config, 9);
            let values = |n: usize, k: f32| -> Vec<f32> {
                (0..n).map(|i| ((i as f32 + k) * 0.53).sin()).collect()
            };
            let x = Tensor::<3>::from_data(
                TensorData::new(values(batch * steps * 2, 1.0), [batch, steps, 2]),
                &device,
            );
            let y = Tensor::<3>::from_data(
                TensorData::new(values(batch * steps * 2, 4.0), [batch, steps, 2]),
                &device,
            );
            let h = Tensor::<2>::from_data(
                TensorData::new(values(batch * d_hidden, 8.0), [batch, d_hidden]),
                &device,
            );
            let plain = weights.to_module(&device);
            let rows = steps * batch;
            let with_ones = Tensor::cat(
                vec![time_major(x.clone()), Tensor::<2>::ones([rows, 1], &device)],
                1,
            );
            let window = window(
                [&plain.w1.val(), &plain.w2.val()],
                with_ones,
                time_major(y.clone()),
                h.clone(),
                LossKind::Mse,
                true,
            );
            let ad = device.clone().autodiff();
            let model = weights.to_module(&ad);
            let (out, _) =
                model.forward_steps(x.clone().autodiff(), ElmanState::of(h.clone().autodiff()));
            let value = (out - y.clone().autodiff())
                .square()
                .sum()
                .div_scalar((rows * 2) as f64);
            let grads = value.clone().backward();
            let [g1, g2] = window.grads;
            for (hand, autodiff) in [
                (to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
                (to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
                (
                    to_vec(window.loss.sum().unsqueeze()),
                    to_vec(value.inner().unsqueeze()),
                ),
            ] {
                assert_close(
                    &hand,
                    &autodiff,
                    &format!("hidden {d_hidden} on {device:?}"),
                );
            }
        }
    }
}

/// A batch split between two threads (on Flex, parts of at least `MIN_PART` sequences) trains
/// as the whole batch on one: the same losses and weights after an epoch, within float error
/// (the parts' gradients are summed in another order), with and without biases, both losses;
/// and it is split: two parts at 64 sequences, one at 63.
#[test]
fn a_batch_split_between_threads_trains_as_one() {
    let device = Device::flex();
    let on = |threads: usize, f: &(dyn Fn() -> usize + Sync)| -> usize {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    };
    assert_eq!(on(2, &|| parts_for(64, &device)), 2);
    assert_eq!(on(2, &|| parts_for(63, &device)), 1);
    assert_eq!(on(1, &|| parts_for(256, &device)), 1);
    assert_eq!(on(2, &|| parts_for(256, &device.clone().autodiff())), 1);

    let data = sines(64, 12, 4);
    for bias in [false, true] {
        let model = ElmanConfig {
            d_hidden: 8,
            bias,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&model, 2);
        for loss in [LossKind::HalfSumSquares, LossKind::Mse] {
            let config = crate::TrainConfig {
                batch_size: 64,
                bptt: 5,
                optimizer: OptimizerKind::Adam,
                lr: 0.01,
                loss,
                ..crate::TrainConfig::default()
            };
            let run = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        let module = weights.to_module(&device);
                        let mut optim = crate::optim::Optimizer::new(&config);
                        let order: Vec<usize> = (0..data.len()).collect();
                        let ([w1, w2], losses) = epoch(
                            [module.w1.val(), module.w2.val()],
                            &mut optim,
                            &order,
                            &data,
                            &config,
                            &device,
                        );
                        (to_vec(w1), to_vec(w2), losses)
                    })
            };
            let (one, two) = (run(1), run(2));
            let what = format!("bias {bias} {loss:?}");
            assert_close(&two.0, &one.0, &format!("W1, {what}"));
            assert_close(&two.1, &one.1, &format!("W2, {what}"));
            assert_close(&two.2, &one.2, &format!("losses, {what}"));
            assert_eq!(one.2.len(), 3, "{what}");
        }
    }
}
