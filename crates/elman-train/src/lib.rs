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
//! | `state.rs` | [`Start`], [`EpochReport`], [`Next`], [`Snapshot`], [`TrainReport`], [`TrainState`] |
//! | `fit.rs` | the loop: [`fit`] and [`train`] |
//! | `fused.rs` | the tutorial's case: one-step gradients by hand, on Flex in the kernel |
//! | `epochs.rs` | the tutorial's epochs ten to a kernel call |
//! | `bptt.rs` | backpropagation through time by hand, any batch and window |
//! | `lstm.rs` | the same for the LSTM cell, in plain loops on the host |
//! | `gru.rs` | the same for the GRU cell |
//! | `host_loops.rs` | the activations and multiply-adds those loops are written with |
//! | `autodiff.rs` | the gradients through Burn's autodiff |
//! | `optim.rs` | SGD and Adam with clipping, their state as plain tensors |
//! | `loss.rs` | the losses' arithmetic |
//! | `schedule.rs` | learning-rate schedules, early stopping, [`StopReason`] |
//! | `evaluate.rs` | [`evaluate`], [`evaluate_on`] and [`Sequences`], a dataset put on a device once |
//! | `inference.rs` | [`predict`], [`trace`], [`generate`] |

mod autodiff;
mod bptt;
mod config;
mod epochs;
mod error;
mod evaluate;
mod fit;
mod fused;
mod gru;
mod host_loops;
mod inference;
mod loss;
mod lstm;
mod optim;
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
