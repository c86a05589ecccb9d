//! The training loop and the uses of a trained network, written once for every backend: the
//! caller picks the backend by the [`Device`] it passes in.
//!
//! [`fit`] trains on mini-batches of sequences with truncated backpropagation through time:
//! each batch starts from a zero context; the sequence is cut into windows of `bptt` steps; after
//! each window the loss is backpropagated, the optimizer (SGD or Adam, optionally with
//! gradient-norm clipping) updates `W1` and `W2`, and the context is carried into the next window
//! but detached from its history. With batch 1, `bptt = 1`, SGD and the tutorial's loss
//! `(pred - target)^2 / 2` this is exactly the tutorial's loop, which [`train`] runs.
//!
//! [`predict`] makes one-step-ahead predictions and [`generate`] a closed-loop forecast.
//!
//! This crate prints nothing and reads no files: each epoch's losses go to the caller's callback,
//! together with a [`Snapshot`] the caller may turn into a checkpoint.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::data::dataset::InMemDataset;
use burn::data::dataset::transform::ShuffledDataset;
use burn::prelude::*;
use elman_data::{SequenceBatcher, SequenceDataset, SineDataset};
use elman_model::kernel;
use elman_model::{Elman, ElmanState, ElmanWeights};

mod bptt;
mod fused;
mod optim;

pub use fused::{OneStep, one_step_gradients};
use optim::Optimizer;
pub use optim::SavedOptimizer;

/// The optimizer that updates the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Plain SGD: `w -= lr * grad`, as in the tutorial.
    Sgd,
    /// Adam with PyTorch's defaults (beta 0.9 / 0.999, epsilon 1e-8).
    Adam,
}

/// The loss of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// The tutorial's `sum((pred - target)^2) / 2`; an epoch's loss is the sum of its windows'.
    HalfSumSquares,
    /// The mean squared error over the window's steps, sequences and outputs; an epoch's loss
    /// is the mean of its windows'.
    Mse,
}

/// How to train. The defaults are the tutorial's: 300 epochs of online SGD at learning rate 0.1,
/// one sequence and one step per update, the halved sum of squares as the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Number of passes over the training sequences.
    pub n_epochs: usize,
    /// The learning rate.
    pub lr: f64,
    /// Sequences per mini-batch.
    pub batch_size: usize,
    /// Steps per truncated-BPTT window (the context is detached between windows).
    pub bptt: usize,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// The loss.
    pub loss: LossKind,
    /// Scale the gradients down so that their global L2 norm (both matrices together) is at
    /// most this, before the update.
    pub grad_clip: Option<f64>,
    /// Shuffle the sequences each epoch, with a seed derived from this one and the epoch.
    pub shuffle_seed: Option<u64>,
    /// Compute the gradients by hand instead of through Burn's autodiff: the fused one-step
    /// path for the tutorial's case (batch 1, `bptt = 1`), hand-derived BPTT otherwise. See
    /// [`GradientPath`].
    pub fused: bool,
}

/// How the gradients of a run are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientPath {
    /// Burn's autodiff: a graph per window, `loss.backward()`.
    Autodiff,
    /// The one-step gradients derived by hand, with no graph (batch 1, `bptt = 1` only).
    Fused,
    /// Backpropagation through time derived by hand, for any batch and window: the recurrence
    /// forward step by step, then backward from the window's last step, the weight gradients
    /// summed on the way (`bptt.rs`).
    HandBptt,
}

impl std::fmt::Display for GradientPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GradientPath::Autodiff => "autodiff",
            GradientPath::Fused => "fused one-step gradients",
            GradientPath::HandBptt => "hand-derived BPTT",
        })
    }
}

impl GradientPath {
    /// The path as it runs on `device`: on Flex the fused steps run in the custom operations of
    /// `elman_model::kernel`, on the other backends as a dozen tensor operations each.
    pub fn on(self, device: &Device) -> String {
        match self {
            GradientPath::Fused if kernel::available(device) => {
                format!("{self}, in the Flex kernel")
            }
            GradientPath::Fused => format!("{self}, as tensor operations"),
            GradientPath::HandBptt if kernel::available(device) => {
                format!("{self}, tanh by the Flex kernel")
            }
            GradientPath::HandBptt | GradientPath::Autodiff => self.to_string(),
        }
    }
}

impl TrainConfig {
    /// The path [`fit`] takes with this configuration.
    pub fn gradient_path(&self) -> GradientPath {
        match (self.fused, self.batch_size, self.bptt) {
            (true, 1, 1) => GradientPath::Fused,
            (true, _, _) => GradientPath::HandBptt,
            (false, _, _) => GradientPath::Autodiff,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            n_epochs: 300,
            lr: 0.1,
            batch_size: 1,
            bptt: 1,
            optimizer: OptimizerKind::Sgd,
            loss: LossKind::HalfSumSquares,
            grad_clip: None,
            shuffle_seed: None,
            fused: true,
        }
    }
}

