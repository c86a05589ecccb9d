//! Backpropagation through time by hand for the LSTM cell, in plain loops on the host: for the
//! small networks this tool trains, Burn's autodiff spends most of a window on its graph (60
//! epochs of `configs/sunspots.toml` with `cell = "lstm"`: 1.7 ms per update through autodiff).
//!
//! The cell (`elman_model::Cell`): the input layer `xh = [x ; 1 ; h]` (the `1` only with a
//! bias, and already among the inputs `x` here), `a = xh · W1` cut into four blocks of
//! `d_hidden` columns, and for one step:
//!
//! ```text
//! forward    i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o)
//!            c_t = f ⊙ c_{t-1} + i ⊙ g,     h_t = o ⊙ tanh(c_t),     y_t = [h_t ; 1] · W2
//! backward   dy_t = s · (y_t - target_t)                     (from t = T down to 1)
//!            dh   = dy_t · W2hᵀ + dh_{t+1→t}                 (dh_{T+1→T} = 0)
//!            dc   = dh ⊙ o ⊙ (1 - tanh²(c_t)) + dc_{t+1} ⊙ f_{t+1}
//!            da_i = dc ⊙ g ⊙ i(1 - i),  da_f = dc ⊙ c_{t-1} ⊙ f(1 - f),
//!            da_g = dc ⊙ i ⊙ (1 - g²),  da_o = dh ⊙ tanh(c_t) ⊙ o(1 - o)
//!            dW1 += xh_tᵀ · da,   dW2 += [h_t ; 1]ᵀ · dy_t,   dh_{t→t-1} = da · W1hᵀ
//! ```
//!
//! The state `(h_0, c_0)` enters the window detached, as in the autodiff path. Rows are
//! time-major, as in `bptt.rs`: step `t` of sequence `b` is row `t·batch + b`. The tests check
//! the gradients against Burn's autodiff.

use std::cell::RefCell;

use burn::prelude::*;

use crate::LossKind;
use crate::bptt::Window;
use crate::fit::read as host;
use crate::host_loops::{Computed, Sizes, mac_rows, output_gradient, residual, sigmoid, tanh};

/// The loss of one window of time-major inputs `x` (`[T·batch, d_x]`, `d_x` counting the bias's
/// constant 1 where there is one) and targets (`[T·batch, d_output]`) from the state `(h0, c0)`,
/// and its gradients, for an LSTM whose output layer has a bias row when `bias`. Returns the
/// window and the memory `c_T`.
pub(crate) fn window(
    [w1, w2]: [&Tensor<2>; 2],
    x: Tensor<2>,
    targets: Tensor<2>,
    [h0, c0]: [Tensor<2>; 2],
    bias: bool,
    loss: LossKind,
) -> (Window, Tensor<2>) {
    let device = w1.device();
    let sizes = Sizes::of(&h0, w1, w2, bias);
    let rows = x.dims()[0];
    let (w1v, w2v) = (host(w1.clone()), host(w2.clone()));
    let (xv, yv) = (host(x), host(targets));
    let (h0v, c0v) = (host(h0), host(c0));

    let scale = loss.output_scale(rows * sizes.d_output) as f32;
    let inputs = Inputs {
        w1: &w1v,
        w2: &w2v,
        x: &xv,
        y: &yv,
        h0: &h0v,
        c0: &c0v,
    };
    // The loops compiled for the CPU the run is on (AVX2 or AVX-512 where there is one), as
    // the Flex kernels' `tanh` is.
    let (computed, c) = compute(sizes, inputs, scale);
    let memory = Tensor::<2>::from_data(TensorData::new(c, [sizes.batch, sizes.d]), &device);
    (computed.into_window(sizes, rows, loss, &device), memory)
}

thread_local! {
    /// Each thread's buffers for a window's activations (see [`compute`]).
    static SCRATCH: RefCell<[Vec<f32>; 6]> = const {
        RefCell::new([Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()])
    };
}

/// A window's values on the host: the weights, time-major inputs and targets, the start state.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    w1: &'a [f32],
    w2: &'a [f32],
    x: &'a [f32],
    y: &'a [f32],
    h0: &'a [f32],
    c0: &'a [f32],
}

