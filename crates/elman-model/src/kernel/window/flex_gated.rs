//! The LSTM and GRU windows on Flex ([`GatedWindows`] for `Flex`): each step's products in
//! `gemm`'s kernels on slices (`flex_products.rs`: the step's input layer `[x_t ; h_{t-1}]`
//! times `W1` straight into the gates' rows, the blocks of `W1` read in place), and its gates, forward and back, in one loop over the
//! batch's rows compiled for the CPU's widest vectors ([`vectorized`]), where the generic form
//! (`lstm.rs`, `gru.rs`) takes a dozen tensor operations a step, each a pass over memory and an
//! allocation. The arithmetic and the layout of what the backward pass reads are the generic
//! form's; of the products outside the recurrence (`lstm::tail`'s, `gru::tail`'s), those of
//! `x` run each step in its parts while `da` is in cache, `dW1h`'s after the loop, split between
//! the pool's threads (`product_shared`); a backward pass writes each
//! step's `da` over the forward pass's gates, which it reads once (a copy first where another
//! tensor holds them), in place of an array of its own; the activations are
//! `flex_lanes`' [`tanh`] (`σ(x) = (1 + tanh(x / 2)) / 2`), within 1e-6 of the exact. Outside
//! autodiff a window keeps nothing for a backward pass (`lstm_infer`, `gru_infer`).
//!
//! A sequence's steps depend only on its own earlier steps, so each step's rows are split into
//! parts, one per thread of the current rayon pool ([`part_rows`]), each part its own products
//! and loops; the parts write disjoint rows, so another thread count changes the result only in
//! the order `gemm` sums a part's products (float error, as a batch split in `elman-train`).

use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;

use rayon::prelude::*;

use super::flex_lanes::{lanes, sigmoid, tanh, vectorized, vectorized_loop};
use super::flex_output::{Fresh, StepRows};
use super::flex_products::{
    GruProducts, InputGradients, View, input_layer, product_shared, step_product, transposed,
};
use super::{GatedWindows, flex_infer, lstm};
use crate::kernel::flex::{tensor, values, writable};

/// The fewest sequences a thread's part of a batch holds.
const MIN_PART: usize = 4;

/// The sequences of each part of a batch of `batch`: one part per thread of the current pool, as
/// many as give every part at least [`MIN_PART`].
pub(super) fn part_rows(batch: usize) -> usize {
    let parts = rayon::current_num_threads().min(batch / MIN_PART).max(1);
    batch.div_ceil(parts).max(1)
}

/// `[rows, cols]` of a matrix.
pub(super) fn dims(t: &FlexTensor) -> (usize, usize) {
    let shape = t.shape();
    (shape[0], shape[1])
}

/// The four `d`-wide blocks of a row of gates.
fn four(g: &mut [f32], d: usize) -> [&mut [f32]; 4] {
    let (i, rest) = g.split_at_mut(d);
    let (f, rest) = rest.split_at_mut(d);
    let (gg, o) = rest.split_at_mut(d);
    [i, f, gg, &mut o[..d]]
}

/// One part's LSTM cells at a step: from the products `a` (`[rows, 4d]`) and `c_{t-1}`, the
/// activated gates `[i, f, g, o]`, the step's memory and context written into the window's
/// rows (each row written once, never zeroed first).
#[inline(always)]
fn lstm_cells((a, c_prev, gates, c_next, h_next, d): LstmCellsArgs) {
    for (a, c_prev) in a.chunks_exact(4 * d).zip(c_prev.chunks_exact(d)) {
        let (ai, af, ag, ao) = (&a[..d], &a[d..2 * d], &a[2 * d..3 * d], &a[3 * d..]);
        let [i, f, g, o] = gates.rows(d);
        lanes(
            [ai, af, ag, ao, c_prev],
            [i, f, g, o, c_next.row(d), h_next.row(d)],
            |[i, f, g, o, c_prev], _| {
                let (i, f, g, o) = (sigmoid(i), sigmoid(f), tanh(g), sigmoid(o));
                let c = f * c_prev + i * g;
                [i, f, g, o, c, o * tanh(c)]
            },
        );
    }
}

