//! The tutorial's epochs many at a time. Where the whole run is online SGD over one sequence
//! in the kernels (`fused.rs`'s case, with nothing to validate), up to [`PER_CALL`] epochs go
//! to the device in one call of [`kernel::sgd_epochs`], and their losses and weights come back
//! at once; [`Rounds`] then hands them to [`fit`](crate::fit) epoch by epoch, as if each had run
//! alone. On Flex the call's overhead (a dispatch, the tensors in and out, a read) was most of
//! an epoch's cost: 20 updates take about a microsecond.

use std::collections::VecDeque;

use burn::prelude::*;
use elman_data::SequenceDataset;
use elman_model::{Elman, ElmanConfig, ElmanWeights, kernel};

use crate::fused::Steps;
use crate::layout::{on_device, set_weights, weights_of};
use crate::optim::Optimizer;
use crate::{GradientPath, TrainConfig};

/// The most epochs of one call: the log's usual interval. A run stopped from its callback in the
/// middle of a call has computed the rest of the call's epochs for nothing.
pub(crate) const PER_CALL: usize = 10;

/// Whether the run's epochs go many to a call: the fused path in the kernels with plain SGD,
/// one training sequence and no validation (whose loss each epoch would need the weights on the
/// device).
pub(crate) fn apply(
    path: GradientPath,
    config: &TrainConfig,
    train: &SequenceDataset,
    validated: bool,
    optim: &Optimizer,
    model: &ElmanConfig,
    device: &Device,
) -> bool {
    path == GradientPath::Fused
        && config.kernels
        && !validated
        && train.len() == 1
        && optim.is_plain_sgd()
        && kernel::sequence_available(
            &device.clone().without_autodiff(),
            model.d_input,
            model.d_hidden,
            model.d_output,
            train.seq_len(),
        )
}

/// One epoch of a call: its window losses (one per update) and the weights after it.
struct Epoch {
    losses: Vec<f32>,
    weights: ElmanWeights,
}

/// The tutorial's epochs a call at a time, handed out one at a time. Between calls the model
/// holds the weights after the last call; [`Rounds::settle`] puts back those of the epoch last
/// handed out when the run ends inside a call.
pub(crate) struct Rounds {
    steps: Steps,
    /// The shapes and kind of the weights that come back.
    like: ElmanWeights,
    /// The call's epochs not handed out yet.
    pending: VecDeque<Epoch>,
    /// The weights after the epoch last handed out.
    last: Option<ElmanWeights>,
}

impl Rounds {
    /// Rounds over the one sequence of `steps`, for weights like `like`.
    pub(crate) fn new(steps: Steps, like: ElmanWeights) -> Self {
        Self {
            steps,
            like,
            pending: VecDeque::new(),
            last: None,
        }
    }

    /// Epoch `epoch`: its window losses and the weights after it, from the call under way, or
    /// from a new call of up to [`PER_CALL`] epochs to the run's end, each at the schedule's
    /// learning rate (a run in rounds validates nothing, so the schedule needs no validation
    /// losses). The optimizer counts the epoch's updates.
    pub(crate) fn epoch(
        &mut self,
        model: &mut Elman,
        optim: &mut Optimizer,
        epoch: usize,
        config: &TrainConfig,
    ) -> (Vec<f32>, ElmanWeights) {
        if self.pending.is_empty() {
            let count = PER_CALL.min(config.n_epochs - epoch);
            let lrs: Vec<f64> = (epoch..epoch + count)
                .map(|e| config.schedule.lr(config.lr, e, config.n_epochs, &[]))
                .collect();
            let (weights, ran) = run(weights_of(model), &self.steps, &lrs, config, &self.like);
            set_weights(model, weights);
            self.pending = ran.into();
        }
        let Epoch { losses, weights } = self
            .pending
            .pop_front()
            .expect("a call runs at least one epoch");
        optim.count_steps(losses.len());
        self.last = Some(weights.clone());
        (losses, weights)
    }

    /// At the run's end: a run stopped inside a call goes on from the epoch it stopped at, so
    /// the model takes that epoch's weights.
    pub(crate) fn settle(&mut self, model: &mut Elman) {
        if let Some(last) = self.last.as_ref().filter(|_| !self.pending.is_empty()) {
            let device = model.w1.device();
            set_weights(model, on_device(last, &device));
            self.pending.clear();
        }
    }
}