/// [`compute`] as pulp's job: its `with_simd` is compiled once per instruction set and inlines
/// the loops, so that they are vectorized for the CPU the run is on.
struct Job<'a, 'b> {
    sizes: Sizes,
    inputs: Inputs<'a>,
    scale: f32,
    buffers: [&'b mut Vec<f32>; 6],
}

impl pulp::WithSimd for Job<'_, '_> {
    type Output = (Computed, Vec<f32>);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (Computed, Vec<f32>) {
        window_loops(self.sizes, self.inputs, self.scale, self.buffers)
    }
}

/// The window's forward pass and BPTT (see the module's formulas), with `dL/dy = scale · r`,
/// its loops compiled for the CPU the run is on ([`Job`]); the last step's memory beside.
fn compute(sizes: Sizes, inputs: Inputs<'_>, scale: f32) -> (Computed, Vec<f32>) {
    let width = 4 * sizes.d;
    let rows = inputs.x.len() / sizes.d_x;
    let d = sizes.d;
    let d_output = sizes.d_output;
    // The activations live in this thread's buffers, kept from window to window (fresh ones
    // of this size cost a page fault per page at every window); every value is written before
    // it is read.
    SCRATCH.with_borrow_mut(|scratch| {
        let [gates, c, tc, h, residuals, d_a_all] = scratch;
        for (buffer, len) in [
            (&mut *gates, rows * width),
            (&mut *c, rows * d),
            (&mut *tc, rows * d),
            (&mut *h, rows * d),
            (&mut *residuals, rows * d_output),
            (&mut *d_a_all, rows * width),
        ] {
            buffer.resize(len, 0.0);
        }
        pulp::Arch::new().dispatch(Job {
            sizes,
            inputs,
            scale,
            buffers: [gates, c, tc, h, residuals, d_a_all],
        })
    })
}

/// [`compute`]'s loops over the buffers `[gates, c, tanh(c), h, residuals, da]`, each sized for
/// the window.
#[inline(always)]
fn window_loops(
    sizes: Sizes,
    inputs: Inputs<'_>,
    scale: f32,
    [gates, c, tc, h, residuals, d_a_all]: [&mut Vec<f32>; 6],
) -> (Computed, Vec<f32>) {
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
        c0: c0v,
    } = inputs;
    let width = 4 * d;
    let (rows_w1, rows_w2) = (d_x + d, d + usize::from(bias));
    let rows = xv.len() / d_x;
    let steps = rows / batch;
    // Forward: every step's gates (activated), memory, tanh of the memory and context.
    let mut a = vec![0.0f32; width];
    let (mut c_new, mut tc_new, mut h_new) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    for t in 0..steps {
        for b in 0..batch {
            let row = t * batch + b;
            let (h_prev, c_prev) = if t == 0 {
                (&h0v[b * d..(b + 1) * d], &c0v[b * d..(b + 1) * d])
            } else {
                let prev = (row - batch) * d;
                (&h[prev..prev + d], &c[prev..prev + d])
            };
            a.fill(0.0);
            mac_rows(&mut a, &xv[row * d_x..(row + 1) * d_x], w1v, width);
            mac_rows(&mut a, h_prev, &w1v[d_x * width..], width);
            // The gates, block by block: i, f and o through σ, g through tanh.
            for (k, block) in a.chunks_exact_mut(d).enumerate() {
                if k == 2 {
                    block.iter_mut().for_each(|v| *v = tanh(*v));
                } else {
                    block.iter_mut().for_each(|v| *v = sigmoid(*v));
                }
            }
            for j in 0..d {
                let (i_g, f_g, g_g, o_g) = (a[j], a[d + j], a[2 * d + j], a[3 * d + j]);
                c_new[j] = f_g * c_prev[j] + i_g * g_g;
                tc_new[j] = tanh(c_new[j]);
                h_new[j] = o_g * tc_new[j];
            }
            gates[row * width..(row + 1) * width].copy_from_slice(&a);
            c[row * d..(row + 1) * d].copy_from_slice(&c_new);
            tc[row * d..(row + 1) * d].copy_from_slice(&tc_new);
            h[row * d..(row + 1) * d].copy_from_slice(&h_new);
            residual(
                &mut residuals[row * d_output..(row + 1) * d_output],
                &h_new,
                w2v,
                &yv[row * d_output..(row + 1) * d_output],
                bias,
            );
        }
    }

