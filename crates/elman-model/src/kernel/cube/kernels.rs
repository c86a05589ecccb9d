//! The `#[cube]` kernels of a window's recurrence and of inference; `cube.rs` launches them
//! (the tutorial's and the optimizer's are in `steps.rs`).

use burn::cubecl::{self, prelude::*};

#[cfg(doc)]
use super::super::ElmanKernels;

/// Unit part `q`'s share of a column's products with a context of `d_hidden` values from
/// `context[from]` on: the sum of `context[from + k] · weights[i]` over its rows
/// `k = q · span + i` below `d_hidden`, its `span` weights in its registers (the step of the
/// workgroup layouts below).
#[cube]
fn part_products<F: Float>(
    context: &Shared<[F]>,
    from: usize,
    weights: &Array<F>,
    q: usize,
    #[comptime] span: usize,
    #[comptime] d_hidden: usize,
) -> F {
    let mut sum = F::new(0.0);
    #[unroll]
    for i in 0..span {
        let k = q * span + i;
        if k < d_hidden {
            sum += context[from + k] * weights[i];
        }
    }
    sum
}

/// Fills `weights` with unit part `q`'s share of `rows` values of `m` spaced `stride` apart from
/// `m[start]` on (a column of a row-major matrix: `start` its first row's value, `stride` the
/// matrix's width; a row: `stride` 1): `weights[i] = m[start + (q · span + i) · stride]`, and 0
/// past the last of the `rows`; the weights then stay in the unit's registers.
#[cube]
fn strided_part<F: Float>(
    weights: &mut Array<F>,
    m: &Tensor<F>,
    start: usize,
    stride: usize,
    q: usize,
    #[comptime] span: usize,
    #[comptime] rows: usize,
) {
    #[unroll]
    for i in 0..span {
        let k = q * span + i;
        let mut w = F::new(0.0);
        if k < rows {
            w = m[start + k * stride];
        }
        weights[i] = w;
    }
}

/// A hidden neuron's weights in the forward kernels' layout: unit part `q`'s share of column
/// `j` of `W1h` into `weights`, and column `j` of `W1x` into `w_in`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn neuron_weights<F: Float>(
    weights: &mut Array<F>,
    w_in: &mut Array<F>,
    w1: &Tensor<F>,
    j: usize,
    q: usize,
    #[comptime] span: usize,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
) {
    strided_part(
        weights,
        w1,
        d_input * d_hidden + j,
        d_hidden,
        q,
        span,
        d_hidden,
    );
    strided_part(w_in, w1, j, d_hidden, 0, d_input, d_input);
}

/// The recurrence forward over a window (see
/// [`ElmanKernels::elman_recurrence_forward`]): a workgroup per sequence, `parts` units per
/// hidden neuron, the previous context in shared memory. Unit `q · d_hidden + j` sums the `q`-th
/// part of neuron `j`'s products; the first part's unit adds the step's input projection
/// (column `j` of `W1x` in its registers) and the parts up. Several parts shorten the chain of
/// products a unit sums one after the other at every step. Writes `h0`, then every step's
/// context a batch of rows further on.
#[cube(launch)]
pub(super) fn recurrence_forward_kernel<F: Float>(
    x: &Tensor<F>,
    w1: &Tensor<F>,
    h0: &Tensor<F>,
    states: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] parts: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let unit = UNIT_POS_X as usize;
    let (j, q) = (unit % d_hidden, unit / d_hidden);
    let span = d_hidden.div_ceil(parts);
    let batch = batch as usize;
    let mut previous = Shared::<[F]>::new_slice(d_hidden);
    let mut partial = Shared::<[F]>::new_slice(d_hidden * parts);
    // This unit's part of column `j` of W1h and column `j` of W1x, in its registers for the
    // whole window.
    let mut weights = Array::<F>::new(span);
    let mut w_in = Array::<F>::new(d_input);
    neuron_weights(&mut weights, &mut w_in, w1, j, q, span, d_input, d_hidden);
    if q == 0 {
        let h = h0[b * d_hidden + j];
        previous[j] = h;
        states[b * d_hidden + j] = h;
    }
    sync_cube();
    for t in 0..steps as usize {
        // The step's input projection, asked for before the products so that its loads overlap
        // them.
        let mut a = F::new(0.0);
        if q == 0 {
            #[unroll]
            for i in 0..d_input {
                a += x[(t * batch + b) * d_input + i] * w_in[i];
            }
        }
        let sum = part_products(&previous, 0, &weights, q, span, d_hidden);
        partial[q * d_hidden + j] = sum;
        sync_cube();
        if q == 0 {
            for r in 0..parts {
                a += partial[r * d_hidden + j];
            }
            a = a.tanh();
            states[((t + 1) * batch + b) * d_hidden + j] = a;
            previous[j] = a;
        }
        sync_cube();
    }
}

