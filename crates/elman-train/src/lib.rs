//! The tutorial's training loop and its one-step-ahead prediction, written once for every
//! backend: the caller picks the backend by the [`Device`] it passes in.
//!
//! Training is online SGD, as in the tutorial: every epoch starts from a zero context; at every
//! time step the network does a forward step, the loss `(pred - target)^2 / 2` (summed) is
//! backpropagated, `W1` and `W2` are updated by `w -= lr * grad`, the gradients are dropped and
//! the context is detached from its history. The epoch's loss is the sum of its step losses.
//!
//! This crate prints nothing and reads no files: each epoch's loss goes to the caller's callback.

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use elman_data::{SineBatch, SineBatcher, SineDataset};
use elman_model::{Elman, ElmanState, ElmanWeights};

use burn::data::dataloader::batcher::Batcher;

/// How to train: the tutorial's defaults are 300 epochs at learning rate 0.1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Number of passes over the sequence.
    pub n_epochs: usize,
    /// The SGD learning rate.
    pub lr: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            n_epochs: 300,
            lr: 0.1,
        }
    }
}

/// What one epoch did, handed to the caller as soon as the epoch ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The sum of the epoch's step losses: what the tutorial prints.
    pub loss: f64,
}

/// The outcome of a training run.
#[derive(Debug)]
pub struct TrainReport {
    /// The summed loss of every epoch, epoch 0 first.
    pub losses: Vec<f64>,
    /// The trained network, on the device it was trained on (without autodiff).
    pub model: Elman,
}

/// Why training stopped early.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The loss became NaN or infinite: the run diverged.
    #[error(
        "training diverged: the loss is {loss} at epoch {epoch}, step {step} (try a smaller learning rate)"
    )]
    NonFiniteLoss {
        /// The epoch, from 0.
        epoch: usize,
        /// The time step within the epoch, from 0.
        step: usize,
        /// The non-finite loss.
        loss: f32,
    },
    /// The learning rate is not a finite positive number.
    #[error("the learning rate must be a finite number above 0, got {0}")]
    InvalidLearningRate(f64),
    /// The data has a different number of features than the network.
    #[error("the data has 1 input and 1 output per step, the network has {d_input} and {d_output}")]
    DataShape {
        /// The network's input features.
        d_input: usize,
        /// The network's outputs.
        d_output: usize,
    },
}

/// Trains the network that starts from `weights` on `data`, on `device`.
///
/// `on_epoch` is called after every epoch with that epoch's summed loss.
pub fn train(
    weights: &ElmanWeights,
    data: &SineDataset,
    config: &TrainConfig,
    device: &Device,
    mut on_epoch: impl FnMut(EpochReport),
) -> Result<TrainReport, TrainError> {
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(TrainError::InvalidLearningRate(config.lr));
    }
    let model_config = weights.config();
    if model_config.d_input != 1 || model_config.d_output != 1 {
        return Err(TrainError::DataShape {
            d_input: model_config.d_input,
            d_output: model_config.d_output,
        });
    }
    let device = device.clone().autodiff();
    let mut model = weights.to_module(&device);
    let mut optim = SgdConfig::new().init();
    let seq_len = data.seq_len();
    // The whole sequence goes to the device once; each step takes one row of it.
    let batch: SineBatch = SineBatcher.batch(data.items().to_vec(), &device);
    let mut losses = Vec::with_capacity(config.n_epochs);

    for epoch in 0..config.n_epochs {
        let mut state = ElmanState::zeros(1, model_config.d_hidden, &device);
        let mut step_losses = Vec::with_capacity(seq_len);
        for step in 0..seq_len {
            let input = batch.inputs.clone().slice(s![step..step + 1, ..]);
            let target = batch.targets.clone().slice(s![step..step + 1, ..]);

            // Forward.
            let (pred, next) = model.step(input, state);
            let loss = (pred - target).square().sum().div_scalar(2.0);
            step_losses.push(loss.clone().detach());

            // Backward.
            let grads = GradientsParams::from_grads(loss.backward(), &model);

            // Update: plain SGD, w -= lr * grad; the gradients are dropped with `grads`.
            model = optim.step(config.lr, model, grads);

            // The context carries on to the next step without its history.
            state = next.detach();
        }

        // Sync point: the epoch's step losses come to the host once.
        let step_losses = Tensor::cat(step_losses, 0)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float losses");
        if let Some((step, &loss)) = step_losses
            .iter()
            .enumerate()
            .find(|(_, loss)| !loss.is_finite())
        {
            return Err(TrainError::NonFiniteLoss { epoch, step, loss });
        }
        // The tutorial sums the step losses in a Python float (f64).
        let loss = step_losses.iter().map(|&l| f64::from(l)).sum();
        losses.push(loss);
        on_epoch(EpochReport { epoch, loss });
    }

    Ok(TrainReport {
        losses,
        model: model.valid(),
    })
}

