//! Backpropagation through time by hand, for any batch size and window: the gradients of a
//! window's loss written down instead of recorded by autodiff.
//!
//! With `W1` split at the input layer's border into `W1x` (the input rows) and `W1h` (the
//! context rows), `xh · W1 = x · W1x + h · W1h` is the concatenation without building it. For a
//! window of `T` steps of a batch of `B` sequences, time-major (step `t` is rows `tB..(t+1)B`):
//!
//! ```text
//! forward    h_t  = tanh(x_t · W1x + h_{t-1} · W1h)     # [B, d_hidden], t = 1 … T
//! backward   r_t  = h_t · W2 - target_t                 # from t = T down to 1
//!            dy_t = s · r_t                             # s = 1 (halved sum of squares) or 2 / (T·B·d_output)
//!            g_t  = dy_t · W2ᵀ + da_{t+1} · W1hᵀ        # dL/dh_t: through its output and the next step (da_{T+1} = 0)
//!            da_t = g_t ⊙ (1 - h_t²)
//!            dW2 += h_tᵀ · dy_t,   dW1x += x_tᵀ · da_t,   dW1h += h_{t-1}ᵀ · da_t
//! ```
//!
//! The context `h_0` enters the window detached, as in the autodiff path. The weight gradients
//! are summed step by step as the backward loop goes. The tests below check them against Burn's
//! autodiff.

use burn::prelude::*;
use elman_data::{SequenceBatcher, SequenceDataset};
use elman_model::kernel;

use crate::LossKind;
use crate::optim::Optimizer;

/// `W1` split at the input layer's border: `(W1x, W1h)`.
pub(crate) fn split(w1: &Tensor<2>, d_input: usize) -> (Tensor<2>, Tensor<2>) {
    (
        w1.clone().slice(s![0..d_input, ..]),
        w1.clone().slice(s![d_input.., ..]),
    )
}

/// What one window gives: its loss (still on the device), the gradients and the last context.
pub(crate) struct Window {
    /// The window's loss, `[1]`.
    pub loss: Tensor<1>,
    /// `[dL/dW1, dL/dW2]`.
    pub grads: [Tensor<2>; 2],
    /// `h_T`, the context the next window starts from.
    pub last: Tensor<2>,
}

/// The loss of one window of time-major inputs `x` (`[T·batch, d_input]`) and targets
/// (`[T·batch, d_output]`) from the context `h0`, and its gradients; through the GPU kernels
/// where `kernels` allows and they apply ([`window_in_kernels`]).
///
/// Every tensor is one step's (`[batch, …]`) or a weight's: a window's worth of activations in
/// one tensor would cost a fresh allocation of megabytes per window, and the page faults
/// that come with it, for no fewer floating-point operations.
pub(crate) fn window(
    [w1, w2]: [&Tensor<2>; 2],
    x: Tensor<2>,
    targets: Tensor<2>,
    h0: Tensor<2>,
    loss: LossKind,
    kernels: bool,
) -> Window {
    let [batch, d_hidden] = h0.dims();
    if kernels && kernel::recurrence_available(&h0.device(), d_hidden) {
        return window_in_kernels([w1, w2], x, targets, h0, loss);
    }
    let d_input = w1.dims()[0] - d_hidden;
    let [rows, d_output] = targets.dims();
    let steps = rows / batch;
    let (w1x, w1h) = split(w1, d_input);
    let step_rows = |t: usize| s![t * batch..(t + 1) * batch, ..];

    // Forward: h_t = tanh(x_t · W1x + h_{t-1} · W1h), the concatenation split in two products.
    // The contexts keep h_0 in front.
    let mut h = vec![h0];
    for t in 0..steps {
        let input = x.clone().slice(step_rows(t)).matmul(w1x.clone());
        let previous = h.last().expect("h_0").clone();
        h.push(kernel::tanh(previous.matmul(w1h.clone()) + input));
    }
    let last = h[steps].clone();

    // Backward, by hand, from the last step to the first.
    let scale = loss.output_scale(rows * d_output);
    let (w2_t, w1h_t) = (w2.clone().transpose(), w1h.transpose());
    let mut grad_w1x = Tensor::<2>::zeros([d_input, d_hidden], &last.device());
    let mut grad_w1h = Tensor::<2>::zeros([d_hidden, d_hidden], &last.device());
    let mut grad_w2 = Tensor::<2>::zeros([d_hidden, d_output], &last.device());
    let mut residuals = Vec::with_capacity(steps);
    let mut d_a: Option<Tensor<2>> = None; // dL/da_{t+1}
    for t in (0..steps).rev() {
        let h_t = &h[t + 1];
        let residual = h_t.clone().matmul(w2.clone()) - targets.clone().slice(step_rows(t));
        let d_y = residual.clone().mul_scalar(scale);
        residuals.push(residual);
        grad_w2 = grad_w2 + h_t.clone().transpose().matmul(d_y.clone());
        let mut d_h = d_y.matmul(w2_t.clone());
        if let Some(next) = d_a {
            d_h = next.matmul(w1h_t.clone()) + d_h;
        }
        let d_a_t = d_h * h_t.clone().square().neg().add_scalar(1.0);
        grad_w1h = grad_w1h + h[t].clone().transpose().matmul(d_a_t.clone());
        grad_w1x = grad_w1x
            + x.clone()
                .slice(step_rows(t))
                .transpose()
                .matmul(d_a_t.clone());
        d_a = Some(d_a_t);
    }
    let squares = Tensor::cat(residuals, 0).square().sum();
    let loss = loss.of_squares(squares, rows * d_output);
    Window {
        loss,
        grads: [Tensor::cat(vec![grad_w1x, grad_w1h], 0), grad_w2],
        last,
    }
}

