//! The GPU kernels against the Flex kernels, on wgpu (lavapipe where there is no GPU).

use burn::prelude::*;

use super::super::{MAX_UNITS, on_gpu, sequence_available, sgd_sequence, step_gradients};
use crate::{ElmanConfig, ElmanWeights};

thread_local! {
    /// Forces the layout of the recurrence kernels in this test thread (see [`super::serial`]).
    pub(super) static FORCE_SERIAL: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
    /// Forces the units per neuron of the workgroup layout in this test thread.
    pub(super) static FORCE_PARTS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    /// Forces the LSTM's and the GRU's windows into their kernels, or out of them, in this test
    /// thread (see `gated.rs`).
    pub(super) static FORCE_GATED: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

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
        (1, 64, 1, 600),
    ] {
        let config = ElmanConfig {
            d_input,
            d_hidden,
            d_output,
            w1_std: 0.3 / (d_hidden as f64).sqrt(),
            w2_std: 0.3,
            ..ElmanConfig::default()
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
        assert!(sequence_available(
            &wgpu(),
            d_input,
            d_hidden,
            d_output,
            steps
        ));
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

/// The window's recurrence, forward (from the inputs, `h0` first) and backward, on the GPU
/// equals the Flex loops, in both layouts (a unit per sequence up to
/// [`SERIAL_MAX`](super::SERIAL_MAX) neurons, a workgroup per sequence), for a batch of 3 over
/// 5 steps at hidden sizes from 1 to 256, with one and two inputs.
#[test]
fn the_gpu_recurrence_is_the_flex_recurrence() {
    let serial = [1, 33, 64].map(|h| (h, true, 1));
    let parallel = [1, 33, 64, 128, 256].map(|h| (h, false, 1));
    // Several units per neuron, with parts of unequal length (33 in 2, 3 and 4 parts).
    let parted = [(33, 2), (33, 3), (33, 4), (64, 4), (256, 4), (6, 4)].map(|(h, p)| (h, false, p));
    for (d_hidden, serial, parts) in serial.into_iter().chain(parallel).chain(parted) {
        FORCE_SERIAL.with(|f| f.set(Some(serial)));
        FORCE_PARTS.with(|f| f.set(Some(parts)));
        let (batch, steps) = (3, 5);
        let rows = batch * steps;
        // One input, or two at the widths divisible by 3.
        let d_input = 1 + usize::from(d_hidden % 3 == 0);
        let run = |device: &Device| recurrence_on(device, batch, steps, d_input, d_hidden);
        let (gpu, cpu) = (run(&wgpu()), run(&Device::flex()));
        let layout = if serial { "a unit" } else { "a workgroup" };
        let what = format!("at hidden {d_hidden}, {layout} per sequence, {parts} part(s)");
        assert_eq!(gpu.0.len(), (rows + batch) * d_hidden, "{what}");
        assert_eq!(gpu.0[..batch * d_hidden], gpu.2, "h0 first, {what}");
        close(&gpu.0, &cpu.0, 1e-5, &format!("states {what}"));
        close(&gpu.1, &cpu.1, 1e-5, &format!("dL/da {what}"));
    }
    FORCE_SERIAL.with(|f| f.set(None));
    FORCE_PARTS.with(|f| f.set(None));
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

/// A window's recurrence on `device`, forward from inputs and an `h0` made up of sines, then
/// backward from made-up `dL/dh`: the states (`h0` first), `dL/da` and `h0`, on the host.
pub(super) fn recurrence_on(
    device: &Device,
    batch: usize,
    steps: usize,
    d_input: usize,
    d_hidden: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    use super::super::{recurrence_backward, recurrence_forward};
    let rows = batch * steps;
    let values = |n: usize, seed: f32, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 + seed) * 0.61).sin() * scale)
            .collect()
    };
    let x = values(rows * d_input, 0.0, 1.0);
    let w1 = values(
        (d_input + d_hidden) * d_hidden,
        3.0,
        0.5 / (d_hidden as f32).sqrt(),
    );
    let h0 = values(batch * d_hidden, 7.0, 0.5);
    let g = values(rows * d_hidden, 11.0, 0.2);
    let w1 = tensor(&w1, d_input + d_hidden, d_hidden, device);
    let states = recurrence_forward(
        tensor(&x, rows, d_input, device),
        w1.clone(),
        tensor(&h0, batch, d_hidden, device),
    );
    let d_a = recurrence_backward(
        states.clone().slice(batch..rows + batch),
        tensor(&g, rows, d_hidden, device),
        w1.slice(d_input..d_input + d_hidden),
        batch,
    );
    (host(states), host(d_a), h0)
}

