//! The tensor operations the kernels replace, where a device has none of them (and, for the
//! read-out, on a CPU, whose matrix products are vectorized); the same with and without the
//! `flex` feature (`lib.rs`'s stand-in module includes this file too).

use burn::prelude::*;

/// The read-out by tensor operations: `[dL/dy, dL/dy · W2hᵀ, the loss's terms]` (see
/// `ElmanKernels::elman_readout`).
pub(super) fn readout(
    h: Tensor<2>,
    targets: Tensor<2>,
    w2: Tensor<2>,
    scale: f32,
) -> [Tensor<2>; 3] {
    let ([rows, d_hidden], [w2_rows, _]) = (h.dims(), w2.dims());
    let w2h = w2.clone().slice(0..d_hidden);
    let outputs = h.matmul(w2h.clone());
    let outputs = if w2_rows > d_hidden {
        outputs + w2.slice(d_hidden..w2_rows).expand([rows as i64, -1])
    } else {
        outputs
    };
    let residuals = outputs - targets;
    let d_y = residuals.clone().mul_scalar(scale);
    let g = d_y.clone().matmul(w2h.transpose());
    let terms = residuals.square().mul_scalar(scale / 2.0);
    [d_y, g, terms]
}
