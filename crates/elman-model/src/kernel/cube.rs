//! [`ElmanKernels`] on Burn's CubeCL backend: the same kernels for wgpu (Vulkan, Metal, DX12,
//! lavapipe) and CUDA, written once in `#[cube]` Rust.
//!
//! [`sgd_epochs_kernel`] is the tutorial's inner loop over a whole sequence, epoch after epoch,
//! in one launch: one workgroup of at least `max(d_input, d_hidden, d_output)` units, unit `j`
//! owning hidden neuron `j` (its column of `W1` in its registers, its row of `W2` in shared
//! memory), the input layer, the new context and `dL/dy` in shared memory, a barrier between the
//! phases of each step; the weights go back to the device's memory at the end, the residuals
//! (and, for the per-epoch report, the weights after each epoch) come back as tensors.
//! [`step_gradients_kernel`] is one step's gradients, for optimizers other than SGD;
//! [`adam_kernel`] one Adam update, a unit per element. [`recurrence_forward_kernel`] (the
//! input projections included) and [`recurrence_backward_kernel`] run a window's recurrence for
//! a batch in one launch each (a workgroup per sequence, a unit per hidden neuron, a barrier per
//! step; on a device that is no card, the `_serial` twins, a unit per sequence);
//! [`readout_kernel`] the outputs and what backpropagation takes from them, a unit per row; the
//! weight gradients are matrix products. [`forward_squares_kernel`] is inference's whole forward
//! pass. `tanh` is Burn's own.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::cubecl::prelude::*;
use burn::prelude::{Shape, TensorData};

use super::{AdamStep, ElmanKernels};

/// A tensor of the CubeCL backend (Burn's `CubeTensor`, named the same for every runtime).
type CubeTensor = FloatTensor<Cube>;

mod gated;
mod gated_kernels;
mod kernels;
#[macro_use]
mod layout;
mod steps;
#[cfg(test)]
mod tests;

use kernels::*;
use layout::*;
pub(super) use layout::{SERIAL_MAX, SOFTWARE_LOOP_BUDGET, software_epochs};
use steps::*;

/// `t`'s values laid out row after row in a new tensor (what `burn-cubecl`'s own
/// `into_contiguous` does; Burn's `copy` of a view keeps the view's strides).
fn into_contiguous(t: CubeTensor) -> CubeTensor {
    let (client, device, dtype) = (t.client.clone(), t.device.clone(), t.dtype);
    let output = burn::cubecl::std::tensor::into_contiguous(
        &client,
        t.binding(),
        dtype_to_storage_type(dtype),
    );
    CubeTensor::new(client, output.handle, *output.metadata, device, dtype)
}

/// A contiguous tensor the kernel may write into: `t` itself when nothing else holds it.
fn writable(t: CubeTensor) -> CubeTensor {
    if t.can_mut() && t.is_contiguous() {
        t
    } else if t.is_contiguous() {
        t.copy()
    } else {
        into_contiguous(t)
    }
}

/// A contiguous tensor to read: `t` itself, or its values laid out row after row (Burn's
/// `copy` of a view would keep the view's strides, which the kernels do not read).
fn readable(t: CubeTensor) -> CubeTensor {
    if t.is_contiguous() {
        t
    } else {
        into_contiguous(t)
    }
}

/// A new contiguous `rows x cols` tensor on `like`'s device.
fn empty(like: &CubeTensor, rows: usize, cols: usize) -> CubeTensor {
    let shape = Shape::new([rows, cols]);
    let handle = like.client.empty(shape.num_elements() * like.dtype.size());
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        handle,
        like.dtype,
    )
}

/// `(d_input, d_hidden, d_output)` of the network `w1`, `w2`.
fn dims(w1: &CubeTensor, w2: &CubeTensor) -> (usize, usize, usize) {
    let (rows, d_hidden) = (w1.meta.shape()[0], w1.meta.shape()[1]);
    (rows - d_hidden, d_hidden, w2.meta.shape()[1])
}

