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
use crate::layout::{Window, outputs, readout, split};
use crate::optim::Optimizer;

/// `dW2` from the hidden layer's part and, with a bias, `dL/dy` summed over the rows.
fn grad_readout(grad_w2h: Tensor<2>, grad_b2: Option<Tensor<2>>) -> Tensor<2> {
    match grad_b2 {
        Some(grad_b2) => Tensor::cat(vec![grad_w2h, grad_b2], 0),
        None => grad_w2h,
    }
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
    let (w2h, b2) = readout(w2, d_hidden);
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
    let (w2_t, w1h_t) = (w2h.clone().transpose(), w1h.transpose());
    let mut grad_w1x = Tensor::<2>::zeros([d_input, d_hidden], &last.device());
    let mut grad_w1h = Tensor::<2>::zeros([d_hidden, d_hidden], &last.device());
    let mut grad_w2 = Tensor::<2>::zeros([d_hidden, d_output], &last.device());
    let mut grad_b2 = b2.as_ref().map(|b2| b2.zeros_like());
    let mut residuals = Vec::with_capacity(steps);
    let mut d_a: Option<Tensor<2>> = None; // dL/da_{t+1}
    for t in (0..steps).rev() {
        let h_t = &h[t + 1];
        let residual = outputs(h_t.clone(), &w2h, &b2) - targets.clone().slice(step_rows(t));
        let d_y = residual.clone().mul_scalar(scale);
        residuals.push(residual);
        grad_w2 = grad_w2 + h_t.clone().transpose().matmul(d_y.clone());
        grad_b2 = grad_b2.map(|g| g + d_y.clone().sum_dim(0));
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
        grads: [
            Tensor::cat(vec![grad_w1x, grad_w1h], 0),
            grad_readout(grad_w2, grad_b2),
        ],
        last,
    }
}