/// Which devices run the sequence kernel, and as a GPU kernel.
#[test]
fn where_the_sequence_kernel_runs() {
    assert!(on_gpu(&wgpu()) && !on_gpu(&Device::flex()));
    // The recurrence kernels up to 256 neurons on a card, up to 64 on a software device.
    let software = super::super::software(&wgpu());
    assert!(super::super::recurrence_available(&wgpu(), 64));
    assert_eq!(super::super::recurrence_available(&wgpu(), 256), !software);
    assert!(!super::super::recurrence_available(&wgpu(), MAX_UNITS + 1));
    // On Flex the recurrence's plain loops up to FLEX_RECURRENCE_MAX neurons, not under
    // autodiff.
    let flex_max = super::super::FLEX_RECURRENCE_MAX;
    assert!(super::super::recurrence_available(
        &Device::flex(),
        flex_max
    ));
    assert!(!super::super::recurrence_available(
        &Device::flex(),
        flex_max + 1
    ));
    assert!(!super::super::recurrence_available(
        &Device::flex().autodiff(),
        6
    ));
    assert!(sequence_available(&wgpu(), 1, MAX_UNITS, 1, 20));
    assert!(!sequence_available(&wgpu(), 1, MAX_UNITS + 1, 1, 20));
    assert!(!sequence_available(&wgpu().autodiff(), 1, 6, 1, 20));
    #[allow(deprecated)] // the deprecated backend, as a device without the kernels
    let ndarray = Device::ndarray();
    assert!(!sequence_available(&ndarray, 1, 6, 1, 20));
}

/// [`tutorial_epochs_on`] wgpu and on Flex, `(gpu, cpu)`, after checking that every residual
/// and the weights after each epoch agree within 1e-5.
pub(super) fn gpu_epochs_are_flex_epochs(
    steps: usize,
    lrs: &[f64],
) -> (super::super::Epochs, super::super::Epochs) {
    let (gpu, cpu) = (
        tutorial_epochs_on(&wgpu(), steps, lrs),
        tutorial_epochs_on(&Device::flex(), steps, lrs),
    );
    close(&gpu.residuals, &cpu.residuals, 1e-5, "residuals");
    close(
        &gpu.weights_after,
        &cpu.weights_after,
        1e-5,
        "weights after each epoch",
    );
    (gpu, cpu)
}

/// `lrs.len()` of the tutorial network's epochs (weights of seed 5) over `steps` steps of a sine
/// wave in one call of `sgd_epochs` on `device`.
pub(super) fn tutorial_epochs_on(
    device: &Device,
    steps: usize,
    lrs: &[f64],
) -> super::super::Epochs {
    let weights = ElmanWeights::init(&ElmanConfig::default(), 5);
    let inputs: Vec<f32> = (0..steps).map(|i| (i as f32 * 0.4).sin()).collect();
    let targets: Vec<f32> = (1..=steps).map(|i| (i as f32 * 0.4).sin()).collect();
    super::super::sgd_epochs(
        [
            tensor(&weights.w1, 7, 6, device),
            tensor(&weights.w2, 6, 1, device),
        ],
        tensor(&inputs, steps, 1, device),
        tensor(&targets, steps, 1, device),
        lrs,
    )
}

/// Several epochs in one call on the GPU equal the Flex call: the weights after each epoch and
/// every epoch's residuals, each epoch at its own learning rate.
#[test]
fn the_gpu_epochs_are_the_flex_epochs() {
    let steps = 20;
    let lrs = [0.1, 0.05, 0.2];
    let (gpu, cpu) = gpu_epochs_are_flex_epochs(steps, &lrs);
    assert_eq!(cpu.residuals.len(), 3 * steps);
    assert_eq!(cpu.weights_after.len(), 3 * (42 + 6));
    let [w1, w2] = gpu.weights;
    close(&host(w1), &cpu.weights_after[96..138], 1e-5, "W1");
    close(&host(w2), &cpu.weights_after[138..], 1e-5, "W2");
    // The epochs ran at their own rates: the second epoch's change differs from the first's.
    assert_ne!(cpu.weights_after[..48], cpu.weights_after[48..96]);
}

