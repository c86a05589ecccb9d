//! A window's recurrence as one differentiable operation, the core of [`crate::ElmanLayer`]:
//! `[h0 ; h_1 … h_T]` from the time-major inputs, `W1` and `h0`, with
//! `h_t = tanh(x_t · W1x + h_{t-1} · W1h)`, and a backward pass written by hand, so that
//! `loss.backward()` runs the window's BPTT in one step of the autodiff graph instead of a dozen
//! recorded operations a step.
//!
//! [`RecurrenceOps`] is a backend extension routed through `Autodiff` (`window/autodiff.rs`
//! holds the `Backward`). Each backend computes both halves in its fastest form: Flex in the
//! plain loops of `kernel/recurrence.rs` up to [`FLEX_RECURRENCE_MAX`](super::FLEX_RECURRENCE_MAX)
//! neurons and above it a product a step on slices with `gemm` (`window/flex_elman.rs`);
//! CubeCL in the recurrence kernels where [`recurrence_available`](super::recurrence_available)
//! says they serve, else a product a step; NdArray a product a step (`window/steps.rs`, written
//! once for any backend).
//!
//! The output is the contexts alone, `[h_1 … h_T]`, so that a layer uses it whole: a slice of it
//! under autodiff would write a zero array of the whole output for its gradient.
//! Contract of the backward pass, for the upstream gradient `G` of the output (`[T·B, d]`):
//! `da = RecurrenceBackward(h_1…T, G, W1h)`, `dW1 = [x ; h_0…T-1]ᵀ · da`, `dx = da · W1xᵀ`,
//! `dh0 = da_1 · W1hᵀ`.

// NdArray is deprecated by Burn 0.22 but stays one of the project's backends, and the
// extension's generated dispatch names it.
#![allow(deprecated)]

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::prelude::*;

use super::{ElmanKernels, FLEX_RECURRENCE_MAX};

pub use input_rows::InputRowsOps;
pub(crate) use input_rows::input_rows;
pub use order::BatchMajorOps;
pub(crate) use order::batch_major;

#[cfg(feature = "autodiff")]
mod autodiff;
mod flex_elman;
mod flex_gated;
mod flex_infer;
mod flex_lanes;
mod flex_output;
mod flex_products;
pub(super) mod gru;
mod input_rows;
pub(super) mod lstm;
mod order;
pub(super) mod steps;
#[cfg(test)]
mod tests;

/// The window's recurrence, forward, as a differentiable operation (see the module's notes).
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    NdArray: cfg(feature = "ndarray"),
    Autodiff: cfg(feature = "autodiff"),
)]
pub trait RecurrenceOps: Backend {
    /// From the inputs `x` (`[T·B, d_input]`, time-major), `w1` (`[d_input + d_hidden,
    /// d_hidden]`: `W1x` over `W1h`) and the context `h0` (`[B, d_hidden]`), every step's
    /// context after `h0`: `[h_1 … h_T]`, `[T·B, d_hidden]`.
    fn elman_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// An LSTM window as one differentiable operation (`window/lstm.rs`: a product a step in the
/// backend's own operations, the backward pass written out there).
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    NdArray: cfg(feature = "ndarray"),
    Autodiff: cfg(feature = "autodiff"),
)]
pub trait LstmOps: Backend {
    /// From the inputs `x` (`[T·B, d_x]`, time-major, the bias's `1` among them), `w1`
    /// (`[d_x + d, 4d]`, the gates `i, f, g, o` side by side) and the state `h0`, `c0` (`[B, d]`
    /// each): `[h0 ; h_1 … h_T ; c_T]`, `[(T + 2)·B, d]`.
    fn elman_lstm_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// A GRU window as one differentiable operation (`window/gru.rs`, as the LSTM's).
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    NdArray: cfg(feature = "ndarray"),
    Autodiff: cfg(feature = "autodiff"),
)]
pub trait GruOps: Backend {
    /// From the inputs `x` (`[T·B, d_x]`, time-major, the bias's `1` among them), `w1`
    /// (`[d_x + d, 3d]`, the columns `z, r, n`) and the context `h0` (`[B, d]`): `[h_1 … h_T]`,
    /// `[T·B, d]`.
    fn elman_gru_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// How a backend computes both halves of the gated cells' windows: by default in its own
/// operations, a product a step (`window/lstm.rs`, `window/gru.rs`); on Flex in fused loops
/// (`window/flex_gated.rs`); on CubeCL in kernels (`cube/gated.rs`). [`LstmOps`], [`GruOps`]
/// and their autodiff route call these.
pub(crate) trait GatedWindows: Backend {
    /// The LSTM window forward: `[h0 ; h_1 … h_T ; c_T]` and what its backward pass reads.
    fn lstm_forward(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, lstm::Saved<Self>) {
        lstm::forward::<Self>(x, w1, h0, c0)
    }