/// The tutorial's epochs in one launch of [`sgd_epochs_kernel`] (one workgroup, the weights in
/// its registers and shared memory throughout), or on a software rasterizer in as many launches
/// of whole epochs as its loop budget asks for ([`software_epochs`]): `(W1', W2', residuals,
/// weights after each epoch)`, the last a `1 x 1` placeholder unless `keep`.
fn sgd_epochs(
    w1: CubeTensor,
    w2: CubeTensor,
    inputs: CubeTensor,
    targets: CubeTensor,
    lr_scales: &[f32],
    keep: bool,
) -> (CubeTensor, CubeTensor, CubeTensor, CubeTensor) {
    let (d_input, d_hidden, d_output) = dims(&w1, &w2);
    let steps = inputs.meta.shape()[0];
    let epochs = lr_scales.len();
    let (w1, w2) = (writable(w1), writable(w2));
    let (inputs, targets) = (readable(inputs), readable(targets));
    let scales = Cube::float_from_data(TensorData::new(lr_scales.to_vec(), [epochs]), &w1.device);
    let residuals = empty(&w1, epochs * steps, d_output);
    let n = w1.meta.shape().num_elements() + w2.meta.shape().num_elements();
    let after = if keep {
        empty(&w1, epochs, n)
    } else {
        empty(&w1, 1, 1)
    };
    let software = is_software(&w1);
    let per_launch = if software {
        software_epochs(steps)
    } else {
        epochs
    }
    .max(1);
    for first in (0..epochs).step_by(per_launch) {
        let last = epochs.min(first + per_launch);
        sgd_epochs_kernel::launch(
            &w1.client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(units(d_input, d_hidden, d_output)),
            w1.clone().into_tensor_arg(),
            w2.clone().into_tensor_arg(),
            inputs.clone().into_tensor_arg(),
            targets.clone().into_tensor_arg(),
            scales.clone().into_tensor_arg(),
            residuals.clone().into_tensor_arg(),
            after.clone().into_tensor_arg(),
            steps as u32,
            first as u32,
            last as u32,
            d_input,
            d_hidden,
            d_output,
            keep,
            software,
            dtype_to_storage_type(w1.dtype),
        );
    }
    (w1, w2, residuals, after)
}

impl ElmanKernels for Cube {
    fn elman_sgd_sequence(
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        inputs: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        lr_scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (w1, w2, residuals, _) = sgd_epochs(w1, w2, inputs, targets, &[lr_scale], false);
        (w1, w2, residuals)
    }

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
    ) {
        sgd_epochs(w1, w2, inputs, targets, &lr_scales, true)
    }

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
    ) {
        let [w1, m1, v1, w2, m2, v2] = [w1, m1, v1, w2, m2, v2].map(writable);
        let [g1, g2] = [g1, g2].map(readable);
        let n1 = w1.meta.shape().num_elements() as u32;
        let n2 = w2.meta.shape().num_elements() as u32;
        let units = 256u32;
        let f = |x: f64| x as f32;
        adam_kernel::launch(
            &w1.client,
            CubeCount::Static((n1 + n2).div_ceil(units).max(1), 1, 1),
            CubeDim::new_1d(units),
            w1.clone().into_tensor_arg(),
            g1.into_tensor_arg(),
            m1.clone().into_tensor_arg(),
            v1.clone().into_tensor_arg(),
            w2.clone().into_tensor_arg(),
            g2.into_tensor_arg(),
            m2.clone().into_tensor_arg(),
            v2.clone().into_tensor_arg(),
            AdamArgsLaunch::new(
                f(adam.lr),
                f(adam.beta_1),
                f(1.0 - adam.beta_1),
                f(adam.beta_2),
                f(1.0 - adam.beta_2),
                f(adam.epsilon),
                f(adam.c1),
                f(adam.c2),
            ),
            n1,
            n2,
            dtype_to_storage_type(w1.dtype),
        );
        (w1, m1, v1, w2, m2, v2)
    }

    fn elman_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Cube::float_tanh(x)
    }

    fn elman_recurrence_forward(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (batch, d_hidden) = (h0.meta.shape()[0], h0.meta.shape()[1]);
        let d_input = w1.meta.shape()[0] - d_hidden;
        let steps = x.meta.shape()[0] / batch.max(1);
        let [x, w1, h0] = [x, w1, h0].map(readable);
        let states = empty(&h0, (steps + 1) * batch, d_hidden);
        launch_recurrence!(
            recurrence_forward_serial_kernel,
            recurrence_forward_kernel,
            [x, w1, h0, states.clone()],
            steps * batch,
            batch,
            [d_input],
            backward: false,
        );
        states
    }

    fn elman_forward_squares(
        x: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        batch: usize,
        parts: Option<usize>,
    ) -> FloatTensor<Self> {
        let (d_input, d_hidden, d_output) = dims(&w1, &w2);
        let steps = x.meta.shape()[0] / batch.max(1);
        let [x, targets, w1, w2] = [x, targets, w1, w2].map(readable);
        let squares = empty(&x, batch, d_output);
        let width = d_hidden + d_output;
        let parts = parts.unwrap_or_else(|| {
            self::parts(&x.client.properties().hardware.max_units_per_cube, width)
        });
        forward_squares_kernel::launch(
            &x.client,
            CubeCount::Static(batch as u32, 1, 1),
            CubeDim::new_1d((width * parts) as u32),
            x.clone().into_tensor_arg(),
            targets.into_tensor_arg(),
            w1.into_tensor_arg(),
            w2.into_tensor_arg(),
            squares.clone().into_tensor_arg(),
            steps as u32,
            d_input,
            d_hidden,
            d_output,
            parts,
            dtype_to_storage_type(x.dtype),
        );
        squares
    }

    fn elman_readout(
        h: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (rows, d_hidden) = (h.meta.shape()[0], h.meta.shape()[1]);
        let d_output = targets.meta.shape()[1];
        let bias = w2.meta.shape()[0] > d_hidden;
        let [h, targets, w2] = [h, targets, w2].map(readable);
        let (d_y, g, terms) = (
            empty(&h, rows, d_output),
            empty(&h, rows, d_hidden),
            empty(&h, rows, d_output),
        );
        let units = 256u32;
        readout_kernel::launch(
            &h.client,
            CubeCount::Static((rows as u32).div_ceil(units).max(1), 1, 1),
            CubeDim::new_1d(units),
            h.clone().into_tensor_arg(),
            targets.into_tensor_arg(),
            w2.into_tensor_arg(),
            d_y.clone().into_tensor_arg(),
            g.clone().into_tensor_arg(),
            terms.clone().into_tensor_arg(),
            scale,
            rows as u32,
            d_hidden,
            d_output,
            bias,
            dtype_to_storage_type(h.dtype),
        );
        (d_y, g, terms)
    }

    fn elman_recurrence_backward(
        h: FloatTensor<Self>,
        g: FloatTensor<Self>,
        w1h: FloatTensor<Self>,
        batch: usize,
    ) -> FloatTensor<Self> {
        let (rows, d_hidden) = (h.meta.shape()[0], h.meta.shape()[1]);
        let [h, g, w1h] = [h, g, w1h].map(readable);
        let d_a = empty(&h, rows, d_hidden);
        launch_recurrence!(
            recurrence_backward_serial_kernel,
            recurrence_backward_kernel,
            [h, g, w1h, d_a.clone()],
            rows,
            batch,
            [],
            backward: true,
        );
        d_a
    }

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
    ) {
        let (d_input, d_hidden, d_output) = dims(&w1, &w2);
        let [w1, w2, x, h, target] = [w1, w2, x, h, target].map(readable);
        let context = empty(&w1, 1, d_hidden);
        let residual = empty(&w1, 1, d_output);
        let grad_w1 = empty(&w1, d_input + d_hidden, d_hidden);
        let grad_w2 = empty(&w1, d_hidden, d_output);
        let dtype = dtype_to_storage_type(w1.dtype);
        step_gradients_kernel::launch(
            &w1.client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(units(d_input, d_hidden, d_output)),
            w1.clone().into_tensor_arg(),
            w2.into_tensor_arg(),
            x.into_tensor_arg(),
            h.into_tensor_arg(),
            target.into_tensor_arg(),
            context.clone().into_tensor_arg(),
            residual.clone().into_tensor_arg(),
            grad_w1.clone().into_tensor_arg(),
            grad_w2.clone().into_tensor_arg(),
            scale,
            d_input,
            d_hidden,
            d_output,
            dtype,
        );
        (context, residual, grad_w1, grad_w2)
    }
}