/// [`window`] with the recurrence in two launches, [`kernel::recurrence_forward`] and
/// [`kernel::recurrence_backward`] (on a GPU, where each tensor operation is a launch), and the
/// rest as products over the whole window: the input projections `x · W1x` before the forward
/// recurrence, the outputs and `dL/dy · W2ᵀ` between the two, and the weight gradients
/// `dW1x = xᵀ · da`, `dW1h = h_prevᵀ · da`, `dW2 = hᵀ · dy` after, each summing over steps and
/// sequences at once.
fn window_in_kernels(
    [w1, w2]: [&Tensor<2>; 2],
    x: Tensor<2>,
    targets: Tensor<2>,
    h0: Tensor<2>,
    loss: LossKind,
) -> Window {
    let [batch, d_hidden] = h0.dims();
    let d_input = w1.dims()[0] - d_hidden;
    let [rows, d_output] = targets.dims();
    let (w1x, w1h) = split(w1, d_input);
    let h = states_in_kernel(&w1x, &w1h, x.clone(), h0.clone());
    let residuals = h.clone().matmul(w2.clone()) - targets;
    let d_y = residuals
        .clone()
        .mul_scalar(loss.output_scale(rows * d_output));
    let g = d_y.clone().matmul(w2.clone().transpose());
    let d_a = kernel::recurrence_backward(h.clone(), g, w1h, batch);
    // The context each step started from: h_0, then every step's but the last.
    let previous = if rows > batch {
        Tensor::cat(vec![h0, h.clone().slice(s![0..rows - batch, ..])], 0)
    } else {
        h0
    };
    // dW1 = [x ; h_prev]ᵀ · da: the input layer of every step, the concatenation again. On a
    // card as a product per step, summed (on lavapipe, a CPU, one product was faster).
    let blocks = if kernel::on_card(&h.device()) {
        rows / batch
    } else {
        1
    };
    let grad_w1 = summed_products(Tensor::cat(vec![x, previous], 1), d_a, blocks);
    let grad_w2 = summed_products(h.clone(), d_y, blocks);
    let last = h.slice(s![rows - batch..rows, ..]);
    Window {
        loss: loss.of_squares(residuals.square().sum(), rows * d_output),
        grads: [grad_w1, grad_w2],
        last,
    }
}

/// `aᵀ · b` for `a` `[rows, m]` and `b` `[rows, n]`, cut into at most `blocks` equal blocks of
/// rows: the blocks' products at once (a batched product), then their sum. One product with an
/// inner dimension of every row (16,384 for a batch of 256 over 64 steps) leaves a GPU a
/// handful of output tiles each looping over all rows; as blocks it gets a product per block
/// and one reduction. Fewer blocks where the `m × n` products would take more than 4 Mi floats,
/// and as many as divide `rows`.
fn summed_products(a: Tensor<2>, b: Tensor<2>, blocks: usize) -> Tensor<2> {
    const MAX_FLOATS: usize = 1 << 22;
    let ([rows, m], [_, n]) = (a.dims(), b.dims());
    let most = (MAX_FLOATS / (m * n).max(1)).clamp(1, blocks.max(1));
    let blocks = (1..=most)
        .rev()
        .find(|blocks| rows % blocks == 0)
        .unwrap_or(1);
    if blocks == 1 {
        return a.transpose().matmul(b);
    }
    let per = rows / blocks;
    let a = a.reshape([blocks, per, m]).swap_dims(1, 2);
    let b = b.reshape([blocks, per, n]);
    a.matmul(b).sum_dim(0).reshape([m, n])
}

/// The contexts of every step of a window from `h0`, time-major, the recurrence in one launch
/// ([`kernel::recurrence_forward`]) after the input projections `x · W1x` of all steps as one
/// product.
pub(crate) fn states_in_kernel(
    w1x: &Tensor<2>,
    w1h: &Tensor<2>,
    x: Tensor<2>,
    h0: Tensor<2>,
) -> Tensor<2> {
    kernel::recurrence_forward(x.matmul(w1x.clone()), w1h.clone(), h0)
}

