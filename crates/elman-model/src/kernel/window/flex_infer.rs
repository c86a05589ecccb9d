//! The LSTM and GRU windows forward on Flex for inference, outside autodiff (`GatedWindows`'
//! `lstm_infer`, `gru_infer`): the same cells as `flex_gated.rs`'s forward passes, but nothing
//! is kept for a backward pass: each step's gates go to one step's rows, reused, and since the
//! activated gates are not stored, a cell's activations are combined over [`tanh_ratio`]'s
//! numerators and denominators and divided once or twice, not once each. As in training, each
//! step's input layer `[x_t ; h_{t-1}]` is multiplied by `W1` in one product ([`input_layer`]).
//!
//! The batch's rows are split between the threads of the current rayon pool as in
//! `flex_gated.rs` ([`part_rows`]). Results equal the training forward pass's within float
//! error (`tests::inference_is_the_training_forward`).

use burn::backend::flex::FlexTensor;

use rayon::prelude::*;

use super::flex_gated::{dims, part_rows};
use super::flex_lanes::{lanes, sigmoid, vectorized, vectorized_loop};
use super::flex_output::{Fresh, StepRows};
use super::flex_products::{GruProducts, View, input_layer, step_product};
use crate::kernel::flex::{tensor, values};
use crate::kernel::tanh_ratio;

/// One part's LSTM cells at a step: from the gates' `a` (`[rows, 4d]`, blocks `i, f, g, o`),
/// `c` (`c_{t-1}` on entry, `c_t` on exit) and `h_t` written; two divisions a cell, where
/// activating each gate takes five (`σ(a) = (q + p) / 2q` for `a / 2`'s ratio).
#[inline(always)]
fn lstm_cells((gates, c, h_next, d): LstmArgs) {
    for (g, c) in gates.chunks_exact(4 * d).zip(c.chunks_exact_mut(d)) {
        let (i, f, gg, o) = (&g[..d], &g[d..2 * d], &g[2 * d..3 * d], &g[3 * d..4 * d]);
        lanes(
            [i, f, gg, o],
            (c, h_next.row(d)),
            |[i, f, g, o], [c_prev, _]| {
                let ((pi, qi), (pf, qf)) = (tanh_ratio(0.5 * i), tanh_ratio(0.5 * f));
                let ((pg, qg), (po, qo)) = (tanh_ratio(g), tanh_ratio(0.5 * o));
                // f·c_prev + i·g over one denominator.
                let c =
                    ((qf + pf) * c_prev * (qi * qg) + (qi + pi) * pg * qf) / (2.0 * qf * qi * qg);
                let (pc, qc) = tanh_ratio(c);
                [c, (qo + po) * pc / (2.0 * qo * qc)]
            },
        );
    }
}

/// [`lstm_cells`]' arguments: the gates, `c` updated, `h_t` written, and `d`.
type LstmArgs<'a, 'p> = (&'a [f32], &'a mut [f32], &'a mut Fresh<'p>, usize);

/// One part's GRU reset gates at a step: `rh = σ(a_r) ⊙ h_{t-1}`, the input of the
/// candidate's product, from the gates' `a` (`[rows, 3d]`, blocks `z, r, n`).
#[inline(always)]
fn gru_reset((gates, h, rh, d): GruArgs) {
    let rows = gates.chunks_exact(3 * d).zip(h.chunks_exact(d));
    for ((g, h), rh) in rows.zip(rh.chunks_exact_mut(d)) {
        lanes([&g[d..2 * d], h], [rh], |[r, h], _| [sigmoid(r) * h]);
    }
}

/// One part's GRU contexts at a step: `h_t = n + z ⊙ (h_{t-1} - n)` from `a_z` and `a_n`, over
/// one denominator (`z = (q_z + p_z) / 2q_z`, `n = p_n / q_n`).
#[inline(always)]
fn gru_contexts((gates, h, h_next, d): GruContextArgs) {
    for (g, h) in gates.chunks_exact(3 * d).zip(h.chunks_exact(d)) {
        lanes(
            [&g[..d], &g[2 * d..3 * d], h],
            [h_next.row(d)],
            |[z, n, h], _| {
                let ((pz, qz), (pn, qn)) = (tanh_ratio(0.5 * z), tanh_ratio(n));
                [(2.0 * qz * pn + (qz + pz) * (h * qn - pn)) / (2.0 * qz * qn)]
            },
        );
    }
}

/// [`gru_reset`]'s arguments: the gates, `h_{t-1}`, the rows written, and `d`.
type GruArgs<'a> = (&'a [f32], &'a [f32], &'a mut [f32], usize);

