//! A GRU window as one differentiable operation, in any backend's own operations (a product a
//! step, no autodiff inside), as `lstm.rs` is for the LSTM. The cell is
//! `elman_model::Cell::Gru`'s, `W1`'s columns `z, r, n` over the input layer (the bias's `1`
//! already among the inputs `x`):
//!
//! ```text
//! forward    z, r = σ of [x_t ; h_{t-1}] · W1[:, z r],   n = tanh([x_t ; r ⊙ h_{t-1}] · W1[:, n])
//!            h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
//! backward   dh = G_t + dh_{t+1→t};   da_n = dh ⊙ (1 - z) ⊙ (1 - n²);   drh = da_n · W1h_nᵀ
//!            da_z = dh ⊙ (h_{t-1} - n) ⊙ z(1 - z),   da_r = drh ⊙ h_{t-1} ⊙ r(1 - r)
//!            dh_{t→t-1} = dh ⊙ z + drh ⊙ r + [da_z, da_r] · W1h_zrᵀ
//!            dW1x = xᵀ · da,  dW1h = [h_prevᵀ · [da_z, da_r], (r ⊙ h_prev)ᵀ · da_n],
//!            dx = da · W1xᵀ,  dh0 = G_0 + dh_{1→0}
//! ```
//!
//! The forward pass gives `[h0 ; h_1 … h_T]`, `[(T + 1)·B, d]` (what the backward pass reads);
//! the operation's output is its contexts after `h0`, as the Elman cell's, and the backward
//! pass takes their gradient alone, `[T·B, d]` (`G_0` is none).

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};

use super::steps::{columns, one_minus, rows, sigmoid_slope};

/// Every step's activated gates `[z, r, n]`, `[T·B, 3d]`, what the backward pass reads beside
/// the output.
pub(crate) type Gates<B> = FloatTensor<B>;

/// The window forward: `[h0 ; h_1 … h_T]` and the gates.
pub(in crate::kernel) fn forward<B: Backend>(
    x: FloatTensor<B>,
    w1: FloatTensor<B>,
    h0: FloatTensor<B>,
) -> (FloatTensor<B>, Gates<B>) {
    let (batch, d) = (h0.shape()[0], h0.shape()[1]);
    let (total, d_x) = (x.shape()[0], x.shape()[1]);
    let steps = total / batch.max(1);
    let w1h = rows::<B>(w1.clone(), d_x..d_x + d);
    let (w1h_zr, w1h_n) = (
        columns::<B>(w1h.clone(), 0..2 * d),
        columns::<B>(w1h, 2 * d..3 * d),
    );
    let projected = B::float_matmul(x, rows::<B>(w1, 0..d_x));
    let (mut hs, mut gates) = (vec![h0], Vec::with_capacity(steps));
    for t in 0..steps {
        let p = rows::<B>(projected.clone(), t * batch..(t + 1) * batch);
        let h = hs[t].clone();
        let a_zr = B::float_add(
            columns::<B>(p.clone(), 0..2 * d),
            B::float_matmul(h.clone(), w1h_zr.clone()),
        );
        let (z, r) = (
            B::sigmoid(columns::<B>(a_zr.clone(), 0..d)),
            B::sigmoid(columns::<B>(a_zr, d..2 * d)),
        );
        let a_n = B::float_add(
            columns::<B>(p, 2 * d..3 * d),
            B::float_matmul(B::float_mul(r.clone(), h.clone()), w1h_n.clone()),
        );
        let n = B::float_tanh(a_n);
        let next = B::float_add(
            B::float_mul(one_minus::<B>(z.clone()), n.clone()),
            B::float_mul(z.clone(), h),
        );
        hs.push(next);
        gates.push(B::float_cat(vec![z, r, n], 1));
    }
    (B::float_cat(hs, 0), B::float_cat(gates, 0))
}

