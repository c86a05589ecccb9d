use super::*;
use crate::{TrainConfig, train};
use elman_data::SineDataset;
use elman_model::{ElmanConfig, ElmanWeights};

/// Training on one device and predicting gives one value per input, and training moves the
/// weights (an untrained network predicts differently).
#[test]
fn predictions_have_one_value_per_input_and_training_changes_them() {
    let data = SineDataset::tutorial();
    let weights = ElmanWeights::init(&ElmanConfig::default(), 2);
    let device = Device::flex();
    let untrained = predict(&weights.to_module(&device), &data.inputs()).unwrap();
    let config = TrainConfig {
        n_epochs: 5,
        lr: 0.1,
        ..TrainConfig::default()
    };
    let report = train(&weights, &data, &config, &device, |_| {}).unwrap();
    let trained = predict(&report.model, &data.inputs()).unwrap();
    assert_eq!(trained.len(), 20);
    assert_ne!(trained, untrained);
    assert!(predict(&report.model, &[]).unwrap().is_empty());
}

#[test]
fn generate_warms_up_then_feeds_back() {
    let weights = ElmanWeights::init(&ElmanConfig::default(), 4);
    let model = weights.to_module(&Device::flex());
    let prefix: Vec<f32> = (0..10).map(|t| (t as f32 * 0.3).sin()).collect();
    let (warmup, forecast) = generate(&model, &prefix, 5).unwrap();
    assert_eq!((warmup.len(), forecast.len()), (10, 5));
    assert_eq!(forecast[0], warmup[9]);
    assert_eq!(warmup, predict(&model, &prefix).unwrap());
    // Feeding the forecast back by hand gives the same values.
    let mut fed = prefix.clone();
    fed.extend_from_slice(&forecast[..4]);
    let (again, _) = generate(&model, &fed, 0).unwrap();
    for (a, b) in again[10..].iter().zip(&forecast[1..]) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    assert!(generate(&model, &prefix, 0).unwrap().1.is_empty());
}

/// The trace's outputs are the predictions; its contexts are tanh of the step's input layer
/// times `W1`, worked out on the host for the first two steps.
#[test]
fn trace_keeps_every_context() {
    let weights = ElmanWeights::init(&ElmanConfig::default(), 5);
    let model = weights.to_module(&Device::flex());
    let inputs = [0.3f32, -0.7, 0.1];
    let traced = trace(&model, &inputs).unwrap();
    assert_eq!(traced.outputs, predict(&model, &inputs).unwrap());
    assert_eq!(traced.contexts.len(), 3 * 6);
    let mut context = vec![0.0f32; 6];
    for (step, &x) in inputs[..2].iter().enumerate() {
        let xh: Vec<f32> = std::iter::once(x).chain(context.iter().copied()).collect();
        context = (0..6)
            .map(|j| {
                let sum: f32 = (0..7).map(|i| xh[i] * weights.w1[i * 6 + j]).sum();
                sum.tanh()
            })
            .collect();
        for (a, b) in traced.contexts[step * 6..step * 6 + 6].iter().zip(&context) {
            assert!((a - b).abs() < 1e-5, "step {step}: {a} vs {b}");
        }
    }
}

/// Inputs that do not fill whole steps, and a closed loop on a network with two inputs, are
/// errors that say why.
#[test]
fn mismatched_inputs_are_errors() {
    let config = ElmanConfig {
        d_input: 2,
        ..ElmanConfig::default()
    };
    let model = ElmanWeights::init(&config, 1).to_module(&Device::flex());
    assert_eq!(
        predict(&model, &[1.0, 2.0, 3.0]).unwrap_err(),
        InferenceError::PartialStep {
            values: 3,
            d_input: 2
        }
    );
    let err = generate(&model, &[1.0], 3).unwrap_err().to_string();
    assert!(
        err.contains("the network has 2 inputs and 1 outputs"),
        "{err}"
    );
}

/// A network of the given sizes with weights large enough that its contexts move (and, for the
/// closed loop, its forecast does not settle at once).
fn network(d_input: usize, d_hidden: usize, d_output: usize, bias: bool, device: &Device) -> Elman {
    let config = ElmanConfig {
        d_input,
        d_hidden,
        d_output,
        bias,
        w1_std: 1.2 / (d_hidden as f64).sqrt(),
        w2_std: 0.6,
        ..ElmanConfig::default()
    };
    ElmanWeights::init(&config, 7).to_module(device)
}

fn wave(n: usize, phase: f32) -> Vec<f32> {
    (0..n).map(|t| (t as f32 * 0.31 + phase).sin()).collect()
}

/// Within `tol` of each value's size (at least 1).
fn assert_near(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}, value {i}: {x} vs {y}"
        );
    }
}

