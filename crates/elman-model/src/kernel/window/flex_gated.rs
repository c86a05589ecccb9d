//! The LSTM and GRU windows on Flex ([`GatedWindows`] for `Flex`): the products in Flex's matrix
//! products, and each step's gates, forward and back, in one loop over the batch's rows where
//! the generic form (`lstm.rs`, `gru.rs`) takes a dozen tensor operations a step, each a pass
//! over memory and an allocation. The arithmetic, the layout of what the backward pass reads
//! and the products after the loop (`lstm::tail`, `gru::tail`) are the generic form's; the
//! activations are [`tanh_f32`]'s (`σ(x) = (1 + tanh(x / 2)) / 2`), within 1e-6 of the exact.
//!
//! A sequence's steps depend only on its own earlier steps, so each step's rows are split into
//! parts, one per thread of the current rayon pool ([`part_rows`]), each part its own products
//! and loops; the parts write disjoint rows, so the result does not depend on how many there are.

use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;

use rayon::prelude::*;

use super::steps::{columns, rows};
use super::{GatedWindows, gru, lstm};
use crate::kernel::flex::{tensor, values};
use crate::kernel::tanh_f32;

/// `σ(x)` through [`tanh_f32`], branch-free so that the loops vectorize.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh_f32(0.5 * x)
}

/// The fewest sequences a thread's part of a batch holds (as in `elman-train`'s hand-derived
/// BPTT for the gated cells).
const MIN_PART: usize = 4;

/// The sequences of each part of a batch of `batch`: one part per thread of the current pool, as
/// many as give every part at least [`MIN_PART`].
fn part_rows(batch: usize) -> usize {
    let parts = rayon::current_num_threads().min(batch / MIN_PART).max(1);
    batch.div_ceil(parts).max(1)
}

/// `[rows, cols]` of a matrix.
fn dims(t: &FlexTensor) -> (usize, usize) {
    let shape = t.shape();
    (shape[0], shape[1])
}

/// A contiguous copy of a view (a block of `W1`), so that each step's product reads it as it is.
fn dense(t: FlexTensor) -> FlexTensor {
    let (r, c) = dims(&t);
    tensor(values(&t).into_owned(), r, c)
}

