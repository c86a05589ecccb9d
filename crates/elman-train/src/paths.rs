//! The gradient paths ([`GradientPath`]) behind one call, [`Path::epoch`]: every window of an
//! epoch its forward pass, its loss, its gradients and the optimizer's update, the window
//! losses back on the host in one read. [`fit`](crate::fit) chooses the path once, before its
//! loop ([`Path::choose`]), and never looks at which it is again.
//!
//! | path | where | when |
//! |---|---|---|
//! | the tutorial's epochs ten to a kernel call | `epochs.rs` | online SGD over one sequence in the kernels, nothing validated |
//! | one-step gradients by hand | `fused.rs` | batch 1, `bptt = 1`, an Elman cell without biases |
//! | hand-derived BPTT | `bptt.rs` | the Elman cell, any other batch and window |
//! | Burn's autodiff through the layer, `Elman::forward` | `autodiff.rs` | the LSTM and the GRU |
//! | Burn's autodiff through `Elman::step` | `autodiff.rs` | `fused = false` (`--autodiff`) |

use burn::prelude::*;
use elman_data::SequenceDataset;
use elman_model::{Elman, ElmanConfig, ElmanWeights};

use crate::autodiff::Forward;
use crate::epochs::{self, Rounds};
use crate::fused::{self, Steps};
use crate::layout::{set_weights, weights_of};
use crate::optim::Optimizer;
use crate::readback::{read, update_losses};
use crate::{GradientPath, TrainConfig, autodiff, bptt};

/// How a run computes its epochs, chosen once.
pub(crate) enum Path {
    /// The tutorial's epochs a kernel call of several at a time (boxed: it holds the sequence's
    /// steps and a call's epochs, the others a few words).
    Rounds(Box<Rounds>),
    /// One-step gradients by hand over each sequence cut into steps.
    OneStep(Vec<Steps>),
    /// Hand-derived BPTT, on the plain (no autodiff) device.
    Hand(Device),
    /// Burn's autodiff, through the layer or the steps.
    Autodiff(Forward),
}

/// What an epoch gives: each update's loss and, from a call of several epochs, the weights after
/// this one (the model then holds those after the call).
pub(crate) struct Ran {
    pub losses: Vec<f32>,
    pub weights: Option<ElmanWeights>,
}

impl Path {
    /// The path `path` takes for a network like `like` trained on `train` on `device` (an
    /// autodiff device), with the optimizer `optim`; `validated` says whether the run validates.
    pub(crate) fn choose(
        path: GradientPath,
        config: &TrainConfig,
        train: &SequenceDataset,
        validated: bool,
        optim: &Optimizer,
        like: &ElmanWeights,
        device: &Device,
    ) -> Self {
        let model: ElmanConfig = like.config();
        match path {
            GradientPath::Fused => {
                let mut steps = fused::steps(train, model.d_hidden, device);
                if epochs::apply(path, config, train, validated, optim, &model, device) {
                    Path::Rounds(Box::new(Rounds::new(steps.remove(0), like.clone())))
                } else {
                    Path::OneStep(steps)
                }
            }
            GradientPath::HandBptt => Path::Hand(device.clone().without_autodiff()),
            GradientPath::Layer => Path::Autodiff(Forward::Layer),
            GradientPath::Autodiff => Path::Autodiff(Forward::Steps),
        }
    }

    /// Epoch `epoch` at learning rate `lr` over the sequences of `train` in the order `order`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn epoch(
        &mut self,
        model: &mut Elman,
        optim: &mut Optimizer,
        train: &SequenceDataset,
        config: &TrainConfig,
        order: &[usize],
        epoch: usize,
        lr: f64,
    ) -> Ran {
        optim.set_lr(lr);
        let (losses, weights) = match self {
            Path::Rounds(rounds) => {
                let (losses, weights) = rounds.epoch(model, optim, epoch, config);
                (losses, Some(weights))
            }
            Path::OneStep(steps) => {
                let d_output = train.d_output();
                let scale = config.loss.output_scale(d_output);
                let (weights, residuals) = fused::epoch(
                    weights_of(model),
                    optim,
                    order,
                    steps,
                    scale,
                    config.kernels,
                );
                set_weights(model, weights);
                // Sync point: the epoch's residuals come to the host at once.
                let residuals = read(Tensor::cat(residuals, 0));
                let losses = config.loss.of_residuals(&residuals, d_output);
                (losses, None)
            }
            Path::Hand(plain) => {
                let (weights, losses) =
                    bptt::epoch(weights_of(model), optim, order, train, config, plain);
                set_weights(model, weights);
                // Sync points: every update's loss, read back a few dozen windows at a time.
                (losses, None)
            }
            Path::Autodiff(forward) => {
                let losses = autodiff::epoch(model, optim, order, train, config, *forward);
                (update_losses(losses), None)
            }
        };
        Ran { losses, weights }
    }

    /// At the run's end: the model as the last epoch reported left it.
    pub(crate) fn settle(&mut self, model: &mut Elman) {
        if let Path::Rounds(rounds) = self {
            rounds.settle(model);
        }
    }
}
