//! The Elman cell's window on Flex above [`FLEX_RECURRENCE_MAX`](crate::kernel::FLEX_RECURRENCE_MAX)
//! neurons: each step's product in `gemm`'s kernels on slices, its input layer `[x_t ; h_{t-1}]`
//! times `W1` (forward) or its gradient times `W1hᵀ` (backward), and its `tanh` (forward) or slope (backward) in a vectorized loop, the
//! batch's rows split between the threads of the current rayon pool as the gated cells' are
//! (`flex_gated.rs`). The arithmetic is `steps.rs`'s, a product a step in Flex's own operations,
//! which allocated and passed over memory a few times a step.

use burn::backend::flex::FlexTensor;

use rayon::prelude::*;

use super::flex_gated::{dims, part_rows};
use super::flex_lanes::{Vectorized, lanes, tanh, vectorized, vectorized_loop};
use super::flex_output::{Fresh, StepRows};
use super::flex_products::{View, product_shared, step_product, transposed};
use crate::kernel::flex::{tensor, values, writable};

/// `da = s ⊙ (1 - h²)` in place of `s`, the gradient reaching the step's contexts.
#[inline(always)]
fn slope((h, da): (&[f32], &mut [f32])) {
    lanes([h], [da], |[h], [s]| [s * (1.0 - h * h)]);
}

