//! The `#[cube]` kernels themselves; `cube.rs` launches them.

use burn::cubecl::{self, prelude::*};

#[cfg(doc)]
use super::super::ElmanKernels;

/// Online SGD over one sequence from a zero context, epoch after epoch (see
/// [`ElmanKernels::elman_sgd_epochs`]), in one workgroup: unit `j` keeps column `j` of `W1` in
/// its own registers and row `j` of `W2` in shared memory for the whole launch, so nothing
/// goes through device memory between steps. `residuals` gets every epoch's, `after` (when
/// `keep`) both matrices after each epoch, `W1` then `W2`, row-major; the weights are written
/// back at the end.
#[cube(launch)]
pub(super) fn sgd_epochs_kernel<F: Float>(
    w1: &mut Tensor<F>,
    w2: &mut Tensor<F>,
    inputs: &Tensor<F>,
    targets: &Tensor<F>,
    lr_scales: &Tensor<F>,
    residuals: &mut Tensor<F>,
    after: &mut Tensor<F>,
    steps: u32,
    epochs: u32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[comptime] keep: bool,
    #[define(F)] _dtype: ElemType,
) {
    let unit = UNIT_POS_X as usize;
    let rows = d_input + d_hidden;
    let (n1, n2) = (rows * d_hidden, d_hidden * d_output);
    let steps = steps as usize;
    // The input layer [x ; h], the new context h', dL/dy, and W2.
    let mut xh = Shared::<[F]>::new_slice(rows);
    let mut context = Shared::<[F]>::new_slice(d_hidden);
    let mut d_out = Shared::<[F]>::new_slice(d_output);
    let mut w2s = Shared::<[F]>::new_slice(n2);
    // This unit's column of W1.
    let mut column = Array::<F>::new(rows);
    if unit < d_hidden {
        for i in 0..rows {
            column[i] = w1[i * d_hidden + unit];
        }
        for k in 0..d_output {
            w2s[unit * d_output + k] = w2[unit * d_output + k];
        }
    }
    for e in 0..epochs as usize {
        let scale = lr_scales[e];
        if unit < d_hidden {
            xh[d_input + unit] = F::new(0.0);
        }
        sync_cube();
        for t in 0..steps {
            if unit < d_input {
                xh[unit] = inputs[t * d_input + unit];
            }
            sync_cube();
            // Forward: h'_j = tanh(xh · W1[:, j]).
            if unit < d_hidden {
                let mut a = F::new(0.0);
                for i in 0..rows {
                    a += xh[i] * column[i];
                }
                context[unit] = a.tanh();
            }
            sync_cube();
            // y_k = h' · W2[:, k]; the residual and dL/dy, the learning rate folded in.
            if unit < d_output {
                let mut y = F::new(0.0);
                for j in 0..d_hidden {
                    y += context[j] * w2s[j * d_output + unit];
                }
                let r = y - targets[t * d_output + unit];
                residuals[(e * steps + t) * d_output + unit] = r;
                d_out[unit] = scale * r;
            }
            sync_cube();
            // Backward and update, each unit its own row of W2 and column of W1: dL/da_j from
            // the old W2, then W2[j, :] -= h'_j dL/dy and W1[:, j] -= xh dL/da_j; the context
            // carries on, detached, into the next step's input layer.
            if unit < d_hidden {
                let h = context[unit];
                let mut d_h = F::new(0.0);
                for k in 0..d_output {
                    let g = d_out[k];
                    let w = w2s[unit * d_output + k];
                    d_h += w * g;
                    w2s[unit * d_output + k] = w - h * g;
                }
                let d_a = d_h * (F::new(1.0) - h * h);
                for i in 0..rows {
                    column[i] -= xh[i] * d_a;
                }
            }
            sync_cube();
            if unit < d_hidden {
                xh[d_input + unit] = context[unit];
            }
        }
        if keep && unit < d_hidden {
            let base = e * (n1 + n2);
            for i in 0..rows {
                after[base + i * d_hidden + unit] = column[i];
            }
            for k in 0..d_output {
                after[base + n1 + unit * d_output + k] = w2s[unit * d_output + k];
            }
        }
    }
    if unit < d_hidden {
        for i in 0..rows {
            w1[i * d_hidden + unit] = column[i];
        }
        for k in 0..d_output {
            w2[unit * d_output + k] = w2s[unit * d_output + k];
        }
    }
}

/// Adam's coefficients for [`adam_kernel`]: the learning rate, both decay rates and their
/// complements (computed on the host in `f64`, as the tensor operations take them), `ε`, and
/// the bias corrections `c1 = 1 - β1^t`, `c2 = 1 - β2^t`.
#[derive(CubeLaunch, CubeType)]
pub(super) struct AdamArgs {
    pub lr: f32,
    pub beta_1: f32,
    pub one_minus_beta_1: f32,
    pub beta_2: f32,
    pub one_minus_beta_2: f32,
    pub epsilon: f32,
    pub c1: f32,
    pub c2: f32,
}