/// The gradients `[dx, dW1, dh0]` of the window from the upstream gradient `grad` of its
/// contexts `h_1 … h_T` (`[T·B, d]`), given its inputs, [`forward`]'s output and gates.
pub(in crate::kernel) fn backward<B: Backend>(
    grad: FloatTensor<B>,
    [x, w1, out]: [FloatTensor<B>; 3],
    gates: Gates<B>,
) -> [FloatTensor<B>; 3] {
    let d = out.shape()[1];
    let (total, d_x) = (x.shape()[0], x.shape()[1]);
    let batch = out.shape()[0] - total;
    let steps = total / batch.max(1);
    let step = |t: usize| t * batch..(t + 1) * batch;
    let w1h = rows::<B>(w1.clone(), d_x..d_x + d);
    let w1h_zr_t = B::float_transpose(columns::<B>(w1h.clone(), 0..2 * d));
    let w1h_n_t = B::float_transpose(columns::<B>(w1h, 2 * d..3 * d));
    let mut dh_rec: Option<FloatTensor<B>> = None;
    let (mut d_a, mut rh) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for t in (0..steps).rev() {
        let g = rows::<B>(gates.clone(), step(t));
        let (z, r, n) = (
            columns::<B>(g.clone(), 0..d),
            columns::<B>(g.clone(), d..2 * d),
            columns::<B>(g, 2 * d..3 * d),
        );
        let h_prev = rows::<B>(out.clone(), step(t));
        let mut dh = rows::<B>(grad.clone(), step(t));
        if let Some(rec) = dh_rec {
            dh = B::float_add(dh, rec);
        }
        let da_n = B::float_mul(
            B::float_mul(dh.clone(), one_minus::<B>(z.clone())),
            one_minus::<B>(B::float_mul(n.clone(), n.clone())),
        );
        let drh = B::float_matmul(da_n.clone(), w1h_n_t.clone());
        let da_z = B::float_mul(
            B::float_mul(dh.clone(), B::float_sub(h_prev.clone(), n)),
            sigmoid_slope::<B>(z.clone()),
        );
        let da_r = B::float_mul(
            B::float_mul(drh.clone(), h_prev.clone()),
            sigmoid_slope::<B>(r.clone()),
        );
        let da_zr = B::float_cat(vec![da_z, da_r], 1);
        let back = B::float_add(
            B::float_add(B::float_mul(dh, z), B::float_mul(drh, r.clone())),
            B::float_matmul(da_zr.clone(), w1h_zr_t.clone()),
        );
        dh_rec = Some(back);
        rh.push(B::float_mul(r, h_prev));
        d_a.push(B::float_cat(vec![da_zr, da_n], 1));
    }
    d_a.reverse();
    rh.reverse();
    let d_a = B::float_cat(d_a, 0);
    let rh = B::float_cat(rh, 0);
    tail::<B>([x, w1, out], d_a, rh, dh_rec)
}

/// The backward pass after its loop over the steps: from every step's `da` (`[T·B, 3d]`), every
/// step's `r ⊙ h_prev` (`[T·B, d]`) and the recurrent gradient reaching `h0` (none for an empty
/// window, whose `dh0` is zeros), the gradients `[dx, dW1, dh0]`.
pub(in crate::kernel) fn tail<B: Backend>(
    [x, w1, out]: [FloatTensor<B>; 3],
    d_a: FloatTensor<B>,
    rh: FloatTensor<B>,
    dh_rec: Option<FloatTensor<B>>,
) -> [FloatTensor<B>; 3] {
    let d = out.shape()[1];
    let (total, d_x) = (x.shape()[0], x.shape()[1]);
    let batch = out.shape()[0] - total;
    let previous = rows::<B>(out, 0..total);
    let t = B::float_transpose;
    let grad_w1x = B::float_matmul(t(x.clone()), d_a.clone());
    let grad_w1h_zr = B::float_matmul(t(previous), columns::<B>(d_a.clone(), 0..2 * d));
    let grad_w1h_n = B::float_matmul(t(rh), columns::<B>(d_a.clone(), 2 * d..3 * d));
    let grad_w1h = B::float_cat(vec![grad_w1h_zr, grad_w1h_n], 1);
    let grad_w1 = B::float_cat(vec![grad_w1x, grad_w1h], 0);
    let grad_x = B::float_matmul(d_a, t(rows::<B>(w1.clone(), 0..d_x)));
    let grad_h0 = dh_rec.unwrap_or_else(|| {
        let dtype = w1.dtype().into();
        B::float_zeros([batch, d].into(), &w1.device(), dtype)
    });
    [grad_x, grad_w1, grad_h0]
}
