//! [`ElmanKernels`] on Burn's CubeCL backend: the same kernels for wgpu (Vulkan, Metal, DX12,
//! lavapipe) and CUDA, written once in `#[cube]` Rust.
//!
//! [`sgd_sequence_kernel`] is the tutorial's inner loop over a whole sequence in one launch: one
//! workgroup of at least `max(d_input, d_hidden, d_output)` units, unit `j` owning hidden neuron
//! `j` (its column of `W1`, its row of `W2`), the input layer, the new context and `dL/dy` in
//! shared memory, a barrier between the phases of each step. The weights stay on the device and
//! are updated in place; the residuals come back as one tensor. [`step_gradients_kernel`] is one
//! step's gradients, for optimizers other than SGD. `tanh` is Burn's own.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::wgpu::CubeTensor;
use burn::cubecl::{self, prelude::*};
use burn::prelude::Shape;

use super::ElmanKernels;

/// The most units a workgroup may have on every runtime (WebGPU's guaranteed limit): networks
/// wider than this use the tensor operations.
pub const MAX_UNITS: usize = 256;

/// The workgroup for a network of these sizes: one unit per hidden neuron, input and output,
/// whichever is most.
fn units(d_input: usize, d_hidden: usize, d_output: usize) -> u32 {
    d_input.max(d_hidden).max(d_output).max(1) as u32
}

/// Online SGD over one sequence from a zero context (see
/// [`ElmanKernels::elman_sgd_sequence`]), in one workgroup.
#[cube(launch)]
fn sgd_sequence_kernel<F: Float>(
    w1: &mut Tensor<F>,
    w2: &mut Tensor<F>,
    inputs: &Tensor<F>,
    targets: &Tensor<F>,
    residuals: &mut Tensor<F>,
    lr_scale: f32,
    steps: u32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[define(F)] _dtype: ElemType,
) {
    let unit = UNIT_POS_X as usize;
    let scale = F::cast_from(lr_scale);
    // The input layer [x ; h], the new context h', and dL/dy.
    let mut xh = Shared::<[F]>::new_slice(d_input + d_hidden);
    let mut context = Shared::<[F]>::new_slice(d_hidden);
    let mut d_out = Shared::<[F]>::new_slice(d_output);
    if unit < d_hidden {
        xh[d_input + unit] = F::new(0.0);
    }
    sync_cube();
    for t in 0..steps as usize {
        if unit < d_input {
            xh[unit] = inputs[t * d_input + unit];
        }
        sync_cube();
        // Forward: h'_j = tanh(xh · W1[:, j]).
        if unit < d_hidden {
            let mut a = F::new(0.0);
            for i in 0..d_input + d_hidden {
                a += xh[i] * w1[i * d_hidden + unit];
            }
            context[unit] = a.tanh();
        }
        sync_cube();
        // y_k = h' · W2[:, k]; the residual and dL/dy, the learning rate folded in.
        if unit < d_output {
            let mut y = F::new(0.0);
            for j in 0..d_hidden {
                y += context[j] * w2[j * d_output + unit];
            }
            let r = y - targets[t * d_output + unit];
            residuals[t * d_output + unit] = r;
            d_out[unit] = scale * r;
        }
        sync_cube();
        // Backward and update, each unit its own row of W2 and column of W1: dL/da_j from the
        // old W2, then W2[j, :] -= h'_j dL/dy and W1[:, j] -= xh dL/da_j.
        if unit < d_hidden {
            let h = context[unit];
            let mut d_h = F::new(0.0);
            for k in 0..d_output {
                let g = d_out[k];
                let w = w2[unit * d_output + k];
                d_h += w * g;
                w2[unit * d_output + k] = w - h * g;
            }
            let d_a = d_h * (F::new(1.0) - h * h);
            for i in 0..d_input + d_hidden {
                let w = w1[i * d_hidden + unit];
                w1[i * d_hidden + unit] = w - xh[i] * d_a;
            }
        }
        sync_cube();
        // The context carries on, detached, into the next step's input layer.
        if unit < d_hidden {
            xh[d_input + unit] = context[unit];
        }
        sync_cube();
    }
}