/// [`gru_contexts`]' arguments: the gates, `h_{t-1}`, `h_t` written, and `d`.
type GruContextArgs<'a, 'p> = (&'a [f32], &'a [f32], &'a mut Fresh<'p>, usize);

vectorized_loop!(LstmCells, lstm_cells, ['a, 'p], LstmArgs<'a, 'p>);
vectorized_loop!(GruReset, gru_reset, 'a, GruArgs<'a>);
vectorized_loop!(GruContexts, gru_contexts, ['a, 'p], GruContextArgs<'a, 'p>);

/// The LSTM window forward, `[h0 ; h_1 … h_T ; c_T]`, from `x` (`[T·B, d_x]`), `W1` (`[d_x + d,
/// 4d]`), `h0` and `c0`.
pub(super) fn lstm(x: FlexTensor, w1: FlexTensor, h0: FlexTensor, c0: FlexTensor) -> FlexTensor {
    let (batch, d) = dims(&h0);
    let (total, d_x) = dims(&x);
    let steps = total / batch.max(1);
    let (n, w, per, d_xh) = (batch * d, 4 * d, part_rows(batch), d_x + d);
    let w1_values = values(&w1);
    let w1 = View::new(&w1_values, d_xh, w);
    let inputs = values(&x);
    let mut out = StepRows::new((steps + 2) * n);
    out.push(&values(&h0));
    // The memory, updated in place; one step's input layers and gates, reused.
    let mut memory = values(&c0).into_owned();
    let (mut xh, mut gates) = (vec![0.0f32; batch * d_xh], vec![0.0f32; batch * w]);
    for t in 0..steps {
        out.step(n, per * d, |done, parts| {
            let read = [&inputs[t * batch * d_x..], &done[t * n..]];
            gates
                .par_chunks_mut(per * w)
                .zip(xh.par_chunks_mut(per * d_xh))
                .zip(memory.par_chunks_mut(per * d))
                .zip(parts)
                .enumerate()
                .for_each(|(k, (((gates, xh), c), mut h_next))| {
                    input_layer(xh, read, k * per, [d_x, d]);
                    step_product(gates, w, false, View::new(xh, c.len() / d, d_xh), w1);
                    vectorized(LstmCells((gates, c, &mut h_next, d)));
                });
        });
    }
    out.push(&memory);
    tensor(out.into_vec(), (steps + 2) * batch, d)
}

/// The GRU window forward, `[h0 ; h_1 … h_T]`, from `x` (`[T·B, d_x]`), `W1` (`[d_x + d, 3d]`)
/// and `h0`: `a_z, a_r` from the input layer, `a_n` from `x_t` and `r ⊙ h_{t-1}`.
pub(super) fn gru(x: FlexTensor, w1: FlexTensor, h0: FlexTensor) -> FlexTensor {
    let (batch, d) = dims(&h0);
    let (total, d_x) = dims(&x);
    let steps = total / batch.max(1);
    let (n, w, per, d_xh) = (batch * d, 3 * d, part_rows(batch), d_x + d);
    let w1_values = values(&w1);
    let products = GruProducts::new(&w1_values, d_x, d);
    let inputs = values(&x);
    let mut out = StepRows::new((steps + 1) * n);
    out.push(&values(&h0));
    let mut xh = vec![0.0f32; batch * d_xh];
    let (mut gates, mut rh) = (vec![0.0f32; batch * w], vec![0.0f32; n]);
    for t in 0..steps {
        out.step(n, per * d, |done, parts| {
            let h_prev = &done[t * n..];
            let read = [&inputs[t * batch * d_x..], h_prev];
            gates
                .par_chunks_mut(per * w)
                .zip(xh.par_chunks_mut(per * d_xh))
                .zip(rh.par_chunks_mut(per * d))
                .zip(parts)
                .enumerate()
                .for_each(|(k, (((gates, xh), rh), mut h_next))| {
                    let h_part = &h_prev[k * per * d..k * per * d + rh.len()];
                    input_layer(xh, read, k * per, [d_x, d]);
                    products.step(
                        gates,
                        View::new(xh, rh.len() / d, d_xh),
                        rh,
                        |gates, rh| vectorized(GruReset((gates, h_part, rh, d))),
                        |gates| vectorized(GruContexts((gates, h_part, &mut h_next, d))),
                    );
                });
        });
    }
    tensor(out.into_vec(), (steps + 1) * batch, d)
}
