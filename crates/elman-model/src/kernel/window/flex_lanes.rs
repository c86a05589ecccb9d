//! Element-wise loops over a window's rows, vectorized: [`vectorized`] runs a loop compiled for
//! the CPU's widest vectors (AVX-512, AVX2, SSE, chosen at run time by pulp), and [`lanes`]
//! writes a loop over the positions of a row so that the compiler vectorizes it.

use crate::kernel::tanh_ratio;

/// `tanh(x)`, [`tanh_ratio`]'s ratio: [`tanh_f32`](crate::kernel::tanh_f32)'s approximation
/// with fused multiply-adds, for the loops [`vectorized`] compiles (the LSTM layer's inference
/// at hidden 64 ran 18% faster than with a multiply and an add for each term).
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    let (p, q) = tanh_ratio(x);
    p / q
}

/// `σ(x)` through [`tanh`], branch-free so that the loops vectorize.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

/// A loop over slices that [`vectorized`] compiles for the CPU's widest vectors.
pub(super) trait Vectorized {
    /// Runs the loop; marked `#[inline(always)]` so that it is compiled inside the dispatch.
    fn run(self);
}

/// A [`Vectorized`] loop as one of pulp's operations.
struct Dispatched<L>(L);

impl<L: Vectorized> pulp::WithSimd for Dispatched<L> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        self.0.run();
    }
}

/// Runs `the_loop` compiled for the widest vector instructions the CPU has. Each loop is a
/// named function given a type of its own by [`vectorized_loop!`]: a closure, or a function
/// called through a pointer, would be compiled once, outside the dispatch, for the baseline's
/// vectors.
#[inline(always)]
pub(super) fn vectorized(the_loop: impl Vectorized) {
    pulp::Arch::new().dispatch(Dispatched(the_loop));
}

/// `vectorized_loop!(Type, function, 'a, Args)` (or `['a, 'b]` for two lifetimes):
/// `Type(args)` runs `function(args)` through [`vectorized`].
macro_rules! vectorized_loop {
    ($kind:ident, $f:ident, $lt:lifetime, $args:ty) => {
        vectorized_loop!($kind, $f, [$lt], $args);
    };
    ($kind:ident, $f:ident, [$($lt:lifetime),+], $args:ty) => {
        struct $kind<$($lt),+>($args);

        impl<$($lt),+> super::flex_lanes::Vectorized for $kind<$($lt),+> {
            #[inline(always)]
            fn run(self) {
                $f(self.0);
            }
        }
    };
}
pub(super) use vectorized_loop;

/// Positions of a row handled together: one AVX-512 register of `f32`.
pub(super) const LANES: usize = 16;

/// A row a [`lanes`] loop writes: `&mut [f32]`, updated in place (each position read, then
/// written), or a [`FreshRow`](super::flex_output::FreshRow), memory not yet written (never
/// read: the cell is handed zeros for it).
pub(super) trait LaneRow {
    /// Its positions.
    fn len(&self) -> usize;
    /// The [`LANES`] values from `j` on, zeros for a fresh row.
    fn load(&self, j: usize) -> [f32; LANES];
    /// The value at `j`, zero for a fresh row.
    fn get(&self, j: usize) -> f32;
    /// Writes `values` from `j` on.
    fn store(&mut self, j: usize, values: &[f32; LANES]);
    /// Writes `value` at `j`.
    fn set(&mut self, j: usize, value: f32);
}

impl LaneRow for &mut [f32] {
    #[inline(always)]
    fn len(&self) -> usize {
        <[f32]>::len(self)
    }

    #[inline(always)]
    fn load(&self, j: usize) -> [f32; LANES] {
        block(&self[j..j + LANES])
    }

    #[inline(always)]
    fn get(&self, j: usize) -> f32 {
        self[j]
    }

    #[inline(always)]
    fn store(&mut self, j: usize, values: &[f32; LANES]) {
        self[j..j + LANES].copy_from_slice(values);
    }

    #[inline(always)]
    fn set(&mut self, j: usize, value: f32) {
        self[j] = value;
    }
}