/// [`window`] with the recurrence in two launches, [`kernel::recurrence_forward`] (the input
/// projections included) and [`kernel::recurrence_backward`] (on a GPU, where each tensor
/// operation is a launch, and for a small network on Flex, where each costs more than its
/// arithmetic), the outputs, `dL/dy` and `dL/dy · W2ᵀ` between the two in a third
/// ([`kernel::readout`]), and the weight gradients `dW1 = [x ; h_prev]ᵀ · da` and
/// `dW2 = hᵀ · dy` after as products over the whole window, each summing over steps and
/// sequences at once (`h_prev`, the contexts the steps started from, are the forward kernel's
/// rows before the last batch's: `h0` comes first).
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
    let (_, w1h) = split(w1, d_input);
    let bias = w2.dims()[0] > d_hidden;
    // [h_0 ; h_1 … h_T]: each step's context, and before them all the one it started from.
    let states = kernel::recurrence_forward(x.clone(), w1.clone(), h0);
    let h = states.clone().slice(s![batch..rows + batch, ..]);
    let previous = states.slice(s![0..rows, ..]);
    // The outputs, dL/dy, dL/dy · W2ᵀ and the loss's terms in one launch.
    let scale = loss.output_scale(rows * d_output) as f32;
    let [d_y, g, terms] = kernel::readout(h.clone(), targets, w2.clone(), scale);
    let d_a = kernel::recurrence_backward(h.clone(), g, w1h, batch);
    // dW1 = [x ; h_prev]ᵀ · da: the input layer of every step, the concatenation again. On a
    // card as a product per step, summed (on lavapipe, a CPU, one product was faster).
    let blocks = if kernel::on_card(&h.device()) {
        rows / batch
    } else {
        1
    };
    let grad_w1 = summed_products(Tensor::cat(vec![x, previous], 1), d_a, blocks);
    let grad_b2 = bias.then(|| d_y.clone().sum_dim(0));
    let grad_w2 = grad_readout(summed_products(h.clone(), d_y, blocks), grad_b2);
    let last = h.slice(s![rows - batch..rows, ..]);
    Window {
        loss: terms.reshape([-1]),
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

/// The fewest sequences a thread's part of a batch holds: below it the parts' per-operation
/// overhead outweighs the second core.
const MIN_PART: usize = 32;

/// How many parts a batch of `size` sequences is split into on `device`: one per thread of the
/// current thread pool (`rayon::current_num_threads`, which `elman --threads` and the bench's
/// `RAYON_NUM_THREADS` set) on a plain Flex device, as many as give every part at least
/// [`MIN_PART`] sequences; one elsewhere (a GPU runs the whole batch at once).
fn parts_for(size: usize, device: &Device) -> usize {
    if kernel::available(device) {
        rayon::current_num_threads().min(size / MIN_PART).max(1)
    } else {
        1
    }
}

/// A thread's part of a batch: its sequences' inputs and targets, time-major, and their
/// context carried from window to window.
struct Part {
    size: usize,
    x: Tensor<2>,
    y: Tensor<2>,
    h: Tensor<2>,
}

/// One epoch of hand-derived BPTT: mini-batches of the sequences `order`, each cut into windows
/// of `bptt` steps. Returns the new weights and each update's loss, still on the device, as
/// values that add up to it (see [`Window::loss`]).
///
/// On a Flex device a batch is split into parts ([`parts_for`]) whose windows run on the
/// threads of the pool at once, each part its own forward and backward pass; their losses and
/// gradients are added up, weighted by each part's share of the loss's terms (the MSE divides by
/// the whole batch's count), before the one update.
pub(crate) fn epoch(
    weights: [Tensor<2>; 2],
    optim: &mut Optimizer,
    order: &[usize],
    train: &SequenceDataset,
    config: &crate::TrainConfig,
    device: &Device,
) -> ([Tensor<2>; 2], Vec<f32>) {
    use rayon::prelude::*;

    let [mut w1, mut w2] = weights;
    let d_hidden = w1.dims()[1];
    let bias = w2.dims()[0] > d_hidden;
    let batcher = SequenceBatcher::for_dataset(train);
    let seq_len = train.seq_len();
    let mut losses = crate::readback::Losses::default();
    // The zero contexts a part starts from, by its size: made once, not at every batch (on a GPU
    // a launch each).
    let mut zeros: Vec<Tensor<2>> = Vec::new();
    let mut zeros_for = |part: usize| -> Tensor<2> {
        if let Some(z) = zeros.iter().find(|z| z.dims()[0] == part) {
            return z.clone();
        }
        let z = Tensor::<2>::zeros([part, d_hidden], device);
        zeros.push(z.clone());
        z
    };
    for indices in order.chunks(config.batch_size) {
        let items: Vec<_> = indices.iter().map(|&i| train.get_ref(i)).collect();
        let size = indices.len();
        let count = parts_for(size, device);
        // Each part's inputs and targets, laid out time-major on the host (on a GPU,
        // transposing a batch-major stack would cost a launch per tensor).
        let mut parts: Vec<Part> = (0..count)
            .map(|k| {
                let range = k * size / count..(k + 1) * size / count;
                let part = range.len();
                let (x, y) = batcher.time_major(&items[range], device);
                // With biases the input layer has a constant 1 after the inputs: W1's bias row.
                let x = if bias {
                    let ones = Tensor::<2>::ones([x.dims()[0], 1], device);
                    Tensor::cat(vec![x, ones], 1)
                } else {
                    x
                };
                Part {
                    size: part,
                    x,
                    y,
                    h: zeros_for(part),
                }
            })
            .collect();
        for start in (0..seq_len).step_by(config.bptt) {
            let end = (start + config.bptt).min(seq_len);
            let weights = [&w1, &w2];
            let run = |mut part: Part| -> (Part, Window) {
                let rows = s![start * part.size..end * part.size, ..];
                let (x, y) = (part.x.clone().slice(rows), part.y.clone().slice(rows));
                let h = part.h.clone();
                let window = window(weights, x, y, h, config.loss, config.kernels);
                part.h = window.last.clone();
                (part, window)
            };
            let done: Vec<(Part, Window)> = if parts.len() == 1 {
                parts.into_iter().map(run).collect()
            } else {
                parts.into_par_iter().map(run).collect()
            };
            let mut total: Option<(Tensor<1>, [Tensor<2>; 2])> = None;
            let single = done.len() == 1;
            parts = Vec::with_capacity(done.len());
            for (part, window) in done {
                let share = config.loss.part_share(part.size, size);
                let [g1, g2] = window.grads;
                // Parts' losses add up as one value each; a lone part's stay as they came.
                let loss = if single {
                    window.loss
                } else {
                    window.loss.sum()
                };
                let (loss, g1, g2) = if share == 1.0 {
                    (loss, g1, g2)
                } else {
                    (
                        loss.mul_scalar(share),
                        g1.mul_scalar(share),
                        g2.mul_scalar(share),
                    )
                };
                total = Some(match total {
                    None => (loss, [g1, g2]),
                    Some((l, [a, b])) => (l + loss, [a + g1, b + g2]),
                });
                parts.push(part);
            }
            let (loss, grads) = total.expect("at least one part");
            losses.push(loss);
            [w1, w2] = optim.update([w1, w2], grads);
        }
    }
    ([w1, w2], losses.finish())
}

#[cfg(test)]
mod tests;