/// One step's forward pass and gradients (see [`ElmanKernels::elman_step_gradients`]).
#[cube(launch)]
fn step_gradients_kernel<F: Float>(
    w1: &Tensor<F>,
    w2: &Tensor<F>,
    x: &Tensor<F>,
    h: &Tensor<F>,
    target: &Tensor<F>,
    context_out: &mut Tensor<F>,
    residual_out: &mut Tensor<F>,
    grad_w1: &mut Tensor<F>,
    grad_w2: &mut Tensor<F>,
    scale: f32,
    #[comptime] d_input: usize,
    #[comptime] d_hidden: usize,
    #[comptime] d_output: usize,
    #[define(F)] _dtype: ElemType,
) {
    let unit = UNIT_POS_X as usize;
    let scale = F::cast_from(scale);
    let mut xh = Shared::<[F]>::new_slice(d_input + d_hidden);
    let mut context = Shared::<[F]>::new_slice(d_hidden);
    let mut d_out = Shared::<[F]>::new_slice(d_output);
    if unit < d_input {
        xh[unit] = x[unit];
    }
    if unit < d_hidden {
        xh[d_input + unit] = h[unit];
    }
    sync_cube();
    if unit < d_hidden {
        let mut a = F::new(0.0);
        for i in 0..d_input + d_hidden {
            a += xh[i] * w1[i * d_hidden + unit];
        }
        let c = a.tanh();
        context[unit] = c;
        context_out[unit] = c;
    }
    sync_cube();
    if unit < d_output {
        let mut y = F::new(0.0);
        for j in 0..d_hidden {
            y += context[j] * w2[j * d_output + unit];
        }
        let r = y - target[unit];
        residual_out[unit] = r;
        d_out[unit] = scale * r;
    }
    sync_cube();
    if unit < d_hidden {
        let c = context[unit];
        let mut d_h = F::new(0.0);
        for k in 0..d_output {
            let g = d_out[k];
            d_h += w2[unit * d_output + k] * g;
            grad_w2[unit * d_output + k] = c * g;
        }
        let d_a = d_h * (F::new(1.0) - c * c);
        for i in 0..d_input + d_hidden {
            grad_w1[i * d_hidden + unit] = xh[i] * d_a;
        }
    }
}

/// A contiguous tensor the kernel may write into: `t` itself when nothing else holds it.
fn writable(t: CubeTensor) -> CubeTensor {
    if t.can_mut() && t.is_contiguous() {
        t
    } else {
        t.copy()
    }
}

