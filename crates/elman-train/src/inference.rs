//! Using a trained network, without autodiff: [`predict`] (one step ahead), [`trace`] (the
//! same, keeping the context) and [`generate`] (warm-up, then closed loop); the MSE over many
//! sequences is `evaluate.rs`'.

use burn::prelude::*;
use elman_model::{Elman, ElmanState};

/// Why a network cannot run on the values it was handed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// The inputs do not fill whole steps.
    #[error("{values} input values do not make whole steps of the network's {d_input} inputs")]
    PartialStep {
        /// Values handed in.
        values: usize,
        /// The network's inputs per step.
        d_input: usize,
    },
    /// Closed-loop generation feeds the output back as the input, so both must be one value.
    #[error(
        "a closed-loop forecast feeds each prediction back as the next input: the network has {d_input} inputs and {d_output} outputs, it needs 1 and 1"
    )]
    NotOneToOne {
        /// The network's inputs.
        d_input: usize,
        /// The network's outputs.
        d_output: usize,
    },
}

/// One-step-ahead predictions: from a zero context, feeds `inputs` one step at a time
/// (`d_input` values per step, step-major), carrying the context along, and returns the
/// `d_output` values predicted at each step.
pub fn predict(model: &Elman, inputs: &[f32]) -> Result<Vec<f32>, InferenceError> {
    Ok(run(model, inputs, false)?.outputs)
}

/// What the network did at each step of [`trace`].
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The `d_output` values predicted at each step, step-major (as [`predict`] returns them).
    pub outputs: Vec<f32>,
    /// The context neurons after each step, `d_hidden` values per step, step-major.
    pub contexts: Vec<f32>,
}

/// [`predict`], also keeping the context neurons' activations after every step: what a reader
/// wants to see the network carry from step to step.
pub fn trace(model: &Elman, inputs: &[f32]) -> Result<Trace, InferenceError> {
    run(model, inputs, true)
}

/// The forward pass from a zero context over `inputs`, the contexts kept when `keep` says.
fn run(model: &Elman, inputs: &[f32], keep: bool) -> Result<Trace, InferenceError> {
    let d_input = model.d_input();
    if !inputs.len().is_multiple_of(d_input) {
        return Err(InferenceError::PartialStep {
            values: inputs.len(),
            d_input,
        });
    }
    let steps = inputs.len() / d_input;
    let model = model.valid();
    let device = model.w1.device();
    let inputs =
        Tensor::<2>::from_data(TensorData::new(inputs.to_vec(), [steps, d_input]), &device);
    let mut state = ElmanState::zeros(1, model.d_hidden(), &device);
    let mut outputs = Vec::with_capacity(steps);
    let mut contexts = Vec::with_capacity(if keep { steps } else { 0 });
    for step in 0..steps {
        let (output, next) = model.step(inputs.clone().slice(s![step..step + 1, ..]), state);
        outputs.push(output);
        if keep {
            contexts.push(next.context.clone());
        }
        state = next;
    }
    Ok(Trace {
        outputs: read_rows(outputs),
        contexts: read_rows(contexts),
    })
}

/// Sync point: rows of outputs come to the host at once.
fn read_rows(rows: Vec<Tensor<2>>) -> Vec<f32> {
    if rows.is_empty() {
        return Vec::new();
    }
    Tensor::cat(rows, 0)
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float outputs")
}

/// Closed-loop forecasting: warms the context up on `prefix` (from a zero context, one value per
/// step), then feeds each prediction back as the next input for `horizon` steps.
///
/// Returns the one-step-ahead predictions made during the warm-up (one per prefix value) and the
/// `horizon` forecast values. The first forecast value is the prediction after the last prefix
/// value, so it is also the warm-up's last prediction.
pub fn generate(
    model: &Elman,
    prefix: &[f32],
    horizon: usize,
) -> Result<(Vec<f32>, Vec<f32>), InferenceError> {
    let (d_input, d_output) = (model.d_input(), model.d_output());
    if (d_input, d_output) != (1, 1) {
        return Err(InferenceError::NotOneToOne { d_input, d_output });
    }
    let model = model.valid();
    let device = model.w1.device();
    let inputs =
        Tensor::<2>::from_data(TensorData::new(prefix.to_vec(), [prefix.len(), 1]), &device);
    let mut state = ElmanState::zeros(1, model.d_hidden(), &device);
    let mut warmup = Vec::with_capacity(prefix.len());
    for step in 0..prefix.len() {
        let (output, next) = model.step(inputs.clone().slice(s![step..step + 1, ..]), state);
        warmup.push(output);
        state = next;
    }
    let mut forecast = Vec::with_capacity(horizon);
    if horizon > 0 {
        let mut last = match warmup.last() {
            Some(last) => last.clone(),
            None => Tensor::zeros([1, 1], &device),
        };
        forecast.push(last.clone());
        for _ in 1..horizon {
            let (output, next) = model.step(last, state);
            state = next;
            last = output;
            forecast.push(last.clone());
        }
    }
    Ok((read_rows(warmup), read_rows(forecast)))
}

#[cfg(test)]
mod tests {
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
}
