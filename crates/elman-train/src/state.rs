//! Where a run starts ([`Start`]), what it carries from epoch to epoch ([`Progress`]), what
//! each epoch reports ([`EpochReport`], [`Snapshot`]), what a run returns ([`TrainReport`]) and
//! what a checkpoint keeps ([`TrainState`]).

use burn::prelude::*;
use elman_model::{Elman, ElmanWeights};

use crate::optim::{Optimizer, SavedOptimizer};
use crate::{OptimizerKind, TrainError};

/// Where a run starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// From these weights, at epoch 0, with a fresh optimizer.
    Fresh(ElmanWeights),
    /// From a saved state, at its next epoch: the weights, the optimizer, the history and the
    /// best network as they were.
    Resume(TrainState),
}

impl Start {
    /// The weights the run starts from.
    pub fn weights(&self) -> &ElmanWeights {
        match self {
            Start::Fresh(weights) => weights,
            Start::Resume(state) => &state.weights,
        }
    }

    /// The first epoch to run.
    pub fn epoch(&self) -> usize {
        match self {
            Start::Fresh(_) => 0,
            Start::Resume(state) => state.next_epoch,
        }
    }
}

/// What a run carries from epoch to epoch: the network, the optimizer, the losses so far and
/// the best network with its epoch.
pub(crate) struct Progress {
    pub model: Elman,
    pub optim: Optimizer,
    pub losses: Vec<f64>,
    pub valid_losses: Vec<f64>,
    pub best: Option<(usize, Elman)>,
}

impl Progress {
    /// The run from `start` on `device` (an autodiff device): fresh, or as the saved state left
    /// it.
    pub(crate) fn new(start: Start, config: &crate::TrainConfig, device: &Device) -> Self {
        match start {
            Start::Fresh(weights) => Self {
                model: weights.to_module(device),
                optim: Optimizer::new(config),
                losses: Vec::new(),
                valid_losses: Vec::new(),
                best: None,
            },
            Start::Resume(state) => Self {
                model: state.weights.to_module(device),
                optim: Optimizer::resume(config, &state.optimizer, device),
                losses: state.losses,
                valid_losses: state.valid_losses,
                best: state
                    .best
                    .map(|(epoch, w)| (epoch, w.to_module(device).valid())),
            },
        }
    }

    /// Records epoch `epoch`'s losses, and keeps the network when its validation loss is the
    /// lowest so far.
    pub(crate) fn record(&mut self, epoch: usize, loss: f64, valid_loss: Option<f64>) {
        self.losses.push(loss);
        if let Some(valid_loss) = valid_loss {
            self.valid_losses.push(valid_loss);
            let valid_losses = &self.valid_losses;
            if self
                .best
                .as_ref()
                .is_none_or(|(b, _)| valid_loss < valid_losses[*b])
            {
                self.best = Some((epoch, self.model.valid()));
            }
        }
    }

    /// The run as it stands before epoch `next_epoch`, its weights those of `host` where an
    /// epoch of several in one call left them there, else the model's.
    pub(crate) fn snapshot<'a>(
        &'a self,
        next_epoch: usize,
        host: Option<&'a ElmanWeights>,
    ) -> Snapshot<'a> {
        Snapshot {
            next_epoch,
            model: match host {
                Some(weights) => SnapshotModel::Host(weights),
                None => SnapshotModel::Device(&self.model),
            },
            optim: &self.optim,
            losses: &self.losses,
            valid_losses: &self.valid_losses,
            best: &self.best,
        }
    }

    /// What the run returns, its networks on `device`.
    pub(crate) fn report(
        self,
        path: crate::GradientPath,
        stop: crate::StopReason,
        device: &Device,
    ) -> TrainReport {
        TrainReport {
            losses: self.losses,
            valid_losses: self.valid_losses,
            model: self.model.valid().to_device(device),
            best: self
                .best
                .map(|(epoch, best)| (epoch, best.to_device(device))),
            path,
            stop,
        }
    }
}