/// `outs[·][j] = cell(ins[·][j], outs[·][j])` at every position `j` of a row, each output
/// written once (a fresh one handed to the cell as zero, an updated one read before it is
/// written, so a slice may be updated in place). A block of [`LANES`]
/// positions is loaded whole, computed, then stored whole: with every load of a block before
/// its stores the compiler vectorizes the cell without asking whether the slices overlap
/// (written as one loop over `j`, it checks at run time, and ran the scalar loop here).
#[inline(always)]
pub(super) fn lanes<const I: usize, const O: usize>(
    ins: [&[f32]; I],
    mut outs: impl LaneRows<O>,
    cell: impl Fn([f32; I], [f32; O]) -> [f32; O],
) {
    let d = outs.len();
    let whole = d / LANES * LANES;
    for j in (0..whole).step_by(LANES) {
        let a: [[f32; LANES]; I] = std::array::from_fn(|k| block(&ins[k][j..j + LANES]));
        let b = outs.load(j);
        let mut r = [[0.0f32; LANES]; O];
        for l in 0..LANES {
            let v = cell(
                std::array::from_fn(|k| a[k][l]),
                std::array::from_fn(|k| b[k][l]),
            );
            for k in 0..O {
                r[k][l] = v[k];
            }
        }
        outs.store(j, &r);
    }
    (whole..d).for_each(|j| {
        let v = cell(std::array::from_fn(|k| ins[k][j]), outs.get(j));
        outs.set(j, v);
    });
}

/// The `O` rows a [`lanes`] loop writes: an array of one kind of [`LaneRow`], or a pair of
/// two kinds (a row updated in place beside a fresh one).
pub(super) trait LaneRows<const O: usize> {
    /// The positions of the first row (each row has at least as many).
    fn len(&self) -> usize;
    /// Each row's block from `j` on.
    fn load(&self, j: usize) -> [[f32; LANES]; O];
    /// Each row's value at `j`.
    fn get(&self, j: usize) -> [f32; O];
    /// Writes each row's block from `j` on.
    fn store(&mut self, j: usize, blocks: &[[f32; LANES]; O]);
    /// Writes each row's value at `j`.
    fn set(&mut self, j: usize, values: [f32; O]);
}

impl<R: LaneRow, const O: usize> LaneRows<O> for [R; O] {
    #[inline(always)]
    fn len(&self) -> usize {
        self.first().map_or(0, |o| o.len())
    }

    #[inline(always)]
    fn load(&self, j: usize) -> [[f32; LANES]; O] {
        std::array::from_fn(|k| self[k].load(j))
    }

    #[inline(always)]
    fn get(&self, j: usize) -> [f32; O] {
        std::array::from_fn(|k| self[k].get(j))
    }

    #[inline(always)]
    fn store(&mut self, j: usize, blocks: &[[f32; LANES]; O]) {
        for (out, block) in self.iter_mut().zip(blocks) {
            out.store(j, block);
        }
    }

    #[inline(always)]
    fn set(&mut self, j: usize, values: [f32; O]) {
        for (out, v) in self.iter_mut().zip(values) {
            out.set(j, v);
        }
    }
}

impl<A: LaneRow, B: LaneRow> LaneRows<2> for (A, B) {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline(always)]
    fn load(&self, j: usize) -> [[f32; LANES]; 2] {
        [self.0.load(j), self.1.load(j)]
    }

    #[inline(always)]
    fn get(&self, j: usize) -> [f32; 2] {
        [self.0.get(j), self.1.get(j)]
    }

    #[inline(always)]
    fn store(&mut self, j: usize, [a, b]: &[[f32; LANES]; 2]) {
        self.0.store(j, a);
        self.1.store(j, b);
    }

    #[inline(always)]
    fn set(&mut self, j: usize, [a, b]: [f32; 2]) {
        self.0.set(j, a);
        self.1.set(j, b);
    }
}

/// A block of [`LANES`] values.
#[inline(always)]
fn block(values: &[f32]) -> [f32; LANES] {
    let mut block = [0.0; LANES];
    block.copy_from_slice(values);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of every length up to three blocks and a half, in place and not: each position
    /// gets its own cell's value (a block or the tail mixed up would not).
    #[test]
    fn lanes_visit_every_position_once() {
        for d in 0..56 {
            let x: Vec<f32> = (0..d).map(|j| j as f32).collect();
            let mut y = vec![1.0; d];
            let mut twice = vec![0.0; d];
            lanes([&x], [&mut y[..], &mut twice[..]], |[x], [y, _]| {
                [y + x, 2.0 * x]
            });
            let expected: Vec<f32> = x.iter().map(|x| x + 1.0).collect();
            assert_eq!(y, expected, "d = {d}");
            assert_eq!(twice, x.iter().map(|x| 2.0 * x).collect::<Vec<_>>());
        }
    }
}