/// [`lstm_cells`]' arguments: the products, `c_{t-1}`, then the gates, `c_t` and `h_t`
/// written, and `d`.
type LstmCellsArgs<'a, 'p> = (
    &'a [f32],
    &'a [f32],
    &'a mut Fresh<'p>,
    &'a mut Fresh<'p>,
    &'a mut Fresh<'p>,
    usize,
);

/// One part's LSTM cells at a step, backward: from the memories `c` and `c_prev`, the gradient
/// `g_up` reaching `h_t` from outside and `through` from the next step, `dc` (`dL/dc_t` through
/// the next step on entry, `dL/dc_{t-1}` on exit), and `gates`, the step's activated gates
/// `[i, f, g, o]` on entry and its `da` on exit (the forward pass's gates are read once, so the
/// backward pass writes over them in place of an array of its own).
#[inline(always)]
fn lstm_cells_back((read, dc, gates, d): LstmBackArgs) {
    let [c, c_prev, g_up, through] = read;
    let rows = gates
        .chunks_exact_mut(4 * d)
        .zip(c.chunks_exact(d).zip(c_prev.chunks_exact(d)))
        .zip(g_up.chunks_exact(d).zip(through.chunks_exact(d)))
        .zip(dc.chunks_exact_mut(d));
    for (((gates, (c, c_prev)), (g_up, through)), dc) in rows {
        let [i, f, g, o] = four(gates, d);
        lanes(
            [c, c_prev, g_up, through],
            [dc, i, f, g, o],
            |[c, c_prev, g_up, through], [dc, i, f, g, o]| {
                let tc = tanh(c);
                let dh = g_up + through;
                let dc = dh * o * (1.0 - tc * tc) + dc;
                [
                    dc * f,
                    dc * g * (i * (1.0 - i)),
                    dc * c_prev * (f * (1.0 - f)),
                    dc * i * (1.0 - g * g),
                    dh * tc * (o * (1.0 - o)),
                ]
            },
        );
    }
}

/// [`lstm_cells_back`]'s arguments: `c`, `c_prev`, `g_up` and `through` read, then `dc` and
/// the gates, and `d`.
type LstmBackArgs<'a> = ([&'a [f32]; 4], &'a mut [f32], &'a mut [f32], usize);

/// One part's GRU gates `z, r` at a step: `gates` (`[rows, 3d]`) holds their `a` on entry and
/// `σ(a)` on exit; `rh` gets `r ⊙ h_{t-1}`, the input of the candidate's product.
#[inline(always)]
fn gru_update_reset((gates, h, rh, d): GruRowsArgs) {
    let rows = gates.chunks_exact_mut(3 * d).zip(h.chunks_exact(d));
    for ((g, h), rh) in rows.zip(rh.chunks_exact_mut(d)) {
        let (z, rest) = g.split_at_mut(d);
        lanes([h], [z, &mut rest[..d], rh], |[h], [z, r, _]| {
            let r = sigmoid(r);
            [sigmoid(z), r, r * h]
        });
    }
}

/// One part's GRU candidates and contexts at a step: `n = tanh(a_n)` in place of `a_n`,
/// `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`.
#[inline(always)]
fn gru_candidates((gates, h, h_next, d): GruCandidatesArgs) {
    for (g, h) in gates.chunks_exact_mut(3 * d).zip(h.chunks_exact(d)) {
        let (z, nv) = g.split_at_mut(2 * d);
        let outs = (&mut nv[..d], h_next.row(d));
        lanes([&z[..d], h], outs, |[z, h], [a, _]| {
            let n = tanh(a);
            [n, (1.0 - z) * n + z * h]
        });
    }
}

