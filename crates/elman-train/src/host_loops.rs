//! The plain loops the gated cells' hand-derived BPTT (`lstm.rs`, `gru.rs`) is written with on
//! the host: the activations as the Flex kernels compute them, and the multiply-adds the
//! compiler vectorizes; the sizes of a window, and what the loops give back.

use burn::prelude::*;

use crate::LossKind;
use crate::bptt::Window;

/// `tanh` as the Flex kernels compute it (branch-free, so loops of it vectorize; within 1e-6).
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    elman_model::kernel::tanh_f32(x)
}

/// `σ(x) = (1 + tanh(x / 2)) / 2`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

/// `out += a · row` over two slices of the same length (a loop the compiler vectorizes).
#[inline(always)]
pub(crate) fn axpy(out: &mut [f32], a: f32, row: &[f32]) {
    for (o, r) in out.iter_mut().zip(row) {
        *o += a * r;
    }
}

/// `out += Σ_i coef[i] · m[i·stride..][..out.len()]`: `coef.len()` rows of `m` scaled and
/// summed, 32 columns at a time held in registers over all the rows (one load per
/// multiply-add, where a row at a time loads and stores `out` as well).
#[inline(always)]
pub(crate) fn mac_rows(out: &mut [f32], coef: &[f32], m: &[f32], stride: usize) {
    const BLOCK: usize = 32;
    let n = out.len();
    let full = n / BLOCK * BLOCK;
    for c0 in (0..full).step_by(BLOCK) {
        let mut acc = [0.0f32; BLOCK];
        acc.copy_from_slice(&out[c0..c0 + BLOCK]);
        for (i, &k) in coef.iter().enumerate() {
            let start = i * stride + c0;
            let row: &[f32; BLOCK] = m[start..start + BLOCK].try_into().expect("a block");
            for (a, w) in acc.iter_mut().zip(row) {
                *a += k * w;
            }
        }
        out[c0..c0 + BLOCK].copy_from_slice(&acc);
    }
    if full < n {
        for (i, &k) in coef.iter().enumerate() {
            axpy(&mut out[full..], k, &m[i * stride + full..i * stride + n]);
        }
    }
}

/// The sizes of a window: sequences, neurons, inputs (with the bias's 1), outputs, and whether
/// `W2` has a bias row.
#[derive(Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) batch: usize,
    pub(crate) d: usize,
    pub(crate) d_x: usize,
    pub(crate) d_output: usize,
    pub(crate) bias: bool,
}

impl Sizes {
    /// The sizes of a window from the context `h0` (`[batch, d]`) with the weights `W1`
    /// (`[d_x + d, gates · d]`) and `W2` (`[d (+ 1 with a bias), d_output]`).
    pub(crate) fn of(h0: &Tensor<2>, w1: &Tensor<2>, w2: &Tensor<2>, bias: bool) -> Self {
        let [batch, d] = h0.dims();
        Sizes {
            batch,
            d,
            d_x: w1.dims()[0] - d,
            d_output: w2.dims()[1],
            bias,
        }
    }
}

/// What a gated cell's loops give for a window: the summed squared residuals, both gradients
/// and the last step's context.
pub(crate) struct Computed {
    pub(crate) squares: f32,
    pub(crate) grad_w1: Vec<f32>,
    pub(crate) grad_w2: Vec<f32>,
    pub(crate) h: Vec<f32>,
}

impl Computed {
    /// The window on `device`: the loss of its `rows` rows as `loss` takes their squares, the
    /// gradients in `W1`'s and `W2`'s shapes, the last context `[batch, d]`.
    pub(crate) fn into_window(
        self,
        sizes: Sizes,
        rows: usize,
        loss: LossKind,
        device: &Device,
    ) -> Window {
        let Sizes {
            batch,
            d,
            d_x,
            d_output,
            bias,
        } = sizes;
        let tensor = |values: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(values, shape), device)
        };
        let width = self.grad_w1.len() / (d_x + d);
        let values = rows * d_output;
        Window {
            loss: Tensor::<1>::from_data(
                TensorData::new(vec![loss.of_squares_host(self.squares, values)], [1]),
                device,
            ),
            grads: [
                tensor(self.grad_w1, [d_x + d, width]),
                tensor(self.grad_w2, [d + usize::from(bias), d_output]),
            ],
            last: tensor(self.h, [batch, d]),
        }
    }
}

/// One row's residual `r = [h ; 1] · W2 - y` (`W2`'s last row, the bias, only with `bias`).
#[inline(always)]
pub(crate) fn residual(r: &mut [f32], h: &[f32], w2: &[f32], y: &[f32], bias: bool) {
    let (d, d_output) = (h.len(), r.len());
    if bias {
        r.copy_from_slice(&w2[d * d_output..(d + 1) * d_output]);
    } else {
        r.fill(0.0);
    }
    for (j, &v) in h.iter().enumerate() {
        axpy(r, v, &w2[j * d_output..(j + 1) * d_output]);
    }
    for (r, y) in r.iter_mut().zip(y) {
        *r -= y;
    }
}

/// One row's `dL/dy = scale · r` into `d_y`, and `dW2 += [h ; 1]ᵀ · dL/dy`.
#[inline(always)]
pub(crate) fn output_gradient(
    grad_w2: &mut [f32],
    d_y: &mut [f32],
    h: &[f32],
    r: &[f32],
    scale: f32,
    bias: bool,
) {
    let (d, d_output) = (h.len(), d_y.len());
    for (g, r) in d_y.iter_mut().zip(r) {
        *g = scale * r;
    }
    for (j, &v) in h.iter().enumerate() {
        axpy(&mut grad_w2[j * d_output..(j + 1) * d_output], v, d_y);
    }
    if bias {
        axpy(&mut grad_w2[d * d_output..(d + 1) * d_output], 1.0, d_y);
    }
}
