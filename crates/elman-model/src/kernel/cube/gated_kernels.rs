//! The `#[cube]` kernels of the LSTM's and the GRU's windows (`gated.rs` launches them; the
//! equations are `window/lstm.rs`'s and `window/gru.rs`'s). Every kernel runs a workgroup per
//! sequence and a barrier between the phases of a step; the step's input projections
//! (`[T·B, width]`, one matrix product before the launch) and `W1h` (forward, `[d, width]`: unit
//! `col` reads column `col`) or `W1hᵀ` (backward, `[width, d]`: unit `j` reads row `j` of
//! `W1h`) are read from the device's memory, so that consecutive units read consecutive
//! values; the context and the step's gates or gradients are in shared memory. The loops over
//! the neurons are unrolled (`d` is a comptime size), so that a software rasterizer counts one
//! loop iteration a step (see `layout.rs`'s loop budget).

use burn::cubecl::{self, prelude::*};

/// `σ(a) = 1 / (1 + e^-a)`.
#[cube]
fn sigmoid<F: Float>(a: F) -> F {
    F::new(1.0) / (F::new(1.0) + F::exp(F::new(0.0) - a))
}

/// An LSTM window forward: `4d` units, unit `col` computing gate column `col` (`i, f, g, o`
/// side by side) at every step; then unit `j < d` the memory and the context of neuron `j`.
/// Writes `out = [h0 ; h_1 … h_T ; c_T]`, `memories = [c0 ; c_1 … c_T]` and every step's
/// activated gates.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn lstm_forward_kernel<F: Float>(
    projected: &Tensor<F>,
    w1h: &Tensor<F>,
    h0: &Tensor<F>,
    c0: &Tensor<F>,
    out: &mut Tensor<F>,
    memories: &mut Tensor<F>,
    gates: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let col = UNIT_POS_X as usize;
    let width = 4 * d;
    let (batch, steps) = (batch as usize, steps as usize);
    let mut previous = Shared::<[F]>::new_slice(d);
    let mut activated = Shared::<[F]>::new_slice(width);
    let mut c = F::new(0.0);
    if col < d {
        let h = h0[b * d + col];
        previous[col] = h;
        out[b * d + col] = h;
        c = c0[b * d + col];
        memories[b * d + col] = c;
    }
    sync_cube();
    let block = col / d;
    for t in 0..steps {
        let row = t * batch + b;
        let mut a = projected[row * width + col];
        #[unroll]
        for k in 0..d {
            a += previous[k] * w1h[k * width + col];
        }
        let mut v = sigmoid::<F>(a);
        if block == 2 {
            v = a.tanh();
        }
        activated[col] = v;
        gates[row * width + col] = v;
        sync_cube();
        if col < d {
            let i = activated[col];
            let f = activated[d + col];
            let g = activated[2 * d + col];
            let o = activated[3 * d + col];
            c = f * c + i * g;
            let h = o * c.tanh();
            out[(row + batch) * d + col] = h;
            memories[(row + batch) * d + col] = c;
            previous[col] = h;
        }
        sync_cube();
    }
    if col < d {
        out[((steps + 1) * batch + b) * d + col] = c;
    }
}

/// An LSTM window backward, from the gradient `grad` of its output `[h0 ; h_1 … h_T ; c_T]`:
/// `4d` units; unit `j < d` (block 0) carries neuron `j`'s `dc` and recurrent `dh` in its
/// registers and writes the step's `da` of its four gate columns, then unit `(q, j)` sums
/// block `q`'s share of `da · W1hᵀ` for neuron `j`. Writes every step's `da`, and `da_1 · W1hᵀ`
/// and `dc0`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn lstm_backward_kernel<F: Float>(
    grad: &Tensor<F>,
    gates: &Tensor<F>,
    memories: &Tensor<F>,
    w1h_t: &Tensor<F>,
    d_a: &mut Tensor<F>,
    recurrent: &mut Tensor<F>,
    d_c0: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let unit = UNIT_POS_X as usize;
    let (j, q) = (unit % d, unit / d);
    let width = 4 * d;
    let (batch, steps) = (batch as usize, steps as usize);
    let one = F::new(1.0);
    let mut da = Shared::<[F]>::new_slice(width);
    let mut partial = Shared::<[F]>::new_slice(width);
    let mut dc = F::new(0.0);
    let mut rec = F::new(0.0);
    if q == 0 {
        dc = grad[((steps + 1) * batch + b) * d + j];
    }
    for s in 0..steps {
        let row = (steps - 1 - s) * batch + b;
        if q == 0 {
            let dh = grad[(row + batch) * d + j] + rec;
            let i = gates[row * width + j];
            let f = gates[row * width + d + j];
            let g = gates[row * width + 2 * d + j];
            let o = gates[row * width + 3 * d + j];
            let tc = memories[(row + batch) * d + j].tanh();
            let c_prev = memories[row * d + j];
            dc += dh * o * (one - tc * tc);
            let da_i = dc * g * i * (one - i);
            let da_f = dc * c_prev * f * (one - f);
            let da_g = dc * i * (one - g * g);
            let da_o = dh * tc * o * (one - o);
            da[j] = da_i;
            da[d + j] = da_f;
            da[2 * d + j] = da_g;
            da[3 * d + j] = da_o;
            d_a[row * width + j] = da_i;
            d_a[row * width + d + j] = da_f;
            d_a[row * width + 2 * d + j] = da_g;
            d_a[row * width + 3 * d + j] = da_o;
            dc *= f;
        }
        sync_cube();
        let mut sum = F::new(0.0);
        #[unroll]
        for k in 0..d {
            sum += da[q * d + k] * w1h_t[(q * d + k) * d + j];
        }
        partial[q * d + j] = sum;
        sync_cube();
        if q == 0 {
            rec = partial[j] + partial[d + j] + partial[2 * d + j] + partial[3 * d + j];
        }
    }
    if q == 0 {
        recurrent[b * d + j] = rec;
        d_c0[b * d + j] = dc;
    }
}