/// One Adam update of every element of `w` in place (see [`ElmanKernels::elman_adam`]):
/// `m ← β1·m + (1-β1)·g`, `v ← β2·v + (1-β2)·g²`, `w ← w - (m/c1)·lr / (√(v/c2) + ε)`.
#[cube(launch)]
pub(super) fn adam_kernel<F: Float>(
    w: &mut Tensor<F>,
    g: &Tensor<F>,
    m: &mut Tensor<F>,
    v: &mut Tensor<F>,
    adam: AdamArgs,
    n: u32,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS_X as usize;
    if i < n as usize {
        let gi = g[i];
        let mi = m[i] * F::cast_from(adam.beta_1) + gi * F::cast_from(adam.one_minus_beta_1);
        let vi = v[i] * F::cast_from(adam.beta_2) + gi * gi * F::cast_from(adam.one_minus_beta_2);
        m[i] = mi;
        v[i] = vi;
        w[i] -= mi / F::cast_from(adam.c1) * F::cast_from(adam.lr)
            / ((vi / F::cast_from(adam.c2)).sqrt() + F::cast_from(adam.epsilon));
    }
}

/// One step's forward pass and gradients (see [`ElmanKernels::elman_step_gradients`]).
#[cube(launch)]
pub(super) fn step_gradients_kernel<F: Float>(
    w1: &Tensor<F>,
    w2: &Tensor<F>,
    x: &Tensor<F>,
    h: &Tensor<F>,
    target: &Tensor<F>,
    context_out: &mut Tensor<F>,
    residual_out: &mut Tensor<F>,
    grad_w1: &mut Tensor<F>,
    grad_w2: &mut Tensor<F>,
    scale: f32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[define(F)] _dtype: ElemType,
) {
    let unit = UNIT_POS_X as usize;
    let scale = F::cast_from(scale);
    let mut xh = Shared::<[F]>::new_slice(d_input + d_hidden);
    let mut context = Shared::<[F]>::new_slice(d_hidden);
    let mut d_out = Shared::<[F]>::new_slice(d_output);
    if unit < d_input {
        xh[unit] = x[unit];
    }
    if unit < d_hidden {
        xh[d_input + unit] = h[unit];
    }
    sync_cube();
    if unit < d_hidden {
        let mut a = F::new(0.0);
        for i in 0..d_input + d_hidden {
            a += xh[i] * w1[i * d_hidden + unit];
        }
        let c = a.tanh();
        context[unit] = c;
        context_out[unit] = c;
    }
    sync_cube();
    if unit < d_output {
        let mut y = F::new(0.0);
        for j in 0..d_hidden {
            y += context[j] * w2[j * d_output + unit];
        }
        let r = y - target[unit];
        residual_out[unit] = r;
        d_out[unit] = scale * r;
    }
    sync_cube();
    if unit < d_hidden {
        let c = context[unit];
        let mut d_h = F::new(0.0);
        for k in 0..d_output {
            let g = d_out[k];
            d_h += w2[unit * d_output + k] * g;
            grad_w2[unit * d_output + k] = c * g;
        }
        let d_a = d_h * (F::new(1.0) - c * c);
        for i in 0..d_input + d_hidden {
            grad_w1[i * d_hidden + unit] = xh[i] * d_a;
        }
    }
}

/// The recurrence forward over a window (see
/// [`ElmanKernels::elman_recurrence_forward`]): a workgroup per sequence, `parts` units per
/// hidden neuron, the previous context in shared memory. Unit `q · d_hidden + j` sums the `q`-th
/// part of neuron `j`'s products; the first part's unit adds the parts up. Several parts shorten
/// the chain of products a unit sums one after the other at every step.
#[cube(launch)]
pub(super) fn recurrence_forward_kernel<F: Float>(
    p: &Tensor<F>,
    w1h: &Tensor<F>,
    h0: &Tensor<F>,
    states: &mut Tensor<F>,
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
    let mut previous = Shared::<[F]>::new_slice(d_hidden);
    let mut partial = Shared::<[F]>::new_slice(d_hidden * parts);
    // This unit's part of column `j` of W1h, in its registers for the whole window.
    let mut weights = Array::<F>::new(span);
    #[unroll]
    for i in 0..span {
        let k = q * span + i;
        let mut w = F::new(0.0);
        if k < d_hidden {
            w = w1h[k * d_hidden + j];
        }
        weights[i] = w;
    }
    if q == 0 {
        previous[j] = h0[b * d_hidden + j];
    }
    sync_cube();
    for t in 0..steps as usize {
        let row = (t * batch + b) * d_hidden;
        // The step's projection, asked for before the products so that its load overlaps them.
        let mut a = F::new(0.0);
        if q == 0 {
            a = p[row + j];
        }
        let mut sum = F::new(0.0);
        #[unroll]
        for i in 0..span {
            let k = q * span + i;
            if k < d_hidden {
                sum += previous[k] * weights[i];
            }
        }
        partial[q * d_hidden + j] = sum;
        sync_cube();
        if q == 0 {
            for r in 0..parts {
                a += partial[r * d_hidden + j];
            }
            a = a.tanh();
            states[row + j] = a;
            previous[j] = a;
        }
        sync_cube();
    }
}