/// On Flex, where the recurrence kernel serves these widths, the one-call way gives what the
/// step-by-step way gives: the predictions and contexts, with and without biases, one and two
/// inputs, one and three outputs; the closed loop's forecast through the folded weights, over
/// horizons of 1, 2 and 40 steps.
#[test]
fn the_kernel_way_is_the_step_way() {
    let device = Device::flex();
    for (d_input, d_hidden, d_output, bias) in [
        (1, 6, 1, false),
        (2, 8, 3, false),
        (1, 16, 1, true),
        (2, 5, 3, true),
        (1, 32, 1, false),
    ] {
        let what = format!("inputs {d_input}, hidden {d_hidden}, outputs {d_output}, bias {bias}");
        let model = network(d_input, d_hidden, d_output, bias, &device);
        assert!(in_kernel(&model), "{what}: the kernel's way");
        let inputs = wave(25 * d_input, 0.2);
        let traced = trace(&model, &inputs).unwrap();
        let x = Tensor::<2>::from_data(TensorData::new(inputs, [25, d_input]), &device);
        let steps = run_steps(&model, x, true);
        assert_near(&traced.outputs, &steps.outputs, 1e-5, &what);
        assert_near(&traced.contexts, &steps.contexts, 1e-5, &what);
        if (d_input, d_output) != (1, 1) {
            continue;
        }
        for horizon in [1, 2, 40] {
            let prefix = wave(17, 1.1);
            let (warmup, forecast) = generate(&model, &prefix, horizon).unwrap();
            let x = Tensor::<2>::from_data(TensorData::new(prefix, [17, 1]), &device);
            let (warmup_steps, forecast_steps) = generate_steps(&model, x, horizon);
            let what = format!("{what}, horizon {horizon}");
            assert_near(&warmup, &warmup_steps, 1e-5, &what);
            assert_near(&forecast, &forecast_steps, 1e-4, &what);
            // The forecast moves: the test would see a closed loop that fed back nothing.
            assert!(forecast.windows(2).any(|w| (w[0] - w[1]).abs() > 1e-3) || horizon < 3);
        }
    }
    // Wider than the Flex kernel serves: step by step.
    assert!(!in_kernel(&network(1, 33, 1, false, &device)));
}

/// On wgpu (lavapipe in CI), through the GPU's recurrence kernel, the predictions, contexts and
/// forecast equal Flex's.
#[test]
fn the_gpu_kernel_way_is_the_flex_way() {
    let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
    let cpu = Device::flex();
    for (d_hidden, bias) in [(6, false), (20, true), (64, false)] {
        let what = format!("hidden {d_hidden}, bias {bias}");
        let (on_gpu, on_cpu) = (
            network(1, d_hidden, 1, bias, &gpu),
            network(1, d_hidden, 1, bias, &cpu),
        );
        assert!(in_kernel(&on_gpu), "{what}: the kernel's way");
        assert_same_runs(&on_gpu, &on_cpu, [1e-5, 1e-4], &what);
    }
}

/// A network whose sequence no kernel runs on a GPU (an LSTM, a GRU, an Elman network wider
/// than lavapipe's kernel serves) runs its steps on the host: the predictions, contexts and
/// forecast of one on wgpu are those of the same network on Flex, and its steps go to a Flex
/// device (a network already on the host stays where it is).
#[test]
fn steps_off_the_kernel_run_on_the_host() {
    let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
    let cpu = Device::flex();
    assert_eq!(kernel::host_for_steps(&gpu), Some(cpu.clone()));
    assert_eq!(kernel::host_for_steps(&cpu), None);
    let config = |cell, d_hidden| ElmanConfig {
        d_hidden,
        cell,
        bias: true,
        w1_std: 1.2 / (d_hidden as f64).sqrt(),
        w2_std: 0.6,
        ..ElmanConfig::default()
    };
    for (cell, d_hidden) in [(Cell::Lstm, 8), (Cell::Gru, 8), (Cell::Elman, 300)] {
        let what = format!("{cell:?}, hidden {d_hidden}");
        let weights = ElmanWeights::init(&config(cell, d_hidden), 3);
        let (on_gpu, on_cpu) = (weights.to_module(&gpu), weights.to_module(&cpu));
        assert!(!in_kernel(&on_gpu), "{what}: not the kernel's way");
        assert_eq!(for_steps(on_gpu.clone()).w1.device(), cpu, "{what}");
        assert_same_runs(&on_gpu, &on_cpu, [1e-6, 1e-6], &what);
    }
}

/// `a` and `b` trace 30 steps of a wave and forecast 25 steps after them alike: the
/// predictions, contexts and warm-up within `tol[0]`, the forecast within `tol[1]`.
fn assert_same_runs(a: &Elman, b: &Elman, tol: [f32; 2], what: &str) {
    let inputs = wave(30, 0.4);
    let (x, y) = (trace(a, &inputs).unwrap(), trace(b, &inputs).unwrap());
    assert_near(
        &x.outputs,
        &y.outputs,
        tol[0],
        &format!("{what}: predictions"),
    );
    assert_near(
        &x.contexts,
        &y.contexts,
        tol[0],
        &format!("{what}: contexts"),
    );
    let (x, y) = (
        generate(a, &inputs, 25).unwrap(),
        generate(b, &inputs, 25).unwrap(),
    );
    assert_near(&x.0, &y.0, tol[0], &format!("{what}: warm-up"));
    assert_near(&x.1, &y.1, tol[1], &format!("{what}: forecast"));
}
