//! [`tanh_f32`], the scalar `tanh` the Flex kernels vectorize.

/// `tanh(x)` for `f32` as a ratio of an odd polynomial of degree 13 and an even one of degree
/// 6 on `x` clamped to ±7.9 (where `tanh` rounds to ±1), the approximation Eigen and XLA use:
/// no branches, no library call, so a loop of it vectorizes. Within 1e-6 of `tanh` everywhere
/// (`tests::tanh_is_within_float_error`).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let (p, q) = ratio::<false>(x);
    p / q
}

/// [`tanh_f32`]'s numerator and denominator, `tanh(x) ≈ p / q` with `q` in `[4.8e-3, 1]`, each
/// power of `x²` added by a fused multiply-add: for loops that multiply several activations
/// together and divide once, compiled where the CPU has FMA (inside `pulp`'s dispatch; without
/// it, `mul_add` is a library call). Within float error of [`tanh_f32`], not equal to it.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
#[inline(always)]
pub fn tanh_ratio(x: f32) -> (f32, f32) {
    ratio::<true>(x)
}

/// The ratio's two polynomials, by Horner's rule, with fused multiply-adds when `FUSED`.
#[inline(always)]
fn ratio<const FUSED: bool>(x: f32) -> (f32, f32) {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let step = |acc: f32, c: f32| {
        if FUSED {
            acc.mul_add(x2, c)
        } else {
            acc * x2 + c
        }
    };
    // Horner's rule from the leading coefficient (a fold from 0 would spend a multiply-add on
    // `0·x² + c`, which the compiler may not drop, since `0·x²` is not 0 for every `x²`).
    let horner = |c: &[f32]| {
        c.iter()
            .rev()
            .skip(1)
            .fold(c[c.len() - 1], |acc, &c| step(acc, c))
    };
    (horner(&ALPHA) * x, horner(&BETA))
}
