//! Matrix products on slices for the Flex windows' loops over the steps: the `gemm` crate's
//! kernels (the ones Flex's `float_matmul` calls, AVX-512 where the CPU has it) on the calling
//! thread, straight into the rows a loop writes: no tensor built around a step's operands, no
//! copy of them, no allocation, and a block of `W1` read in place through its strides; a step's
//! input layer `[x_t ; h_{t-1}]`, the left operand of its product with `W1` ([`input_layer`]);
//! `W1h`'s transpose for a backward step's product ([`transposed`]); a GRU step's products
//! ([`GruProducts`]); and a backward step's products for the input layer's `x` block
//! ([`InputGradients`]).

/// A part's input layer at a step: `[x_t ; h_{t-1}]` of each of its sequences, from sequence
/// `first` of the batch on, into the rows of `xh` (`d_x + d` wide).
pub(super) fn input_layer(
    xh: &mut [f32],
    [x_t, h_prev]: [&[f32]; 2],
    first: usize,
    [d_x, d]: [usize; 2],
) {
    for (r, row) in xh.chunks_exact_mut(d_x + d).enumerate() {
        let s = first + r;
        row[..d_x].copy_from_slice(&x_t[s * d_x..(s + 1) * d_x]);
        row[d_x..].copy_from_slice(&h_prev[s * d..(s + 1) * d]);
    }
}

/// A row-major `[rows, cols]` matrix's transpose, row-major: a step's product with `W1hᵀ`
/// through it packs its operand from contiguous rows, where a transposed view of `W1h` is read
/// a column at a time at every step.
pub(super) fn transposed(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * cols];
    for (i, row) in values.chunks_exact(cols).take(rows).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[j * rows + i] = v;
        }
    }
    out
}

/// A GRU step's products by blocks of `W1` (`[d_x + d, 3d]`, the columns `z, r, n`): `a_z, a_r`
/// from the input layer `[x_t ; h_{t-1}]`, `a_n` from `x_t` and `r ⊙ h_{t-1}`. The training
/// forward (`flex_gated.rs`) and the inference pass (`flex_infer.rs`) share them and differ in the activations.
pub(super) struct GruProducts<'a> {
    zr: View<'a>,
    x_n: View<'a>,
    h_n: View<'a>,
}

impl<'a> GruProducts<'a> {
    /// The blocks of `w1`'s values for inputs of `d_x` and `d` neurons.
    pub(super) fn new(w1: &'a [f32], d_x: usize, d: usize) -> Self {
        let (w, d_xh) = (3 * d, d_x + d);
        let w1 = View::new(w1, d_xh, w);
        let n = w1.columns(2 * d..w);
        Self {
            zr: w1.columns(0..2 * d),
            x_n: n.row_block(0..d_x),
            h_n: n.row_block(d_x..d_xh),
        }
    }

    /// One part's step: `gates` (`[rows, 3d]`) gets `a_z`, `a_r` and `x_t`'s part of `a_n`
    /// from `xh`; `reset` writes `r ⊙ h_{t-1}` into `rh` from them; its product is added to
    /// `a_n`, and `contexts` activates the candidates.
    pub(super) fn step(
        &self,
        gates: &mut [f32],
        xh: View,
        rh: &mut [f32],
        reset: impl FnOnce(&mut [f32], &mut [f32]),
        contexts: impl FnOnce(&mut [f32]),
    ) {
        let (d, d_x) = (self.h_n.rows(), self.x_n.rows());
        step_product(gates, 3 * d, false, xh, self.zr);
        step_product(
            &mut gates[2 * d..],
            3 * d,
            false,
            xh.columns(0..d_x),
            self.x_n,
        );
        reset(gates, rh);
        let size = rh.len() / d;
        step_product(
            &mut gates[2 * d..],
            3 * d,
            true,
            View::new(rh, size, d),
            self.h_n,
        );
        contexts(gates);
    }
}

/// A matrix read through strides from a slice: element `(i, j)` is
/// `values[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    values: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// A row-major `[rows, cols]` matrix.
    pub(super) fn new(values: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(values, rows, cols, cols)
    }

    /// A `[rows, cols]` block whose rows start `row_stride` apart (a block of a wider matrix).
    pub(super) fn strided(values: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        let view = Self {
            values,
            rows,
            cols,
            row_stride,
            col_stride: 1,
        };
        view.check();
        view
    }

    /// Its rows.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// The transpose, read in place.
    pub(super) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Columns `range` of the matrix.
    pub(super) fn columns(self, range: std::ops::Range<usize>) -> Self {
        assert!(range.end <= self.cols, "columns {range:?} of {}", self.cols);
        let view = Self {
            values: &self.values[(range.start * self.col_stride).min(self.values.len())..],
            cols: range.len(),
            ..self
        };
        view.check();
        view
    }

    /// Rows `range` of the matrix.
    pub(super) fn row_block(self, range: std::ops::Range<usize>) -> Self {
        self.t().columns(range).t()
    }

    /// Every element the view reads lies in its slice (what makes [`product`]'s call sound).
    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
            assert!(
                last < self.values.len(),
                "a [{}, {}] view past its {} values",
                self.rows,
                self.cols,
                self.values.len()
            );
        }
    }
}

