//! The network's custom Burn operations on the Flex CPU backend.
//!
//! Burn runs a tensor operation as a dispatch, a shape check and an allocation; for the tutorial's
//! step, whose arithmetic is about 200 floating-point operations, that overhead is all the cost.
//! [`ElmanKernels`] is a backend extension (Burn's custom operations) with a Flex implementation
//! in plain loops over the tensors' memory:
//!
//! - [`sgd_sequence`]: the tutorial's inner loop over one sequence, each step's forward pass,
//!   hand-derived gradients (the formulas are in `elman-train`'s `fused.rs`) and SGD update of
//!   both matrices, in place when nothing else holds them, with no allocation per step;
//! - [`step_gradients`]: the same step's gradients, for other optimizers;
//! - [`tanh`]: `tanh` of a tensor in vectorized loops ([`tanh_f32`]), where Flex calls the
//!   scalar library function per element.
//!
//! With the `wgpu` feature the same operations exist on Burn's CubeCL backend (`kernel/cube.rs`,
//! `#[cube]` Rust that runs on wgpu and CUDA alike): [`sgd_sequence`] is one launch per
//! sequence there, where the tensor operations take a dozen launches per step.
//!
//! Callers of [`sgd_sequence`] check [`sequence_available`], callers of [`step_gradients`]
//! check [`available`] (Flex, where the step kernel beats the tensor operations), and otherwise
//! use tensor operations; [`tanh`] falls back to Burn's own by itself, also for autodiff
//! tensors (the kernels have no backward pass). Besides `elman-cli`'s backend choice and the
//! bench, this is the one place that names a backend: a custom operation is written for one.

use std::borrow::Cow;

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::prelude::*;

#[cfg(feature = "wgpu")]
mod cube;

/// Custom operations of the Elman network, implemented for the Flex backend and, with the
/// `wgpu` feature, for the CubeCL backend.
#[backend_extension(Flex, Cube: cfg(feature = "wgpu"))]
pub trait ElmanKernels: Backend {
    /// Online SGD over one sequence from a zero context, the tutorial's inner loop: for each
    /// of the `T` steps of `inputs` (`[T, d_input]`) and `targets` (`[T, d_output]`) the
    /// forward pass, the hand-derived gradients of the step's loss, and the update
    /// `W -= lr · scale · dL/dW` of both matrices; the context carries on, detached, into the
    /// next step. Returns `(W1', W2', residuals)`, the residuals `y_t - target_t` as
    /// `[T, d_output]`.
    fn elman_sgd_sequence(
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        inputs: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        lr_scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// `tanh` of every element, through [`tanh_f32`] in loops the compiler vectorizes for the
    /// CPU it runs on (Flex's own `tanh` calls the scalar library function, which dominated
    /// batched training). Writes in place when nothing else holds `x`.
    fn elman_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// One step's forward pass and the gradients of its loss, whose derivative with respect to
    /// the output is `scale · (y - target)`. Returns `(h', y - target, dL/dW1, dL/dW2)`.
    fn elman_step_gradients(
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        x: FloatTensor<Self>,
        h: FloatTensor<Self>,
        target: FloatTensor<Self>,
        scale: f32,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// Whether tensors on `device` go through [`ElmanKernels`]' step and `tanh` kernels: plain
/// Flex devices.
pub fn available(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Flex(_))
}

/// Whether [`sgd_sequence`] runs on `device` for a network of these sizes: on plain Flex
/// devices, and on CubeCL devices (wgpu, CUDA) when one workgroup holds a unit per neuron.
pub fn sequence_available(
    device: &Device,
    d_input: usize,
    d_hidden: usize,
    d_output: usize,
) -> bool {
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        #[cfg(feature = "wgpu")]
        DispatchDevice::Cube(_) => d_input.max(d_hidden).max(d_output) <= cube::MAX_UNITS,
        #[allow(unreachable_patterns)] // with every backend compiled in
        _ => {
            let _ = (d_input, d_hidden, d_output);
            false
        }
    }
}

/// Whether [`sgd_sequence`] runs on `device` as a GPU kernel (rather than on the CPU).
pub fn on_gpu(device: &Device) -> bool {
    #[cfg(feature = "wgpu")]
    if let DispatchDevice::Cube(_) = device.as_dispatch() {
        return true;
    }
    let _ = device;
    false
}

/// [`ElmanKernels::elman_sgd_sequence`] on Burn tensors: `([W1', W2'], residuals)`.
///
/// # Panics
/// When the tensors are not on a device for which [`sequence_available`] holds.
pub fn sgd_sequence(
    [w1, w2]: [Tensor<2>; 2],
    inputs: Tensor<2>,
    targets: Tensor<2>,
    lr_scale: f64,
) -> ([Tensor<2>; 2], Tensor<2>) {
    let (w1, w2, residuals) = <Dispatch as ElmanKernels>::elman_sgd_sequence(
        w1.into_dispatch(),
        w2.into_dispatch(),
        inputs.into_dispatch(),
        targets.into_dispatch(),
        lr_scale as f32,
    );
    (
        [Tensor::from_dispatch(w1), Tensor::from_dispatch(w2)],
        Tensor::from_dispatch(residuals),
    )
}

/// `tanh` of `x`: [`ElmanKernels::elman_tanh`] on a Flex device (without autodiff), Burn's own
/// everywhere else.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if available(&x.device()) {
        Tensor::from_dispatch(<Dispatch as ElmanKernels>::elman_tanh(x.into_dispatch()))
    } else {
        x.tanh()
    }
}

