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
//! These are a dozen tensor operations on the device, against the graph bookkeeping of
//! autodiff. The step's residual `r` stays on the device; the epoch's losses are computed from
//! all residuals at once. `tests::fused_gradients_match_autodiff` checks the formulas against
//! Burn's autodiff.

use burn::prelude::*;
use elman_data::SequenceDataset;

use crate::optim::Optimizer;

/// One sequence cut into steps on the device: `[1, d_input]` inputs, the same padded with zeros
/// to the input layer's width `[1, d_input + d_hidden]` (so that a step writes its context into
/// a copy instead of concatenating, which costs Burn twice as much), and `[1, d_output]` targets.
pub(crate) struct Steps {
    inputs: Vec<Tensor<2>>,
    padded: Vec<Tensor<2>>,
    targets: Vec<Tensor<2>>,
}

/// Every sequence of `data`, cut into steps once, on `device` (without autodiff).
pub(crate) fn steps(data: &SequenceDataset, d_hidden: usize, device: &Device) -> Vec<Steps> {
    let device = device.clone().without_autodiff();
    let seq_len = data.seq_len();
    let cut = |values: &[f32], width: usize| -> Vec<Tensor<2>> {
        let all =
            Tensor::<2>::from_data(TensorData::new(values.to_vec(), [seq_len, width]), &device);
        (0..seq_len)
            .map(|t| all.clone().slice(s![t..t + 1, ..]))
            .collect()
    };
    let d_input = data.d_input();
    data.items()
        .iter()
        .map(|item| {
            let padded: Vec<f32> = item
                .inputs
                .chunks(d_input)
                .flat_map(|x| x.iter().copied().chain(std::iter::repeat_n(0.0, d_hidden)))
                .collect();
            Steps {
                inputs: cut(&item.inputs, d_input),
                padded: cut(&padded, d_input + d_hidden),
                targets: cut(&item.targets, data.d_output()),
            }
        })
        .collect()
}

/// The forward step and the hand-derived gradients of its loss.
#[derive(Debug, Clone)]
pub struct OneStep {
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
/// with respect to the output is `scale · (y - target)`.
pub fn one_step_gradients(
    w1: &Tensor<2>,
    w2: &Tensor<2>,
    x: Tensor<2>,
    h: Tensor<2>,
    target: Tensor<2>,
    scale: f64,
) -> OneStep {
    // Forward.
    let xh = Tensor::cat(vec![x, h], 1);
    let context = xh.clone().matmul(w1.clone()).tanh();
    let residual = context.clone().matmul(w2.clone()) - target;
    // Backward, by hand.
    let d_out = residual.clone().mul_scalar(scale);
    let d_h = d_out.clone().matmul(w2.clone().transpose());
    let d_a = d_h.clone() - d_h * context.clone() * context.clone();
    OneStep {
        grad_w2: context.clone().transpose() * d_out,
        grad_w1: xh.transpose() * d_a,
        context,
        residual,
    }
}

/// One epoch over the sequences `order` of `steps`: every step a forward pass, its gradients
/// by hand and an update. Returns the new weights and every step's residual, in order.
pub(crate) fn epoch(
    weights: [Tensor<2>; 2],
    optim: &mut Optimizer,
    order: &[usize],
    steps: &[Steps],
    d_hidden: usize,
    scale: f64,
) -> ([Tensor<2>; 2], Vec<Tensor<2>>) {
    let [mut w1, mut w2] = weights;
    let device = w1.device();
    let mut residuals =
        Vec::with_capacity(order.len() * steps.first().map_or(0, |s| s.inputs.len()));
    for &index in order {
        let sequence = &steps[index];
        let mut h = Tensor::<2>::zeros([1, d_hidden], &device);
        let d_input = sequence.inputs.first().map_or(0, |x| x.dims()[1]);
        for ((x, padded), target) in sequence
            .inputs
            .iter()
            .zip(&sequence.padded)
            .zip(&sequence.targets)
        {
            if optim.is_plain_sgd() {
                // SGD folds the learning rate into the output's gradient, so both updates are
                // one operation each.
                let xh = padded.clone().slice_assign(s![0..1, d_input..], h);
                let context = xh.clone().matmul(w1.clone()).tanh();
                let residual = context.clone().matmul(w2.clone()) - target.clone();
                let d_out = residual.clone().mul_scalar(scale * optim.lr());
                let d_h = d_out.clone().matmul(w2.clone().transpose());
                // -dL/da = d_h ⊙ (h'² - 1): three operations where d_h - d_h ⊙ h' ⊙ h' takes
                // three slower ones.
                let minus_d_a = d_h * context.clone().square().sub_scalar(1.0);
                // The outer products as matrix products: cheaper than broadcasting in Burn.
                w2 = w2 - context.clone().transpose().matmul(d_out);
                w1 = w1 + xh.transpose().matmul(minus_d_a);
                optim.count_step();
                residuals.push(residual);
                h = context;
            } else {
                let step = one_step_gradients(&w1, &w2, x.clone(), h, target.clone(), scale);
                [w1, w2] = optim.update([w1, w2], [step.grad_w1, step.grad_w2]);
                residuals.push(step.residual);
                h = step.context;
            }
        }
    }
    ([w1, w2], residuals)
}