/// [`gru_update_reset`]'s arguments: the gates, `h_{t-1}`, the rows written beside the gates,
/// and `d`.
type GruRowsArgs<'a> = (&'a mut [f32], &'a [f32], &'a mut [f32], usize);

/// [`gru_candidates`]' arguments: the gates, `h_{t-1}`, `h_t` written, and `d`.
type GruCandidatesArgs<'a, 'p> = (&'a mut [f32], &'a [f32], &'a mut Fresh<'p>, usize);

/// One part's GRU backward, first half at a step, with `gates` (`[rows, 3d]`) holding the
/// step's activated gates `[z, r, n]` on entry: `dh = g_up + through` (`through` on entry is
/// `dL/dh_t` through the next step), then `da_z` over `z`, the candidate's `da_n` over `n`, and
/// `dh ⊙ z` (the part of `dL/dh_{t-1}` through the update gate) in `through`.
#[inline(always)]
fn gru_back_candidate((read, gates, through, d): GruBackCandidate) {
    let [h_prev, g_up] = read;
    let rows = gates
        .chunks_exact_mut(3 * d)
        .zip(h_prev.chunks_exact(d).zip(g_up.chunks_exact(d)))
        .zip(through.chunks_exact_mut(d));
    for ((g, (h_prev, g_up)), through) in rows {
        let (z, rest) = g.split_at_mut(d);
        let n = &mut rest[d..2 * d];
        lanes(
            [h_prev, g_up],
            [z, n, through],
            |[h_prev, g_up], [z, n, through]| {
                let dh = g_up + through;
                [
                    dh * (h_prev - n) * (z * (1.0 - z)),
                    dh * (1.0 - z) * (1.0 - n * n),
                    dh * z,
                ]
            },
        );
    }
}

/// [`gru_back_candidate`]'s arguments: `h_{t-1}` and `g_up` read, then the gates and `through`,
/// and `d`.
type GruBackCandidate<'a> = ([&'a [f32]; 2], &'a mut [f32], &'a mut [f32], usize);

/// One part's GRU backward, second half at a step: from `drh = da_n · W1h_nᵀ`, the reset gate's
/// `da_r` over `r` in `gates`, `r ⊙ h_{t-1}` into `rh`, and `drh ⊙ r` added to `through`.
#[inline(always)]
fn gru_back_gates((read, gates, rh, through, d): GruBackGates) {
    let [h_prev, drh] = read;
    let rows = gates
        .chunks_exact_mut(3 * d)
        .zip(h_prev.chunks_exact(d).zip(drh.chunks_exact(d)))
        .zip(rh.chunks_exact_mut(d).zip(through.chunks_exact_mut(d)));
    for ((g, (h_prev, drh)), (rh, through)) in rows {
        let r = &mut g[d..2 * d];
        lanes(
            [h_prev, drh],
            [r, rh, through],
            |[h_prev, drh], [r, _, through]| {
                [
                    drh * h_prev * (r * (1.0 - r)),
                    r * h_prev,
                    through + drh * r,
                ]
            },
        );
    }
}

/// [`gru_back_gates`]'s arguments: `h_{t-1}` and `drh` read, then the gates, `rh` and
/// `through`, and `d`.
type GruBackGates<'a> = (
    [&'a [f32]; 2],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    usize,
);

vectorized_loop!(LstmCells, lstm_cells, ['a, 'p], LstmCellsArgs<'a, 'p>);
vectorized_loop!(LstmCellsBack, lstm_cells_back, 'a, LstmBackArgs<'a>);
vectorized_loop!(GruUpdateReset, gru_update_reset, 'a, GruRowsArgs<'a>);
vectorized_loop!(GruCandidates, gru_candidates, ['a, 'p], GruCandidatesArgs<'a, 'p>);
vectorized_loop!(GruBackCandidateLoop, gru_back_candidate, 'a, GruBackCandidate<'a>);
vectorized_loop!(GruBackGatesLoop, gru_back_gates, 'a, GruBackGates<'a>);

