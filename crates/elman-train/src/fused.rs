//! The tutorial's case without autodiff: with one sequence per update and one step per window
//! (batch 1, `bptt = 1`), the context is detached before every step, so the gradient of a step's
//! loss reaches `W1` and `W2` through that step alone and can be written down by hand:
//!
//! ```text
//! xh  = [x ; h]            h' = tanh(xh · W1)        y = h' · W2        r = y - target
//! dL/dy  = s · r           (s = 1 for the halved sum of squares, 2 / d_output for the MSE)
//! dL/dW2 = h'ᵀ · dL/dy
//! dL/da  = (dL/dy · W2ᵀ) ⊙ (1 - h'²)      (a = xh · W1, the pre-activation)
//! dL/dW1 = xhᵀ · dL/da
//! ```
//!
//! On a Flex device the whole step, with SGD its update too, is one custom operation
//! (`elman_model::kernel`); elsewhere it is a dozen tensor operations, against the graph
//! bookkeeping of autodiff. The step's residual `r` stays on the device; the epoch's losses are
//! computed from all residuals at once. The tests below check both versions against Burn's
//! autodiff.

use burn::prelude::*;
use elman_data::SequenceDataset;

use crate::optim::Optimizer;

/// One sequence cut into steps on the device: the inputs as they are for the kernel, the inputs
/// padded with zeros to the input layer's width, `[1, d_input + d_hidden]`, for the tensor
/// operations (a step writes its context into a copy instead of concatenating, which costs Burn
/// twice as much), and `[1, d_output]` targets.
pub(crate) struct Steps {
    d_input: usize,
    /// The whole sequence's inputs and targets, `[T, d_input]` and `[T, d_output]`, for the
    /// kernel's SGD.
    sequence: [Tensor<2>; 2],
    /// The inputs as they are, `[1, d_input]`, for the kernel's gradients.
    inputs: Vec<Tensor<2>>,
    padded: Vec<Tensor<2>>,
    targets: Vec<Tensor<2>>,
}

impl Steps {
    /// The whole sequence's inputs and targets, `[T, d_input]` and `[T, d_output]`.
    pub(crate) fn whole(&self) -> [Tensor<2>; 2] {
        self.sequence.clone()
    }
}

/// Every sequence of `data`, cut into steps once, on `device` (without autodiff).
pub(crate) fn steps(data: &SequenceDataset, d_hidden: usize, device: &Device) -> Vec<Steps> {
    let device = device.clone().without_autodiff();
    let seq_len = data.seq_len();
    let whole = |values: &[f32], width: usize| {
        Tensor::<2>::from_data(TensorData::new(values.to_vec(), [seq_len, width]), &device)
    };
    let cut = |values: &[f32], width: usize| -> Vec<Tensor<2>> {
        let all = whole(values, width);
        (0..seq_len)
            .map(|t| all.clone().slice(s![t..t + 1, ..]))
            .collect()
    };
    let d_input = data.d_input();
    data.iter()
        .map(|item| {
            let padded: Vec<f32> = item
                .inputs
                .chunks(d_input)
                .flat_map(|x| x.iter().copied().chain(std::iter::repeat_n(0.0, d_hidden)))
                .collect();
            Steps {
                d_input,
                sequence: [
                    whole(item.inputs, d_input),
                    whole(item.targets, data.d_output()),
                ],
                inputs: cut(item.inputs, d_input),
                padded: cut(&padded, d_input + d_hidden),
                targets: cut(item.targets, data.d_output()),
            }
        })
        .collect()
}

/// The forward step and the hand-derived gradients of its loss.
#[derive(Debug, Clone)]
pub(crate) struct OneStep {
    /// The new context `h'`, `[1, d_hidden]`.
    pub context: Tensor<2>,
    /// The residual `y - target`, `[1, d_output]`.
    pub residual: Tensor<2>,
    /// `dL/dW1`, `[d_input + d_hidden, d_hidden]`.
    pub grad_w1: Tensor<2>,
    /// `dL/dW2`, `[d_hidden, d_output]`.
    pub grad_w2: Tensor<2>,
}

