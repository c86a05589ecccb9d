//! Using a trained network, without autodiff: [`evaluate`] (the MSE over sequences),
//! [`predict`] (one step ahead) and [`generate`] (warm-up, then closed loop).

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use elman_data::{SequenceBatcher, SequenceDataset};
use elman_model::{Elman, ElmanState, kernel};

/// The mean squared error of one-step-ahead predictions over every step, sequence and output of
/// `data`, each sequence run from a zero context, in batches of 256 sequences (on a plain Flex
/// device the batches run on the threads of the pool at once).
pub fn evaluate(model: &Elman, data: &SequenceDataset) -> f64 {
    let device = model.w1.device();
    let (d_hidden, d_output) = (model.d_hidden(), model.d_output());
    let way = if !model.is_tutorial_cell() {
        Way::Steps
    } else if kernel::forward_squares_available(&device, d_hidden, d_output) {
        Way::OneLaunch
    } else if kernel::recurrence_available(&device, d_hidden) {
        Way::Recurrence
    } else {
        Way::Steps
    };
    evaluate_by(model, data, way)
}

/// How [`evaluate`] runs a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Way {
    /// The whole forward pass and the squared errors in one launch
    /// ([`kernel::forward_squares`], on a GPU card).
    OneLaunch,
    /// The recurrence in one launch, the projections as products over every step.
    Recurrence,
    /// `Elman::forward`, step by step.
    Steps,
}

/// [`evaluate`] with each batch run the given way.
fn evaluate_by(model: &Elman, data: &SequenceDataset, way: Way) -> f64 {
    use rayon::prelude::*;

    let model = model.valid();
    let device = model.w1.device();
    let batcher = SequenceBatcher::for_dataset(data);
    let d_hidden = model.d_hidden();
    let squares = |items: &[elman_data::SequenceItem]| -> Tensor<1> {
        let batch = batcher.batch(items.to_vec(), &device);
        let zeros = || ElmanState::zeros(items.len(), d_hidden, &device);
        match way {
            Way::Recurrence => {
                let (x, targets) = (
                    crate::bptt::time_major(batch.inputs),
                    crate::bptt::time_major(batch.targets),
                );
                let (w1x, w1h) = crate::bptt::split(&model.w1.val(), model.d_input());
                let h = crate::bptt::states_in_kernel(&w1x, &w1h, x, zeros().context);
                (h.matmul(model.w2.val()) - targets).square().sum()
            }
            Way::OneLaunch => {
                // Batch-major rows, as the batcher stacks them: no copy.
                let rows = |t: Tensor<3>| {
                    let [b, steps, d] = t.dims();
                    t.reshape([b * steps, d])
                };
                let (x, targets) = (rows(batch.inputs), rows(batch.targets));
                kernel::forward_squares(x, targets, model.w1.val(), model.w2.val(), items.len())
                    .sum()
            }
            Way::Steps => {
                let (outputs, _) = model.forward(batch.inputs, zeros());
                (outputs - batch.targets).square().sum()
            }
        }
    };
    // Summed on the device: one read-back for the whole set, not one per batch.
    let add = |a: Tensor<1>, b: Tensor<1>| a + b;
    let batches = data.items().chunks(256);
    let total = if kernel::available(&device) && rayon::current_num_threads() > 1 {
        data.items().par_chunks(256).map(squares).reduce_with(add)
    } else {
        batches.map(squares).reduce(add)
    };
    let total = total.map_or(0.0, |total| f64::from(total.into_scalar::<f32>()));
    crate::loss::mean_squares(total, data.len() * data.seq_len() * data.d_output())
}

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

    /// On two threads the batches of 256 run at once and give the MSE of one thread, for the
    /// Elman cell (the recurrence kernel) and the LSTM (its tensor operations).
    #[test]
    fn evaluate_on_two_threads_is_evaluate_on_one() {
        let data = crate::testing::sines(600, 10, 3);
        for cell in [elman_model::Cell::Elman, elman_model::Cell::Lstm] {
            let config = ElmanConfig {
                cell,
                ..ElmanConfig::default()
            };
            let model = ElmanWeights::init(&config, 5).to_module(&Device::flex());
            let on = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| evaluate(&model, &data))
            };
            let (one, two) = (on(1), on(2));
            assert!(one > 1e-3, "{cell:?}: {one}");
            assert!((one - two).abs() <= 1e-6 * one, "{cell:?}: {one} vs {two}");
        }
    }

    /// With `W2 = 0` every prediction is 0, so the MSE is the mean of the squared targets:
    /// targets 1, 2 (one sequence) and 3, 4 give (1 + 4 + 9 + 16) / 4 = 7.5.
    #[test]
    fn evaluate_by_hand() {
        let mut weights = ElmanWeights::init(&ElmanConfig::default(), 0);
        weights.w2.iter_mut().for_each(|w| *w = 0.0);
        let model = weights.to_module(&Device::flex());
        let item = |targets: Vec<f32>| elman_data::SequenceItem {
            inputs: vec![0.5, -0.5],
            targets,
        };
        let data = SequenceDataset::new(vec![item(vec![1.0, 2.0]), item(vec![3.0, 4.0])], 2, 1, 1);
        assert!((evaluate(&model, &data) - 7.5).abs() < 1e-9);
    }

    /// The MSE over many waves on wgpu, where the recurrence runs in the GPU kernel, equals
    /// Flex's, where it runs as tensor operations.
    #[test]
    fn evaluate_on_the_gpu_is_evaluate_on_the_cpu() {
        let data = crate::testing::sines(300, 9, 4);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 6);
        let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
        assert!(elman_model::kernel::recurrence_available(&gpu, 6));
        let on = |device: &Device| evaluate(&weights.to_module(device), &data);
        let (a, b) = (on(&gpu), on(&Device::flex()));
        assert!((a - b).abs() < 1e-6 * b.max(1.0), "{a} vs {b}");
    }

    /// Each way of running a batch gives the same MSE: on wgpu (lavapipe here) the whole
    /// forward pass in one launch, which `evaluate` takes on a GPU card, and the recurrence in
    /// one launch, against Flex's steps; for the tutorial's sizes and a wider network, over more
    /// than one batch of 256.
    #[test]
    fn every_way_of_evaluating_gives_the_same_mse() {
        let data = crate::testing::sines(300, 9, 4);
        let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
        for config in [
            ElmanConfig::default(),
            ElmanConfig {
                d_hidden: 40,
                ..ElmanConfig::default()
            },
        ] {
            let weights = ElmanWeights::init(&config, 6);
            let on = |device: &Device, way| evaluate_by(&weights.to_module(device), &data, way);
            let cpu = on(&Device::flex(), Way::Steps);
            for way in [Way::OneLaunch, Way::Recurrence] {
                let gpu = on(&gpu, way);
                assert!(
                    (gpu - cpu).abs() < 1e-6 * cpu.max(1.0),
                    "{way:?}: {gpu} vs {cpu}"
                );
            }
            assert!(cpu > 0.0);
        }
    }

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