impl GatedWindows for Flex {
    fn lstm_forward(
        x: FlexTensor,
        w1: FlexTensor,
        h0: FlexTensor,
        c0: FlexTensor,
    ) -> (FlexTensor, lstm::Saved<Flex>) {
        let (batch, d) = dims(&h0);
        let (total, d_x) = dims(&x);
        let steps = total / batch.max(1);
        let (n, w, per, d_xh) = (batch * d, 4 * d, part_rows(batch), d_x + d);
        let w1_values = values(&w1);
        let w1 = View::new(&w1_values, d_xh, w);
        let inputs = values(&x);
        // Each step's `[x_t ; h_{t-1}] · W1` into `a` (reused), the gates activated from it.
        let (mut a, mut xh) = (vec![0.0f32; batch * w], vec![0.0f32; batch * d_xh]);
        let mut gates = StepRows::new(total * w);
        // [h0 ; h_1 … h_T ; c_T] and [c0 ; c_1 … c_T].
        let mut out = StepRows::new((steps + 2) * n);
        out.push(&values(&h0));
        let mut memories = StepRows::new((steps + 1) * n);
        memories.push(&values(&c0));
        for t in 0..steps {
            gates.step(batch * w, per * w, |_, gate_parts| {
                memories.step(n, per * d, |c_done, c_parts| {
                    out.step(n, per * d, |h_done, h_parts| {
                        let c_prev = &c_done[t * n..];
                        let read = [&inputs[t * batch * d_x..], &h_done[t * n..]];
                        let parts = gate_parts.into_par_iter().zip(c_parts).zip(h_parts);
                        a.par_chunks_mut(per * w)
                            .zip(xh.par_chunks_mut(per * d_xh))
                            .zip(parts)
                            .enumerate()
                            .for_each(|(k, ((a, xh), ((mut g, mut c), mut h)))| {
                                let rows = a.len() / w;
                                let cells = &c_prev[k * per * d..(k * per + rows) * d];
                                input_layer(xh, read, k * per, [d_x, d]);
                                step_product(a, w, false, View::new(xh, rows, d_xh), w1);
                                vectorized(LstmCells((a, cells, &mut g, &mut c, &mut h, d)));
                            });
                    });
                });
            });
        }
        let memories = memories.into_vec();
        out.push(&memories[steps * n..]);
        let saved = lstm::Saved {
            memories: tensor(memories, (steps + 1) * batch, d),
            gates: tensor(gates.into_vec(), total, w),
        };
        (tensor(out.into_vec(), (steps + 2) * batch, d), saved)
    }

    fn lstm_infer(x: FlexTensor, w1: FlexTensor, h0: FlexTensor, c0: FlexTensor) -> FlexTensor {
        flex_infer::lstm(x, w1, h0, c0)
    }

    fn gru_infer(x: FlexTensor, w1: FlexTensor, h0: FlexTensor) -> FlexTensor {
        flex_infer::gru(x, w1, h0)
    }