    // Backward, from the last step to the first, with W1h transposed (`[4·d_hidden, d_hidden]`).
    let mut w1h_t = vec![0.0f32; width * d];
    for j in 0..d {
        for (m, &w) in w1v[(d_x + j) * width..(d_x + j + 1) * width]
            .iter()
            .enumerate()
        {
            w1h_t[m * d + j] = w;
        }
    }
    let mut grad_w1 = vec![0.0f32; rows_w1 * width];
    let mut grad_w2 = vec![0.0f32; rows_w2 * d_output];
    // dL/dh and dL/dc flowing into step t from step t + 1, per sequence.
    let mut dh_next = vec![0.0f32; batch * d];
    let mut dc_next = vec![0.0f32; batch * d];
    let mut d_a = vec![0.0f32; width];
    let mut d_y = vec![0.0f32; d_output];
    for t in (0..steps).rev() {
        for b in 0..batch {
            let row = t * batch + b;
            let h_t = &h[row * d..(row + 1) * d];
            output_gradient(
                &mut grad_w2,
                &mut d_y,
                h_t,
                &residuals[row * d_output..(row + 1) * d_output],
                scale,
                bias,
            );
            let g = &gates[row * width..(row + 1) * width];
            let c_prev = if t == 0 {
                &c0v[b * d..(b + 1) * d]
            } else {
                &c[(row - batch) * d..(row - batch + 1) * d]
            };
            for j in 0..d {
                let w2_row = &w2v[j * d_output..(j + 1) * d_output];
                let dh =
                    dh_next[b * d + j] + w2_row.iter().zip(&d_y).map(|(w, g)| w * g).sum::<f32>();
                let (i_g, f_g, g_g, o_g) = (g[j], g[d + j], g[2 * d + j], g[3 * d + j]);
                let tcj = tc[row * d + j];
                let dc = dc_next[b * d + j] + dh * o_g * (1.0 - tcj * tcj);
                d_a[j] = dc * g_g * i_g * (1.0 - i_g);
                d_a[d + j] = dc * c_prev[j] * f_g * (1.0 - f_g);
                d_a[2 * d + j] = dc * i_g * (1.0 - g_g * g_g);
                d_a[3 * d + j] = dh * tcj * o_g * (1.0 - o_g);
                dc_next[b * d + j] = dc * f_g;
            }
            // dW1 comes after the loop, from every step's da at once.
            d_a_all[row * width..(row + 1) * width].copy_from_slice(&d_a);
            // dh_{t→t-1} = da · W1hᵀ, as a sum of W1hᵀ's rows.
            let dh = &mut dh_next[b * d..(b + 1) * d];
            dh.fill(0.0);
            mac_rows(dh, &d_a, &w1h_t, d);
        }
    }
    // dW1 = xhᵀ · da over every step: row i of dW1 sums da's rows scaled by the input layer's
    // value i at each step (the inputs, then the previous context).
    let mut column = vec![0.0f32; rows];
    for i in 0..rows_w1 {
        for (r, v) in column.iter_mut().enumerate() {
            *v = if i < d_x {
                xv[r * d_x + i]
            } else if r < batch {
                h0v[r * d + i - d_x]
            } else {
                h[(r - batch) * d + i - d_x]
            };
        }
        mac_rows(
            &mut grad_w1[i * width..(i + 1) * width],
            &column,
            d_a_all,
            width,
        );
    }

    let computed = Computed {
        squares: residuals.iter().map(|r| r * r).sum(),
        grad_w1,
        grad_w2,
        h: h[(rows - batch) * d..].to_vec(),
    };
    (computed, c[(rows - batch) * d..].to_vec())
}

#[cfg(test)]
mod tests;