/// A network's whole forward pass over a window and its squared errors, for inference (see
/// [`ElmanKernels::elman_forward_squares`]): a workgroup per sequence from a zero context, the
/// layout of [`recurrence_forward_kernel`] with `d_output` more columns: unit
/// `q · width + j` sums the `q`-th part of column `j` of `[W1h | W2]` against the previous
/// context. At step `t` the first `d_hidden` columns give `h_t` (with the input projection,
/// `x_t · W1x`, added by the first part's unit), and the last `d_output` give `y_{t-1} =
/// h_{t-1} · W2` from the same context, whose squared error against its target the unit adds
/// up: the outputs cost no barrier of their own. With one part a column the context is kept
/// twice, a step reading one copy and writing the other, and a step costs one barrier instead
/// of two (one to gather the parts, one to share the new context). Writes each sequence's
/// sums, `[B, d_output]`.
#[cube(launch)]
pub(super) fn forward_squares_kernel<F: Float>(
    x: &Tensor<F>,
    targets: &Tensor<F>,
    w1: &Tensor<F>,
    w2: &Tensor<F>,
    squares: &mut Tensor<F>,
    steps: u32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[comptime] parts: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let unit = UNIT_POS_X as usize;
    let width = d_hidden + d_output;
    let (j, q) = (unit % width, unit / width);
    let span = d_hidden.div_ceil(parts);
    let steps = steps as usize;
    let hidden = j < d_hidden;
    let copies = comptime!(if parts == 1 { 2usize } else { 1usize });
    let mut previous = Shared::<[F]>::new_slice(d_hidden * copies);
    let mut partial = Shared::<[F]>::new_slice(width * parts);
    // This unit's part of column `j` of [W1h | W2], and (hidden units) column `j` of W1x.
    let mut weights = Array::<F>::new(span);
    let mut w_in = Array::<F>::new(d_input);
    if hidden {
        neuron_weights(&mut weights, &mut w_in, w1, j, q, span, d_input, d_hidden);
    } else {
        // (An output's unit reads no input weights.)
        strided_part(&mut weights, w2, j - d_hidden, d_output, q, span, d_hidden);
    }
    if q == 0 && hidden {
        previous[j] = F::new(0.0);
    }
    let mut total = F::new(0.0);
    sync_cube();
    for t in 0..steps + 1 {
        // The step's input projection or the previous step's target, asked for before the
        // products so that the loads overlap them.
        let mut a = F::new(0.0);
        let mut target = F::new(0.0);
        if q == 0 {
            if hidden {
                if t < steps {
                    #[unroll]
                    for i in 0..d_input {
                        a += x[(b * steps + t) * d_input + i] * w_in[i];
                    }
                }
            } else {
                if t > 0 {
                    target = targets[(b * steps + t - 1) * d_output + j - d_hidden];
                }
            }
        }
        // The copy of the context this step reads (the other one, with one part, it writes).
        let read = (t % copies) * d_hidden;
        let sum = part_products(&previous, read, &weights, q, span, d_hidden);
        if comptime!(parts == 1) {
            a += sum;
        } else {
            partial[q * width + j] = sum;
            sync_cube();
            if q == 0 {
                for r in 0..parts {
                    a += partial[r * width + j];
                }
            }
        }
        if q == 0 {
            if hidden {
                if t < steps {
                    previous[(copies - 1) * d_hidden - read + j] = a.tanh();
                }
            } else {
                if t > 0 {
                    let e = a - target;
                    total += e * e;
                }
            }
        }
        sync_cube();
    }
    if q == 0 && !hidden {
        squares[b * d_output + j - d_hidden] = total;
    }
}