    fn lstm_backward(
        grad: FlexTensor,
        [x, w1, out]: [FlexTensor; 3],
        saved: lstm::Saved<Flex>,
    ) -> [FlexTensor; 4] {
        let (total, d_x) = dims(&x);
        let d = dims(&out).1;
        let batch = (dims(&out).0 - total) / 2;
        let steps = total / batch.max(1);
        let (n, w, per) = (batch * d, 4 * d, part_rows(batch));
        let w1_values = values(&w1);
        let (w1x, w1h) = w1_values.split_at(d_x * w);
        let w1h_t_values = transposed(w1h, d, w);
        let (w1x_t, w1h_t) = (View::new(w1x, d_x, w).t(), View::new(&w1h_t_values, w, d));
        let (upstream, memories) = (values(&grad), values(&saved.memories));
        let (inputs, states) = (values(&x), values(&out));
        // Each step's gates, then its `da` in their place.
        let mut gates = writable(saved.gates);
        let d_a = &mut gates.storage_mut::<f32>()[..total * w];
        let mut dc = upstream[(steps + 1) * n..(steps + 2) * n].to_vec();
        // dL/dh_t through the next step, `da_{t+1} · W1hᵀ` (none past the window's end).
        let mut through = vec![0.0f32; n];
        let mut x_grads = InputGradients::new(&inputs, w1x_t, batch, per);
        for t in (0..steps).rev() {
            let g_up = &upstream[(t + 1) * n..(t + 2) * n];
            let (c, c_prev) = (&memories[(t + 1) * n..], &memories[t * n..]);
            d_a[t * batch * w..(t + 1) * batch * w]
                .par_chunks_mut(per * w)
                .zip(dc.par_chunks_mut(per * d))
                .zip(through.par_chunks_mut(per * d))
                .zip(x_grads.step(t))
                .enumerate()
                .for_each(|(k, (((da, dc), through), part_inputs))| {
                    let (cells, size) = (k * per * d..k * per * d + dc.len(), dc.len() / d);
                    let read = [
                        &c[cells.clone()],
                        &c_prev[cells.clone()],
                        &g_up[cells],
                        through,
                    ];
                    vectorized(LstmCellsBack((read, dc, da, d)));
                    let da = View::new(da, size, w);
                    step_product(through, d, false, da, w1h_t);
                    part_inputs.add(da);
                });
        }
        let (dx, mut dw1) = x_grads.finish(d);
        let h_prev = View::new(&states[..total * d], total, d);
        product_shared(
            &mut dw1[d_x * w..],
            w,
            false,
            h_prev.t(),
            View::new(d_a, total, w),
        );
        let mut dh0 = upstream[..n].to_vec();
        if steps > 0 {
            dh0.iter_mut().zip(&through).for_each(|(g, r)| *g += r);
        }
        [
            tensor(dx, total, d_x),
            tensor(dw1, d_x + d, w),
            tensor(dh0, batch, d),
            tensor(dc, batch, d),
        ]
    }

    fn gru_forward(x: FlexTensor, w1: FlexTensor, h0: FlexTensor) -> (FlexTensor, FlexTensor) {
        let (batch, d) = dims(&h0);
        let (total, d_x) = dims(&x);
        let steps = total / batch.max(1);
        let (n, w, per, d_xh) = (batch * d, 3 * d, part_rows(batch), d_x + d);
        let w1_values = values(&w1);
        let products = GruProducts::new(&w1_values, d_x, d);
        let inputs = values(&x);
        // Each step's `[x_t ; h_{t-1}] · W1` for `z, r` and `x_t · W1x` for `n` into its rows,
        // then `(r ⊙ h_{t-1}) · W1h` added to `n` and the gates activated in place.
        let mut gate_values = vec![0.0f32; total * w];
        let (mut xh, mut rh) = (vec![0.0f32; batch * d_xh], vec![0.0f32; n]);
        // [h0 ; h_1 … h_T].
        let mut out = StepRows::new((steps + 1) * n);
        out.push(&values(&h0));
        for t in 0..steps {
            out.step(n, per * d, |done, parts| {
                let h_prev = &done[t * n..];
                let read = [&inputs[t * batch * d_x..], h_prev];
                gate_values[t * batch * w..(t + 1) * batch * w]
                    .par_chunks_mut(per * w)
                    .zip(xh.par_chunks_mut(per * d_xh))
                    .zip(rh.par_chunks_mut(per * d))
                    .zip(parts)
                    .enumerate()
                    .for_each(|(k, (((gates, xh), rh), mut h_next))| {
                        let h_part = &h_prev[k * per * d..k * per * d + rh.len()];
                        input_layer(xh, read, k * per, [d_x, d]);
                        let xh = View::new(xh, rh.len() / d, d_xh);
                        products.step(
                            gates,
                            xh,
                            rh,
                            |gates, rh| vectorized(GruUpdateReset((gates, h_part, rh, d))),
                            |gates| vectorized(GruCandidates((gates, h_part, &mut h_next, d))),
                        );
                    });
            });
        }
        let gates = tensor(gate_values, total, w);
        (tensor(out.into_vec(), (steps + 1) * batch, d), gates)
    }

