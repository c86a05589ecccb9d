//! Backpropagation through time by hand for the GRU cell, in plain loops on the host, as
//! `lstm.rs` does for the LSTM: Burn's autodiff spends most of a small network's window on its
//! graph.
//!
//! The cell (`elman_model::Cell`): the input layer `xh = [x ; 1 ; h]` (the `1` only with a
//! bias, and already among the inputs `x` here), `W1` cut into three blocks of `d_hidden`
//! columns (`z`, `r`, `n`), and for one step:
//!
//! ```text
//! forward    z, r = σ(xh · W1_z), σ(xh · W1_r),   n = tanh([x ; 1 ; r ⊙ h_{t-1}] · W1_n)
//!            h_t = (1 - z) ⊙ n + z ⊙ h_{t-1},     y_t = [h_t ; 1] · W2
//! backward   dy_t = s · (y_t - target_t)                     (from t = T down to 1)
//!            dh   = dy_t · W2hᵀ + dh_{t+1→t}                 (dh_{T+1→T} = 0)
//!            da_n = dh ⊙ (1 - z) ⊙ (1 - n²),   d(r⊙h) = da_n · W1_nhᵀ
//!            da_z = dh ⊙ (h_{t-1} - n) ⊙ z(1 - z),   da_r = d(r⊙h) ⊙ h_{t-1} ⊙ r(1 - r)
//!            dW1_zr += xh_tᵀ · [da_z, da_r],   dW1_n += [x ; 1 ; r ⊙ h_{t-1}]ᵀ · da_n
//!            dW2 += [h_t ; 1]ᵀ · dy_t
//!            dh_{t→t-1} = dh ⊙ z + d(r⊙h) ⊙ r + [da_z, da_r] · W1_zrhᵀ
//! ```
//!
//! The context `h_0` enters the window detached, as in the autodiff path. Rows are time-major,
//! as in `bptt.rs`: step `t` of sequence `b` is row `t·batch + b`. The tests check the
//! gradients against Burn's autodiff.

use std::cell::RefCell;

use burn::prelude::*;

use crate::LossKind;
use crate::bptt::Window;
use crate::fit::read as host;
use crate::host_loops::{Computed, Sizes, mac_rows, output_gradient, residual, sigmoid, tanh};

/// The loss of one window of time-major inputs `x` (`[T·batch, d_x]`, `d_x` counting the bias's
/// constant 1 where there is one) and targets (`[T·batch, d_output]`) from the context `h0`, and
/// its gradients, for a GRU whose output layer has a bias row when `bias`.
pub(crate) fn window(
    [w1, w2]: [&Tensor<2>; 2],
    x: Tensor<2>,
    targets: Tensor<2>,
    h0: Tensor<2>,
    bias: bool,
    loss: LossKind,
) -> Window {
    let device = w1.device();
    let sizes = Sizes::of(&h0, w1, w2, bias);
    let (d, d_output, width) = (sizes.d, sizes.d_output, w1.dims()[1]);
    let rows = x.dims()[0];
    let (w1v, w2v) = (host(w1.clone()), host(w2.clone()));
    let (xv, yv, h0v) = (host(x), host(targets), host(h0));
    let inputs = Inputs {
        w1: &w1v,
        w2: &w2v,
        x: &xv,
        y: &yv,
        h0: &h0v,
    };
    let scale = loss.output_scale(rows * d_output) as f32;
    let computed = SCRATCH.with_borrow_mut(|scratch| {
        let [gates, h, residuals, d_a_all] = scratch;
        for (buffer, len) in [
            (&mut *gates, rows * width),
            (&mut *h, rows * d),
            (&mut *residuals, rows * d_output),
            (&mut *d_a_all, rows * width),
        ] {
            buffer.resize(len, 0.0);
        }
        // The loops compiled for the CPU the run is on, as `lstm.rs`'s are.
        pulp::Arch::new().dispatch(Job {
            sizes,
            inputs,
            scale,
            buffers: [gates, h, residuals, d_a_all],
        })
    });
    computed.into_window(sizes, rows, loss, &device)
}