/// A contiguous tensor to read.
fn readable(t: CubeTensor) -> CubeTensor {
    if t.is_contiguous() { t } else { t.copy() }
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

impl ElmanKernels for Cube {
    fn elman_sgd_sequence(
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        inputs: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        lr_scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (d_input, d_hidden, d_output) = dims(&w1, &w2);
        let steps = inputs.meta.shape()[0];
        let (w1, w2) = (writable(w1), writable(w2));
        let (inputs, targets) = (readable(inputs), readable(targets));
        let residuals = empty(&w1, steps, d_output);
        let dtype = dtype_to_storage_type(w1.dtype);
        sgd_sequence_kernel::launch(
            &w1.client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(units(d_input, d_hidden, d_output)),
            w1.clone().into_tensor_arg(),
            w2.clone().into_tensor_arg(),
            inputs.into_tensor_arg(),
            targets.into_tensor_arg(),
            residuals.clone().into_tensor_arg(),
            lr_scale,
            steps as u32,
            d_input,
            d_hidden,
            d_output,
            dtype,
        );
        (w1, w2, residuals)
    }

    fn elman_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Cube::float_tanh(x)
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

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use super::super::{on_gpu, sequence_available, sgd_sequence, step_gradients};
    use crate::{ElmanConfig, ElmanWeights};

    fn wgpu() -> Device {
        Device::wgpu(DeviceKind::DefaultDevice)
    }

    fn tensor(values: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), [rows, cols]), device)
    }

    fn host(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    fn close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tolerance * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// The GPU kernel's sequence equals the Flex kernel's, for networks whose sizes are and are
    /// not multiples of a workgroup's width: the updated weights and every residual.
    #[test]
    fn the_gpu_sequence_is_the_flex_sequence() {
        for (d_input, d_hidden, d_output, steps) in [
            (1, 6, 1, 20),
            (2, 1, 3, 5),
            (1, 33, 1, 7),
            (3, 64, 2, 9),
            (1, 256, 1, 4),
        ] {
            let config = ElmanConfig {
                d_input,
                d_hidden,
                d_output,
                w1_std: 0.3 / (d_hidden as f64).sqrt(),
                w2_std: 0.3,
            };
            let weights = ElmanWeights::init(&config, 7);
            let inputs: Vec<f32> = (0..steps * d_input)
                .map(|i| (i as f32 * 0.7).sin())
                .collect();
            let targets: Vec<f32> = (0..steps * d_output)
                .map(|i| (i as f32 * 0.3).cos())
                .collect();
            let run = |device: &Device| {
                let ([w1, w2], residuals) = sgd_sequence(
                    [
                        tensor(&weights.w1, d_input + d_hidden, d_hidden, device),
                        tensor(&weights.w2, d_hidden, d_output, device),
                    ],
                    tensor(&inputs, steps, d_input, device),
                    tensor(&targets, steps, d_output, device),
                    0.05,
                );
                (host(w1), host(w2), host(residuals))
            };
            assert!(sequence_available(&wgpu(), d_input, d_hidden, d_output));
            let (gpu, cpu) = (run(&wgpu()), run(&Device::flex()));
            let what = format!("{d_input}-{d_hidden}-{d_output}");
            close(&gpu.0, &cpu.0, 1e-5, &format!("W1 of {what}"));
            close(&gpu.1, &cpu.1, 1e-5, &format!("W2 of {what}"));
            close(&gpu.2, &cpu.2, 1e-5, &format!("residuals of {what}"));
            assert_ne!(gpu.0, weights.w1, "{what}: W1 moved");
        }
    }

    /// One step's gradients on the GPU equal Flex's, from a non-zero context.
    #[test]
    fn the_gpu_step_is_the_flex_step() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 5,
            d_output: 3,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 12);
        let run = |device: &Device| {
            let (context, residual, [g1, g2]) = step_gradients(
                tensor(&weights.w1, 7, 5, device),
                tensor(&weights.w2, 5, 3, device),
                tensor(&[0.3, -0.7], 1, 2, device),
                tensor(&[0.1, -0.2, 0.5, 0.0, 0.9], 1, 5, device),
                tensor(&[0.2, 0.4, -0.1], 1, 3, device),
                0.5,
            );
            [context, residual, g1, g2].map(host)
        };
        let (gpu, cpu) = (run(&wgpu()), run(&Device::flex()));
        for (what, (g, c)) in ["context", "residual", "dW1", "dW2"]
            .iter()
            .zip(gpu.iter().zip(&cpu))
        {
            close(g, c, 1e-5, what);
        }
    }

    /// The kernel writes into weights nothing else holds, and copies weights that are shared:
    /// the caller's tensor keeps its values.
    #[test]
    fn shared_weights_are_not_overwritten() {
        let device = wgpu();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 3);
        let w1 = tensor(&weights.w1, 7, 6, &device);
        let w2 = tensor(&weights.w2, 6, 1, &device);
        let ([new_w1, _], _) = sgd_sequence(
            [w1.clone(), w2],
            tensor(&[0.5, -0.5], 2, 1, &device),
            tensor(&[0.1, 0.2], 2, 1, &device),
            0.1,
        );
        assert_ne!(host(new_w1), weights.w1);
        assert_eq!(host(w1), weights.w1);
    }

    /// Which devices run the sequence kernel, and as a GPU kernel.
    #[test]
    fn where_the_sequence_kernel_runs() {
        assert!(on_gpu(&wgpu()) && !on_gpu(&Device::flex()));
        assert!(sequence_available(&wgpu(), 1, super::MAX_UNITS, 1));
        assert!(!sequence_available(&wgpu(), 1, super::MAX_UNITS + 1, 1));
        assert!(!sequence_available(&wgpu().autodiff(), 1, 6, 1));
        #[allow(deprecated)] // the deprecated backend, as a device without the kernels
        let ndarray = Device::ndarray();
        assert!(!sequence_available(&ndarray, 1, 6, 1));
    }
}
