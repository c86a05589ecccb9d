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

/// `vectorized_loop!(Type, function, 'a, Args)`: `Type(args)` runs `function(args)` through
/// [`vectorized`].
macro_rules! vectorized_loop {
    ($kind:ident, $f:ident, $lt:lifetime, $args:ty) => {
        struct $kind<$lt>($args);

        impl super::flex_lanes::Vectorized for $kind<'_> {
            #[inline(always)]
            fn run(self) {
                $f(self.0);
            }
        }
    };
}
pub(super) use vectorized_loop;

/// Positions of a row handled together: one AVX-512 register of `f32`.
const LANES: usize = 16;

/// `outs[·][j] = cell(ins[·][j], outs[·][j])` at every position `j` of a row, the outputs read
/// before they are written (so a slice may be updated in place). A block of [`LANES`]
/// positions is loaded whole, computed, then stored whole: with every load of a block before
/// its stores the compiler vectorizes the cell without asking whether the slices overlap
/// (written as one loop over `j`, it checks at run time, and ran the scalar loop here).
#[inline(always)]
pub(super) fn lanes<const I: usize, const O: usize>(
    ins: [&[f32]; I],
    mut outs: [&mut [f32]; O],
    cell: impl Fn([f32; I], [f32; O]) -> [f32; O],
) {
    let d = outs.first().map_or(0, |o| o.len());
    let whole = d / LANES * LANES;
    for j in (0..whole).step_by(LANES) {
        let a: [[f32; LANES]; I] = std::array::from_fn(|k| block(&ins[k][j..j + LANES]));
        let b: [[f32; LANES]; O] = std::array::from_fn(|k| block(&outs[k][j..j + LANES]));
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
        for (out, r) in outs.iter_mut().zip(&r) {
            out[j..j + LANES].copy_from_slice(r);
        }
    }
    for j in whole..d {
        let v = cell(
            std::array::from_fn(|k| ins[k][j]),
            std::array::from_fn(|k| outs[k][j]),
        );
        for (out, v) in outs.iter_mut().zip(v) {
            out[j] = v;
        }
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
            lanes([&x], [&mut y, &mut twice], |[x], [y, _]| [y + x, 2.0 * x]);
            let expected: Vec<f32> = x.iter().map(|x| x + 1.0).collect();
            assert_eq!(y, expected, "d = {d}");
            assert_eq!(twice, x.iter().map(|x| 2.0 * x).collect::<Vec<_>>());
        }
    }
}