/// One-step-ahead predictions: from a zero context, feeds `inputs` one at a time, carrying the
/// context along, and returns the prediction made at each step.
///
/// # Panics
///
/// If the network does not have one input and one output.
pub fn predict(model: &Elman, inputs: &[f32]) -> Vec<f32> {
    assert_eq!(
        (model.d_input(), model.d_output()),
        (1, 1),
        "predict feeds one value per step"
    );
    let model = model.valid();
    let device = model.w1.device();
    let inputs =
        Tensor::<2>::from_data(TensorData::new(inputs.to_vec(), [inputs.len(), 1]), &device);
    let mut state = ElmanState::zeros(1, model.d_hidden(), &device);
    let mut outputs = Vec::with_capacity(inputs.dims()[0]);
    for step in 0..inputs.dims()[0] {
        let (output, next) = model.step(inputs.clone().slice(s![step..step + 1, ..]), state);
        outputs.push(output);
        state = next;
    }
    if outputs.is_empty() {
        return Vec::new();
    }
    // Sync point.
    Tensor::cat(outputs, 0)
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float predictions")
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::ElmanConfig;

    /// With `W2 = 0` the prediction is 0 at every step, so the first epoch's loss is
    /// `sum(y^2) / 2` before `W2` has moved; with lr tiny the whole epoch stays at that value.
    #[test]
    fn first_epoch_loss_with_zero_output_weights_is_half_the_sum_of_squares() {
        let data = SineDataset::tutorial();
        let mut weights = ElmanWeights::init(&ElmanConfig::default(), 0);
        weights.w2.iter_mut().for_each(|w| *w = 0.0);
        let config = TrainConfig {
            n_epochs: 1,
            lr: 1e-9,
        };
        let report = train(&weights, &data, &config, &Device::flex(), |_| {}).unwrap();
        let expected: f64 = data
            .targets()
            .iter()
            .map(|&y| f64::from(y).powi(2))
            .sum::<f64>()
            / 2.0;
        assert!(
            (report.losses[0] - expected).abs() < 1e-5,
            "{} vs {expected}",
            report.losses[0]
        );
    }

    #[test]
    fn divergence_names_the_epoch_and_step() {
        let data = SineDataset::tutorial();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let config = TrainConfig {
            n_epochs: 50,
            lr: 100.0,
        };
        let mut epochs = 0;
        let err = train(&weights, &data, &config, &Device::flex(), |_| epochs += 1).unwrap_err();
        let TrainError::NonFiniteLoss { epoch, step, .. } = err else {
            panic!("expected a divergence, got {err}");
        };
        assert_eq!(
            epoch, epochs,
            "the diverging epoch is not reported as a loss"
        );
        assert!(step < data.seq_len());
        assert!(
            err.to_string()
                .contains(&format!("epoch {epoch}, step {step}"))
        );
    }

    #[test]
    fn bad_learning_rate_is_refused_before_training() {
        let data = SineDataset::tutorial();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let config = TrainConfig {
            n_epochs: 1,
            lr: 0.0,
        };
        let err = train(&weights, &data, &config, &Device::flex(), |_| {}).unwrap_err();
        assert_eq!(err, TrainError::InvalidLearningRate(0.0));
    }

    /// Training on one device and predicting gives one value per input, and training moves the
    /// weights (an untrained network predicts differently).
    #[test]
    fn predictions_have_one_value_per_input_and_training_changes_them() {
        let data = SineDataset::tutorial();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 2);
        let device = Device::flex();
        let untrained = predict(&weights.to_module(&device), &data.inputs());
        let config = TrainConfig {
            n_epochs: 5,
            lr: 0.1,
        };
        let report = train(&weights, &data, &config, &device, |_| {}).unwrap();
        let trained = predict(&report.model, &data.inputs());
        assert_eq!(trained.len(), 20);
        assert_ne!(trained, untrained);
        assert!(predict(&report.model, &[]).is_empty());
    }
}