vectorized_loop!(Slope, slope, 'a, (&'a [f32], &'a mut [f32]));

/// `[h0 ; h_1 … h_T]`, `h_t = tanh(x_t · W1x + h_{t-1} · W1h)`: in each part, `h_{t-1} · W1h`
/// into the part's `a` (reused), read in place from the contexts; then `x_t · W1x` added, the
/// `tanh` taken and `h_t` written once into the output. With one or two inputs (one, and the
/// bias's constant) the loop over the part's rows adds `x_t · W1x` itself; else it is a second
/// product. (Each step's input layer `[x_t ; h_{t-1}]` copied into rows of its own for one
/// product was 4% of the inference at hidden 256; an input projection of every step up front,
/// a `[T·B, d]` array written and then read back, left the inference at hidden 64 9% slower.)
pub(super) fn forward(x: FlexTensor, w1: FlexTensor, h0: FlexTensor) -> FlexTensor {
    let (batch, d) = dims(&h0);
    let (total, d_x) = dims(&x);
    let steps = total / batch.max(1);
    let (n, per) = (batch * d, part_rows(batch));
    let w1_values = values(&w1);
    let (w1x, w1h) = w1_values.split_at(d_x * d);
    let w1h = View::new(w1h, d, d);
    let inputs = values(&x);
    let mut out = StepRows::new((steps + 1) * n);
    out.push(&values(&h0));
    let mut a = vec![0.0f32; n];
    for t in 0..steps {
        let x_t = &inputs[t * batch * d_x..(t + 1) * batch * d_x];
        out.step(n, per * d, |done, parts| {
            let h_prev = &done[t * n..];
            a.par_chunks_mut(per * d)
                .zip(parts)
                .enumerate()
                .for_each(|(k, (a, mut h))| {
                    let rows = k * per..k * per + a.len() / d;
                    let h_rows = View::new(&h_prev[rows.start * d..rows.end * d], rows.len(), d);
                    step_product(a, d, false, h_rows, w1h);
                    let x = &x_t[rows.start * d_x..rows.end * d_x];
                    let h = &mut h;
                    match d_x {
                        1 => vectorized(Activate::<1> { a, x, w1x, h, d }),
                        2 => vectorized(Activate::<2> { a, x, w1x, h, d }),
                        _ => {
                            let inputs = View::new(x, rows.len(), d_x);
                            step_product(a, d, true, inputs, View::new(w1x, d_x, d));
                            vectorized(Activate::<0> { a, x, w1x, h, d });
                        }
                    }
                });
        });
    }
    tensor(out.into_vec(), (steps + 1) * batch, d)
}

/// A part's `h_t = tanh(a + x_t · W1x)` from `a = h_{t-1} · W1h` (`[rows, d]`), the products
/// of `K` inputs (at most 2) added in the loop; `K = 0` when they were added before.
struct Activate<'a, 'p, const K: usize> {
    a: &'a [f32],
    x: &'a [f32],
    w1x: &'a [f32],
    h: &'a mut Fresh<'p>,
    d: usize,
}

impl<const K: usize> Vectorized for Activate<'_, '_, K> {
    #[inline(always)]
    fn run(self) {
        let d = self.d;
        // `lanes` takes a fixed count of rows: `a`'s and two of `W1x` (`a`'s again where unused).
        let mut ins = [self.a; 3];
        for (k, w) in self.w1x.chunks_exact(d).take(K).enumerate() {
            ins[1 + k] = w;
        }
        for (r, a) in self.a.chunks_exact(d).enumerate() {
            let x: [f32; K] = std::array::from_fn(|k| self.x[r * K + k]);
            ins[0] = a;
            lanes(ins, [self.h.row(d)], |[a, w0, w1], _| {
                let s = match K {
                    1 => a + x[0] * w0,
                    2 => a + x[0] * w0 + x[1] * w1,
                    _ => a,
                };
                [tanh(s)]
            });
        }
    }
}

/// `dL/da_t = (g_t + dL/da_{t+1} · W1hᵀ) ⊙ (1 - h_t²)` from the last step down, for the
/// contexts `h` and the gradients `g` reaching them (both `[T·B, d]`).
pub(super) fn backward(h: FlexTensor, g: FlexTensor, w1h: FlexTensor, batch: usize) -> FlexTensor {
    let (total, d) = dims(&h);
    let steps = total / batch.max(1);
    let (n, per) = (batch * d, part_rows(batch));
    let (h, w1h_values) = (values(&h), values(&w1h));
    let w1h_t_values = transposed(&w1h_values, d, d);
    let w1h_t = View::new(&w1h_t_values, d, d);
    // g first (its own memory where nothing else holds it), then the recurrent term added and
    // the slope applied in place, a step at a time.
    let mut g = writable(g);
    let d_a = &mut g.storage_mut::<f32>()[..total * d];
    for t in (0..steps).rev() {
        let (current, later) = d_a.split_at_mut((t + 1) * n);
        let next = &later[..later.len().min(n)];
        let h_t = &h[t * n..(t + 1) * n];
        current[t * n..]
            .par_chunks_mut(per * d)
            .enumerate()
            .for_each(|(k, da)| {
                let cells = k * per * d..k * per * d + da.len();
                if !next.is_empty() {
                    let size = da.len() / d;
                    step_product(da, d, true, View::new(&next[cells.clone()], size, d), w1h_t);
                }
                vectorized(Slope((&h_t[cells], da)));
            });
    }
    g
}

/// `dW1 = [x ; h_0…T-1]ᵀ · da` (see [`super::RecurrenceBackward::elman_weight_gradient`]) in
/// products on slices split between the pool's threads ([`product_shared`]): `xᵀ · da`, then
/// `h0ᵀ · da_1` and `h_1…T-1ᵀ · da_2…T` summed in place.
pub(super) fn weight_gradient(
    x: FlexTensor,
    h0: FlexTensor,
    states: FlexTensor,
    d_a: FlexTensor,
) -> FlexTensor {
    let ((total, d_x), (batch, d)) = (dims(&x), dims(&h0));
    let (x, h0, states, d_a) = (values(&x), values(&h0), values(&states), values(&d_a));
    let mut grad = vec![0.0f32; (d_x + d) * d];
    let (grad_w1x, grad_w1h) = grad.split_at_mut(d_x * d);
    let da = View::new(&d_a, total, d);
    product_shared(grad_w1x, d, false, View::new(&x, total, d_x).t(), da);
    let first = View::new(&d_a[..batch * d], batch, d);
    product_shared(grad_w1h, d, false, View::new(&h0, batch, d).t(), first);
    if total > batch {
        let rest = total - batch;
        let earlier = View::new(&states[..rest * d], rest, d).t();
        let later = View::new(&d_a[batch * d..], rest, d);
        product_shared(grad_w1h, d, true, earlier, later);
    }
    tensor(grad, d_x + d, d)
}
