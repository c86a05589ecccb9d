//! The training loop and the uses of a trained network, written once for every backend: the
//! caller picks the backend by the [`Device`](burn::prelude::Device) it passes in.
//!
//! [`fit`] trains on mini-batches of sequences with truncated backpropagation through time:
//! each batch starts from a zero context; the sequence is cut into windows of `bptt` steps; after
//! each window the loss is backpropagated, the optimizer (SGD or Adam, optionally with
//! gradient-norm clipping) updates `W1` and `W2`, and the context is carried into the next window
//! but detached from its history. With batch 1, `bptt = 1`, SGD and the tutorial's loss
//! `(pred - target)^2 / 2` this is exactly the tutorial's loop, which [`train`] runs.
//!
//! [`predict`] makes one-step-ahead predictions, [`generate`] a closed-loop forecast and
//! [`evaluate`] the mean squared error over sequences.
//!
//! This crate prints nothing and reads no files: each epoch's losses go to the caller's callback,
//! together with a [`Snapshot`] the caller may turn into a checkpoint.
//!
//! | file | its job |
//! |---|---|
//! | `config.rs` | [`TrainConfig`], [`OptimizerKind`], [`LossKind`], [`GradientPath`] |
//! | `error.rs` | [`TrainError`] |
//! | `state.rs` | [`Start`], what a run carries, [`EpochReport`], [`Next`], [`Snapshot`], [`TrainReport`], [`TrainState`] |
//! | `fit.rs` | the loop: [`fit`] and [`train`] |
//! | `checks.rs` | the settings, weights and data checked before a run |
//! | `paths.rs` | the gradient paths behind one call per epoch, chosen once before the loop |
//! | `fused.rs` | the tutorial's case: one-step gradients by hand, on Flex in the kernel |
//! | `epochs.rs` | the tutorial's epochs ten to a kernel call |
//! | `bptt.rs` | the Elman cell's backpropagation through time by hand, any batch and window |
//! | `autodiff.rs` | the gradients through Burn's autodiff: the layer's window, or the steps |
//! | `layout.rs` | the weights' and windows' layouts the hand-derived paths share |
//! | `readback.rs` | values from the device to the host |
//! | `optim.rs` | SGD and Adam with clipping, their state as plain tensors |
//! | `loss.rs` | the losses' arithmetic |
//! | `schedule.rs` | learning-rate schedules, early stopping, [`StopReason`] |
//! | `evaluate.rs` | [`evaluate`], [`evaluate_on`] and [`Sequences`], a dataset put on a device once |
//! | `inference.rs` | [`predict`], [`trace`], [`generate`] |

mod autodiff;
mod bptt;
mod checks;
mod config;
mod epochs;
mod error;
mod evaluate;
mod fit;
mod fused;
mod inference;
mod layout;
mod loss;
mod optim;
mod paths;
mod readback;
mod schedule;
mod state;
#[cfg(test)]
mod testing;

pub use config::{GradientPath, LossKind, OptimizerKind, TrainConfig};
pub use error::TrainError;
pub use evaluate::{Sequences, evaluate, evaluate_on};
pub use fit::{fit, train};
pub use inference::{InferenceError, Trace, generate, predict, trace};
pub use optim::SavedOptimizer;
pub use schedule::{EarlyStopping, Schedule, ScheduleKind, StopReason};
pub use state::{EpochReport, Next, Snapshot, Start, TrainReport, TrainState};