/// `dst = a · b`, or `dst += a · b` when `accumulate`, with `dst` `[a.rows, b.cols]` in rows
/// `dst_stride` apart, on the calling thread.
pub(super) fn product(dst: &mut [f32], dst_stride: usize, accumulate: bool, a: View, b: View) {
    product_on(dst, dst_stride, accumulate, a, b, gemm::Parallelism::None);
}

/// A step's product with a block of the weights, [`product`] in blocks of at most
/// [`UNPACKED_ROWS`] rows of `a`: `gemm` (0.19) copies the weights into its packed layout
/// again at every call of more rows, on each thread, where in smaller blocks it reads them in
/// place. (At hidden 256 on two cores, the LSTM layer's training and inference ran 10-12% faster
/// so, the Elman layer's 5-8%; at hidden 64, unchanged within the machine's noise.)
pub(super) fn step_product(dst: &mut [f32], dst_stride: usize, accumulate: bool, a: View, b: View) {
    for start in (0..a.rows).step_by(UNPACKED_ROWS) {
        let rows = start..a.rows.min(start + UNPACKED_ROWS);
        product(
            &mut dst[start * dst_stride..],
            dst_stride,
            accumulate,
            a.row_block(rows),
            b,
        );
    }
}

/// The most rows of a product `gemm` reads the weights for in place: 8 of its 6-wide blocks.
const UNPACKED_ROWS: usize = 48;

/// [`product`] split between the threads of the current rayon pool: a long sum (a weight
/// gradient's, over every step of a batch) by blocks of the sum, each thread's part summed into
/// rows of its own and the parts added; else by blocks of `dst`'s rows. (`gemm`'s own split left
/// most of a weight gradient's product to one thread; split by rows, each thread packed all of
/// `b`: the layers' training at hidden 64 on two cores ran 10-16% faster split by the sum.)
pub(super) fn product_shared(
    dst: &mut [f32],
    dst_stride: usize,
    accumulate: bool,
    a: View,
    b: View,
) {
    use rayon::prelude::*;
    let (threads, m, k) = (rayon::current_num_threads(), a.rows, a.cols);
    if threads <= 1 || dst_stride == 0 {
        return product(dst, dst_stride, accumulate, a, b);
    }
    if k >= LONG_SUM * m.max(b.cols) {
        return sum_shared(dst, dst_stride, accumulate, a, b, threads);
    }
    if m < 2 * MIN_SHARED_ROWS {
        return product(dst, dst_stride, accumulate, a, b);
    }
    let per = m.div_ceil(threads).max(MIN_SHARED_ROWS);
    dst.par_chunks_mut(per * dst_stride)
        .enumerate()
        .for_each(|(k, block)| {
            let rows = k * per..m.min((k + 1) * per);
            if !rows.is_empty() {
                product(block, dst_stride, accumulate, a.row_block(rows), b);
            }
        });
}

/// How many times longer than `dst`'s sides a sum [`product_shared`] splits between threads.
const LONG_SUM: usize = 8;

/// [`product_shared`] by blocks of the sum: the first thread's part into `dst`, each other's
/// into rows of its own, then added to `dst`.
fn sum_shared(
    dst: &mut [f32],
    dst_stride: usize,
    accumulate: bool,
    a: View,
    b: View,
    threads: usize,
) {
    use rayon::prelude::*;
    let (m, n, k) = (a.rows, b.cols, a.cols);
    let per = k.div_ceil(threads);
    let mut partials = vec![0.0f32; (threads - 1) * m * n];
    let targets: Vec<_> = std::iter::once((&mut *dst, dst_stride, accumulate))
        .chain(partials.chunks_mut(m * n).map(|p| (p, n, false)))
        .enumerate()
        .collect();
    targets
        .into_par_iter()
        .for_each(|(p, (target, stride, accumulate))| {
            let sum = (p * per).min(k)..((p + 1) * per).min(k);
            product(
                target,
                stride,
                accumulate,
                a.columns(sum.clone()),
                b.row_block(sum),
            );
        });
    for partial in partials.chunks_exact(m * n) {
        for (row, part) in dst.chunks_mut(dst_stride).zip(partial.chunks_exact(n)) {
            row[..n].iter_mut().zip(part).for_each(|(d, p)| *d += p);
        }
    }
}

/// The fewest rows of a block [`product_shared`] hands a thread.
const MIN_SHARED_ROWS: usize = 8;