/// One step from context `h` with input `x` and its gradients, for the loss whose derivative
/// with respect to the output is `scale · (y - target)`: the kernel's gradients where it
/// runs, else the tensor operations', for the tests to check against autodiff.
#[cfg(test)]
pub(crate) fn one_step_gradients(
    w1: &Tensor<2>,
    w2: &Tensor<2>,
    x: Tensor<2>,
    h: Tensor<2>,
    target: Tensor<2>,
    scale: f64,
) -> OneStep {
    if elman_model::kernel::available(&w1.device()) {
        let (context, residual, [grad_w1, grad_w2]) =
            elman_model::kernel::step_gradients(w1.clone(), w2.clone(), x, h, target, scale);
        return OneStep {
            context,
            residual,
            grad_w1,
            grad_w2,
        };
    }
    let d_input = x.dims()[1];
    let padded = Tensor::cat(vec![x, h.zeros_like()], 1);
    pieces(w1, w2, padded, h, &target, d_input, scale).gradients()
}

/// What one step computes, forward and back, before any update.
struct Pieces {
    /// The input layer `[x ; h]`, `[1, d_input + d_hidden]`.
    xh: Tensor<2>,
    /// `h'`.
    context: Tensor<2>,
    /// `y - target`.
    residual: Tensor<2>,
    /// `out_scale · (y - target)`: dL/dy times whatever the caller folds in.
    d_out: Tensor<2>,
    /// `-dL/da` at the same scale: `(d_out · W2ᵀ) ⊙ (h'² - 1)`.
    minus_d_a: Tensor<2>,
}

impl Pieces {
    /// The gradients themselves (with `out_scale` the loss's own scale).
    fn gradients(self) -> OneStep {
        OneStep {
            // The outer products as matrix products: cheaper than broadcasting in Burn.
            grad_w2: self.context.clone().transpose().matmul(self.d_out),
            grad_w1: self.xh.transpose().matmul(self.minus_d_a).neg(),
            context: self.context,
            residual: self.residual,
        }
    }
}

/// The step's forward pass and its backward pass down to the pre-activation. `padded` is the
/// input padded with zeros to the input layer's width; the context is written into it, which
/// costs Burn half of what a concatenation does.
fn pieces(
    w1: &Tensor<2>,
    w2: &Tensor<2>,
    padded: Tensor<2>,
    h: Tensor<2>,
    target: &Tensor<2>,
    d_input: usize,
    out_scale: f64,
) -> Pieces {
    // Forward.
    let xh = padded.slice_assign(s![0..1, d_input..], h);
    let context = xh.clone().matmul(w1.clone()).tanh();
    let residual = context.clone().matmul(w2.clone()) - target.clone();
    // Backward, by hand.
    let d_out = residual.clone().mul_scalar(out_scale);
    let d_h = d_out.clone().matmul(w2.clone().transpose());
    // -dL/da = d_h ⊙ (h'² - 1): three operations where d_h - d_h ⊙ h' ⊙ h' takes three slower
    // ones.
    let minus_d_a = d_h * context.clone().square().sub_scalar(1.0);
    Pieces {
        xh,
        context,
        residual,
        d_out,
        minus_d_a,
    }
}

