//! The plain loops the gated cells' hand-derived BPTT (`lstm.rs`, `gru.rs`) is written with on
//! the host: the activations as the Flex kernels compute them, and the multiply-adds the
//! compiler vectorizes.

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