/// `lrs.len()` epochs of online SGD over `steps`, epoch `e` at learning rate `lrs[e]`, from
/// `weights` (plain tensors) of a network like `like`: the weights after the last epoch, and
/// every epoch's losses and weights.
fn run(
    weights: [Tensor<2>; 2],
    steps: &Steps,
    lrs: &[f64],
    config: &TrainConfig,
    like: &ElmanWeights,
) -> ([Tensor<2>; 2], Vec<Epoch>) {
    let d_output = like.w2_shape[1];
    let scale = config.loss.output_scale(d_output);
    let lr_scales: Vec<f64> = lrs.iter().map(|lr| scale * lr).collect();
    let [inputs, targets] = steps.whole();
    let done = kernel::sgd_epochs(weights, inputs, targets, &lr_scales);
    let (n1, n2) = (like.w1.len(), like.w2.len());
    let per_epoch = done.residuals.len() / lrs.len().max(1);
    let epochs = done
        .residuals
        .chunks(per_epoch.max(1))
        .zip(done.weights_after.chunks(n1 + n2))
        .map(|(residuals, after)| Epoch {
            losses: config.loss.of_residuals(residuals, d_output),
            weights: ElmanWeights {
                w1: after[..n1].to_vec(),
                w1_shape: like.w1_shape,
                w2: after[n1..].to_vec(),
                w2_shape: like.w2_shape,
                cell: like.cell,
                bias: like.bias,
            },
        })
        .collect();
    (done.weights, epochs)
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use elman_data::SineDataset;

    use super::*;
    use crate::optim::Optimizer;
    use crate::testing::fit_plain;
    use crate::{Start, StopReason, fit};

    /// The tutorial's data, a network and a run of 23 epochs (two full calls and a short one).
    fn tutorial() -> (SequenceDataset, ElmanWeights, TrainConfig) {
        let data = SequenceDataset::from_tutorial(&SineDataset::tutorial());
        let weights = ElmanWeights::init(&ElmanConfig::default(), 3);
        let config = TrainConfig {
            n_epochs: 23,
            ..TrainConfig::default()
        };
        (data, weights, config)
    }

    /// Ten epochs to a call report every epoch as one epoch at a time would: each epoch's
    /// snapshot holds the weights that a run of that many epochs ends with (bit for bit) and
    /// the optimizer's count of updates; the losses are those of the tensor operations one
    /// epoch at a time (within float error: the kernel's `tanh` is an approximation).
    #[test]
    fn every_epoch_of_a_call_is_reported_as_if_run_alone() {
        let (data, weights, config) = tutorial();
        let device = Device::flex();
        let optim = Optimizer::new(&config);
        let model = weights.config();
        assert!(apply(
            GradientPath::Fused,
            &config,
            &data,
            false,
            &optim,
            &model,
            &device
        ));
        assert!(!apply(
            GradientPath::Fused,
            &config,
            &data,
            true,
            &optim,
            &model,
            &device
        ));

        let mut states = Vec::new();
        let whole = fit(
            Start::Fresh(weights.clone()),
            &data,
            None,
            &config,
            &device,
            |_, s| states.push(s.state()),
        )
        .unwrap();
        assert_eq!(states.len(), 23);
        for (epoch, state) in states.iter().enumerate() {
            assert_eq!(state.next_epoch, epoch + 1);
            assert_eq!(state.optimizer.step, 20 * (epoch as u64 + 1));
        }
        for epochs in [1, 10, 11, 17, 23] {
            let shorter = TrainConfig {
                n_epochs: epochs,
                ..config
            };
            let run = fit_plain(Start::Fresh(weights.clone()), &data, &shorter, &device);
            assert_eq!(run.losses, whole.losses[..epochs]);
            assert_eq!(
                ElmanWeights::from_module(&run.model),
                states[epochs - 1].weights
            );
        }

        let ops = TrainConfig {
            kernels: false,
            ..config
        };
        let one_by_one = fit_plain(Start::Fresh(weights), &data, &ops, &device);
        for (a, b) in whole.losses.iter().zip(&one_by_one.losses) {
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1e-3), "{a} vs {b}");
        }
    }

    /// A run stopped from its callback in the middle of a call ends with the weights of the
    /// epoch it stopped at, and its snapshot resumes to the uninterrupted run.
    #[test]
    fn a_run_stopped_within_a_call_ends_where_it_stopped() {
        let (data, weights, config) = tutorial();
        let device = Device::flex();
        let whole = fit_plain(Start::Fresh(weights.clone()), &data, &config, &device);
        let mut saved = None;
        let stopped = fit(
            Start::Fresh(weights),
            &data,
            None,
            &config,
            &device,
            |r, s| {
                if r.epoch == 12 {
                    saved = Some(s.state());
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        assert_eq!(stopped.stop, StopReason::Stopped { epoch: 12 });
        assert_eq!(stopped.losses, whole.losses[..13]);
        let saved = saved.unwrap();
        assert_eq!(ElmanWeights::from_module(&stopped.model), saved.weights);
        let resumed = fit_plain(Start::Resume(saved), &data, &config, &device);
        assert_eq!(resumed.losses, whole.losses);
        assert_eq!(
            ElmanWeights::from_module(&resumed.model),
            ElmanWeights::from_module(&whole.model)
        );
    }
}
