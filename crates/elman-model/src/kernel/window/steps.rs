//! The window's recurrence as a matrix product a step, in any backend's own operations (no
//! autodiff inside): the form of [`super::RecurrenceOps`] where no kernel serves the width.
//! Rows are time-major: step `t` of sequence `b` is row `t·batch + b`.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Slice, TensorMetadata};

/// Rows `range` of a `[rows, cols]` tensor.
pub(crate) fn rows<B: Backend>(t: FloatTensor<B>, range: std::ops::Range<usize>) -> FloatTensor<B> {
    let cols = t.shape()[1];
    B::float_slice(t, &[Slice::from(range), Slice::from(0..cols)])
}

/// Columns `range` of a `[rows, cols]` tensor (a gate's block).
pub(crate) fn columns<B: Backend>(
    t: FloatTensor<B>,
    range: std::ops::Range<usize>,
) -> FloatTensor<B> {
    let n = t.shape()[0];
    B::float_slice(t, &[Slice::from(0..n), Slice::from(range)])
}

/// `1 - t`.
pub(crate) fn one_minus<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    B::float_add_scalar(B::float_neg(t), 1.0.into())
}

/// `s ⊙ (1 - s)`, σ's slope at the value `s` it gave.
pub(crate) fn sigmoid_slope<B: Backend>(s: FloatTensor<B>) -> FloatTensor<B> {
    B::float_mul(s.clone(), one_minus::<B>(s))
}

/// `[h0 ; h_1 … h_T]` with `h_t = tanh(x_t · W1x + h_{t-1} · W1h)`: every step's input
/// projection in one product, then a product a step.
pub(in crate::kernel) fn forward<B: Backend>(
    x: FloatTensor<B>,
    w1: FloatTensor<B>,
    h0: FloatTensor<B>,
    tanh: fn(FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<B> {
    let batch = h0.shape()[0];
    let [total, d_input] = [x.shape()[0], x.shape()[1]];
    let d_hidden = h0.shape()[1];
    let steps = total / batch.max(1);
    let w1x = rows::<B>(w1.clone(), 0..d_input);
    let w1h = rows::<B>(w1, d_input..d_input + d_hidden);
    let projected = B::float_matmul(x, w1x);
    let mut states = Vec::with_capacity(steps + 1);
    states.push(h0);
    for t in 0..steps {
        let previous = states.last().expect("h0").clone();
        let a = B::float_add(
            rows::<B>(projected.clone(), t * batch..(t + 1) * batch),
            B::float_matmul(previous, w1h.clone()),
        );
        states.push(tanh(a));
    }
    B::float_cat(states, 0)
}

/// `dL/da_t = (g_t + dL/da_{t+1} · W1hᵀ) ⊙ (1 - h_t²)`, from the last step down.
pub(in crate::kernel) fn backward<B: Backend>(
    h: FloatTensor<B>,
    g: FloatTensor<B>,
    w1h: FloatTensor<B>,
    batch: usize,
) -> FloatTensor<B> {
    let steps = h.shape()[0] / batch.max(1);
    let w1h_t = B::float_transpose(w1h);
    let mut d_a: Vec<FloatTensor<B>> = Vec::with_capacity(steps);
    for t in (0..steps).rev() {
        let range = t * batch..(t + 1) * batch;
        let mut d_h = rows::<B>(g.clone(), range.clone());
        if let Some(next) = d_a.last() {
            d_h = B::float_add(d_h, B::float_matmul(next.clone(), w1h_t.clone()));
        }
        let h_t = rows::<B>(h.clone(), range);
        let slope = B::float_add_scalar(B::float_neg(B::float_mul(h_t.clone(), h_t)), 1.0.into());
        d_a.push(B::float_mul(d_h, slope));
    }
    d_a.reverse();
    B::float_cat(d_a, 0)
}