    /// The LSTM window forward alone, for inference (what [`LstmOps`] runs outside autodiff):
    /// `[h0 ; h_1 … h_T ; c_T]`, nothing kept for a backward pass.
    fn lstm_infer(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::lstm_forward(x, w1, h0, c0).0
    }

    /// The LSTM window's gradients `[dx, dW1, dh0, dc0]` from its output's.
    fn lstm_backward(
        grad: FloatTensor<Self>,
        inputs: [FloatTensor<Self>; 3],
        saved: lstm::Saved<Self>,
    ) -> [FloatTensor<Self>; 4] {
        lstm::backward::<Self>(grad, inputs, saved)
    }

    /// The GRU window forward: `[h0 ; h_1 … h_T]` and the gates.
    fn gru_forward(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, gru::Gates<Self>) {
        gru::forward::<Self>(x, w1, h0)
    }

    /// The GRU window forward alone, for inference (what [`GruOps`] runs outside autodiff):
    /// `[h0 ; h_1 … h_T]`, nothing kept for a backward pass.
    fn gru_infer(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::gru_forward(x, w1, h0).0
    }

    /// The GRU window's gradients `[dx, dW1, dh0]` from its contexts' `h_1 … h_T` (the forward
    /// pass's output after `h0`).
    fn gru_backward(
        grad: FloatTensor<Self>,
        inputs: [FloatTensor<Self>; 3],
        gates: gru::Gates<Self>,
    ) -> [FloatTensor<Self>; 3] {
        gru::backward::<Self>(grad, inputs, gates)
    }
}

#[cfg(feature = "ndarray")]
impl GatedWindows for burn::backend::NdArray {}

/// [`LstmOps`] and [`GruOps`] for a backend, through its [`GatedWindows`].
macro_rules! gated_windows {
    ($backend:ty) => {
        impl LstmOps for $backend {
            fn elman_lstm_recurrence(
                x: FloatTensor<Self>,
                w1: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                c0: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                <Self as GatedWindows>::lstm_infer(x, w1, h0, c0)
            }
        }

        impl GruOps for $backend {
            fn elman_gru_recurrence(
                x: FloatTensor<Self>,
                w1: FloatTensor<Self>,
                h0: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                let batch = rows_of::<Self>(&h0);
                after_h0::<Self>(<Self as GatedWindows>::gru_infer(x, w1, h0), batch)
            }
        }
    };
}
gated_windows!(Flex);
#[cfg(any(feature = "wgpu", feature = "cuda"))]
gated_windows!(burn::backend::Cube);
#[cfg(feature = "ndarray")]
gated_windows!(burn::backend::NdArray);

/// The backward half on the backends that run the forward one: `dL/da_t = (g_t + dL/da_{t+1} ·
/// W1hᵀ) ⊙ (1 - h_t²)` from the last step down, for the contexts `h` and the gradients `g`
/// reaching them from outside the recurrence (both `[T·B, d_hidden]`). Not an extension: only
/// the autodiff route calls it, on the backend inside.
pub(crate) trait RecurrenceBackward: Backend {
    /// `dL/da`, `[T·B, d_hidden]`, for a batch of `batch`.
    fn elman_recurrence_da(
        h: FloatTensor<Self>,
        g: FloatTensor<Self>,
        w1h: FloatTensor<Self>,
        batch: usize,
    ) -> FloatTensor<Self>;

    /// `dW1 = [x ; h_0…T-1]ᵀ · da` from the inputs `x`, `h0`, the contexts `[h_1 … h_T]` and
    /// `da`, by blocks: `xᵀ · da` over `h0ᵀ · da_1 + h_1…T-1ᵀ · da_2…T` (the input layer
    /// concatenated again would copy every step's inputs and contexts).
    fn elman_weight_gradient(
        x: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        states: FloatTensor<Self>,
        d_a: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (batch, rows) = (rows_of::<Self>(&h0), rows_of::<Self>(&states));
        let t = Self::float_transpose;
        let grad_w1x = Self::float_matmul(t(x), d_a.clone());
        let mut grad_w1h = Self::float_matmul(t(h0), steps::rows::<Self>(d_a.clone(), 0..batch));
        if rows > batch {
            let later = Self::float_matmul(
                t(steps::rows::<Self>(states, 0..rows - batch)),
                steps::rows::<Self>(d_a, batch..rows),
            );
            grad_w1h = Self::float_add(grad_w1h, later);
        }
        Self::float_cat(vec![grad_w1x, grad_w1h], 0)
    }
}

/// The contexts after `h0` of a window's `[h0 ; h_1 … h_T]`, a view of its rows.
pub(super) fn after_h0<B: Backend>(states: FloatTensor<B>, batch: usize) -> FloatTensor<B> {
    let rows = rows_of::<B>(&states);
    steps::rows::<B>(states, batch..rows)
}

/// The rows of a `[rows, d]` tensor (a context's: the batch).
fn rows_of<B: Backend>(t: &FloatTensor<B>) -> usize {
    use burn::backend::TensorMetadata;
    t.shape()[0]
}

/// The neurons of a `[rows, d_hidden]` tensor.
fn width<B: Backend>(t: &FloatTensor<B>) -> usize {
    use burn::backend::TensorMetadata;
    t.shape()[1]
}

impl RecurrenceOps for Flex {
    fn elman_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let batch = rows_of::<Self>(&h0);
        let states = if width::<Self>(&h0) <= FLEX_RECURRENCE_MAX {
            Self::elman_recurrence_forward(x, w1, h0)
        } else {
            flex_elman::forward(x, w1, h0)
        };
        after_h0::<Self>(states, batch)
    }
}