/// Whether the recurrence kernels serve `d_hidden` neurons: up to [`super::MAX_UNITS`], and on
/// a device that is no card (`software`) up to [`SERIAL_MAX`], beyond which its layout there was
/// measured slower than the tensor operations. [`super::recurrence_available`] asks it for a
/// device, the layer's operation for a tensor.
pub(super) fn recurrence_kernels_serve(d_hidden: usize, software: bool) -> bool {
    d_hidden <= super::MAX_UNITS && (d_hidden <= SERIAL_MAX || !software)
}

/// [`recurrence_kernels_serve`] for a window of `h`'s width on `h`'s device.
fn kernels_serve_window(h: &CubeTensor) -> bool {
    recurrence_kernels_serve(h.meta.shape()[1], is_software(h))
}

impl super::window::RecurrenceOps for Cube {
    fn elman_recurrence(x: CubeTensor, w1: CubeTensor, h0: CubeTensor) -> CubeTensor {
        let batch = h0.meta.shape()[0];
        let states = if kernels_serve_window(&h0) {
            Self::elman_recurrence_forward(x, w1, h0)
        } else {
            super::window::steps::forward::<Self>(x, w1, h0, Self::float_tanh)
        };
        super::window::after_h0::<Self>(states, batch)
    }
}

impl super::window::RecurrenceBackward for Cube {
    fn elman_recurrence_da(
        h: CubeTensor,
        g: CubeTensor,
        w1h: CubeTensor,
        batch: usize,
    ) -> CubeTensor {
        if kernels_serve_window(&h) {
            Self::elman_recurrence_backward(h, g, w1h, batch)
        } else {
            super::window::steps::backward::<Self>(h, g, w1h, batch)
        }
    }
}
