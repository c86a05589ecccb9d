//! `kernel` without the `flex` feature: no custom operations are compiled in, so every device
//! takes Burn's tensor operations. The same functions and types as `kernel.rs`, so that the
//! crates above build either way (`cargo build -p elman-train` has no backend feature); each
//! `…_available` says no, and the operations it guards are never called.

use burn::prelude::*;

#[path = "kernel/operations.rs"]
mod operations;
#[path = "kernel/tanh_f32.rs"]
mod tanh_f32;
#[path = "kernel/types.rs"]
mod types;
pub use tanh_f32::tanh_f32;
pub use types::{AdamStep, Epochs};

/// The widest network whose recurrence the Flex loops would take (`kernel.rs`'s).
pub const FLEX_RECURRENCE_MAX: usize = 32;
/// The most units of one workgroup of the GPU kernels (`kernel.rs`'s).
pub const MAX_UNITS: usize = 256;

/// Never: the kernels are not compiled in.
pub fn available(_device: &Device) -> bool {
    false
}

/// Never: the kernels are not compiled in.
pub fn adam_available(_device: &Device) -> bool {
    false
}

/// Never: the kernels are not compiled in.
pub fn sequence_available(
    _device: &Device,
    _d_input: usize,
    _d_hidden: usize,
    _d_output: usize,
    _steps: usize,
) -> bool {
    false
}

/// Never: the kernels are not compiled in.
pub fn recurrence_available(_device: &Device, _d_hidden: usize) -> bool {
    false
}

/// Never: the kernels are not compiled in.
pub fn gated_kernels_available(_device: &Device, _d_hidden: usize) -> bool {
    false
}

/// Never: the kernels are not compiled in.
pub fn forward_squares_available(_device: &Device, _d_hidden: usize, _d_output: usize) -> bool {
    false
}

/// Never: no CubeCL backend is compiled in.
pub fn on_gpu(_device: &Device) -> bool {
    false
}

/// Never: no CubeCL backend is compiled in.
pub fn on_card(_device: &Device) -> bool {
    false
}

/// Nowhere else: no GPU backend is compiled in.
pub fn host_for_steps(_device: &Device) -> Option<Device> {
    None
}

/// Burn's `tanh`.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.tanh()
}

/// The read-out by tensor operations: `[dL/dy, dL/dy · W2hᵀ, the loss's terms]`.
pub fn readout(h: Tensor<2>, targets: Tensor<2>, w2: Tensor<2>, scale: f32) -> [Tensor<2>; 3] {
    operations::readout(h, targets, w2, scale)
}

/// Not compiled in: callers check [`sequence_available`] first.
pub fn sgd_sequence(
    _weights: [Tensor<2>; 2],
    _inputs: Tensor<2>,
    _targets: Tensor<2>,
    _lr_scale: f64,
) -> ([Tensor<2>; 2], Tensor<2>) {
    unreachable!("the Flex kernels are not compiled in")
}

/// Not compiled in: callers check [`sequence_available`] first.
pub fn sgd_epochs(
    _weights: [Tensor<2>; 2],
    _inputs: Tensor<2>,
    _targets: Tensor<2>,
    _lr_scales: &[f64],
) -> Epochs {
    unreachable!("the Flex kernels are not compiled in")
}

/// Not compiled in: callers check [`available`] first.
pub fn step_gradients(
    _w1: Tensor<2>,
    _w2: Tensor<2>,
    _x: Tensor<2>,
    _h: Tensor<2>,
    _target: Tensor<2>,
    _scale: f64,
) -> (Tensor<2>, Tensor<2>, [Tensor<2>; 2]) {
    unreachable!("the Flex kernels are not compiled in")
}

/// Not compiled in: callers check [`adam_available`] first.
pub fn adam(
    _first: [Tensor<2>; 4],
    _second: [Tensor<2>; 4],
    _adam: AdamStep,
) -> [[Tensor<2>; 3]; 2] {
    unreachable!("the kernels are not compiled in")
}

/// Never: the differentiable recurrence is not compiled in (the layer takes its steps).
pub fn recurrence_differentiable(_device: &Device) -> bool {
    false
}

/// Not compiled in: callers check [`recurrence_differentiable`] first.
pub fn recurrence(_x: Tensor<2>, _w1: Tensor<2>, _h0: Tensor<2>) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`recurrence_differentiable`] first.
pub fn gru_recurrence(_x: Tensor<2>, _w1: Tensor<2>, _h0: Tensor<2>) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`recurrence_differentiable`] first.
pub fn lstm_recurrence(_x: Tensor<2>, _w1: Tensor<2>, _h0: Tensor<2>, _c0: Tensor<2>) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`recurrence_differentiable`] first.
pub(crate) fn input_rows(_input: Tensor<3>, _bias: bool) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`recurrence_differentiable`] first.
pub(crate) fn batch_major(
    _rows: Tensor<2>,
    _batch: usize,
    _first: usize,
    _steps: usize,
) -> Tensor<3> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`recurrence_available`] first.
pub fn recurrence_forward(_x: Tensor<2>, _w1: Tensor<2>, _h0: Tensor<2>) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`recurrence_available`] first.
pub fn recurrence_backward(
    _h: Tensor<2>,
    _g: Tensor<2>,
    _w1h: Tensor<2>,
    _batch: usize,
) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}

/// Not compiled in: callers check [`forward_squares_available`] first.
pub fn forward_squares(
    _x: Tensor<2>,
    _targets: Tensor<2>,
    _w1: Tensor<2>,
    _w2: Tensor<2>,
    _batch: usize,
) -> Tensor<2> {
    unreachable!("the kernels are not compiled in")
}