    fn gru_backward(
        grad: FlexTensor,
        [x, w1, out]: [FlexTensor; 3],
        gates: FlexTensor,
    ) -> [FlexTensor; 3] {
        let (total, d_x) = dims(&x);
        let d = dims(&out).1;
        let batch = dims(&out).0 - total;
        let steps = total / batch.max(1);
        let (n, w, per) = (batch * d, 3 * d, part_rows(batch));
        let w1_values = values(&w1);
        // W1hᵀ's rows: `z, r`'s columns of W1h, then `n`'s.
        let w1h_t_values = transposed(&w1_values[d_x * w..], d, w);
        let (zr_t, n_t) = w1h_t_values.split_at(2 * d * d);
        let (w1h_zr_t, w1h_n_t) = (View::new(zr_t, 2 * d, d), View::new(n_t, d, d));
        let (upstream, states) = (values(&grad), values(&out));
        // Each step's gates, then its `da` in their place.
        let mut gates = writable(gates);
        let d_a = &mut gates.storage_mut::<f32>()[..total * w];
        // dL/dh_t through the next step (none past the window's end).
        let mut through = vec![0.0f32; n];
        let mut rh = vec![0.0f32; steps * n];
        // One step's `drh = da_n · W1h_nᵀ`, reused.
        let mut drh = vec![0.0f32; n];
        let inputs = values(&x);
        let w1x_t = View::new(&w1_values[..d_x * w], d_x, w).t();
        let mut x_grads = InputGradients::new(&inputs, w1x_t, batch, per);
        for t in (0..steps).rev() {
            let g_up = &upstream[t * n..(t + 1) * n];
            let h_prev = &states[t * n..(t + 1) * n];
            d_a[t * batch * w..(t + 1) * batch * w]
                .par_chunks_mut(per * w)
                .zip(rh[t * n..(t + 1) * n].par_chunks_mut(per * d))
                .zip(through.par_chunks_mut(per * d))
                .zip(drh.par_chunks_mut(per * d))
                .zip(x_grads.step(t))
                .enumerate()
                .for_each(|(k, ((((da, rh), through), drh), part_inputs))| {
                    let (cells, size) = (k * per * d..k * per * d + through.len(), rh.len() / d);
                    let (g_up, h_prev) = (&g_up[cells.clone()], &h_prev[cells]);
                    vectorized(GruBackCandidateLoop((
                        [h_prev, g_up],
                        &mut *da,
                        &mut *through,
                        d,
                    )));
                    let da_n = View::strided(&da[2 * d..], size, d, w);
                    step_product(drh, d, false, da_n, w1h_n_t);
                    vectorized(GruBackGatesLoop((
                        [h_prev, &*drh],
                        &mut *da,
                        rh,
                        &mut *through,
                        d,
                    )));
                    let da_zr = View::strided(da, size, 2 * d, w);
                    step_product(through, d, true, da_zr, w1h_zr_t);
                    part_inputs.add(View::new(da, size, w));
                });
        }
        // gru::tail's products for `W1h`.
        let da = View::new(d_a, total, w);
        let (dx, mut dw1) = x_grads.finish(d);
        let dw1h = &mut dw1[d_x * w..];
        let previous = View::new(&states[..total * d], total, d).t();
        product_shared(dw1h, w, false, previous, da.columns(0..2 * d));
        let rh = View::new(&rh, total, d).t();
        product_shared(&mut dw1h[2 * d..], w, false, rh, da.columns(2 * d..w));
        // `through` is `dh_{1→0}`, zeros for an empty window.
        [
            tensor(dx, total, d_x),
            tensor(dw1, d_x + d, w),
            tensor(through, batch, d),
        ]
    }
}
