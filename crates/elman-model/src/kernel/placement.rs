//! Where the custom operations run: which device and width each kernel serves, and where a
//! network takes its steps one by one. Callers ask these before calling an operation of
//! `kernel.rs`, whose kernels are written for the backends named here.

use burn::backend::DispatchDevice;
use burn::prelude::*;

#[cfg(any(feature = "wgpu", feature = "cuda"))]
use super::cube;
#[cfg(doc)]
use super::{
    ElmanKernels, adam, forward_squares, recurrence_backward, recurrence_forward, sgd_epochs,
    sgd_sequence,
};

/// Whether [`adam`] runs on `device`: plain Flex devices and CubeCL devices.
pub fn adam_available(device: &Device) -> bool {
    available(device) || on_gpu(device)
}

/// Whether tensors on `device` go through [`ElmanKernels`]' step and `tanh` kernels: plain
/// Flex devices.
pub fn available(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Flex(_))
}

/// Whether [`sgd_sequence`] (and [`sgd_epochs`]) runs on `device` for a network of these sizes
/// over a sequence of `steps` steps: on plain Flex devices, and on CubeCL devices when one
/// workgroup holds a unit per neuron and, on a software rasterizer (lavapipe), one epoch's
/// loops fit in a launch (`cube::SOFTWARE_LOOP_BUDGET`, about 60,000 steps).
pub fn sequence_available(
    device: &Device,
    d_input: usize,
    d_hidden: usize,
    d_output: usize,
    steps: usize,
) -> bool {
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        DispatchDevice::Cube(_) => {
            d_input.max(d_hidden).max(d_output) <= MAX_UNITS
                && (!software(device) || cube::software_epochs(steps) > 0)
        }
        #[allow(unreachable_patterns)] // with every backend compiled in
        _ => {
            let _ = (d_input, d_hidden, d_output, steps);
            false
        }
    }
}

/// Whether [`sgd_sequence`] runs on `device` as a GPU kernel (rather than on the CPU).
pub fn on_gpu(device: &Device) -> bool {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if let DispatchDevice::Cube(_) = device.as_dispatch() {
        return true;
    }
    let _ = device;
    false
}

/// Where a network runs its steps one by one when no kernel runs its whole sequence: on the
/// host's Flex device if it lives on a CubeCL device (a GPU, or lavapipe), `None` (where it
/// is) otherwise. A step is a dozen tensor operations on one sequence, each a launch on a GPU:
/// `configs/memory.toml`'s run on lavapipe (an LSTM, 2 epochs, a release build) took 28 s, most
/// of it its predictions over 12,000 steps and its forecast that way (160 s with the shader
/// cache empty), and takes 0.76 s with them on Flex (4.0 s with the cache empty).
pub fn host_for_steps(device: &Device) -> Option<Device> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if on_gpu(device) {
        return Some(Device::flex());
    }
    let _ = device;
    None
}

/// Whether the window's recurrence runs in [`recurrence_forward`] and
/// [`recurrence_backward`] on `device` for `d_hidden` neurons: on CubeCL devices (one launch per
/// window where the tensor operations take several per step), up to [`MAX_UNITS`] neurons; on a
/// device that is no card (lavapipe) only up to the width its layout there serves, beyond which
/// the tensor operations were measured faster (at hidden 256: 197 sequences per second against
/// 29 through the kernels); on plain Flex devices up to [`FLEX_RECURRENCE_MAX`] neurons.
pub fn recurrence_available(device: &Device, d_hidden: usize) -> bool {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if on_gpu(device) {
        return cube::recurrence_kernels_serve(d_hidden, software(device));
    }
    available(device) && d_hidden <= FLEX_RECURRENCE_MAX
}

/// Whether the LSTM's and the GRU's windows run in their GPU kernels on `device` for
/// `d_hidden` neurons (`kernel/cube/gated.rs`): on a card, up to [`MAX_UNITS`] neurons (the
/// LSTM's kernels run four units a neuron, so they ask for a card's usual 1,024 units a
/// workgroup; where a card holds fewer, its windows take a product a step on the card). On a
/// device that is no card the windows take the backend's own operations.
pub fn gated_kernels_available(device: &Device, d_hidden: usize) -> bool {
    on_card(device) && (1..=MAX_UNITS).contains(&d_hidden)
}

/// The widest network whose window's recurrence runs in the Flex kernels' plain loops rather
/// than as a matrix product per step: below it Burn's overhead per operation (a dozen per step)
/// costs more than the products. Measured on the CPU, 60 epochs of `configs/sunspots.toml`
/// (hidden 16, batch 8): 280 µs per update through the products, 75 through the loops; 40 of
/// `configs/co2.toml` (hidden 32, batch 16): 317 against 181; the bench's batched workload
/// (hidden 64, batch 256): 37k sequences per second through the products, 12k through the
/// loops.
pub const FLEX_RECURRENCE_MAX: usize = 32;

/// Whether `device` is a GPU card: a CubeCL device that is not [`software`].
pub fn on_card(device: &Device) -> bool {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if on_gpu(device) {
        return !software(device);
    }
    let _ = device;
    false
}

/// Whether `device` is a CubeCL device that is no card: a CPU or a software rasterizer such as
/// lavapipe.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub fn software(device: &Device) -> bool {
    device
        .as_dispatch()
        .identity()
        .is_some_and(|identity| identity.physical.is_none())
}

/// The most units of one workgroup of the GPU kernels (WebGPU's guaranteed limit): wider
/// networks use the tensor operations.
pub const MAX_UNITS: usize = 256;

/// Whether [`forward_squares`] runs on `device` as the one launch it is written for: on a GPU
/// card (a software rasterizer runs its workgroup layout slowly), while the neurons and the
/// outputs together are at most [`MAX_UNITS`], so that a card's workgroup of 1,024 units holds
/// four per column and each unit's part of a column (at most 64 weights) stays in its
/// registers. Measured on an H100 (batches of 256, 64 steps): 899k sequences per second at
/// hidden 64, but at hidden 256 (257 columns, three parts of 86 weights) 86k, where the
/// recurrence kernel and products took 527k.
pub fn forward_squares_available(device: &Device, d_hidden: usize, d_output: usize) -> bool {
    on_card(device) && d_hidden + d_output <= MAX_UNITS
}