/// What one epoch did, handed to the caller as soon as the epoch ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The epoch's training loss (see [`LossKind`]): for the tutorial, the sum of its step losses.
    pub loss: f64,
    /// The mean squared error on the validation sequences, when there are any.
    pub valid_loss: Option<f64>,
    /// Weight updates done in the epoch.
    pub updates: usize,
}

/// The outcome of a training run.
#[derive(Debug)]
pub struct TrainReport {
    /// The training loss of every epoch, epoch 0 first (including epochs before a resume).
    pub losses: Vec<f64>,
    /// The validation loss of every epoch, when there is a validation set.
    pub valid_losses: Vec<f64>,
    /// The network after the last epoch, on the training device (without autodiff).
    pub model: Elman,
    /// The epoch with the lowest validation loss and the network after it.
    pub best: Option<(usize, Elman)>,
    /// How the gradients were computed.
    pub path: GradientPath,
}

/// Everything needed to continue a run later exactly where it stopped.
#[derive(Debug, Clone)]
pub struct TrainState {
    /// The first epoch still to run.
    pub next_epoch: usize,
    /// The weights after the last finished epoch.
    pub weights: ElmanWeights,
    /// The optimizer's state.
    pub optimizer: SavedOptimizer,
    /// Training losses so far.
    pub losses: Vec<f64>,
    /// Validation losses so far.
    pub valid_losses: Vec<f64>,
    /// The best epoch so far and its weights.
    pub best: Option<(usize, ElmanWeights)>,
}

/// The run as it stands at the end of an epoch; [`Snapshot::state`] turns it into a
/// [`TrainState`] (a read of the weights from the device, so only call it when needed).
pub struct Snapshot<'a> {
    next_epoch: usize,
    model: &'a Elman,
    optim: &'a Optimizer,
    losses: &'a [f64],
    valid_losses: &'a [f64],
    best: &'a Option<(usize, Elman)>,
}

impl Snapshot<'_> {
    /// The state to write into a checkpoint.
    pub fn state(&self) -> TrainState {
        TrainState {
            next_epoch: self.next_epoch,
            weights: ElmanWeights::from_module(self.model),
            optimizer: self.optim.save(),
            losses: self.losses.to_vec(),
            valid_losses: self.valid_losses.to_vec(),
            best: self
                .best
                .as_ref()
                .map(|(epoch, model)| (*epoch, ElmanWeights::from_module(model))),
        }
    }
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
        /// The update within the epoch, from 0 (the time step, in the tutorial's loop).
        step: usize,
        /// The non-finite loss.
        loss: f32,
    },
    /// The learning rate is not a finite positive number.
    #[error("the learning rate must be a finite number above 0, got {0}")]
    InvalidLearningRate(f64),
    /// A size in the configuration is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// The data has a different number of features than the network.
    #[error(
        "the data has {data_input} inputs and {data_output} outputs per step, the network has {d_input} and {d_output}"
    )]
    DataShape {
        /// The data's inputs per step.
        data_input: usize,
        /// The data's outputs per step.
        data_output: usize,
        /// The network's input features.
        d_input: usize,
        /// The network's outputs.
        d_output: usize,
    },
    /// There are no training sequences.
    #[error("there are no training sequences")]
    NoData,
    /// A checkpoint's optimizer state does not fit the network.
    #[error("the optimizer state does not fit the network: {0}")]
    OptimizerState(String),
}

/// Trains the tutorial's way: the network that starts from `weights`, on the one sine wave of
/// `data`, with `config` (the tutorial's is [`TrainConfig::default`]).
///
/// `on_epoch` is called after every epoch with that epoch's summed loss.
pub fn train(
    weights: &ElmanWeights,
    data: &SineDataset,
    config: &TrainConfig,
    device: &Device,
    mut on_epoch: impl FnMut(EpochReport),
) -> Result<TrainReport, TrainError> {
    let sequences = SequenceDataset::from_tutorial(data);
    fit(
        weights,
        &sequences,
        None,
        config,
        device,
        None,
        |report, _| on_epoch(*report),
    )
}