/// `tanh(x)` for `f32` as a ratio of an odd polynomial of degree 13 and an even one of degree
/// 6 on `x` clamped to ±7.9 (where `tanh` rounds to ±1), the approximation Eigen and XLA use:
/// no branches, no library call, so a loop of it vectorizes. Within 1e-6 of `tanh` everywhere
/// (`tests::tanh_is_within_float_error`).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
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
    let p = ALPHA.iter().rev().fold(0.0, |p, a| p * x2 + a) * x;
    let q = BETA.iter().rev().fold(0.0, |q, b| q * x2 + b);
    p / q
}

/// [`ElmanKernels::elman_step_gradients`] on Burn tensors: `(h', y - target, [dL/dW1, dL/dW2])`.
///
/// # Panics
/// When the tensors are not on a device for which [`available`] holds.
pub fn step_gradients(
    w1: Tensor<2>,
    w2: Tensor<2>,
    x: Tensor<2>,
    h: Tensor<2>,
    target: Tensor<2>,
    scale: f64,
) -> (Tensor<2>, Tensor<2>, [Tensor<2>; 2]) {
    let (h, residual, g1, g2) = <Dispatch as ElmanKernels>::elman_step_gradients(
        w1.into_dispatch(),
        w2.into_dispatch(),
        x.into_dispatch(),
        h.into_dispatch(),
        target.into_dispatch(),
        scale as f32,
    );
    (
        Tensor::from_dispatch(h),
        Tensor::from_dispatch(residual),
        [Tensor::from_dispatch(g1), Tensor::from_dispatch(g2)],
    )
}

/// The sizes of the step, read from the weights: `W1` is `[d_input + d_hidden, d_hidden]`,
/// `W2` is `[d_hidden, d_output]`.
#[derive(Clone, Copy)]
struct Dims {
    d_input: usize,
    d_hidden: usize,
    d_output: usize,
}

impl Dims {
    fn of(w1: &FlexTensor, w2: &FlexTensor) -> Self {
        let (rows, d_hidden) = (w1.layout().shape()[0], w1.layout().shape()[1]);
        Self {
            d_input: rows - d_hidden,
            d_hidden,
            d_output: w2.layout().shape()[1],
        }
    }
}

/// One step's forward and backward pass down to the pre-activation, in plain loops, into
/// buffers that a sequence of steps reuses.
struct Step {
    d: Dims,
    /// The input layer `[x ; h]`, `[d_input + d_hidden]`: its context part is the previous
    /// step's `h'` (zero before the first step).
    xh: Vec<f32>,
    /// `h'`, `[d_hidden]`.
    context: Vec<f32>,
    /// `y - target`, `[d_output]`.
    residual: Vec<f32>,
    /// `dL/dy` times the caller's scale, `[d_output]`.
    d_out: Vec<f32>,
    /// `dL/da` at the same scale, `[d_hidden]`.
    d_a: Vec<f32>,
}

