//! Long windows and sequences on a software rasterizer, whose loops all end once they have run
//! 65,535 iterations together (llvmpipe's limit, see `SOFTWARE_LOOP_BUDGET`): the kernels it
//! runs unroll their loops over the neurons there and go in as many launches as the budget asks
//! for, and the results are the Flex loops'. On a card the same tests run in one launch each.

use burn::prelude::*;

use super::super::{SOFTWARE_LOOP_BUDGET, serial_steps, software_epochs};
use super::{FORCE_SERIAL, close, gpu_epochs_are_flex_epochs, readout_on, recurrence_on, wgpu};
use crate::kernel::sequence_available;

/// A window of 2,000 steps, a unit per sequence: forward and backward equal the Flex loops at
/// hidden 64 (one input) and 33 (two inputs); the window is longer than one launch's share on a
/// software rasterizer, so that the launches hand the context on, forward and backward.
/// (Before the loops were unrolled and split, hidden 64 went wrong at the 16th step there.)
#[test]
fn a_long_window_is_the_flex_window() {
    let (batch, steps) = (2, 2_000);
    for (d_input, d_hidden) in [(1, 64), (2, 33)] {
        assert!(serial_steps(d_hidden) < steps, "several launches");
        let run = |device: &Device| recurrence_on(device, batch, steps, d_input, d_hidden);
        FORCE_SERIAL.with(|f| f.set(Some(true)));
        let gpu = run(&wgpu());
        FORCE_SERIAL.with(|f| f.set(None));
        let cpu = run(&Device::flex());
        let what = format!("{steps} steps at hidden {d_hidden}");
        close(&gpu.0, &cpu.0, 1e-5, &format!("states, {what}"));
        close(&gpu.1, &cpu.1, 1e-5, &format!("dL/da, {what}"));
    }
}

/// Ten epochs of a 7,000-step sequence (at a learning rate that converges smoothly, so that
/// rounding does not grow): more than one launch holds on a software rasterizer, so they go in
/// two there; the weights after each epoch and every residual equal Flex's.
#[test]
fn epochs_of_a_long_sequence_are_the_flex_epochs() {
    let steps = 7_000;
    let epochs = 10;
    assert!(software_epochs(steps) < epochs && software_epochs(steps) > 0);
    let lrs = vec![0.001; epochs];
    let (_, cpu) = gpu_epochs_are_flex_epochs(steps, &lrs);
    assert_eq!(cpu.residuals.len(), epochs * steps);
}

/// The sequence kernel is offered on a software rasterizer only while one epoch fits in a
/// launch's loop budget; on a card and on Flex whatever the length.
#[test]
fn the_sequence_kernel_is_offered_within_the_budget() {
    let software = crate::kernel::software(&wgpu());
    let longest = SOFTWARE_LOOP_BUDGET - 1;
    assert!(sequence_available(&wgpu(), 1, 6, 1, longest));
    assert_eq!(sequence_available(&wgpu(), 1, 6, 1, longest + 1), !software);
    assert!(sequence_available(
        &Device::flex(),
        1,
        6,
        1,
        10 * SOFTWARE_LOOP_BUDGET
    ));
}

/// A read-out whose rows loop past the budget and the limit (1,000 neurons, 70 outputs: 71,000
/// iterations a row) takes the tensor operations on a software rasterizer and the kernel on a
/// card; either way its values are the CPU's (within 1e-4: a row's outputs sum 1,000 products).
#[test]
fn a_wide_read_out_is_the_cpu_read_out() {
    let (rows, d_hidden, d_output) = (4, 1_000, 70);
    assert!(d_hidden * (d_output + 1) > SOFTWARE_LOOP_BUDGET);
    let (gpu, cpu) = (
        readout_on(&wgpu(), rows, d_hidden, d_output, false),
        readout_on(&Device::flex(), rows, d_hidden, d_output, false),
    );
    for (what, (a, b)) in ["dL/dy", "g", "terms"].iter().zip(gpu.iter().zip(&cpu)) {
        close(a, b, 1e-4, what);
    }
}