/// Trains the network that starts from `weights` (or from `resume`) on `train`, reporting the
/// mean squared error on `valid` after every epoch when it holds sequences.
///
/// `on_epoch` is called after every epoch with its report and a [`Snapshot`] of the run.
pub fn fit(
    weights: &ElmanWeights,
    train: &SequenceDataset,
    valid: Option<&SequenceDataset>,
    config: &TrainConfig,
    device: &Device,
    resume: Option<TrainState>,
    mut on_epoch: impl FnMut(&EpochReport, &Snapshot<'_>),
) -> Result<TrainReport, TrainError> {
    // Check the settings and the data before any work.
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(TrainError::InvalidLearningRate(config.lr));
    }
    if config.batch_size == 0 {
        return Err(TrainError::Zero("the batch size"));
    }
    if config.bptt == 0 {
        return Err(TrainError::Zero("bptt"));
    }
    if train.is_empty() {
        return Err(TrainError::NoData);
    }
    let model_config = weights.config();
    for data in std::iter::once(train).chain(valid) {
        if (data.d_input(), data.d_output()) != (model_config.d_input, model_config.d_output) {
            return Err(TrainError::DataShape {
                data_input: data.d_input(),
                data_output: data.d_output(),
                d_input: model_config.d_input,
                d_output: model_config.d_output,
            });
        }
    }
    let valid = valid.filter(|v| !v.is_empty());

    // The model and the optimizer, fresh or as the checkpoint left them.
    let device = device.clone().autodiff();
    let (mut optim, mut model, mut losses, mut valid_losses, mut best, start) = match resume {
        None => (
            Optimizer::new(config),
            weights.to_module(&device),
            Vec::new(),
            Vec::new(),
            None,
            0,
        ),
        Some(state) => {
            let expected = match config.optimizer {
                OptimizerKind::Sgd => 0,
                OptimizerKind::Adam if state.optimizer.step == 0 => 0,
                OptimizerKind::Adam => 4,
            };
            if state.optimizer.moments.len() != expected {
                return Err(TrainError::OptimizerState(format!(
                    "{} saved moments, {:?} needs {expected}",
                    state.optimizer.moments.len(),
                    config.optimizer
                )));
            }
            let best = state
                .best
                .map(|(epoch, w)| (epoch, w.to_module(&device).valid()));
            (
                Optimizer::resume(config, &state.optimizer, &device),
                state.weights.to_module(&device),
                state.losses,
                state.valid_losses,
                best,
                state.next_epoch,
            )
        }
    };
    let batcher = SequenceBatcher::for_dataset(train);

    let path = config.gradient_path();
    let steps = match path {
        GradientPath::Fused => fused::steps(train, model_config.d_hidden, &device),
        GradientPath::HandBptt | GradientPath::Autodiff => Vec::new(),
    };
    // dL/d(output) = scale · (output - target), for one step of one sequence.
    let scale = match config.loss {
        LossKind::HalfSumSquares => 1.0,
        LossKind::Mse => 2.0 / model_config.d_output as f64,
    };

    for epoch in start..config.n_epochs {
        // This epoch's order of the sequences.
        let order: Vec<usize> = match config.shuffle_seed {
            Some(seed) => {
                let indices = InMemDataset::new((0..train.len()).collect::<Vec<usize>>());
                let shuffled = ShuffledDataset::new(indices, seed.wrapping_add(epoch as u64));
                (0..shuffled.len())
                    .map(|i| shuffled.get(i).expect("in range"))
                    .collect()
            }
            None => (0..train.len()).collect(),
        };

        // Sync point: either way, the epoch's losses come to the host once, one per update.
        let window_losses: Vec<f32> = match path {
            GradientPath::Fused => {
                let ([w1, w2], residuals) = fused::epoch(
                    weights_of(&model),
                    &mut optim,
                    &order,
                    &steps,
                    model_config.d_hidden,
                    scale,
                );
                set_weights(&mut model, [w1, w2]);
                let residuals = Tensor::cat(residuals, 0)
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .expect("float residuals");
                residuals
                    .chunks(model_config.d_output)
                    .map(|r| {
                        let squares: f32 = r.iter().map(|r| r * r).sum();
                        match config.loss {
                            LossKind::HalfSumSquares => squares / 2.0,
                            LossKind::Mse => squares / model_config.d_output as f32,
                        }
                    })
                    .collect()
            }
            GradientPath::HandBptt => {
                let plain = device.clone().without_autodiff();
                let (weights, losses) = bptt::epoch(
                    weights_of(&model),
                    &mut optim,
                    &order,
                    train,
                    config,
                    &plain,
                );
                set_weights(&mut model, weights);
                Tensor::cat(losses, 0)
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .expect("float losses")
            }
            GradientPath::Autodiff => {
                let losses = autodiff_epoch(
                    &mut model,
                    &mut optim,
                    &order,
                    train,
                    &batcher,
                    config,
                    model_config.d_hidden,
                    &device,
                );
                Tensor::cat(losses, 0)
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .expect("float losses")
            }
        };
        let updates = window_losses.len();
        if let Some((step, &loss)) = window_losses
            .iter()
            .enumerate()
            .find(|(_, loss)| !loss.is_finite())
        {
            return Err(TrainError::NonFiniteLoss { epoch, step, loss });
        }
        // The tutorial sums the step losses in a Python float (f64).
        let sum: f64 = window_losses.iter().map(|&l| f64::from(l)).sum();
        let loss = match config.loss {
            LossKind::HalfSumSquares => sum,
            LossKind::Mse => sum / updates as f64,
        };
        losses.push(loss);

        // Validate, and keep the best network.
        let valid_loss = valid.map(|valid| evaluate(&model, valid));
        if let Some(valid_loss) = valid_loss {
            valid_losses.push(valid_loss);
            if best
                .as_ref()
                .is_none_or(|(b, _)| valid_loss < valid_losses[*b])
            {
                best = Some((epoch, model.valid()));
            }
        }

        let report = EpochReport {
            epoch,
            loss,
            valid_loss,
            updates,
        };
        let snapshot = Snapshot {
            next_epoch: epoch + 1,
            model: &model,
            optim: &optim,
            losses: &losses,
            valid_losses: &valid_losses,
            best: &best,
        };
        on_epoch(&report, &snapshot);
    }

    Ok(TrainReport {
        losses,
        valid_losses,
        model: model.valid(),
        best,
        path,
    })
}

