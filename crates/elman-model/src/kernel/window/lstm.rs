//! An LSTM window as one differentiable operation, in any backend's own operations (a product a
//! step, the gates' arithmetic in element-wise operations, no autodiff inside), so that under
//! autodiff the window is one node of the graph and its BPTT is written out here. The cell is
//! `elman_model::Cell::Lstm`'s, with the input layer `[x ; 1 ; h]` (the bias's `1` already
//! among the inputs `x`):
//!
//! ```text
//! forward    a = x_t · W1x + h_{t-1} · W1h;   i, f, g, o = σ, σ, tanh, σ of a's four blocks
//!            c_t = f ⊙ c_{t-1} + i ⊙ g,       h_t = o ⊙ tanh(c_t)
//! backward   dh = G_h_t + da_{t+1} · W1hᵀ,    dc = dh ⊙ o ⊙ (1 - tanh²(c_t)) + dc_{t+1} ⊙ f_{t+1}
//!            da = [dc ⊙ g ⊙ i(1 - i), dc ⊙ c_{t-1} ⊙ f(1 - f), dc ⊙ i ⊙ (1 - g²),
//!                  dh ⊙ tanh(c_t) ⊙ o(1 - o)]
//!            dW1 = [x ; h_prev]ᵀ · da,  dx = da · W1xᵀ,  dh0 = G_h_0 + da_1 · W1hᵀ,  dc0 = dc_1 ⊙ f_1
//! ```
//!
//! The output is `[h0 ; h_1 … h_T ; c_T]`, `[(T + 2)·B, d]`: one tensor, so that the graph has
//! one node whose upstream gradient carries both the contexts' and the last memory's.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};

use super::steps::{columns, one_minus, rows, sigmoid_slope};

/// Columns `k·d .. (k + 1)·d` of a `[rows, 4d]` tensor: gate block `k`.
fn block<B: Backend>(t: FloatTensor<B>, k: usize, d: usize) -> FloatTensor<B> {
    columns::<B>(t, k * d..(k + 1) * d)
}

/// What the backward pass reads of a forward pass: the memories `[c0 ; c_1 … c_T]` and every
/// step's activated gates `[i, f, g, o]`, `[T·B, 4d]`.
pub(crate) struct Saved<B: Backend> {
    pub(crate) memories: FloatTensor<B>,
    pub(crate) gates: FloatTensor<B>,
}

/// The window forward: `[h0 ; h_1 … h_T ; c_T]`, and what the backward pass reads.
pub(in crate::kernel) fn forward<B: Backend>(
    x: FloatTensor<B>,
    w1: FloatTensor<B>,
    h0: FloatTensor<B>,
    c0: FloatTensor<B>,
) -> (FloatTensor<B>, Saved<B>) {
    let (batch, d) = (h0.shape()[0], h0.shape()[1]);
    let (total, d_x) = (x.shape()[0], x.shape()[1]);
    let steps = total / batch.max(1);
    let w1x = rows::<B>(w1.clone(), 0..d_x);
    let w1h = rows::<B>(w1, d_x..d_x + d);
    let projected = B::float_matmul(x, w1x);
    let (mut hs, mut cs, mut gates) = (vec![h0], vec![c0], Vec::with_capacity(steps));
    for t in 0..steps {
        let a = B::float_add(
            rows::<B>(projected.clone(), t * batch..(t + 1) * batch),
            B::float_matmul(hs[t].clone(), w1h.clone()),
        );
        let i = B::sigmoid(block::<B>(a.clone(), 0, d));
        let f = B::sigmoid(block::<B>(a.clone(), 1, d));
        let g = B::float_tanh(block::<B>(a.clone(), 2, d));
        let o = B::sigmoid(block::<B>(a, 3, d));
        let c = B::float_add(
            B::float_mul(f.clone(), cs[t].clone()),
            B::float_mul(i.clone(), g.clone()),
        );
        hs.push(B::float_mul(o.clone(), B::float_tanh(c.clone())));
        cs.push(c);
        gates.push(B::float_cat(vec![i, f, g, o], 1));
    }
    let last = cs[steps].clone();
    hs.push(last);
    let out = B::float_cat(hs, 0);
    let saved = Saved {
        memories: B::float_cat(cs, 0),
        gates: B::float_cat(gates, 0),
    };
    (out, saved)
}