/// What one epoch did, handed to the caller as soon as the epoch ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The epoch's training loss (see [`crate::LossKind`]): for the tutorial, the sum of its
    /// step losses.
    pub loss: f64,
    /// The mean squared error on the validation sequences, when there are any.
    pub valid_loss: Option<f64>,
    /// Weight updates done in the epoch.
    pub updates: usize,
    /// The learning rate of the epoch.
    pub lr: f64,
    /// Whether this is the run's last epoch (its last given one, or early stopping ends it).
    pub last: bool,
}

/// What the run does after an epoch, as the caller's callback says: `()` (go on) or a
/// [`ControlFlow`](std::ops::ControlFlow), whose `Break` stops the run after this epoch with
/// [`StopReason::Stopped`](crate::StopReason::Stopped).
pub trait Next {
    /// Whether the run stops here.
    fn stops(self) -> bool;
}

impl Next for () {
    fn stops(self) -> bool {
        false
    }
}

impl Next for std::ops::ControlFlow<()> {
    fn stops(self) -> bool {
        self.is_break()
    }
}

/// The outcome of a training run.
#[derive(Debug)]
pub struct TrainReport {
    /// The training loss of every epoch, epoch 0 first (including epochs before a resume).
    pub losses: Vec<f64>,
    /// The validation loss of every epoch, when there is a validation set.
    pub valid_losses: Vec<f64>,
    /// The network after the last epoch, on the device the run was given (without autodiff).
    pub model: Elman,
    /// The epoch with the lowest validation loss and the network after it.
    pub best: Option<(usize, Elman)>,
    /// How the gradients were computed.
    pub path: crate::GradientPath,
    /// Why the run ended.
    pub stop: crate::StopReason,
}

/// Everything needed to continue a run later exactly where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// The first epoch still to run.
    pub next_epoch: usize,
    /// The weights after the last finished epoch.
    pub weights: ElmanWeights,
    /// The optimizer's state.
    pub optimizer: SavedOptimizer,
    /// Training losses so far, one per finished epoch.
    pub losses: Vec<f64>,
    /// Validation losses so far: one per finished epoch, or none without validation.
    pub valid_losses: Vec<f64>,
    /// The best epoch so far and its weights.
    pub best: Option<(usize, ElmanWeights)>,
}

impl TrainState {
    /// Checks that the state is whole and fits together, and that its optimizer state is one
    /// `optimizer` can continue: the history as long as the epochs run, the best epoch among
    /// them, every tensor of the shape its weights have.
    pub fn check(&self, optimizer: OptimizerKind) -> Result<(), TrainError> {
        let bad = |message: String| Err(TrainError::ResumeState(message));
        self.weights.validate()?;
        if self.losses.len() != self.next_epoch {
            return bad(format!(
                "it holds {} training losses for {} finished epochs",
                self.losses.len(),
                self.next_epoch
            ));
        }
        if !self.valid_losses.is_empty() && self.valid_losses.len() != self.next_epoch {
            return bad(format!(
                "it holds {} validation losses for {} finished epochs",
                self.valid_losses.len(),
                self.next_epoch
            ));
        }
        if let Some((epoch, best)) = &self.best {
            if *epoch >= self.next_epoch || self.valid_losses.is_empty() {
                return bad(format!(
                    "its best epoch {epoch} is not a finished epoch with a validation loss"
                ));
            }
            if (best.w1_shape, best.w2_shape) != (self.weights.w1_shape, self.weights.w2_shape) {
                return bad(format!(
                    "the best weights have shapes {:?} and {:?}, the weights {:?} and {:?}",
                    best.w1_shape, best.w2_shape, self.weights.w1_shape, self.weights.w2_shape
                ));
            }
            best.validate()?;
        }
        let moments = &self.optimizer.moments;
        let expected = match optimizer {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Adam if self.optimizer.step == 0 => 0,
            OptimizerKind::Adam => 4,
        };
        if moments.len() != expected {
            return bad(format!(
                "{} saved optimizer moments, {optimizer:?} needs {expected}",
                moments.len()
            ));
        }
        let shapes = [
            self.weights.w1_shape,
            self.weights.w1_shape,
            self.weights.w2_shape,
            self.weights.w2_shape,
        ];
        for (i, ((values, shape), expected)) in moments.iter().zip(shapes).enumerate() {
            if *shape != expected || values.len() != expected[0] * expected[1] {
                return bad(format!(
                    "optimizer moment {i} has shape {shape:?} and {} values, the weights need {expected:?}",
                    values.len()
                ));
            }
        }
        Ok(())
    }
}