/// `[batch, T, d]` as time-major rows `[T·batch, d]`.
pub(crate) fn time_major(t: Tensor<3>) -> Tensor<2> {
    let [batch, steps, d] = t.dims();
    t.swap_dims(0, 1).reshape([steps * batch, d])
}

/// One epoch of hand-derived BPTT: mini-batches of the sequences `order`, each cut into windows
/// of `bptt` steps. Returns the new weights and each window's loss, still on the device.
pub(crate) fn epoch(
    weights: [Tensor<2>; 2],
    optim: &mut Optimizer,
    order: &[usize],
    train: &SequenceDataset,
    config: &crate::TrainConfig,
    device: &Device,
) -> ([Tensor<2>; 2], Vec<Tensor<1>>) {
    let [mut w1, mut w2] = weights;
    let d_hidden = w1.dims()[1];
    let batcher = SequenceBatcher::for_dataset(train);
    let seq_len = train.seq_len();
    let mut losses = Vec::new();
    for indices in order.chunks(config.batch_size) {
        let items = indices.iter().map(|&i| train.items()[i].clone()).collect();
        let batch = burn::data::dataloader::batcher::Batcher::batch(&batcher, items, device);
        let size = indices.len();
        let (x, y) = (time_major(batch.inputs), time_major(batch.targets));
        let mut h = Tensor::<2>::zeros([size, d_hidden], device);
        for start in (0..seq_len).step_by(config.bptt) {
            let rows = s![start * size..(start + config.bptt).min(seq_len) * size, ..];
            let window = window(
                [&w1, &w2],
                x.clone().slice(rows),
                y.clone().slice(rows),
                h,
                config.loss,
                config.kernels,
            );
            losses.push(window.loss);
            [w1, w2] = optim.update([w1, w2], window.grads);
            h = window.last;
        }
    }
    ([w1, w2], losses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sines, to_vec};
    use crate::{GradientPath, OptimizerKind, Start, TrainConfig, fit};
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
            let x =
                Tensor::<3>::from_data(TensorData::new(inputs.clone(), [batch, steps, 2]), &device);
            let y = Tensor::<3>::from_data(
                TensorData::new(targets.clone(), [batch, steps, 3]),
                &device,
            );
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
                    model.forward(x.clone().autodiff(), ElmanState::of(h.clone().autodiff()));
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
                        to_vec(window.loss.unsqueeze()),
                        to_vec(value.inner().unsqueeze()),
                    ),
                ];
                for (hand, autodiff) in pairs {
                    assert_eq!(hand.len(), autodiff.len());
                    for (h, a) in hand.iter().zip(&autodiff) {
                        assert!(
                            (h - a).abs() <= 1e-5 * a.abs().max(1.0),
                            "{loss:?} on {device:?}: {h} vs {a}"
                        );
                    }
                    assert!(autodiff.iter().any(|a| a.abs() > 1e-3));
                }
            }
        }
    }

    /// The GPU kernels' window (on wgpu, lavapipe here) equals autodiff's on Flex for batch
    /// sizes, window lengths and hidden sizes that are and are not multiples of a workgroup's
    /// width: the loss, both gradients and the last context.
    #[test]
    fn gpu_windows_match_autodiff_for_many_shapes() {
        let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
        let cpu = Device::flex().autodiff();
        for (batch, steps, d_hidden, d_input, d_output) in [
            (1, 1, 1, 1, 1),
            (3, 4, 6, 1, 1),
            (5, 7, 33, 2, 3),
            (4, 3, 64, 1, 1),
            (2, 2, 256, 1, 2),
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
                LossKind::Mse,
                true,
            );
            let model = weights.to_module(&cpu);
            let (out, last) = model.forward(
                data(&inputs, d_input, &cpu),
                ElmanState::of(Tensor::from_data(
                    TensorData::new(h0, [batch, d_hidden]),
                    &cpu,
                )),
            );
            let value = (out - data(&targets, d_output, &cpu))
                .square()
                .sum()
                .div_scalar((batch * steps * d_output) as f64);
            let grads = value.clone().backward();
            let [g1, g2] = window.grads;
            let shape = format!("batch {batch}, {steps} steps, hidden {d_hidden}");
            for (what, gpu, autodiff) in [
                ("dW1", to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
                ("dW2", to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
                ("h_T", to_vec(window.last), to_vec(last.context.inner())),
                (
                    "loss",
                    to_vec(window.loss.unsqueeze()),
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
                fit(
                    Start::Fresh(weights.clone()),
                    &waves,
                    None,
                    config,
                    &device,
                    |_, _| {},
                )
                .unwrap()
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
}
