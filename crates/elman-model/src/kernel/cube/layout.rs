//! How the CubeCL kernels are laid out on a device and cut into launches: a workgroup per
//! sequence or, on a software rasterizer, a unit per sequence; units per neuron; and the loop
//! budget that keeps a launch within llvmpipe's limit there.

use super::CubeTensor;
#[cfg(test)]
use super::tests;

/// Whether the window's recurrence runs a unit per sequence (the contexts in the unit's own
/// memory, no barrier) rather than a workgroup per sequence (a unit per neuron, a barrier per
/// step): on a device that is no card, such as lavapipe, which runs a workgroup's barriers as
/// coroutine switches on the CPU, for up to [`SERIAL_MAX`] neurons. Measured there (the bench's
/// batched workload, batch 256, 64 steps, hidden 64, `elman-bench --one batched wgpu hand`):
/// training 1,596 to 1,659 sequences per second with a unit per sequence against 1,188 to
/// 1,309 through tensor operations, inference 4,399 to 4,523 against 2,233 to 2,413; a
/// workgroup per sequence took the forward recurrence 460 ms against 100 through tensor
/// operations. (An earlier 50 ms with a unit per sequence was wrong: its loops had stopped at
/// lavapipe's limit, see [`SOFTWARE_LOOP_BUDGET`].) A GPU runs the workgroups in parallel and a
/// barrier in a few cycles.
pub(super) fn serial(t: &CubeTensor, d_hidden: usize) -> bool {
    #[cfg(test)]
    if let Some(forced) = tests::FORCE_SERIAL.with(|f| f.get()) {
        return forced;
    }
    d_hidden <= SERIAL_MAX && is_software(t)
}

/// The widest network whose recurrence may run a unit per sequence. (Lavapipe once computed
/// wrong contexts with a unit per sequence at hidden 128: its loops then counted 129 iterations a
/// neuron a step, past [`SOFTWARE_LOOP_BUDGET`] after a few steps; they now count one and go
/// launch by launch, but the width stays where it was measured.)
pub(in crate::kernel) const SERIAL_MAX: usize = 64;

/// Units per hidden neuron in the workgroup layout of the recurrence kernels: up to 4, as many
/// as the device's workgroups hold (`max_units`).
pub(super) fn parts(max_units: &u32, d_hidden: usize) -> usize {
    #[cfg(test)]
    if let Some(forced) = tests::FORCE_PARTS.with(|f| f.get()) {
        return forced;
    }
    (*max_units as usize / d_hidden.max(1)).clamp(1, 4)
}

/// Loop iterations one invocation of a kernel may run on a software rasterizer. llvmpipe, which
/// lavapipe runs on, ends every loop of a shader once all its loops together have run 65,535
/// iterations (Mesa's `LP_MAX_TGSI_LOOP_ITERATIONS`, one count shared by every loop), silently:
/// a kernel that loops longer computes wrong values (a unit per sequence at hidden 64 went wrong
/// at the window's 16th step). So on such a device no launch asks for more than this; an
/// unrolled loop does not count.
pub(in crate::kernel) const SOFTWARE_LOOP_BUDGET: usize = 60_000;

/// Steps of a window per launch of the kernels that run a unit per sequence, whose loops count
/// `1 + d_hidden` iterations a step (the step, and one loop over the neurons; the loops inside
/// it are unrolled): within [`SOFTWARE_LOOP_BUDGET`] (922 steps at hidden 64).
pub(super) fn serial_steps(d_hidden: usize) -> usize {
    ((SOFTWARE_LOOP_BUDGET - d_hidden) / (d_hidden + 1)).max(1)
}

/// Units per workgroup of the kernels that run a unit per sequence.
pub(super) const SERIAL_UNITS: u32 = 32;

/// The workgroup for a network of these sizes: one unit per hidden neuron, input and output,
/// whichever is most.
pub(super) fn units(d_input: usize, d_hidden: usize, d_output: usize) -> u32 {
    d_input.max(d_hidden).max(d_output).max(1) as u32
}

/// Launches one of the window's recurrence kernels on its four tensors (the last one written),
/// `rows` time-major rows of a batch of `batch`, in the layout [`serial`] picks: a unit per
/// sequence (`$serial`, in as many launches of consecutive steps as the loop budget of a
/// software rasterizer asks for, [`serial_steps`], the last steps' first when `backward`) or a
/// workgroup per sequence (`$parallel`); the comptime sizes in brackets (the forward kernel's
/// `d_input`) come before `d_hidden`.
macro_rules! launch_recurrence {
    ($serial:ident, $parallel:ident, $tensors:expr, $rows:expr, $batch:expr,
     [$($sizes:expr),*], backward: $backward:expr $(,)?) => {{
        let tensors: [CubeTensor; 4] = $tensors;
        let (rows, batch): (usize, usize) = ($rows, $batch);
        let d_hidden = tensors[3].meta.shape()[1];
        let client = tensors[0].client.clone();
        let dtype = dtype_to_storage_type(tensors[0].dtype);
        let serial = serial(&tensors[0], d_hidden);
        let tensors_client_props = tensors[0].client.properties().hardware.max_units_per_cube;
        let (steps, sequences) = ((rows / batch) as u32, batch as u32);
        if serial {
            let per_launch = serial_steps(d_hidden) as u32;
            let mut chunks: Vec<(u32, u32)> = (0..steps)
                .step_by(per_launch as usize)
                .map(|from| (from, steps.min(from + per_launch)))
                .collect();
            if $backward {
                // The backward pass needs the later steps' dL/da first.
                chunks.reverse();
            }
            for (from, to) in chunks {
                let [a, b, c, d] = tensors.clone().map(CubeTensor::into_tensor_arg);
                let count = CubeCount::Static(sequences.div_ceil(SERIAL_UNITS), 1, 1);
                let dim = CubeDim::new_1d(SERIAL_UNITS);
                $serial::launch(
                    &client, count, dim, a, b, c, d, from, to, steps, sequences,
                    $($sizes,)* d_hidden, dtype,
                );
            }
        } else {
            let [a, b, c, d] = tensors.map(CubeTensor::into_tensor_arg);
            let parts = parts(&tensors_client_props, d_hidden);
            let count = CubeCount::Static(sequences, 1, 1);
            let dim = CubeDim::new_1d((d_hidden * parts) as u32);
            $parallel::launch(
                &client, count, dim, a, b, c, d, steps, sequences, $($sizes,)* d_hidden, parts,
                dtype,
            );
        }
    }};
}

/// Epochs of `steps` steps per launch of [`sgd_epochs_kernel`] on a software rasterizer, whose
/// loops (the neurons' unrolled there) count `1 + steps` iterations an epoch: within
/// [`SOFTWARE_LOOP_BUDGET`]; 0 when not even one epoch fits
/// (`kernel::sequence_available` then says no).
pub(in crate::kernel) fn software_epochs(steps: usize) -> usize {
    SOFTWARE_LOOP_BUDGET / (steps + 1)
}

/// Whether `t` lives on a software rasterizer (such as lavapipe): a CubeCL device with no
/// physical adapter behind it.
pub(super) fn is_software(t: &CubeTensor) -> bool {
    t.client.properties().identity.physical.is_none()
}