/// The model's weights as plain tensors (no autodiff), for the paths that compute gradients by
/// hand.
fn weights_of(model: &Elman) -> [Tensor<2>; 2] {
    [
        model.w1.val().without_autodiff(),
        model.w2.val().without_autodiff(),
    ]
}

/// Puts the weights a hand-derived path computed back into the (autodiff) model, as tensors
/// that do not require gradients: a `require_grad` tensor registers a leaf with Burn's autodiff
/// that only a backward pass releases, and these paths never run one (that held about 6 KB per
/// epoch for good, and took almost half the tutorial's time on Flex).
fn set_weights(model: &mut Elman, [w1, w2]: [Tensor<2>; 2]) {
    model.w1 = model.w1.clone().map(|_| w1.autodiff());
    model.w2 = model.w2.clone().map(|_| w2.autodiff());
}

/// One epoch through Burn's autodiff: mini-batches of the sequences `order`, each cut into
/// truncated-BPTT windows. Returns each window's loss, still on the device.
#[allow(clippy::too_many_arguments)] // the loop's state, spelled out rather than bundled
fn autodiff_epoch(
    model: &mut Elman,
    optim: &mut Optimizer,
    order: &[usize],
    train: &SequenceDataset,
    batcher: &SequenceBatcher,
    config: &TrainConfig,
    d_hidden: usize,
    device: &Device,
) -> Vec<Tensor<1>> {
    let seq_len = train.seq_len();
    let d_output = train.d_output();
    let mut window_losses = Vec::new();
    for indices in order.chunks(config.batch_size) {
        let items = indices.iter().map(|&i| train.items()[i].clone()).collect();
        let batch = batcher.batch(items, device);
        let size = indices.len();
        let mut state = ElmanState::zeros(size, d_hidden, device);
        for window in (0..seq_len).step_by(config.bptt) {
            let end = (window + config.bptt).min(seq_len);

            // Forward through the window.
            let inputs = batch.inputs.clone().slice(s![.., window..end, ..]);
            let targets = batch.targets.clone().slice(s![.., window..end, ..]);
            let (outputs, next) = model.forward(inputs, state);
            state = next;
            let squares = (outputs - targets).square().sum();
            let loss = match config.loss {
                LossKind::HalfSumSquares => squares.div_scalar(2.0),
                LossKind::Mse => squares.div_scalar(((end - window) * size * d_output) as f64),
            };
            window_losses.push(loss.clone().detach());

            // Backward.
            let grads = loss.backward();

            // Update; the gradients are dropped with `grads`.
            *model = optim.step(model.clone(), &grads);

            // The context carries on into the next window without its history.
            state = state.detach();
        }
    }
    window_losses
}

/// The mean squared error of one-step-ahead predictions over every step, sequence and output of
/// `data`, each sequence run from a zero context.
pub fn evaluate(model: &Elman, data: &SequenceDataset) -> f64 {
    let model = model.valid();
    let device = model.w1.device();
    let batcher = SequenceBatcher::for_dataset(data);
    let mut total = 0.0;
    for items in data.items().chunks(256) {
        let batch = batcher.batch(items.to_vec(), &device);
        let state = ElmanState::zeros(items.len(), model.d_hidden(), &device);
        let (outputs, _) = model.forward(batch.inputs, state);
        let sum = (outputs - batch.targets).square().sum();
        // Sync point.
        total += f64::from(sum.into_scalar::<f32>());
    }
    total / (data.len() * data.seq_len() * data.d_output()).max(1) as f64
}