/// `a · b` for a `[rows, k]` matrix given as values.
fn times(a: &[f32], rows: usize, b: &FlexTensor) -> Vec<f32> {
    let k = dims(b).0;
    let product = Flex::float_matmul(tensor(a.to_vec(), rows, k), b.clone());
    values(&product).into_owned()
}

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
        let (n, w, per) = (batch * d, 4 * d, part_rows(batch));
        let w1h = dense(rows::<Flex>(w1.clone(), d_x..d_x + d));
        let projected = Flex::float_matmul(x, rows::<Flex>(w1, 0..d_x));
        let p = values(&projected);
        // [h0 ; h_1 … h_T ; c_T], [c0 ; c_1 … c_T] and the activated gates [i, f, g, o].
        let mut out = vec![0.0f32; (steps + 2) * n];
        out[..n].copy_from_slice(&values(&h0));
        let mut memories = vec![0.0f32; (steps + 1) * n];
        memories[..n].copy_from_slice(&values(&c0));
        let mut gates = vec![0.0f32; steps * batch * w];
        for t in 0..steps {
            let (h_done, h_rest) = out.split_at_mut((t + 1) * n);
            let (c_done, c_rest) = memories.split_at_mut((t + 1) * n);
            let (h_prev, c_prev) = (&h_done[t * n..], &c_done[t * n..]);
            let rows_t = t * batch * w..(t + 1) * batch * w;
            let p_t = &p[rows_t.clone()];
            gates[rows_t]
                .par_chunks_mut(per * w)
                .zip(c_rest[..n].par_chunks_mut(per * d))
                .zip(h_rest[..n].par_chunks_mut(per * d))
                .enumerate()
                .for_each(|(k, ((gates, c_next), h_next))| {
                    let (first, size) = (k * per, h_next.len() / d);
                    let r = times(&h_prev[first * d..(first + size) * d], size, &w1h);
                    for b in 0..size {
                        let g = &mut gates[b * w..(b + 1) * w];
                        let p = &p_t[(first + b) * w..(first + b + 1) * w];
                        for ((g, p), r) in g.iter_mut().zip(p).zip(&r[b * w..]) {
                            *g = p + r;
                        }
                        let (i, rest) = g.split_at_mut(d);
                        let (f, rest) = rest.split_at_mut(d);
                        let (gg, o) = rest.split_at_mut(d);
                        let c_prev = &c_prev[(first + b) * d..(first + b + 1) * d];
                        let c_next = &mut c_next[b * d..(b + 1) * d];
                        let h_next = &mut h_next[b * d..(b + 1) * d];
                        for j in 0..d {
                            let (iv, fv) = (sigmoid(i[j]), sigmoid(f[j]));
                            let (gv, ov) = (tanh_f32(gg[j]), sigmoid(o[j]));
                            (i[j], f[j], gg[j], o[j]) = (iv, fv, gv, ov);
                            let c = fv * c_prev[j] + iv * gv;
                            c_next[j] = c;
                            h_next[j] = ov * tanh_f32(c);
                        }
                    }
                });
        }
        out[(steps + 1) * n..].copy_from_slice(&memories[steps * n..]);
        let saved = lstm::Saved {
            memories: tensor(memories, (steps + 1) * batch, d),
            gates: tensor(gates, steps * batch, w),
        };
        (tensor(out, (steps + 2) * batch, d), saved)
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
        let w1h_t = dense(Flex::float_transpose(rows::<Flex>(
            w1.clone(),
            d_x..d_x + d,
        )));
        let (upstream, memories, gates) =
            (values(&grad), values(&saved.memories), values(&saved.gates));
        let mut dc = upstream[(steps + 1) * n..(steps + 2) * n].to_vec();
        // dL/dh_t through the next step, `da_{t+1} · W1hᵀ` (none past the window's end).
        let mut through = vec![0.0f32; n];
        let mut d_a = vec![0.0f32; steps * batch * w];
        for t in (0..steps).rev() {
            let g_up = &upstream[(t + 1) * n..(t + 2) * n];
            let (c, c_prev) = (&memories[(t + 1) * n..], &memories[t * n..]);
            let rows_t = t * batch * w..(t + 1) * batch * w;
            let gates_t = &gates[rows_t.clone()];
            d_a[rows_t]
                .par_chunks_mut(per * w)
                .zip(dc.par_chunks_mut(per * d))
                .zip(through.par_chunks_mut(per * d))
                .enumerate()
                .for_each(|(k, ((da_part, dc), through))| {
                    let (first, size) = (k * per, dc.len() / d);
                    for b in 0..size {
                        let (row, cells) = (first + b, (first + b) * d..(first + b + 1) * d);
                        let gt = &gates_t[row * w..(row + 1) * w];
                        let (i, f) = (&gt[..d], &gt[d..2 * d]);
                        let (g, o) = (&gt[2 * d..3 * d], &gt[3 * d..]);
                        let (c, c_prev, g_up) =
                            (&c[cells.clone()], &c_prev[cells.clone()], &g_up[cells]);
                        let dc = &mut dc[b * d..(b + 1) * d];
                        let through = &through[b * d..(b + 1) * d];
                        let da = &mut da_part[b * w..(b + 1) * w];
                        let (da_i, rest) = da.split_at_mut(d);
                        let (da_f, rest) = rest.split_at_mut(d);
                        let (da_g, da_o) = rest.split_at_mut(d);
                        for j in 0..d {
                            let tc = tanh_f32(c[j]);
                            let dh = g_up[j] + through[j];
                            let dcv = dh * o[j] * (1.0 - tc * tc) + dc[j];
                            da_i[j] = dcv * g[j] * (i[j] * (1.0 - i[j]));
                            da_f[j] = dcv * c_prev[j] * (f[j] * (1.0 - f[j]));
                            da_g[j] = dcv * i[j] * (1.0 - g[j] * g[j]);
                            da_o[j] = dh * tc * (o[j] * (1.0 - o[j]));
                            dc[j] = dcv * f[j];
                        }
                    }
                    through.copy_from_slice(&times(da_part, size, &w1h_t));
                });
        }
        let d_a = tensor(d_a, steps * batch, w);
        let through = (steps > 0).then(|| tensor(through, batch, d));
        lstm::tail::<Flex>(grad, [x, w1, out], d_a, through, tensor(dc, batch, d))
    }

    fn gru_forward(x: FlexTensor, w1: FlexTensor, h0: FlexTensor) -> (FlexTensor, FlexTensor) {
        let (batch, d) = dims(&h0);
        let (total, d_x) = dims(&x);
        let steps = total / batch.max(1);
        let (n, w, per) = (batch * d, 3 * d, part_rows(batch));
        let w1h = rows::<Flex>(w1.clone(), d_x..d_x + d);
        let w1h_zr = dense(columns::<Flex>(w1h.clone(), 0..2 * d));
        let w1h_n = dense(columns::<Flex>(w1h, 2 * d..3 * d));
        let projected = Flex::float_matmul(x, rows::<Flex>(w1, 0..d_x));
        let p = values(&projected);
        // [h0 ; h_1 … h_T] and the activated gates [z, r, n].
        let mut out = vec![0.0f32; (steps + 1) * n];
        out[..n].copy_from_slice(&values(&h0));
        let mut gates = vec![0.0f32; steps * batch * w];
        for t in 0..steps {
            let (done, next) = out.split_at_mut((t + 1) * n);
            let h_prev = &done[t * n..];
            let rows_t = t * batch * w..(t + 1) * batch * w;
            let p_t = &p[rows_t.clone()];
            gates[rows_t]
                .par_chunks_mut(per * w)
                .zip(next[..n].par_chunks_mut(per * d))
                .enumerate()
                .for_each(|(k, (gates, h_next))| {
                    let (first, size) = (k * per, h_next.len() / d);
                    let h_part = &h_prev[first * d..(first + size) * d];
                    let a_zr = times(h_part, size, &w1h_zr);
                    let mut rh = vec![0.0f32; size * d];
                    for b in 0..size {
                        let g = &mut gates[b * w..(b + 1) * w];
                        let p = &p_t[(first + b) * w..(first + b + 1) * w];
                        let a = &a_zr[b * 2 * d..(b + 1) * 2 * d];
                        for k in 0..2 * d {
                            g[k] = sigmoid(p[k] + a[k]);
                        }
                        let (h, rh) = (&h_part[b * d..(b + 1) * d], &mut rh[b * d..(b + 1) * d]);
                        for j in 0..d {
                            rh[j] = g[d + j] * h[j];
                        }
                    }
                    let a_n = times(&rh, size, &w1h_n);
                    for b in 0..size {
                        let g = &mut gates[b * w..(b + 1) * w];
                        let p = &p_t[(first + b) * w..(first + b + 1) * w];
                        let cells = b * d..(b + 1) * d;
                        let (a, h) = (&a_n[cells.clone()], &h_part[cells.clone()]);
                        let h_next = &mut h_next[cells];
                        for j in 0..d {
                            let nv = tanh_f32(p[2 * d + j] + a[j]);
                            g[2 * d + j] = nv;
                            let z = g[j];
                            h_next[j] = (1.0 - z) * nv + z * h[j];
                        }
                    }
                });
        }
        let gates = tensor(gates, steps * batch, w);
        (tensor(out, (steps + 1) * batch, d), gates)
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
        let w1h = rows::<Flex>(w1.clone(), d_x..d_x + d);
        let w1h_zr_t = dense(Flex::float_transpose(columns::<Flex>(
            w1h.clone(),
            0..2 * d,
        )));
        let w1h_n_t = dense(Flex::float_transpose(columns::<Flex>(w1h, 2 * d..3 * d)));
        let (upstream, states, gate_values) = (values(&grad), values(&out), values(&gates));
        // dL/dh_t through the next step (none past the window's end).
        let mut through = vec![0.0f32; n];
        let mut d_a = vec![0.0f32; steps * batch * w];
        let mut rh = vec![0.0f32; steps * n];
        for t in (0..steps).rev() {
            let g_up = &upstream[(t + 1) * n..(t + 2) * n];
            let h_prev = &states[t * n..(t + 1) * n];
            let rows_t = t * batch * w..(t + 1) * batch * w;
            let gates_t = &gate_values[rows_t.clone()];
            d_a[rows_t]
                .par_chunks_mut(per * w)
                .zip(rh[t * n..(t + 1) * n].par_chunks_mut(per * d))
                .zip(through.par_chunks_mut(per * d))
                .enumerate()
                .for_each(|(k, ((da_part, rh_part), through))| {
                    let (first, size) = (k * per, through.len() / d);
                    let cells = first * d..(first + size) * d;
                    let (g_up, h_prev) = (&g_up[cells.clone()], &h_prev[cells]);
                    let gates = &gates_t[first * w..(first + size) * w];
                    let mut dh = vec![0.0f32; size * d];
                    let mut da_n = vec![0.0f32; size * d];
                    for b in 0..size {
                        let g = &gates[b * w..(b + 1) * w];
                        let (z, nv) = (&g[..d], &g[2 * d..]);
                        for j in 0..d {
                            let k = b * d + j;
                            dh[k] = g_up[k] + through[k];
                            da_n[k] = dh[k] * (1.0 - z[j]) * (1.0 - nv[j] * nv[j]);
                        }
                    }
                    let drh = times(&da_n, size, &w1h_n_t);
                    let mut da_zr = vec![0.0f32; size * 2 * d];
                    for b in 0..size {
                        let g = &gates[b * w..(b + 1) * w];
                        let (z, r, nv) = (&g[..d], &g[d..2 * d], &g[2 * d..]);
                        let da = &mut da_part[b * w..(b + 1) * w];
                        let zr = &mut da_zr[b * 2 * d..(b + 1) * 2 * d];
                        for j in 0..d {
                            let k = b * d + j;
                            let da_z = dh[k] * (h_prev[k] - nv[j]) * (z[j] * (1.0 - z[j]));
                            let da_r = drh[k] * h_prev[k] * (r[j] * (1.0 - r[j]));
                            (zr[j], zr[d + j]) = (da_z, da_r);
                            (da[j], da[d + j], da[2 * d + j]) = (da_z, da_r, da_n[k]);
                            rh_part[k] = r[j] * h_prev[k];
                        }
                    }
                    let back = times(&da_zr, size, &w1h_zr_t);
                    for b in 0..size {
                        let g = &gates[b * w..(b + 1) * w];
                        let (z, r) = (&g[..d], &g[d..2 * d]);
                        for j in 0..d {
                            let k = b * d + j;
                            through[k] = dh[k] * z[j] + drh[k] * r[j] + back[k];
                        }
                    }
                });
        }
        let d_a = tensor(d_a, steps * batch, w);
        let rh = tensor(rh, steps * batch, d);
        let through = (steps > 0).then(|| tensor(through, batch, d));
        gru::tail::<Flex>(grad, [x, w1, out], d_a, rh, through)
    }
}