/// The recurrence forward with a unit per sequence, the contexts in the unit's own memory and
/// no barrier (see [`serial`](super::serial)).
#[cube(launch)]
pub(super) fn recurrence_forward_serial_kernel<F: Float>(
    p: &Tensor<F>,
    w1h: &Tensor<F>,
    h0: &Tensor<F>,
    states: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d_hidden: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = ABSOLUTE_POS_X as usize;
    let batch = batch as usize;
    if b < batch {
        let mut previous = Array::<F>::new(d_hidden);
        for j in 0..d_hidden {
            previous[j] = h0[b * d_hidden + j];
        }
        let mut next = Array::<F>::new(d_hidden);
        for t in 0..steps as usize {
            let row = (t * batch + b) * d_hidden;
            for j in 0..d_hidden {
                next[j] = p[row + j];
            }
            for k in 0..d_hidden {
                let h = previous[k];
                for j in 0..d_hidden {
                    next[j] += h * w1h[k * d_hidden + j];
                }
            }
            for j in 0..d_hidden {
                let a = next[j].tanh();
                states[row + j] = a;
                previous[j] = a;
            }
        }
    }
}

/// The recurrence backward with a unit per sequence (see
/// [`recurrence_forward_serial_kernel`]).
#[cube(launch)]
pub(super) fn recurrence_backward_serial_kernel<F: Float>(
    h: &Tensor<F>,
    g: &Tensor<F>,
    w1h: &Tensor<F>,
    d_a: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d_hidden: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = ABSOLUTE_POS_X as usize;
    let batch = batch as usize;
    let steps = steps as usize;
    if b < batch {
        let mut next = Array::<F>::new(d_hidden);
        for j in 0..d_hidden {
            next[j] = F::new(0.0);
        }
        let mut current = Array::<F>::new(d_hidden);
        for i in 0..steps {
            let row = ((steps - 1 - i) * batch + b) * d_hidden;
            for j in 0..d_hidden {
                let mut through = g[row + j];
                for k in 0..d_hidden {
                    through += next[k] * w1h[j * d_hidden + k];
                }
                let state = h[row + j];
                current[j] = through * (F::new(1.0) - state * state);
            }
            for j in 0..d_hidden {
                d_a[row + j] = current[j];
                next[j] = current[j];
            }
        }
    }
}

/// The recurrence backward over a window (see
/// [`ElmanKernels::elman_recurrence_backward`]): a workgroup per sequence, `parts` units per
/// hidden neuron as in [`recurrence_forward_kernel`], `dL/da_{t+1}` in shared memory. `w1h_t`
/// is `W1h` transposed (contiguous), so that the units of a step read consecutive values
/// (measured on an H100: 4.7 against 3.4 ms for a window of 256 sequences, 64 steps, hidden
/// 256).
#[cube(launch)]
pub(super) fn recurrence_backward_kernel<F: Float>(
    h: &Tensor<F>,
    g: &Tensor<F>,
    w1h_t: &Tensor<F>,
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
    // This unit's part of column `j` of W1hᵀ, in its registers for the whole window.
    let mut weights = Array::<F>::new(span);
    #[unroll]
    for s in 0..span {
        let k = q * span + s;
        let mut w = F::new(0.0);
        if k < d_hidden {
            w = w1h_t[k * d_hidden + j];
        }
        weights[s] = w;
    }
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
        let mut sum = F::new(0.0);
        #[unroll]
        for s in 0..span {
            let k = q * span + s;
            if k < d_hidden {
                sum += next[k] * weights[s];
            }
        }
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

/// `output = inputᵀ` for a contiguous `n × n` matrix, a unit per value.
#[cube(launch)]
pub(super) fn transpose_kernel<F: Float>(
    input: &Tensor<F>,
    output: &mut Tensor<F>,
    #[comptime] n: usize,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS_X as usize;
    if i < n * n {
        output[(i % n) * n + i / n] = input[i];
    }
}
