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
//! - [`tanh`]: `tanh` of a tensor in vectorized loops ([`tanh_f32`], in `kernel/tanh_f32.rs`),
//!   where Flex calls the scalar library function per element;
//! - [`recurrence_forward`], [`recurrence_backward`], [`readout`], [`forward_squares`]: a
//!   window's recurrence, its read-out for backpropagation and inference's forward pass, each
//!   one launch on a GPU and (but for the read-out, which takes the tensor operations on a
//!   CPU) one loop on Flex.
//!
//! With the `wgpu` feature the same operations exist on Burn's CubeCL backend (`kernel/cube.rs`,
//! `#[cube]` Rust that runs on wgpu and CUDA alike): [`sgd_sequence`] is one launch per
//! sequence there, where the tensor operations take a dozen launches per step.
//!
//! Callers of [`sgd_sequence`] check [`sequence_available`], callers of [`step_gradients`]
//! check [`available`] (Flex, where the step kernel beats the tensor operations), and otherwise
//! use tensor operations; [`tanh`] falls back to Burn's own by itself, also for autodiff
//! tensors (the kernels have no backward pass). These checks are in `kernel/placement.rs`.
//! Besides `elman-cli`'s backend choice and the bench, this module is the one place that names
//! a backend: a custom operation is written for one.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;

#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
mod flex;
mod operations;
mod placement;
mod recurrence;
mod tanh_f32;
mod types;
mod window;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub use placement::software;
pub use placement::{
    FLEX_RECURRENCE_MAX, MAX_UNITS, adam_available, available, forward_squares_available,
    gated_kernels_available, host_for_steps, on_card, on_gpu, recurrence_available,
    sequence_available,
};
pub use tanh_f32::tanh_f32;
pub(crate) use tanh_f32::tanh_ratio;
pub use types::{AdamStep, Epochs};
pub use window::{
    BatchMajorOps, GruOps, InputRowsOps, LstmOps, RecurrenceOps, gru_recurrence, lstm_recurrence,
    recurrence, recurrence_differentiable,
};
pub(crate) use window::{batch_major, input_rows};