/// The recurrence forward with a unit per sequence and no barrier (see
/// [`serial`](super::serial)), over steps `from..to` of the window (`steps` in all): a launch
/// after the first starts from the context the one before wrote last, so that a window whose
/// loops would run past a software rasterizer's loop budget goes in several launches (see
/// [`serial_steps`](super::serial_steps)). The loops over the neurons inside the loop over the
/// context are unrolled: a step counts `1 + d_hidden` loop iterations.
///
/// The step's sums stay in the unit's registers, and each value of the previous context is read
/// from `states`, where the step before wrote it: no array of the unit's is indexed by a loop's
/// variable. lavapipe compiles such an array slowly: at hidden 32 (`configs/sines.toml`, its
/// shader cache empty) the first launch of this kernel took 9 to 15 s and of the backward one 20
/// to 23 s with the context kept in an array, 0.2 to 0.3 s and 0.1 to 0.2 s since, and with the
/// same throughput (the bench's batched workload at hidden 64: 1,628 to 1,637 training
/// sequences per second against 1,621 to 1,640).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn recurrence_forward_serial_kernel<F: Float>(
    x: &Tensor<F>,
    w1: &Tensor<F>,
    h0: &Tensor<F>,
    states: &mut Tensor<F>,
    from: u32,
    to: u32,
    steps: u32,
    batch: u32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = ABSOLUTE_POS_X as usize;
    let batch = batch as usize;
    let (from, to) = (from as usize, to as usize);
    let _ = steps;
    if b < batch {
        if from == 0 {
            #[unroll]
            for j in 0..d_hidden {
                states[b * d_hidden + j] = h0[b * d_hidden + j];
            }
        }
        let mut next = Array::<F>::new(d_hidden);
        for t in from..to {
            let row = (t * batch + b) * d_input;
            #[unroll]
            for j in 0..d_hidden {
                let mut a = F::new(0.0);
                #[unroll]
                for i in 0..d_input {
                    a += x[row + i] * w1[i * d_hidden + j];
                }
                next[j] = a;
            }
            let previous = (t * batch + b) * d_hidden;
            for k in 0..d_hidden {
                let h = states[previous + k];
                #[unroll]
                for j in 0..d_hidden {
                    next[j] += h * w1[(d_input + k) * d_hidden + j];
                }
            }
            let out = ((t + 1) * batch + b) * d_hidden;
            #[unroll]
            for j in 0..d_hidden {
                states[out + j] = next[j].tanh();
            }
        }
    }
}

/// The recurrence backward with a unit per sequence (see
/// [`recurrence_forward_serial_kernel`]), over steps `from..to` of the window's `steps`, the
/// last first: a launch before the window's end starts from `dL/da` of the step after its
/// last, which the launch before it wrote. `dL/da` of the step after stays in the unit's
/// registers, and each step's goes to `d_a` neuron by neuron and is read back from there, so
/// that no array of the unit's is indexed by a loop's variable (as in the forward kernel).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn recurrence_backward_serial_kernel<F: Float>(
    h: &Tensor<F>,
    g: &Tensor<F>,
    w1h: &Tensor<F>,
    d_a: &mut Tensor<F>,
    from: u32,
    to: u32,
    steps: u32,
    batch: u32,
    #[comptime] d_hidden: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = ABSOLUTE_POS_X as usize;
    let batch = batch as usize;
    let (from, to, steps) = (from as usize, to as usize, steps as usize);
    if b < batch {
        let mut next = Array::<F>::new(d_hidden);
        let after = (to * batch + b) * d_hidden;
        #[unroll]
        for k in 0..d_hidden {
            next[k] = F::new(0.0);
        }
        if to < steps {
            #[unroll]
            for k in 0..d_hidden {
                next[k] = d_a[after + k];
            }
        }
        for i in 0..to - from {
            let row = ((to - 1 - i) * batch + b) * d_hidden;
            for j in 0..d_hidden {
                let mut through = g[row + j];
                #[unroll]
                for k in 0..d_hidden {
                    through += next[k] * w1h[j * d_hidden + k];
                }
                let state = h[row + j];
                d_a[row + j] = through * (F::new(1.0) - state * state);
            }
            #[unroll]
            for k in 0..d_hidden {
                next[k] = d_a[row + k];
            }
        }
    }
}

