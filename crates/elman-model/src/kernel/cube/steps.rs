//! The `#[cube]` kernels of the tutorial's online SGD, of one step's gradients and of Adam's
//! update; `cube.rs` launches them.

use burn::cubecl::{self, prelude::*};

#[cfg(doc)]
use super::super::ElmanKernels;

/// Online SGD over one sequence from a zero context, epoch after epoch (see
/// [`ElmanKernels::elman_sgd_epochs`]), in one workgroup: unit `j` keeps column `j` of `W1` in
/// its own registers and row `j` of `W2` in shared memory for the whole launch, so nothing
/// goes through device memory between steps. Runs epochs `first..last`: `residuals` gets every
/// epoch's, `after` (when `keep`) both matrices after each epoch, `W1` then `W2`, row-major; the
/// weights are written back at the end, so that the epochs can go in several launches. With
/// `unroll` (on a software rasterizer) the loops over the neurons are unrolled, so that only
/// the epochs and the steps count against its loop budget.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn sgd_epochs_kernel<F: Float>(
    w1: &mut Tensor<F>,
    w2: &mut Tensor<F>,
    inputs: &Tensor<F>,
    targets: &Tensor<F>,
    lr_scales: &Tensor<F>,
    residuals: &mut Tensor<F>,
    after: &mut Tensor<F>,
    steps: u32,
    first: u32,
    last: u32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[comptime] keep: bool,
    #[comptime] unroll: bool,
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
        #[unroll(unroll)]
        for i in 0..rows {
            column[i] = w1[i * d_hidden + unit];
        }
        #[unroll(unroll)]
        for k in 0..d_output {
            w2s[unit * d_output + k] = w2[unit * d_output + k];
        }
    }
    for e in first as usize..last as usize {
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
                #[unroll(unroll)]
                for i in 0..rows {
                    a += xh[i] * column[i];
                }
                context[unit] = a.tanh();
            }
            sync_cube();
            // y_k = h' · W2[:, k]; the residual and dL/dy, the learning rate folded in.
            if unit < d_output {
                let mut y = F::new(0.0);
                #[unroll(unroll)]
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
                #[unroll(unroll)]
                for k in 0..d_output {
                    let g = d_out[k];
                    let w = w2s[unit * d_output + k];
                    d_h += w * g;
                    w2s[unit * d_output + k] = w - h * g;
                }
                let d_a = d_h * (F::new(1.0) - h * h);
                #[unroll(unroll)]
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
            #[unroll(unroll)]
            for i in 0..rows {
                after[base + i * d_hidden + unit] = column[i];
            }
            #[unroll(unroll)]
            for k in 0..d_output {
                after[base + n1 + unit * d_output + k] = w2s[unit * d_output + k];
            }
        }
    }
    if unit < d_hidden {
        #[unroll(unroll)]
        for i in 0..rows {
            w1[i * d_hidden + unit] = column[i];
        }
        #[unroll(unroll)]
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

/// One Adam update of element `i` of `w` in place: `m ← β1·m + (1-β1)·g`,
/// `v ← β2·v + (1-β2)·g²`, `w ← w - (m/c1)·lr / (√(v/c2) + ε)`.
#[cube]
fn adam_element<F: Float>(
    w: &mut Tensor<F>,
    g: &Tensor<F>,
    m: &mut Tensor<F>,
    v: &mut Tensor<F>,
    adam: &AdamArgs,
    i: usize,
) {
    let gi = g[i];
    let mi = m[i] * F::cast_from(adam.beta_1) + gi * F::cast_from(adam.one_minus_beta_1);
    let vi = v[i] * F::cast_from(adam.beta_2) + gi * gi * F::cast_from(adam.one_minus_beta_2);
    m[i] = mi;
    v[i] = vi;
    w[i] -= mi / F::cast_from(adam.c1) * F::cast_from(adam.lr)
        / ((vi / F::cast_from(adam.c2)).sqrt() + F::cast_from(adam.epsilon));
}

/// One Adam update of both matrices in one launch (see [`ElmanKernels::elman_adam`]), a unit
/// per element: units below `n1` update `W1`'s, the next `n2` `W2`'s.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn adam_kernel<F: Float>(
    w1: &mut Tensor<F>,
    g1: &Tensor<F>,
    m1: &mut Tensor<F>,
    v1: &mut Tensor<F>,
    w2: &mut Tensor<F>,
    g2: &Tensor<F>,
    m2: &mut Tensor<F>,
    v2: &mut Tensor<F>,
    adam: AdamArgs,
    n1: u32,
    n2: u32,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS_X as usize;
    let (n1, n2) = (n1 as usize, n2 as usize);
    if i < n1 {
        adam_element(w1, g1, m1, v1, &adam, i);
    } else if i < n1 + n2 {
        adam_element(w2, g2, m2, v2, &adam, i - n1);
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