/// Custom operations of the Elman network, implemented for the Flex backend and, with the
/// `wgpu` feature, for the CubeCL backend.
#[backend_extension(Flex, Cube: cfg(any(feature = "wgpu", feature = "cuda")))]
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

    /// The tutorial's epochs in one call: for each of `lr_scales`' entries, one epoch of
    /// [`elman_sgd_sequence`](ElmanKernels::elman_sgd_sequence) over the same sequence (from a
    /// zero context, the weights updated in place) with that learning-rate scale. Returns
    /// `(W1', W2', residuals, weights)`: the residuals of every epoch's steps,
    /// `[E·T, d_output]`, and both matrices after each epoch, `[E, |W1| + |W2|]` (each row
    /// `W1` then `W2`, row-major), for the per-epoch report and checkpoints.
    fn elman_sgd_epochs(
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        inputs: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        lr_scales: Vec<f32>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// One Adam update of the network's two matrices `w1`, `w2` from their gradients `g1`, `g2`
    /// and moments `m1`, `v1`, `m2`, `v2` (PyTorch's formula, as `elman-train`'s tensor
    /// operations write it), every element of both at once: returns `(w1', m1', v1', w2', m2',
    /// v2')`, written in place when nothing else holds them.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn elman_adam(
        w1: FloatTensor<Self>,
        g1: FloatTensor<Self>,
        m1: FloatTensor<Self>,
        v1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        g2: FloatTensor<Self>,
        m2: FloatTensor<Self>,
        v2: FloatTensor<Self>,
        adam: AdamStep,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// `tanh` of every element, through [`tanh_f32`] in loops the compiler vectorizes for the
    /// CPU it runs on (Flex's own `tanh` calls the scalar library function, which dominated
    /// batched training). Writes in place when nothing else holds `x`.
    fn elman_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The recurrence over a window, forward: from the context `h0` (`[B, d_hidden]`), the
    /// inputs `x` (`[T·B, d_input]`, time-major) and `w1` (`[d_input + d_hidden, d_hidden]`:
    /// `W1x` over `W1h`), the contexts `h_t = tanh(x_t · W1x + h_{t-1} · W1h)` of every step
    /// after `h0`, `[(T + 1)·B, d_hidden]`: rows `t·B .. (t + 1)·B` are the contexts step `t + 1`
    /// starts from (so that the window's gradients read every step's input layer without
    /// joining `h0` to the rest), rows `B ..` the steps' own.
    fn elman_recurrence_forward(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The recurrence over a window, backward: from the contexts `h` of the forward pass and
    /// `g = dL/dy · W2ᵀ` (both `[T·B, d_hidden]`, time-major), `dL/da_t = (g_t + dL/da_{t+1} ·
    /// w1hᵀ) ⊙ (1 - h_t²)` from the last step down to the first, `[T·B, d_hidden]`.
    fn elman_recurrence_backward(
        h: FloatTensor<Self>,
        g: FloatTensor<Self>,
        w1h: FloatTensor<Self>,
        batch: usize,
    ) -> FloatTensor<Self>;

    /// The network's forward pass over a window from a zero context and its squared errors,
    /// for inference: from the inputs `x` (`[B·T, d_input]`) and `targets` (`[B·T, d_output]`),
    /// both batch-major (each sequence's `T` steps together, as the batcher stacks them), and
    /// the weights `w1` (`[d_input + d_hidden, d_hidden]`) and `w2` (`[d_hidden, d_output]`),
    /// each sequence's `Σ_t (h_t · W2 - target_t)²`, `[B, d_output]`, for a batch of `batch`.
    /// `parts` asks a GPU kernel for that many units per column of its workgroup (`None`: the
    /// kernel's choice); the Flex loops have no such layout and take none.
    fn elman_forward_squares(
        x: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        batch: usize,
        parts: Option<usize>,
    ) -> FloatTensor<Self>;

    /// A window's read-out and what backpropagation takes from it, every row at once: from the
    /// contexts `h` (`[R, d_hidden]`), the `targets` (`[R, d_output]`) and `w2` (`[d_hidden,
    /// d_output]`, with a bias `[d_hidden + 1, d_output]`, the bias last), the outputs `y = h ·
    /// W2h (+ b2)`; returns `(scale · (y - target), scale · (y - target) · W2hᵀ, scale · (y -
    /// target)² / 2)`: `dL/dy`, `dL/dh` through the outputs, and the terms of the loss `L` whose
    /// derivative that is (the halved sum of squares for `scale` 1, the MSE over `n` values for
    /// `2 / n`).
    fn elman_readout(
        h: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

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

/// [`ElmanKernels::elman_adam`] on Burn tensors: both matrices' `[w', m', v']`, from each one's
/// `[w, g, m, v]` (on a GPU one launch for both).
///
/// # Panics
/// When the tensors are not on a device for which [`adam_available`] holds.
pub fn adam(
    [w1, g1, m1, v1]: [Tensor<2>; 4],
    [w2, g2, m2, v2]: [Tensor<2>; 4],
    adam: AdamStep,
) -> [[Tensor<2>; 3]; 2] {
    let (w1, m1, v1, w2, m2, v2) = <Dispatch as ElmanKernels>::elman_adam(
        w1.into_dispatch(),
        g1.into_dispatch(),
        m1.into_dispatch(),
        v1.into_dispatch(),
        w2.into_dispatch(),
        g2.into_dispatch(),
        m2.into_dispatch(),
        v2.into_dispatch(),
        adam,
    );
    [[w1, m1, v1], [w2, m2, v2]].map(|t| t.map(Tensor::from_dispatch))
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

/// [`ElmanKernels::elman_sgd_epochs`] on Burn tensors: `lr_scales.len()` epochs of the
/// tutorial's online SGD over one sequence in one call, its results read to the host at once.
///
/// # Panics
/// When the tensors are not on a device for which [`sequence_available`] holds.
pub fn sgd_epochs(
    [w1, w2]: [Tensor<2>; 2],
    inputs: Tensor<2>,
    targets: Tensor<2>,
    lr_scales: &[f64],
) -> Epochs {
    let (w1, w2, residuals, weights_after) = <Dispatch as ElmanKernels>::elman_sgd_epochs(
        w1.into_dispatch(),
        w2.into_dispatch(),
        inputs.into_dispatch(),
        targets.into_dispatch(),
        lr_scales.iter().map(|&s| s as f32).collect(),
    );
    let host = |t| {
        Tensor::<2>::from_dispatch(t)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float tensor data")
    };
    Epochs {
        weights: [Tensor::from_dispatch(w1), Tensor::from_dispatch(w2)],
        residuals: host(residuals),
        weights_after: host(weights_after),
    }
}

/// [`ElmanKernels::elman_forward_squares`] on Burn tensors: each sequence's summed squared
/// errors, `[batch, d_output]`.
pub fn forward_squares(
    x: Tensor<2>,
    targets: Tensor<2>,
    w1: Tensor<2>,
    w2: Tensor<2>,
    batch: usize,
) -> Tensor<2> {
    forward_squares_in_parts(x, targets, w1, w2, batch, None)
}

/// [`forward_squares`] with `parts` units per column of a GPU kernel's workgroup (`None`: the
/// kernel's choice), to compare layouts (`elman-bench --phases`); the columns, hidden neurons
/// and outputs, times `parts` must fit a workgroup of the device.
pub fn forward_squares_in_parts(
    x: Tensor<2>,
    targets: Tensor<2>,
    w1: Tensor<2>,
    w2: Tensor<2>,
    batch: usize,
    parts: Option<usize>,
) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as ElmanKernels>::elman_forward_squares(
        x.into_dispatch(),
        targets.into_dispatch(),
        w1.into_dispatch(),
        w2.into_dispatch(),
        batch,
        parts,
    ))
}

/// [`ElmanKernels::elman_readout`] on Burn tensors, `[dL/dy, dL/dy · W2hᵀ, the loss's terms]`, in
/// one launch on a GPU, where the tensor operations take five; on a CPU through those tensor
/// operations, whose matrix products are vectorized (the Flex loop, a dot product per row,
/// made the CO2 example's training about 3% slower), and on a software rasterizer where a row's
/// loops (`d_hidden · (d_output + 1)` iterations) would pass its loop budget.
pub fn readout(h: Tensor<2>, targets: Tensor<2>, w2: Tensor<2>, scale: f32) -> [Tensor<2>; 3] {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    let fits =
        !software(&h.device()) || h.dims()[1] * (w2.dims()[1] + 1) <= cube::SOFTWARE_LOOP_BUDGET;
    #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
    let fits = true;
    if on_gpu(&h.device()) && fits {
        let (d_y, g, terms) = <Dispatch as ElmanKernels>::elman_readout(
            h.into_dispatch(),
            targets.into_dispatch(),
            w2.into_dispatch(),
            scale,
        );
        return [d_y, g, terms].map(Tensor::from_dispatch);
    }
    operations::readout(h, targets, w2, scale)
}

/// [`ElmanKernels::elman_recurrence_forward`] on Burn tensors: `[h0 ; h_1 … h_T]`, `[(T + 1)·B,
/// d_hidden]`.
pub fn recurrence_forward(x: Tensor<2>, w1: Tensor<2>, h0: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as ElmanKernels>::elman_recurrence_forward(
        x.into_dispatch(),
        w1.into_dispatch(),
        h0.into_dispatch(),
    ))
}

/// [`ElmanKernels::elman_recurrence_backward`] on Burn tensors, for a batch of `batch`.
pub fn recurrence_backward(h: Tensor<2>, g: Tensor<2>, w1h: Tensor<2>, batch: usize) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as ElmanKernels>::elman_recurrence_backward(
        h.into_dispatch(),
        g.into_dispatch(),
        w1h.into_dispatch(),
        batch,
    ))
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

#[cfg(test)]
mod tests;