/// One-step-ahead predictions: from a zero context, feeds `inputs` one step at a time
/// (`d_input` values per step, step-major), carrying the context along, and returns the
/// `d_output` values predicted at each step.
///
/// # Panics
///
/// If `inputs` does not hold whole steps of the network's `d_input` values.
pub fn predict(model: &Elman, inputs: &[f32]) -> Vec<f32> {
    let d_input = model.d_input();
    assert_eq!(inputs.len() % d_input, 0, "inputs hold whole steps");
    let steps = inputs.len() / d_input;
    let model = model.valid();
    let device = model.w1.device();
    let inputs =
        Tensor::<2>::from_data(TensorData::new(inputs.to_vec(), [steps, d_input]), &device);
    let mut state = ElmanState::zeros(1, model.d_hidden(), &device);
    let mut outputs = Vec::with_capacity(steps);
    for step in 0..steps {
        let (output, next) = model.step(inputs.clone().slice(s![step..step + 1, ..]), state);
        outputs.push(output);
        state = next;
    }
    read_rows(outputs)
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
///
/// # Panics
///
/// If the network does not have one input and one output.
pub fn generate(model: &Elman, prefix: &[f32], horizon: usize) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(
        (model.d_input(), model.d_output()),
        (1, 1),
        "generate feeds one value per step"
    );
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
    (read_rows(warmup), read_rows(forecast))
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
            ..TrainConfig::default()
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
            ..TrainConfig::default()
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
            ..TrainConfig::default()
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
            ..TrainConfig::default()
        };
        let report = train(&weights, &data, &config, &device, |_| {}).unwrap();
        let trained = predict(&report.model, &data.inputs());
        assert_eq!(trained.len(), 20);
        assert_ne!(trained, untrained);
        assert!(predict(&report.model, &[]).is_empty());
    }

    fn sines(n_series: usize, seq_len: usize, seed: u64) -> SequenceDataset {
        elman_data::SineWaves {
            n_series,
            seq_len,
            seed,
            ..elman_data::SineWaves::default()
        }
        .generate()
    }

    fn to_vec(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    /// With a learning rate too small to move the weights, each window's loss is the MSE of
    /// its steps, continuing from the context the previous window left: the mean over three
    /// equal windows is then the MSE of the whole sequence run in one go. Resetting the context
    /// at a border would change it.
    #[test]
    fn context_carries_across_window_borders() {
        let data = sines(4, 9, 3);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 3);
        let config = TrainConfig {
            n_epochs: 1,
            lr: 1e-12,
            batch_size: 4,
            bptt: 3,
            loss: LossKind::Mse,
            ..TrainConfig::default()
        };
        let report = fit(
            &weights,
            &data,
            None,
            &config,
            &Device::flex(),
            None,
            |r, _| assert_eq!(r.updates, 3),
        )
        .unwrap();
        let whole = evaluate(&weights.to_module(&Device::flex()), &data);
        assert!(
            (report.losses[0] - whole).abs() < 1e-6 * whole,
            "{} vs {whole}",
            report.losses[0]
        );
    }

    /// One window over the whole sequence is full backpropagation through time: the update
    /// equals `w - lr * grad` of the summed loss of all steps, gradients flowing back through
    /// every step's context. Windows of one step update differently.
    #[test]
    fn one_window_is_full_bptt() {
        let data = sines(1, 6, 8);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 8);
        let device = Device::flex();
        let full = TrainConfig {
            n_epochs: 1,
            bptt: 6,
            ..TrainConfig::default()
        };
        let report = fit(&weights, &data, None, &full, &device, None, |_, _| {}).unwrap();
        let trained = ElmanWeights::from_module(&report.model);

        // The same gradient, by hand: six steps, no detach, one backward.
        let ad = device.clone().autodiff();
        let model = weights.to_module(&ad);
        let item = &data.items()[0];
        let mut state = ElmanState::zeros(1, 6, &ad);
        let mut loss = Tensor::<1>::zeros([1], &ad);
        for t in 0..6 {
            let x = Tensor::from_data(TensorData::new(vec![item.inputs[t]], [1, 1]), &ad);
            let y = Tensor::from_data(TensorData::new(vec![item.targets[t]], [1, 1]), &ad);
            let (pred, next) = model.step(x, state);
            state = next;
            loss = loss + (pred - y).square().sum().div_scalar(2.0);
        }
        let grads = loss.backward();
        let g1 = to_vec(model.w1.grad(&grads).unwrap());
        for (i, ((w, g), after)) in weights.w1.iter().zip(&g1).zip(&trained.w1).enumerate() {
            let expected = w - 0.1 * g;
            assert!(
                (expected - after).abs() < 1e-6,
                "w1[{i}]: {after} vs {expected}"
            );
        }

        let one_step = TrainConfig { bptt: 1, ..full };
        let report = fit(&weights, &data, None, &one_step, &device, None, |_, _| {}).unwrap();
        assert_ne!(ElmanWeights::from_module(&report.model).w1, trained.w1);
    }

    #[test]
    fn adam_in_batches_learns_many_sines_and_keeps_the_best() {
        let (train_set, valid) = sines(64, 16, 5).split(0.25);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 5);
        let config = TrainConfig {
            n_epochs: 15,
            lr: 0.02,
            batch_size: 16,
            bptt: 8,
            optimizer: OptimizerKind::Adam,
            loss: LossKind::Mse,
            grad_clip: Some(1.0),
            shuffle_seed: Some(7),
            fused: true,
        };
        let report = fit(
            &weights,
            &train_set,
            Some(&valid),
            &config,
            &Device::flex(),
            None,
            |_, _| {},
        )
        .unwrap();
        let first = report.valid_losses[0];
        let last = *report.valid_losses.last().unwrap();
        assert!(last < first / 4.0, "validation MSE {first} -> {last}");
        let (best_epoch, best) = report.best.unwrap();
        let lowest = report.valid_losses.iter().cloned().fold(f64::MAX, f64::min);
        assert_eq!(report.valid_losses[best_epoch], lowest);
        assert!((evaluate(&best, &valid) - lowest).abs() < 1e-6);
    }

    /// Stopping after two epochs and resuming from the snapshot gives the same losses as the
    /// uninterrupted run: the optimizer state, the shuffling and the history all carry over.
    #[test]
    fn resume_continues_exactly() {
        let (train_set, valid) = sines(24, 8, 6).split(0.25);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 6);
        let config = TrainConfig {
            n_epochs: 4,
            lr: 0.01,
            batch_size: 6,
            bptt: 4,
            optimizer: OptimizerKind::Adam,
            loss: LossKind::Mse,
            grad_clip: None,
            shuffle_seed: Some(11),
            fused: true,
        };
        let device = Device::flex();
        let mut saved = None;
        let whole = fit(
            &weights,
            &train_set,
            Some(&valid),
            &config,
            &device,
            None,
            |r, snap| {
                if r.epoch == 1 {
                    saved = Some(snap.state());
                }
            },
        )
        .unwrap();
        let state = saved.unwrap();
        assert_eq!(state.next_epoch, 2);
        let resumed = fit(
            &weights,
            &train_set,
            Some(&valid),
            &config,
            &device,
            Some(state),
            |_, _| {},
        )
        .unwrap();
        assert_eq!(resumed.losses, whole.losses);
        assert_eq!(resumed.valid_losses, whole.valid_losses);
        assert_eq!(
            ElmanWeights::from_module(&resumed.model),
            ElmanWeights::from_module(&whole.model)
        );
    }

    #[test]
    fn the_same_shuffle_seed_gives_the_same_run() {
        let data = sines(12, 5, 2);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 2);
        let config = TrainConfig {
            n_epochs: 2,
            batch_size: 3,
            shuffle_seed: Some(1),
            loss: LossKind::Mse,
            ..TrainConfig::default()
        };
        let run = |config: &TrainConfig| {
            fit(
                &weights,
                &data,
                None,
                config,
                &Device::flex(),
                None,
                |_, _| {},
            )
            .unwrap()
            .losses
        };
        assert_eq!(run(&config), run(&config));
        let other = TrainConfig {
            shuffle_seed: Some(2),
            ..config
        };
        assert_ne!(run(&config), run(&other));
    }

    #[test]
    fn generate_warms_up_then_feeds_back() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 4);
        let model = weights.to_module(&Device::flex());
        let prefix: Vec<f32> = (0..10).map(|t| (t as f32 * 0.3).sin()).collect();
        let (warmup, forecast) = generate(&model, &prefix, 5);
        assert_eq!((warmup.len(), forecast.len()), (10, 5));
        assert_eq!(forecast[0], warmup[9]);
        assert_eq!(warmup, predict(&model, &prefix));
        // Feeding the forecast back by hand gives the same values.
        let mut fed = prefix.clone();
        fed.extend_from_slice(&forecast[..4]);
        let (again, _) = generate(&model, &fed, 0);
        for (a, b) in again[10..].iter().zip(&forecast[1..]) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert!(generate(&model, &prefix, 0).1.is_empty());
    }

    #[test]
    fn data_of_the_wrong_width_is_refused() {
        let data = SequenceDataset::new(
            vec![elman_data::SequenceItem {
                inputs: vec![0.0; 4],
                targets: vec![0.0; 2],
            }],
            2,
            2,
            1,
        );
        let weights = ElmanWeights::init(&ElmanConfig::default(), 0);
        let err = fit(
            &weights,
            &data,
            None,
            &TrainConfig::default(),
            &Device::flex(),
            None,
            |_, _| {},
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the data has 2 inputs and 1 outputs per step, the network has 1 and 1"
        );
    }

    /// The hand-derived gradients of one step equal Burn's autodiff gradients, from a non-zero
    /// context, for both losses' scales: through the Flex kernel and through the tensor
    /// operations (on ndarray, which has no kernel).
    #[test]
    fn fused_gradients_match_autodiff() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 5,
            d_output: 3,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 12);
        #[allow(deprecated)] // the deprecated backend is the one without the kernel
        let devices = [(Device::flex(), true), (Device::ndarray(), false)];
        for (device, kernel) in devices {
            assert_eq!(kernel::available(&device), kernel);
            let x = Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -0.7], [1, 2]), &device);
            let h = Tensor::<2>::from_data(
                TensorData::new(vec![0.1f32, -0.2, 0.5, 0.0, 0.9], [1, 5]),
                &device,
            );
            let target =
                Tensor::<2>::from_data(TensorData::new(vec![0.2f32, -0.1, 0.4], [1, 3]), &device);
            for (loss, scale) in [(LossKind::HalfSumSquares, 1.0), (LossKind::Mse, 2.0 / 3.0)] {
                let plain = weights.to_module(&device);
                let step = one_step_gradients(
                    &plain.w1.val(),
                    &plain.w2.val(),
                    x.clone(),
                    h.clone(),
                    target.clone(),
                    scale,
                );

                let ad = device.clone().autodiff();
                let model = weights.to_module(&ad);
                let (pred, next) = model.step(
                    x.clone().autodiff(),
                    ElmanState {
                        context: h.clone().autodiff(),
                    },
                );
                let residual = pred - target.clone().autodiff();
                let squares = residual.clone().square().sum();
                let value = match loss {
                    LossKind::HalfSumSquares => squares.div_scalar(2.0),
                    LossKind::Mse => squares.div_scalar(3.0),
                };
                let grads = value.backward();
                let pairs = [
                    (
                        to_vec(step.grad_w1.clone()),
                        to_vec(model.w1.grad(&grads).unwrap()),
                    ),
                    (
                        to_vec(step.grad_w2.clone()),
                        to_vec(model.w2.grad(&grads).unwrap()),
                    ),
                    (to_vec(step.context.clone()), to_vec(next.context.inner())),
                    (to_vec(step.residual.clone()), to_vec(residual.inner())),
                ];
                for (fused, autodiff) in pairs {
                    assert_eq!(fused.len(), autodiff.len());
                    for (f, a) in fused.iter().zip(&autodiff) {
                        assert!(
                            (f - a).abs() < 1e-6,
                            "{loss:?}, kernel {kernel}: {f} vs {a}"
                        );
                    }
                    assert!(autodiff.iter().any(|a| a.abs() > 1e-3));
                }
            }
        }
    }

    /// Hand-derived BPTT over a window equals Burn's autodiff: the loss, both gradients and the
    /// last context, from a non-zero context, for both losses, on Flex (with the tanh kernel),
    /// on ndarray (Burn's tanh) and on wgpu (Mesa's lavapipe here).
    #[test]
    fn hand_bptt_matches_autodiff() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 5,
            d_output: 3,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 8);
        let (batch, steps) = (4, 6);
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
        };
        let inputs = values(batch * steps * 2, 0.0);
        let targets = values(batch * steps * 3, 5.0);
        let h0 = values(batch * 5, 9.0);
        #[allow(deprecated)] // the deprecated backend, as a device without the kernels
        let devices = [
            Device::flex(),
            Device::ndarray(),
            Device::wgpu(burn::prelude::DeviceKind::DefaultDevice),
        ];
        for device in devices {
            let x =
                Tensor::<3>::from_data(TensorData::new(inputs.clone(), [batch, steps, 2]), &device);
            let y = Tensor::<3>::from_data(
                TensorData::new(targets.clone(), [batch, steps, 3]),
                &device,
            );
            let h = Tensor::<2>::from_data(TensorData::new(h0.clone(), [batch, 5]), &device);
            for loss in [LossKind::HalfSumSquares, LossKind::Mse] {
                let plain = weights.to_module(&device);
                let window = bptt::window(
                    [&plain.w1.val(), &plain.w2.val()],
                    x.clone().swap_dims(0, 1).reshape([steps * batch, 2]),
                    y.clone().swap_dims(0, 1).reshape([steps * batch, 3]),
                    h.clone(),
                    loss,
                );

                let ad = device.clone().autodiff();
                let model = weights.to_module(&ad);
                let (out, last) = model.forward(
                    x.clone().autodiff(),
                    ElmanState {
                        context: h.clone().autodiff(),
                    },
                );
                let squares = (out - y.clone().autodiff()).square().sum();
                let value = match loss {
                    LossKind::HalfSumSquares => squares.div_scalar(2.0),
                    LossKind::Mse => squares.div_scalar((batch * steps * 3) as f64),
                };
                let grads = value.clone().backward();
                let [g1, g2] = window.grads;
                let pairs = [
                    (to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
                    (to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
                    (to_vec(window.last), to_vec(last.context.inner())),
                    (
                        to_vec(window.loss.unsqueeze()),
                        to_vec(value.inner().unsqueeze()),
                    ),
                ];
                for (hand, autodiff) in pairs {
                    assert_eq!(hand.len(), autodiff.len());
                    for (h, a) in hand.iter().zip(&autodiff) {
                        assert!(
                            (h - a).abs() <= 1e-5 * a.abs().max(1.0),
                            "{loss:?} on {device:?}: {h} vs {a}"
                        );
                    }
                    assert!(autodiff.iter().any(|a| a.abs() > 1e-3));
                }
            }
        }
    }

    /// Mini-batches with truncated windows, Adam and clipping: the hand-derived path and
    /// autodiff give the same losses, and the reports say which path ran.
    #[test]
    fn hand_bptt_and_autodiff_runs_agree() {
        let waves = sines(10, 12, 6);
        let weights = ElmanWeights::init(
            &ElmanConfig {
                d_hidden: 8,
                w1_std: 0.3,
                w2_std: 0.3,
                ..ElmanConfig::default()
            },
            2,
        );
        let hand = TrainConfig {
            n_epochs: 4,
            lr: 0.01,
            batch_size: 4,
            bptt: 5,
            optimizer: OptimizerKind::Adam,
            loss: LossKind::Mse,
            grad_clip: Some(0.5),
            shuffle_seed: Some(1),
            fused: true,
        };
        let autodiff = TrainConfig {
            fused: false,
            ..hand
        };
        assert_eq!(hand.gradient_path(), GradientPath::HandBptt);
        for device in [Device::flex(), Device::flex().autodiff()] {
            let run = |config: &TrainConfig| {
                fit(&weights, &waves, None, config, &device, None, |_, _| {}).unwrap()
            };
            let (a, b) = (run(&hand), run(&autodiff));
            assert_eq!(
                (a.path, b.path),
                (GradientPath::HandBptt, GradientPath::Autodiff)
            );
            assert!(a.losses[3] < a.losses[0], "{:?}", a.losses);
            for (x, y) in a.losses.iter().zip(&b.losses) {
                assert!((x - y).abs() <= 1e-5 * y, "hand {x} vs autodiff {y}");
            }
        }
    }

    /// The Flex kernel's SGD over a sequence, which updates the weights in place, gives the
    /// weights and residuals of the tensor operations' steps (each from the context the one
    /// before left), and leaves a tensor that still shares the old weights untouched.
    #[test]
    fn kernel_sgd_sequence_matches_the_tensor_operations() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 4,
            d_output: 2,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 5);
        let device = Device::flex();
        let plain = weights.to_module(&device);
        let (w1, w2) = (plain.w1.val(), plain.w2.val());
        let before = to_vec(w1.clone());
        let steps = 5;
        let inputs: Vec<f32> = (0..steps * 2).map(|i| (i as f32 * 0.7).sin()).collect();
        let targets: Vec<f32> = (0..steps * 2).map(|i| (i as f32 * 0.3).cos()).collect();
        let lr = 0.1;

        // The tensor operations' steps, on ndarray (which has no kernel).
        #[allow(deprecated)]
        let ndarray = Device::ndarray();
        let row = |values: &[f32], t: usize| {
            Tensor::<2>::from_data(
                TensorData::new(values[2 * t..2 * t + 2].to_vec(), [1, 2]),
                &ndarray,
            )
        };
        let on = |t: &Tensor<2>| Tensor::<2>::from_data(t.to_data(), &ndarray);
        let (mut o1, mut o2) = (on(&w1), on(&w2));
        let mut h = Tensor::<2>::zeros([1, 4], &ndarray);
        let mut expected_residuals = Vec::new();
        for t in 0..steps {
            let step = one_step_gradients(&o1, &o2, row(&inputs, t), h, row(&targets, t), 1.0);
            o1 = o1 - step.grad_w1.mul_scalar(lr);
            o2 = o2 - step.grad_w2.mul_scalar(lr);
            expected_residuals.extend(to_vec(step.residual));
            h = step.context;
        }

        let all = |values: &[f32]| {
            Tensor::<2>::from_data(TensorData::new(values.to_vec(), [steps, 2]), &device)
        };
        let ([n1, n2], residuals) =
            kernel::sgd_sequence([w1.clone(), w2.clone()], all(&inputs), all(&targets), lr);
        assert_eq!(residuals.dims(), [steps, 2]);
        let pairs = [
            (to_vec(n1), to_vec(o1)),
            (to_vec(n2), to_vec(o2)),
            (to_vec(residuals), expected_residuals),
        ];
        for (got, want) in pairs {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-6, "{g} vs {w}");
            }
        }
        assert_eq!(
            to_vec(w1),
            before,
            "a shared weight tensor was written in place"
        );
    }

    /// The tutorial's run through both paths: the same losses to float tolerance, and the
    /// report says which path ran.
    #[test]
    fn fused_and_autodiff_runs_agree() {
        let data = SineDataset::tutorial();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 21);
        let device = Device::flex();
        let fused = TrainConfig {
            n_epochs: 40,
            ..TrainConfig::default()
        };
        let autodiff = TrainConfig {
            fused: false,
            ..fused
        };
        assert_eq!(fused.gradient_path(), GradientPath::Fused);
        assert_eq!(autodiff.gradient_path(), GradientPath::Autodiff);
        let a = train(&weights, &data, &fused, &device, |_| {}).unwrap();
        let b = train(&weights, &data, &autodiff, &device, |_| {}).unwrap();
        assert_eq!(
            (a.path, b.path),
            (GradientPath::Fused, GradientPath::Autodiff)
        );
        for (epoch, (x, y)) in a.losses.iter().zip(&b.losses).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * y,
                "epoch {epoch}: fused {x} vs autodiff {y}"
            );
        }
        // Adam and the MSE on many sequences, shuffled, go through the fused path too.
        let waves = sines(6, 10, 4);
        let adam = TrainConfig {
            n_epochs: 3,
            lr: 0.01,
            optimizer: OptimizerKind::Adam,
            loss: LossKind::Mse,
            grad_clip: Some(0.5),
            shuffle_seed: Some(3),
            ..TrainConfig::default()
        };
        let run = |config: &TrainConfig| {
            fit(&weights, &waves, None, config, &device, None, |_, _| {}).unwrap()
        };
        let (a, b) = (
            run(&adam),
            run(&TrainConfig {
                fused: false,
                ..adam
            }),
        );
        for (x, y) in a.losses.iter().zip(&b.losses) {
            assert!((x - y).abs() <= 1e-5 * y, "adam: fused {x} vs autodiff {y}");
        }
    }
}