impl Step {
    /// Buffers for steps of the network `d`, from a zero context.
    fn new(d: Dims) -> Self {
        Self {
            d,
            xh: vec![0.0; d.d_input + d.d_hidden],
            context: vec![0.0; d.d_hidden],
            residual: vec![0.0; d.d_output],
            d_out: vec![0.0; d.d_output],
            d_a: vec![0.0; d.d_hidden],
        }
    }

    /// Sets the context part of the input layer.
    fn set_context(&mut self, h: &[f32]) {
        self.xh[self.d.d_input..].copy_from_slice(h);
    }

    /// The new context feeds the context neurons at the next step (detached: only the values
    /// carry on).
    fn carry_context(&mut self) {
        self.xh[self.d.d_input..].copy_from_slice(&self.context);
    }

    /// The step's formulas (see `elman-train`'s `fused.rs`) for input `x` from the context in
    /// the input layer, with `scale` folded into `dL/dy`.
    fn run(&mut self, w1: &[f32], w2: &[f32], x: &[f32], target: &[f32], scale: f32) {
        let d = self.d;
        // The input layer: the inputs, then the context neurons.
        self.xh[..d.d_input].copy_from_slice(x);
        // Forward: a = xh · W1, h' = tanh(a), y = h' · W2.
        self.context.fill(0.0);
        for (v, row) in self.xh.iter().zip(w1.chunks_exact(d.d_hidden)) {
            for (c, w) in self.context.iter_mut().zip(row) {
                *c += v * w;
            }
        }
        for c in &mut self.context {
            *c = c.tanh();
        }
        for (r, t) in self.residual.iter_mut().zip(target) {
            *r = -t;
        }
        for (c, row) in self.context.iter().zip(w2.chunks_exact(d.d_output)) {
            for (r, w) in self.residual.iter_mut().zip(row) {
                *r += c * w;
            }
        }
        // Backward: dL/dy = scale · r, dL/da = (dL/dy · W2ᵀ) ⊙ (1 - h'²).
        for (g, r) in self.d_out.iter_mut().zip(&self.residual) {
            *g = scale * r;
        }
        for ((g, c), row) in self
            .d_a
            .iter_mut()
            .zip(&self.context)
            .zip(w2.chunks_exact(d.d_output))
        {
            let d_h: f32 = row.iter().zip(&self.d_out).map(|(w, g)| w * g).sum();
            *g = d_h * (1.0 - c * c);
        }
    }

    /// `W2 -= h'ᵀ · dL/dy` and `W1 -= xhᵀ · dL/da`, in place (the learning rate is in the
    /// scale the step ran with).
    fn update(&self, w1: &mut [f32], w2: &mut [f32]) {
        for (row, c) in w2.chunks_exact_mut(self.d.d_output).zip(&self.context) {
            for (w, g) in row.iter_mut().zip(&self.d_out) {
                *w -= c * g;
            }
        }
        for (row, v) in w1.chunks_exact_mut(self.d.d_hidden).zip(&self.xh) {
            for (w, g) in row.iter_mut().zip(&self.d_a) {
                *w -= v * g;
            }
        }
    }
}

/// The tensor's values in row-major order, borrowed when it is contiguous.
///
/// # Panics
/// When the tensor does not hold `f32`.
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .expect("the Elman kernels work on f32 tensors")
                .to_vec(),
        ),
    }
}

/// A new `[rows, cols]` tensor holding `values`.
fn tensor(values: Vec<f32>, rows: usize, cols: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, [rows, cols]))
}