/// The run as it stands at the end of an epoch; [`Snapshot::state`] turns it into a
/// [`TrainState`] (a read of the weights from the device, so only call it when needed).
pub struct Snapshot<'a> {
    pub(crate) next_epoch: usize,
    pub(crate) model: SnapshotModel<'a>,
    pub(crate) optim: &'a Optimizer,
    pub(crate) losses: &'a [f64],
    pub(crate) valid_losses: &'a [f64],
    pub(crate) best: &'a Option<(usize, Elman)>,
}

/// Where a [`Snapshot`]'s weights are: in the model on the device, or already on the host (an
/// epoch of several run in one kernel call).
pub(crate) enum SnapshotModel<'a> {
    Device(&'a Elman),
    Host(&'a ElmanWeights),
}

impl Snapshot<'_> {
    /// The weights after this epoch, on the host.
    pub fn weights(&self) -> ElmanWeights {
        match self.model {
            SnapshotModel::Device(model) => ElmanWeights::from_module(model),
            SnapshotModel::Host(weights) => weights.clone(),
        }
    }

    /// The state to write into a checkpoint.
    pub fn state(&self) -> TrainState {
        TrainState {
            next_epoch: self.next_epoch,
            weights: self.weights(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::ElmanConfig;

    fn state() -> TrainState {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let moment = |w: &[f32], shape| (vec![0.0; w.len()], shape);
        TrainState {
            next_epoch: 2,
            optimizer: SavedOptimizer {
                step: 40,
                moments: vec![
                    moment(&weights.w1, weights.w1_shape),
                    moment(&weights.w1, weights.w1_shape),
                    moment(&weights.w2, weights.w2_shape),
                    moment(&weights.w2, weights.w2_shape),
                ],
            },
            losses: vec![2.0, 1.0],
            valid_losses: vec![3.0, 1.5],
            best: Some((1, weights.clone())),
            weights,
        }
    }

    /// A whole state passes; each kind of damage is named.
    #[test]
    fn a_damaged_state_is_refused_with_what_is_wrong() {
        let good = state();
        assert_eq!(good.check(OptimizerKind::Adam), Ok(()));
        let message =
            |state: &TrainState, optimizer| state.check(optimizer).unwrap_err().to_string();
        assert!(
            message(&good, OptimizerKind::Sgd).contains("4 saved optimizer moments, Sgd needs 0")
        );

        let mut short = good.clone();
        short.losses.pop();
        assert!(message(&short, OptimizerKind::Adam).contains("1 training losses for 2"));

        let mut late = good.clone();
        late.best.as_mut().unwrap().0 = 2;
        assert!(message(&late, OptimizerKind::Adam).contains("best epoch 2"));

        let mut moment = good.clone();
        moment.optimizer.moments[2].1 = [7, 6];
        assert!(
            message(&moment, OptimizerKind::Adam).contains("optimizer moment 2 has shape [7, 6]")
        );

        let mut best = good.clone();
        let wide = ElmanWeights::init(
            &ElmanConfig {
                d_hidden: 5,
                ..ElmanConfig::default()
            },
            1,
        );
        best.best = Some((0, wide));
        assert!(message(&best, OptimizerKind::Adam).contains("the best weights have shapes"));
    }
}