/// One epoch over the sequences `order` of `steps`: every step a forward pass, its gradients
/// by hand and an update. Returns the new weights and the residuals (`[steps, d_output]`
/// tensors whose rows are the steps in order).
pub(crate) fn epoch(
    weights: [Tensor<2>; 2],
    optim: &mut Optimizer,
    order: &[usize],
    steps: &[Steps],
    scale: f64,
    kernels: bool,
) -> ([Tensor<2>; 2], Vec<Tensor<2>>) {
    let [mut w1, mut w2] = weights;
    let device = w1.device();
    let d_hidden = w1.dims()[1];
    let mut residuals =
        Vec::with_capacity(order.len() * steps.first().map_or(0, |s| s.padded.len()));
    let kernel = kernels && elman_model::kernel::available(&device);
    let d_output = w2.dims()[1];
    for &index in order {
        let sequence = &steps[index];
        if kernels
            && optim.is_plain_sgd()
            && elman_model::kernel::sequence_available(
                &device,
                sequence.d_input,
                d_hidden,
                d_output,
                sequence.targets.len(),
            )
        {
            // The tutorial's inner loop over the sequence, updates included, is one custom
            // operation.
            let [inputs, targets] = sequence.sequence.clone();
            let residual;
            ([w1, w2], residual) =
                elman_model::kernel::sgd_sequence([w1, w2], inputs, targets, scale * optim.lr());
            optim.count_steps(sequence.targets.len());
            residuals.push(residual);
            continue;
        }
        let mut h = Tensor::<2>::zeros([1, d_hidden], &device);
        for ((x, padded), target) in sequence
            .inputs
            .iter()
            .zip(&sequence.padded)
            .zip(&sequence.targets)
        {
            let d_input = sequence.d_input;
            let residual;
            if kernel {
                let (context, r, grads) = elman_model::kernel::step_gradients(
                    w1.clone(),
                    w2.clone(),
                    x.clone(),
                    h,
                    target.clone(),
                    scale,
                );
                [w1, w2] = optim.update([w1, w2], grads);
                (h, residual) = (context, r);
            } else if optim.is_plain_sgd() {
                // SGD folds the learning rate into the output's gradient, so both updates are
                // one operation each.
                let out_scale = scale * optim.lr();
                let p = pieces(&w1, &w2, padded.clone(), h, target, d_input, out_scale);
                w2 = w2 - p.context.clone().transpose().matmul(p.d_out);
                w1 = w1 + p.xh.transpose().matmul(p.minus_d_a);
                optim.count_steps(1);
                (h, residual) = (p.context, p.residual);
            } else {
                let p = pieces(&w1, &w2, padded.clone(), h, target, d_input, scale);
                let step = p.gradients();
                [w1, w2] = optim.update([w1, w2], [step.grad_w1, step.grad_w2]);
                (h, residual) = (step.context, step.residual);
            }
            residuals.push(residual);
        }
    }
    ([w1, w2], residuals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fit_plain, sines, to_vec};
    use crate::{GradientPath, LossKind, OptimizerKind, Start, TrainConfig, train};
    use elman_data::SineDataset;
    use elman_model::{ElmanConfig, ElmanState, ElmanWeights, kernel};

    /// The hand-derived gradients of one step equal Burn's autodiff gradients, from a non-zero
    /// context, for both losses' scales: through the Flex kernel and through the tensor
    /// operations (on ndarray, which has no kernel).
    #[test]
    fn fused_gradients_match_autodiff() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 5,
            d_output: 3,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 12);
        #[allow(deprecated)] // the deprecated backend is the one without the kernel
        let devices = [(Device::flex(), true), (Device::ndarray(), false)];
        for (device, kernel) in devices {
            assert_eq!(kernel::available(&device), kernel);
            let x = Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -0.7], [1, 2]), &device);
            let h = Tensor::<2>::from_data(
                TensorData::new(vec![0.1f32, -0.2, 0.5, 0.0, 0.9], [1, 5]),
                &device,
            );
            let target =
                Tensor::<2>::from_data(TensorData::new(vec![0.2f32, -0.1, 0.4], [1, 3]), &device);
            for (loss, scale) in [(LossKind::HalfSumSquares, 1.0), (LossKind::Mse, 2.0 / 3.0)] {
                let plain = weights.to_module(&device);
                let step = one_step_gradients(
                    &plain.w1.val(),
                    &plain.w2.val(),
                    x.clone(),
                    h.clone(),
                    target.clone(),
                    scale,
                );

                let ad = device.clone().autodiff();
                let model = weights.to_module(&ad);
                let (pred, next) =
                    model.step(x.clone().autodiff(), ElmanState::of(h.clone().autodiff()));
                let residual = pred - target.clone().autodiff();
                let squares = residual.clone().square().sum();
                let value = match loss {
                    LossKind::HalfSumSquares => squares.div_scalar(2.0),
                    LossKind::Mse => squares.div_scalar(3.0),
                };
                let grads = value.backward();
                let pairs = [
                    (
                        to_vec(step.grad_w1.clone()),
                        to_vec(model.w1.grad(&grads).unwrap()),
                    ),
                    (
                        to_vec(step.grad_w2.clone()),
                        to_vec(model.w2.grad(&grads).unwrap()),
                    ),
                    (to_vec(step.context.clone()), to_vec(next.context.inner())),
                    (to_vec(step.residual.clone()), to_vec(residual.inner())),
                ];
                for (fused, autodiff) in pairs {
                    assert_eq!(fused.len(), autodiff.len());
                    for (f, a) in fused.iter().zip(&autodiff) {
                        assert!(
                            (f - a).abs() < 1e-6,
                            "{loss:?}, kernel {kernel}: {f} vs {a}"
                        );
                    }
                    assert!(autodiff.iter().any(|a| a.abs() > 1e-3));
                }
            }
        }
    }

    /// The Flex kernel's SGD over a sequence, which updates the weights in place, gives the
    /// weights and residuals of the tensor operations' steps (each from the context the one
    /// before left), and leaves a tensor that still shares the old weights untouched.
    #[test]
    fn kernel_sgd_sequence_matches_the_tensor_operations() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 4,
            d_output: 2,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 5);
        let device = Device::flex();
        let plain = weights.to_module(&device);
        let (w1, w2) = (plain.w1.val(), plain.w2.val());
        let before = to_vec(w1.clone());
        let steps = 5;
        let inputs: Vec<f32> = (0..steps * 2).map(|i| (i as f32 * 0.7).sin()).collect();
        let targets: Vec<f32> = (0..steps * 2).map(|i| (i as f32 * 0.3).cos()).collect();
        let lr = 0.1;

        // The tensor operations' steps, on ndarray (which has no kernel).
        #[allow(deprecated)]
        let ndarray = Device::ndarray();
        let row = |values: &[f32], t: usize| {
            Tensor::<2>::from_data(
                TensorData::new(values[2 * t..2 * t + 2].to_vec(), [1, 2]),
                &ndarray,
            )
        };
        let on = |t: &Tensor<2>| Tensor::<2>::from_data(t.to_data(), &ndarray);
        let (mut o1, mut o2) = (on(&w1), on(&w2));
        let mut h = Tensor::<2>::zeros([1, 4], &ndarray);
        let mut expected_residuals = Vec::new();
        for t in 0..steps {
            let step = one_step_gradients(&o1, &o2, row(&inputs, t), h, row(&targets, t), 1.0);
            o1 = o1 - step.grad_w1.mul_scalar(lr);
            o2 = o2 - step.grad_w2.mul_scalar(lr);
            expected_residuals.extend(to_vec(step.residual));
            h = step.context;
        }

        let all = |values: &[f32]| {
            Tensor::<2>::from_data(TensorData::new(values.to_vec(), [steps, 2]), &device)
        };
        let ([n1, n2], residuals) =
            kernel::sgd_sequence([w1.clone(), w2.clone()], all(&inputs), all(&targets), lr);
        assert_eq!(residuals.dims(), [steps, 2]);
        let pairs = [
            (to_vec(n1), to_vec(o1)),
            (to_vec(n2), to_vec(o2)),
            (to_vec(residuals), expected_residuals),
        ];
        for (got, want) in pairs {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-6, "{g} vs {w}");
            }
        }
        assert_eq!(
            to_vec(w1),
            before,
            "a shared weight tensor was written in place"
        );
    }

    /// The tutorial's run through both paths: the same losses to float tolerance, and the
    /// report says which path ran.
    #[test]
    fn fused_and_autodiff_runs_agree() {
        let data = SineDataset::tutorial();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 21);
        let device = Device::flex();
        let fused = TrainConfig {
            n_epochs: 40,
            ..TrainConfig::default()
        };
        let autodiff = TrainConfig {
            fused: false,
            ..fused
        };
        assert_eq!(fused.gradient_path(), GradientPath::Fused);
        assert_eq!(autodiff.gradient_path(), GradientPath::Autodiff);
        let a = train(&weights, &data, &fused, &device, |_| {}).unwrap();
        let b = train(&weights, &data, &autodiff, &device, |_| {}).unwrap();
        assert_eq!(
            (a.path, b.path),
            (GradientPath::Fused, GradientPath::Autodiff)
        );
        for (epoch, (x, y)) in a.losses.iter().zip(&b.losses).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * y,
                "epoch {epoch}: fused {x} vs autodiff {y}"
            );
        }
        // Adam and the MSE on many sequences, shuffled, go through the fused path too.
        let waves = sines(6, 10, 4);
        let adam = TrainConfig {
            n_epochs: 3,
            lr: 0.01,
            optimizer: OptimizerKind::Adam,
            loss: LossKind::Mse,
            grad_clip: Some(0.5),
            shuffle_seed: Some(3),
            ..TrainConfig::default()
        };
        let run = |config: &TrainConfig| {
            fit_plain(Start::Fresh(weights.clone()), &waves, config, &device)
        };
        let (a, b) = (
            run(&adam),
            run(&TrainConfig {
                fused: false,
                ..adam
            }),
        );
        for (x, y) in a.losses.iter().zip(&b.losses) {
            assert!((x - y).abs() <= 1e-5 * y, "adam: fused {x} vs autodiff {y}");
        }
    }
}