/// The recurrence backward over a window (see
/// [`ElmanKernels::elman_recurrence_backward`]): a workgroup per sequence, `parts` units per
/// hidden neuron as in [`recurrence_forward_kernel`], `dL/da_{t+1}` in shared memory; unit
/// `(q, j)` keeps its part of row `j` of `W1h` in its registers, read once per launch.
#[cube(launch)]
pub(super) fn recurrence_backward_kernel<F: Float>(
    h: &Tensor<F>,
    g: &Tensor<F>,
    w1h: &Tensor<F>,
    d_a: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d_hidden: usize,
    #[comptime] parts: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let unit = UNIT_POS_X as usize;
    let (j, q) = (unit % d_hidden, unit / d_hidden);
    let span = d_hidden.div_ceil(parts);
    let batch = batch as usize;
    let steps = steps as usize;
    let mut next = Shared::<[F]>::new_slice(d_hidden);
    let mut partial = Shared::<[F]>::new_slice(d_hidden * parts);
    // This unit's part of row `j` of W1h (column `j` of W1hᵀ), in its registers for the whole
    // window.
    let mut weights = Array::<F>::new(span);
    strided_part(&mut weights, w1h, j * d_hidden, 1, q, span, d_hidden);
    if q == 0 {
        next[j] = F::new(0.0);
    }
    sync_cube();
    for i in 0..steps {
        let row = ((steps - 1 - i) * batch + b) * d_hidden;
        // The step's inputs, asked for before the products so that their loads overlap them.
        let mut through = F::new(0.0);
        let mut state = F::new(0.0);
        if q == 0 {
            through = g[row + j];
            state = h[row + j];
        }
        let sum = part_products(&next, 0, &weights, q, span, d_hidden);
        partial[q * d_hidden + j] = sum;
        sync_cube();
        if q == 0 {
            for r in 0..parts {
                through += partial[r * d_hidden + j];
            }
            let d = through * (F::new(1.0) - state * state);
            d_a[row + j] = d;
            next[j] = d;
        }
        sync_cube();
    }
}

/// A window's read-out for backpropagation (see [`ElmanKernels::elman_readout`]), a unit per
/// row: its outputs from its context and `W2` (with a bias, `W2`'s last row added), then
/// `dL/dy`, the loss's terms and `dL/dy · W2hᵀ`.
#[cube(launch)]
pub(super) fn readout_kernel<F: Float>(
    h: &Tensor<F>,
    targets: &Tensor<F>,
    w2: &Tensor<F>,
    d_y: &mut Tensor<F>,
    g: &mut Tensor<F>,
    terms: &mut Tensor<F>,
    scale: f32,
    rows: u32,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[comptime] bias: bool,
    #[define(F)] _dtype: ElemType,
) {
    let r = ABSOLUTE_POS_X as usize;
    let scale = F::cast_from(scale);
    if r < rows as usize {
        let mut out = Array::<F>::new(d_output);
        #[unroll]
        for o in 0..d_output {
            let mut y = F::new(0.0);
            if bias {
                y = w2[d_hidden * d_output + o];
            }
            for k in 0..d_hidden {
                y += h[r * d_hidden + k] * w2[k * d_output + o];
            }
            let residual = y - targets[r * d_output + o];
            let d = scale * residual;
            d_y[r * d_output + o] = d;
            terms[r * d_output + o] = d * residual / F::new(2.0);
            out[o] = d;
        }
        for k in 0..d_hidden {
            let mut sum = F::new(0.0);
            #[unroll]
            for o in 0..d_output {
                sum += out[o] * w2[k * d_output + o];
            }
            g[r * d_hidden + k] = sum;
        }
    }
}