/// A kernel given a view that is not laid out row after row (a transposed matrix) reads its
/// values, not its memory: the recurrence from `W1` as a transposed view equals the one from
/// `W1` written out.
#[test]
fn the_kernels_read_views_by_their_values() {
    use super::super::recurrence_forward;
    let (batch, steps, d_input, d_hidden) = (2, 3, 1, 4);
    let rows = d_input + d_hidden;
    let device = wgpu();
    // W1ᵀ, [d_hidden, d_input + d_hidden].
    let w1_t: Vec<f32> = (0..d_hidden * rows)
        .map(|i| (i as f32 * 0.37).sin() * 0.5)
        .collect();
    let mut written_out = vec![0.0; w1_t.len()];
    for r in 0..d_hidden {
        for c in 0..rows {
            written_out[c * d_hidden + r] = w1_t[r * rows + c];
        }
    }
    let x: Vec<f32> = (0..batch * steps * d_input)
        .map(|i| (i as f32 * 0.21).cos())
        .collect();
    let h0 = vec![0.1; batch * d_hidden];
    let run = |w: Tensor<2>| {
        host(recurrence_forward(
            tensor(&x, batch * steps, d_input, &device),
            w,
            tensor(&h0, batch, d_hidden, &device),
        ))
    };
    let view = run(tensor(&w1_t, d_hidden, rows, &device).transpose());
    let copy = run(tensor(&written_out, rows, d_hidden, &device));
    close(&view, &copy, 1e-6, "contexts");
}

/// A window's forward pass and squared errors in one launch on the GPU equals the Flex loops
/// (which `kernel::tests` checks against `Elman::forward`), for hidden sizes from 1 to 256,
/// one and several inputs and outputs, the units of a column in 1 to 4 parts (one part: the
/// context kept twice and one barrier a step), over odd and even numbers of steps.
#[test]
fn the_gpu_forward_squares_are_the_flex_ones() {
    use super::super::forward_squares_in_parts;
    for (d_input, d_hidden, d_output, parts, steps) in [
        (1, 1, 1, None, 5),
        (1, 6, 1, None, 5),
        (1, 6, 1, Some(1), 6),
        (2, 33, 3, Some(3), 5),
        (2, 33, 3, Some(1), 7),
        (1, 64, 1, None, 5),
        (1, 64, 1, Some(1), 5),
        (1, 64, 1, Some(1), 8),
        (3, 100, 2, Some(2), 5),
        (1, 256, 1, None, 5),
    ] {
        let batch = 3;
        let rows = batch * steps;
        let config = ElmanConfig {
            d_input,
            d_hidden,
            d_output,
            w1_std: 1.0 / (d_hidden as f64).sqrt(),
            w2_std: 0.5,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 11);
        let x: Vec<f32> = (0..rows * d_input)
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let y: Vec<f32> = (0..rows * d_output)
            .map(|i| (i as f32 * 0.23).cos())
            .collect();
        let run = |device: &Device| {
            host(forward_squares_in_parts(
                tensor(&x, rows, d_input, device),
                tensor(&y, rows, d_output, device),
                tensor(&weights.w1, d_input + d_hidden, d_hidden, device),
                tensor(&weights.w2, d_hidden, d_output, device),
                batch,
                parts,
            ))
        };
        let (gpu, cpu) = (run(&wgpu()), run(&Device::flex()));
        assert_eq!(cpu.len(), batch * d_output);
        assert!(cpu.iter().all(|s| *s > 0.0));
        let what = format!("{d_input}-{d_hidden}-{d_output}, parts {parts:?}, {steps} steps");
        close(&gpu, &cpu, 1e-5, &what);
    }
}

/// The read-out of `kernel::tests::readout_case` on `device`: `dL/dy`, `dL/dy · W2hᵀ` and the
/// loss's terms, on the host.
pub(super) fn readout_on(
    device: &Device,
    rows: usize,
    d_hidden: usize,
    d_output: usize,
    bias: bool,
) -> Vec<Vec<f32>> {
    let (h, targets, w2, w2_rows) =
        super::super::tests::readout_case(rows, d_hidden, d_output, bias);
    super::super::readout(
        tensor(&h, rows, d_hidden, device),
        tensor(&targets, rows, d_output, device),
        tensor(&w2, w2_rows, d_output, device),
        0.7,
    )
    .map(host)
    .to_vec()
}

/// The GPU read-out (a unit per row) equals the CPU's (the tensor operations), for widths from
/// 1 to 256, one and several outputs, with and without a bias, over more rows than one
/// workgroup has units.
#[test]
fn the_gpu_readout_is_the_cpu_readout() {
    let rows = 300;
    for (d_hidden, d_output, bias) in [
        (1, 1, false),
        (6, 1, false),
        (33, 3, true),
        (64, 1, true),
        (256, 1, false),
    ] {
        let (gpu, cpu) = (
            readout_on(&wgpu(), rows, d_hidden, d_output, bias),
            readout_on(&Device::flex(), rows, d_hidden, d_output, bias),
        );
        for (what, (a, b)) in ["dL/dy", "g", "terms"].iter().zip(gpu.iter().zip(&cpu)) {
            close(
                a,
                b,
                1e-5,
                &format!("{what}, {d_hidden}-{d_output}, bias {bias}"),
            );
        }
    }
}

mod budget;
mod gated;