/// `t` laid out contiguously from offset 0 (a copy when it is a view), ready for
/// `storage_mut`, which writes in place when nothing else holds the memory and copies it first
/// otherwise.
fn writable(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

impl ElmanKernels for Flex {
    fn elman_tanh(x: FlexTensor) -> FlexTensor {
        let mut x = writable(x);
        let n = x.layout().num_elements();
        let values = &mut x.storage_mut::<f32>()[..n];
        pulp::Arch::new().dispatch(|| {
            for v in values {
                *v = tanh_f32(*v);
            }
        });
        x
    }

    fn elman_sgd_sequence(
        w1: FlexTensor,
        w2: FlexTensor,
        inputs: FlexTensor,
        targets: FlexTensor,
        lr_scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let d = Dims::of(&w1, &w2);
        let (inputs, targets) = (values(&inputs), values(&targets));
        let steps = inputs.len() / d.d_input;
        let (mut w1, mut w2) = (writable(w1), writable(w2));
        let (n1, n2) = (w1.layout().num_elements(), w2.layout().num_elements());
        let (w1s, w2s) = (
            &mut w1.storage_mut::<f32>()[..n1],
            &mut w2.storage_mut::<f32>()[..n2],
        );
        let mut step = Step::new(d);
        let mut residuals = Vec::with_capacity(steps * d.d_output);
        for (x, target) in inputs
            .chunks_exact(d.d_input)
            .zip(targets.chunks_exact(d.d_output))
        {
            step.run(w1s, w2s, x, target, lr_scale);
            step.update(w1s, w2s);
            residuals.extend_from_slice(&step.residual);
            step.carry_context();
        }
        (w1, w2, tensor(residuals, steps, d.d_output))
    }

    fn elman_step_gradients(
        w1: FlexTensor,
        w2: FlexTensor,
        x: FlexTensor,
        h: FlexTensor,
        target: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let d = Dims::of(&w1, &w2);
        let mut p = Step::new(d);
        p.set_context(&values(&h));
        p.run(
            &values(&w1),
            &values(&w2),
            &values(&x),
            &values(&target),
            scale,
        );
        // The outer products dL/dW1 = xhᵀ · dL/da and dL/dW2 = h'ᵀ · dL/dy.
        let rows = d.d_input + d.d_hidden;
        let g1 =
            p.xh.iter()
                .flat_map(|v| p.d_a.iter().map(move |g| v * g))
                .collect();
        let g2 = p
            .context
            .iter()
            .flat_map(|c| p.d_out.iter().map(move |g| c * g))
            .collect();
        (
            tensor(p.context, 1, d.d_hidden),
            tensor(p.residual, 1, d.d_output),
            tensor(g1, rows, d.d_hidden),
            tensor(g2, d.d_hidden, d.d_output),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The approximation against `f64`'s `tanh` on a fine grid over [-10, 10]: at most 1e-6
    /// apart (a few units in the last place of an `f32` near ±1), odd, and exactly 0 at 0.
    #[test]
    fn tanh_is_within_float_error() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5;
            let exact = f64::from(x).tanh();
            worst = worst.max((f64::from(tanh_f32(x)) - exact).abs());
            assert_eq!(tanh_f32(-x), -tanh_f32(x));
        }
        assert!(worst < 1e-6, "worst error {worst}");
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(100.0), tanh_f32(7.905_311));
    }

    /// The kernels apply to plain Flex tensors only: not under autodiff, not on other backends.
    #[test]
    fn only_plain_flex_devices_have_the_kernels() {
        assert!(available(&Device::flex()));
        assert!(!available(&Device::flex().autodiff()));
        #[allow(deprecated)] // the deprecated backend, as a device without the kernels
        let ndarray = Device::ndarray();
        assert!(!available(&ndarray));
        let x = Tensor::<1>::from_floats([0.5, -2.0], &Device::flex().autodiff()).require_grad();
        let y = tanh(x.clone()).sum();
        let grad = x.grad(&y.backward()).unwrap().into_data();
        let expected: Vec<f32> = [0.5f32, -2.0]
            .iter()
            .map(|v| 1.0 - v.tanh().powi(2))
            .collect();
        for (g, e) in grad.iter::<f32>().zip(expected) {
            assert!((g - e).abs() < 1e-6, "{g} vs {e}");
        }
    }

    /// The tensor version on Flex (in place and on a shared tensor) equals the scalar one.
    #[test]
    fn tanh_on_a_tensor_is_the_scalar_function() {
        let device = Device::flex();
        let values: Vec<f32> = (0..300).map(|i| (i as f32 - 150.0) * 0.05).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [3, 100]), &device);
        let shared = tanh(x.clone());
        let owned = tanh(x.clone() * 1.0);
        let expected: Vec<f32> = values.iter().map(|&v| tanh_f32(v)).collect();
        for t in [shared, owned] {
            assert_eq!(t.into_data().try_into_vec_as::<f32>().unwrap(), expected);
        }
        assert_eq!(x.into_data().try_into_vec_as::<f32>().unwrap(), values);
    }
}