thread_local! {
    /// Each thread's buffers for a window's activations (`[gates, h, residuals, da]`), kept
    /// from window to window.
    static SCRATCH: RefCell<[Vec<f32>; 4]> =
        const { RefCell::new([Vec::new(), Vec::new(), Vec::new(), Vec::new()]) };
}

/// A window's values on the host: the weights, time-major inputs and targets, the start context.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    w1: &'a [f32],
    w2: &'a [f32],
    x: &'a [f32],
    y: &'a [f32],
    h0: &'a [f32],
}

/// [`window_loops`] as pulp's job, compiled once per instruction set.
struct Job<'a, 'b> {
    sizes: Sizes,
    inputs: Inputs<'a>,
    scale: f32,
    buffers: [&'b mut Vec<f32>; 4],
}

impl pulp::WithSimd for Job<'_, '_> {
    type Output = Computed;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Computed {
        window_loops(self.sizes, self.inputs, self.scale, self.buffers)
    }
}

/// The context before row `row`'s step (`d` values): the start context `h0` in the first step's
/// rows, else the row a batch before it in `before`, the contexts of the rows before `row`.
#[inline(always)]
fn previous<'a>(before: &'a [f32], h0: &'a [f32], row: usize, batch: usize, d: usize) -> &'a [f32] {
    if row < batch {
        &h0[row * d..(row + 1) * d]
    } else {
        &before[(row - batch) * d..(row - batch + 1) * d]
    }
}

/// The window's forward pass and BPTT (see the module's formulas), with `dL/dy = scale · r`,
/// over the buffers `[gates (z, r, n), h, residuals, da]`, each sized for the window.
#[inline(always)]
fn window_loops(
    sizes: Sizes,
    inputs: Inputs<'_>,
    scale: f32,
    [gates, h, residuals, d_a_all]: [&mut Vec<f32>; 4],
) -> Computed {
    let Sizes {
        batch,
        d,
        d_x,
        d_output,
        bias,
    } = sizes;
    let Inputs {
        w1: w1v,
        w2: w2v,
        x: xv,
        y: yv,
        h0: h0v,
    } = inputs;
    let width = 3 * d;
    let (rows_w1, rows_w2) = (d_x + d, d + usize::from(bias));
    let rows = xv.len() / d_x;
    let steps = rows / batch;

    // Forward: every step's gates (activated) and context.
    let mut a = vec![0.0f32; width];
    let mut rh = vec![0.0f32; d];
    for t in 0..steps {
        for b in 0..batch {
            let row = t * batch + b;
            let (before, rest) = h.split_at_mut(row * d);
            let prev = previous(before, h0v, row, batch, d);
            a.fill(0.0);
            mac_rows(&mut a, &xv[row * d_x..(row + 1) * d_x], w1v, width);
            mac_rows(&mut a[..2 * d], prev, &w1v[d_x * width..], width);
            a[..2 * d].iter_mut().for_each(|v| *v = sigmoid(*v));
            for j in 0..d {
                rh[j] = a[d + j] * prev[j];
            }
            mac_rows(&mut a[2 * d..], &rh, &w1v[d_x * width + 2 * d..], width);
            a[2 * d..].iter_mut().for_each(|v| *v = tanh(*v));
            let h_t = &mut rest[..d];
            for j in 0..d {
                let (z, n) = (a[j], a[2 * d + j]);
                h_t[j] = (1.0 - z) * n + z * prev[j];
            }
            gates[row * width..(row + 1) * width].copy_from_slice(&a);
            residual(
                &mut residuals[row * d_output..(row + 1) * d_output],
                h_t,
                w2v,
                &yv[row * d_output..(row + 1) * d_output],
                bias,
            );
        }
    }

    // Backward, from the last step to the first, with W1h's blocks transposed: `[z, r]`'s
    // (`[2·d_hidden, d_hidden]`) and `n`'s (`[d_hidden, d_hidden]`).
    let mut w_zr_t = vec![0.0f32; 2 * d * d];
    let mut w_n_t = vec![0.0f32; d * d];
    for k in 0..d {
        let w_row = &w1v[(d_x + k) * width..(d_x + k + 1) * width];
        for m in 0..2 * d {
            w_zr_t[m * d + k] = w_row[m];
        }
        for j in 0..d {
            w_n_t[j * d + k] = w_row[2 * d + j];
        }
    }
    let mut grad_w1 = vec![0.0f32; rows_w1 * width];
    let mut grad_w2 = vec![0.0f32; rows_w2 * d_output];
    // dL/dh flowing into step t from step t + 1, per sequence.
    let mut dh_next = vec![0.0f32; batch * d];
    let (mut dh, mut d_rh) = (vec![0.0f32; d], vec![0.0f32; d]);
    let mut d_a = vec![0.0f32; width];
    let mut d_y = vec![0.0f32; d_output];
    for t in (0..steps).rev() {
        for b in 0..batch {
            let row = t * batch + b;
            output_gradient(
                &mut grad_w2,
                &mut d_y,
                &h[row * d..(row + 1) * d],
                &residuals[row * d_output..(row + 1) * d_output],
                scale,
                bias,
            );
            let g = &gates[row * width..(row + 1) * width];
            let prev = previous(h, h0v, row, batch, d);
            for j in 0..d {
                let w2_row = &w2v[j * d_output..(j + 1) * d_output];
                dh[j] =
                    dh_next[b * d + j] + w2_row.iter().zip(&d_y).map(|(w, g)| w * g).sum::<f32>();
                let (z, n) = (g[j], g[2 * d + j]);
                d_a[j] = dh[j] * (prev[j] - n) * z * (1.0 - z);
                d_a[2 * d + j] = dh[j] * (1.0 - z) * (1.0 - n * n);
            }
            // d(r⊙h) = da_n · W1_nhᵀ, as a sum of its transpose's rows.
            d_rh.fill(0.0);
            mac_rows(&mut d_rh, &d_a[2 * d..], &w_n_t, d);
            let next = &mut dh_next[b * d..(b + 1) * d];
            for j in 0..d {
                let r = g[d + j];
                d_a[d + j] = d_rh[j] * prev[j] * r * (1.0 - r);
                next[j] = dh[j] * g[j] + d_rh[j] * r;
            }
            mac_rows(next, &d_a[..2 * d], &w_zr_t, d);
            // dW1 comes after the loop, from every step's da at once.
            d_a_all[row * width..(row + 1) * width].copy_from_slice(&d_a);
        }
    }
    // dW1 = xhᵀ · da over every step: row i of dW1 sums da's rows scaled by the input layer's
    // value i at each step: the inputs, then the previous context for `z` and `r` and the reset
    // one, `r ⊙ h_{t-1}`, for `n`.
    let mut column = vec![0.0f32; rows];
    for i in 0..d_x {
        for (r, v) in column.iter_mut().enumerate() {
            *v = xv[r * d_x + i];
        }
        mac_rows(
            &mut grad_w1[i * width..(i + 1) * width],
            &column,
            d_a_all,
            width,
        );
    }
    let mut reset = vec![0.0f32; rows];
    for k in 0..d {
        for r in 0..rows {
            let previous = if r < batch {
                h0v[r * d + k]
            } else {
                h[(r - batch) * d + k]
            };
            column[r] = previous;
            reset[r] = gates[r * width + d + k] * previous;
        }
        let i = d_x + k;
        mac_rows(
            &mut grad_w1[i * width..i * width + 2 * d],
            &column,
            d_a_all,
            width,
        );
        mac_rows(
            &mut grad_w1[i * width + 2 * d..(i + 1) * width],
            &reset,
            &d_a_all[2 * d..],
            width,
        );
    }

    Computed {
        squares: residuals.iter().map(|r| r * r).sum(),
        grad_w1,
        grad_w2,
        h: h[(rows - batch) * d..].to_vec(),
    }
}

#[cfg(test)]
mod tests;