impl RecurrenceBackward for Flex {
    fn elman_recurrence_da(
        h: FloatTensor<Self>,
        g: FloatTensor<Self>,
        w1h: FloatTensor<Self>,
        batch: usize,
    ) -> FloatTensor<Self> {
        if width::<Self>(&h) <= FLEX_RECURRENCE_MAX {
            Self::elman_recurrence_backward(h, g, w1h, batch)
        } else {
            flex_elman::backward(h, g, w1h, batch)
        }
    }

    fn elman_weight_gradient(
        x: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        states: FloatTensor<Self>,
        d_a: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        flex_elman::weight_gradient(x, h0, states, d_a)
    }
}

#[cfg(feature = "ndarray")]
impl RecurrenceOps for burn::backend::NdArray {
    fn elman_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        use burn::backend::ops::FloatTensorOps;
        let batch = rows_of::<Self>(&h0);
        after_h0::<Self>(steps::forward::<Self>(x, w1, h0, Self::float_tanh), batch)
    }
}

#[cfg(feature = "ndarray")]
impl RecurrenceBackward for burn::backend::NdArray {
    fn elman_recurrence_da(
        h: FloatTensor<Self>,
        g: FloatTensor<Self>,
        w1h: FloatTensor<Self>,
        batch: usize,
    ) -> FloatTensor<Self> {
        steps::backward::<Self>(h, g, w1h, batch)
    }
}

/// Whether [`recurrence`] runs on `device` (with or without autodiff): Flex, CubeCL and, with
/// the `ndarray` feature, NdArray devices. Elsewhere the layer takes its steps one by one.
pub fn recurrence_differentiable(device: &Device) -> bool {
    let inner = device.clone().without_autodiff();
    match inner.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        DispatchDevice::Cube(_) => true,
        #[cfg(feature = "ndarray")]
        DispatchDevice::NdArray(_) => true,
        #[allow(unreachable_patterns)] // with every backend compiled in
        _ => false,
    }
}

/// [`LstmOps::elman_lstm_recurrence`] on Burn tensors: `[h0 ; h_1 … h_T ; c_T]`, `[(T + 2)·B,
/// d]`, differentiable with respect to all four inputs on an autodiff device.
///
/// # Panics
/// When the tensors are not on a device for which [`recurrence_differentiable`] holds.
pub fn lstm_recurrence(x: Tensor<2>, w1: Tensor<2>, h0: Tensor<2>, c0: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as LstmOps>::elman_lstm_recurrence(
        x.into_dispatch(),
        w1.into_dispatch(),
        h0.into_dispatch(),
        c0.into_dispatch(),
    ))
}

/// [`GruOps::elman_gru_recurrence`] on Burn tensors: `[h_1 … h_T]`, `[T·B, d]`,
/// differentiable with respect to all three inputs on an autodiff device.
///
/// # Panics
/// When the tensors are not on a device for which [`recurrence_differentiable`] holds.
pub fn gru_recurrence(x: Tensor<2>, w1: Tensor<2>, h0: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as GruOps>::elman_gru_recurrence(
        x.into_dispatch(),
        w1.into_dispatch(),
        h0.into_dispatch(),
    ))
}

/// [`RecurrenceOps::elman_recurrence`] on Burn tensors: `[h_1 … h_T]`, `[T·B, d_hidden]`,
/// differentiable with respect to all three inputs on an autodiff device.
///
/// # Panics
/// When the tensors are not on a device for which [`recurrence_differentiable`] holds.
pub fn recurrence(x: Tensor<2>, w1: Tensor<2>, h0: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as RecurrenceOps>::elman_recurrence(
        x.into_dispatch(),
        w1.into_dispatch(),
        h0.into_dispatch(),
    ))
}