/// A GRU window forward: `2d` units, unit `col` computing gate column `col` of `z, r` at every
/// step; then unit `j < d` neuron `j`'s `r ⊙ h_prev`, and after a barrier its `n` and context.
/// Writes `out = [h0 ; h_1 … h_T]` and every step's activated gates `[z, r, n]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn gru_forward_kernel<F: Float>(
    projected: &Tensor<F>,
    w1h: &Tensor<F>,
    h0: &Tensor<F>,
    out: &mut Tensor<F>,
    gates: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let col = UNIT_POS_X as usize;
    let width = 3 * d;
    let (batch, steps) = (batch as usize, steps as usize);
    let one = F::new(1.0);
    let mut previous = Shared::<[F]>::new_slice(d);
    let mut zr = Shared::<[F]>::new_slice(2 * d);
    let mut rh = Shared::<[F]>::new_slice(d);
    if col < d {
        let h = h0[b * d + col];
        previous[col] = h;
        out[b * d + col] = h;
    }
    sync_cube();
    for t in 0..steps {
        let row = t * batch + b;
        let mut a = projected[row * width + col];
        #[unroll]
        for k in 0..d {
            a += previous[k] * w1h[k * width + col];
        }
        let v = sigmoid::<F>(a);
        zr[col] = v;
        gates[row * width + col] = v;
        sync_cube();
        if col < d {
            rh[col] = zr[d + col] * previous[col];
        }
        sync_cube();
        if col < d {
            let mut a_n = projected[row * width + 2 * d + col];
            #[unroll]
            for k in 0..d {
                a_n += rh[k] * w1h[k * width + 2 * d + col];
            }
            let n = a_n.tanh();
            let z = zr[col];
            let h = (one - z) * n + z * previous[col];
            gates[row * width + 2 * d + col] = n;
            out[(row + batch) * d + col] = h;
            previous[col] = h;
        }
        sync_cube();
    }
}

/// A GRU window backward, from the gradient `grad` of its contexts `h_1 … h_T`: `2d` units;
/// unit `j < d` (part 0) carries neuron `j`'s recurrent `dh` in its registers and writes the
/// step's `da` and `r ⊙ h_prev`; unit `(q, j)` sums part `q` of `da_n · W1h_nᵀ` (half the
/// columns each) and then block `q` of `[da_z, da_r] · W1h_zrᵀ`. Writes every step's `da`,
/// `r ⊙ h_prev` and the recurrent gradient reaching `h0`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn gru_backward_kernel<F: Float>(
    grad: &Tensor<F>,
    gates: &Tensor<F>,
    out: &Tensor<F>,
    w1h_t: &Tensor<F>,
    d_a: &mut Tensor<F>,
    rh: &mut Tensor<F>,
    recurrent: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] d: usize,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let unit = UNIT_POS_X as usize;
    let (j, q) = (unit % d, unit / d);
    let width = 3 * d;
    let half = d.div_ceil(2);
    let (batch, steps) = (batch as usize, steps as usize);
    let one = F::new(1.0);
    let mut da_n = Shared::<[F]>::new_slice(d);
    let mut da_zr = Shared::<[F]>::new_slice(2 * d);
    let mut partial = Shared::<[F]>::new_slice(2 * d);
    let mut rec = F::new(0.0);
    for s in 0..steps {
        let row = (steps - 1 - s) * batch + b;
        let mut dh = F::new(0.0);
        let mut z = F::new(0.0);
        let mut r = F::new(0.0);
        let mut n = F::new(0.0);
        let mut h_prev = F::new(0.0);
        if q == 0 {
            dh = grad[row * d + j] + rec;
            z = gates[row * width + j];
            r = gates[row * width + d + j];
            n = gates[row * width + 2 * d + j];
            h_prev = out[row * d + j];
            let dn = dh * (one - z) * (one - n * n);
            da_n[j] = dn;
            d_a[row * width + 2 * d + j] = dn;
            rh[row * d + j] = r * h_prev;
        }
        sync_cube();
        let mut sum = F::new(0.0);
        #[unroll]
        for i in 0..half {
            let c = q * half + i;
            if c < d {
                sum += da_n[c] * w1h_t[(2 * d + c) * d + j];
            }
        }
        partial[q * d + j] = sum;
        sync_cube();
        if q == 0 {
            let drh = partial[j] + partial[d + j];
            let dz = dh * (h_prev - n) * z * (one - z);
            let dr = drh * h_prev * r * (one - r);
            da_zr[j] = dz;
            da_zr[d + j] = dr;
            d_a[row * width + j] = dz;
            d_a[row * width + d + j] = dr;
            rec = dh * z + drh * r;
        }
        sync_cube();
        let mut back = F::new(0.0);
        #[unroll]
        for k in 0..d {
            back += da_zr[q * d + k] * w1h_t[(q * d + k) * d + j];
        }
        partial[q * d + j] = back;
        sync_cube();
        if q == 0 {
            rec += partial[j] + partial[d + j];
        }
    }
    if q == 0 {
        recurrent[b * d + j] = rec;
    }
}