/// The gradients `[dx, dW1, dh0, dc0]` of the window from the upstream gradient `grad` of
/// [`forward`]'s output, given its inputs, output and [`Saved`].
pub(in crate::kernel) fn backward<B: Backend>(
    grad: FloatTensor<B>,
    [x, w1, out]: [FloatTensor<B>; 3],
    saved: Saved<B>,
) -> [FloatTensor<B>; 4] {
    let Saved { memories, gates } = saved;
    let d = out.shape()[1];
    let (total, d_x) = (x.shape()[0], x.shape()[1]);
    // The output holds T·B rows of contexts and two blocks of B: h0 and c_T.
    let batch = (out.shape()[0] - total) / 2;
    let steps = total / batch.max(1);
    let step = |t: usize| t * batch..(t + 1) * batch;
    let w1h = rows::<B>(w1.clone(), d_x..d_x + d);
    let w1h_t = B::float_transpose(w1h);
    let mut dc = rows::<B>(grad.clone(), (steps + 1) * batch..(steps + 2) * batch);
    let mut dh_rec: Option<FloatTensor<B>> = None;
    let mut d_a = Vec::with_capacity(steps);
    for t in (0..steps).rev() {
        let g_t = rows::<B>(gates.clone(), step(t));
        let (i, f) = (block::<B>(g_t.clone(), 0, d), block::<B>(g_t.clone(), 1, d));
        let (g, o) = (block::<B>(g_t.clone(), 2, d), block::<B>(g_t, 3, d));
        let c = rows::<B>(memories.clone(), step(t + 1));
        let c_prev = rows::<B>(memories.clone(), step(t));
        let tc = B::float_tanh(c);
        let mut dh = rows::<B>(grad.clone(), step(t + 1));
        if let Some(rec) = dh_rec {
            dh = B::float_add(dh, rec);
        }
        let slope = one_minus::<B>(B::float_mul(tc.clone(), tc.clone()));
        dc = B::float_add(B::float_mul(B::float_mul(dh.clone(), o.clone()), slope), dc);
        let da_i = B::float_mul(
            B::float_mul(dc.clone(), g.clone()),
            sigmoid_slope::<B>(i.clone()),
        );
        let da_f = B::float_mul(
            B::float_mul(dc.clone(), c_prev),
            sigmoid_slope::<B>(f.clone()),
        );
        let da_g = B::float_mul(
            B::float_mul(dc.clone(), i),
            one_minus::<B>(B::float_mul(g.clone(), g)),
        );
        let da_o = B::float_mul(B::float_mul(dh, tc), sigmoid_slope::<B>(o));
        let da_t = B::float_cat(vec![da_i, da_f, da_g, da_o], 1);
        dh_rec = Some(B::float_matmul(da_t.clone(), w1h_t.clone()));
        dc = B::float_mul(dc, f);
        d_a.push(da_t);
    }
    d_a.reverse();
    let d_a = B::float_cat(d_a, 0);
    tail::<B>(grad, [x, w1, out], d_a, dh_rec, dc)
}

/// The backward pass after its loop over the steps: from every step's `da` (`[T·B, 4d]`), the
/// recurrent gradient reaching `h0` (`da_1 · W1hᵀ`, none for an empty window) and `dc0`, the
/// gradients `[dx, dW1, dh0, dc0]`.
pub(in crate::kernel) fn tail<B: Backend>(
    grad: FloatTensor<B>,
    [x, w1, out]: [FloatTensor<B>; 3],
    d_a: FloatTensor<B>,
    dh_rec: Option<FloatTensor<B>>,
    dc: FloatTensor<B>,
) -> [FloatTensor<B>; 4] {
    let (total, d_x) = (x.shape()[0], x.shape()[1]);
    let batch = (out.shape()[0] - total) / 2;
    let previous = rows::<B>(out.clone(), 0..total);
    let layer = B::float_cat(vec![x, previous], 1);
    let grad_w1 = B::float_matmul(B::float_transpose(layer), d_a.clone());
    let w1x = rows::<B>(w1, 0..d_x);
    let grad_x = B::float_matmul(d_a, B::float_transpose(w1x));
    let mut grad_h0 = rows::<B>(grad, 0..batch);
    if let Some(rec) = dh_rec {
        grad_h0 = B::float_add(grad_h0, rec);
    }
    [grad_x, grad_w1, grad_h0, dc]
}