#[allow(unsafe_code)]
fn product_on(
    dst: &mut [f32],
    dst_stride: usize,
    accumulate: bool,
    a: View,
    b: View,
    parallelism: gemm::Parallelism,
) {
    assert_eq!(
        a.cols, b.rows,
        "a [{}, {}] · [{}, {}] product",
        a.rows, a.cols, b.rows, b.cols
    );
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    View::strided(dst, m, n, dst_stride);
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_stride).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the three views were checked to lie in their slices, `dst` is borrowed mutably
    // and apart from the two read, and `f32` is one of `gemm`'s types.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_stride as isize,
            accumulate,
            a.values.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.values.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// What a gated backward pass's steps give the input layer's `x` block, computed at each step
/// in its parts while the step's `da` is in cache (two products over the window's whole `da`
/// after the loop, each a pass over it from memory, were about 4% of the LSTM's training at
/// 256): `dx = da · W1xᵀ` into the part's rows, and `xᵀ · da` added to the part's own sum of
/// `dW1x`.
pub(super) struct InputGradients<'a> {
    inputs: &'a [f32],
    w1x_t: View<'a>,
    dx: Vec<f32>,
    /// One sum of `dW1x` per part, end to end.
    sums: Vec<f32>,
    batch: usize,
    per: usize,
    parts: usize,
}

/// A part's share of a step in [`InputGradients`]: its rows of `x` and `dx`, and its sum.
pub(super) struct PartInputs<'a> {
    x: &'a [f32],
    dx: &'a mut [f32],
    dw1x: &'a mut [f32],
    w1x_t: View<'a>,
}

impl<'a> InputGradients<'a> {
    /// For the inputs `x` (`[T·B, d_x]`) of a batch of `batch` in parts of `per` sequences,
    /// and `W1xᵀ` (`[w, d_x]`).
    pub(super) fn new(inputs: &'a [f32], w1x_t: View<'a>, batch: usize, per: usize) -> Self {
        let (w, d_x) = (w1x_t.rows, w1x_t.cols);
        let parts = batch.div_ceil(per);
        Self {
            inputs,
            w1x_t,
            dx: vec![0.0f32; inputs.len()],
            sums: vec![0.0f32; parts * d_x * w],
            batch,
            per,
            parts,
        }
    }

    /// Step `t`'s share for each part, in the order of the parts.
    pub(super) fn step(&mut self, t: usize) -> Vec<PartInputs<'_>> {
        let (d_x, w) = (self.w1x_t.cols, self.w1x_t.rows);
        let rows = t * self.batch * d_x..(t + 1) * self.batch * d_x;
        let (size, w1x_t) = (self.per * d_x, self.w1x_t);
        let x_t = &self.inputs[rows.clone()];
        let dx = pieces(&mut self.dx[rows], size, self.parts);
        let sums = pieces(&mut self.sums, d_x * w, self.parts);
        dx.into_iter()
            .zip(sums)
            .enumerate()
            .map(|(k, (dx, dw1x))| {
                let start = (k * size).min(x_t.len());
                let x = &x_t[start..(start + size).min(x_t.len())];
                PartInputs { x, dx, dw1x, w1x_t }
            })
            .collect()
    }

    /// `dx`, and `dW1` (`[d_x + d, w]`) with its `x` block summed over the parts and the rest
    /// zero, for `d` neurons.
    pub(super) fn finish(self, d: usize) -> (Vec<f32>, Vec<f32>) {
        let (d_x, w) = (self.w1x_t.cols, self.w1x_t.rows);
        let mut dw1 = summed(&self.sums, d_x * w);
        dw1.resize((d_x + d) * w, 0.0);
        (self.dx, dw1)
    }
}

impl PartInputs<'_> {
    /// Adds the part's `da` (`[rows, w]`) at its step.
    pub(super) fn add(self, da: View) {
        let x = View::new(self.x, da.rows(), self.w1x_t.cols);
        product(self.dx, self.w1x_t.cols, false, da, self.w1x_t);
        product(self.dw1x, da.cols, true, x.t(), da);
    }
}

/// `values` cut into one piece of `size` for each of `parts` parts (the last ones shorter, or
/// empty): a part's rows of an array that may have none, where `par_chunks_mut` needs a
/// positive size.
fn pieces(values: &mut [f32], size: usize, parts: usize) -> Vec<&mut [f32]> {
    let mut rest = values;
    (0..parts)
        .map(|_| {
            let cut = size.min(rest.len());
            let (piece, after) = std::mem::take(&mut rest).split_at_mut(cut);
            rest = after;
            piece
        })
        .collect()
}

/// The sum of `parts` arrays of `len` laid end to end.
fn summed(parts: &[f32], len: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; len];
    for part in parts.chunks_exact(len.max(1)) {
        sum.iter_mut().zip(part).for_each(|(s, v)| *s += v);
    }
    sum
}

#[cfg(test)]
mod tests;
