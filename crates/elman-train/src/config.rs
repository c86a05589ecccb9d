//! How to train: [`TrainConfig`] and the settings' enums, and [`GradientPath`], which of the
//! three gradient computations a configuration takes.

use burn::prelude::Device;
use elman_model::kernel;
use serde::{Deserialize, Serialize};

use crate::{EarlyStopping, Schedule};

/// The optimizer that updates the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain SGD: `w -= lr * grad`, as in the tutorial.
    Sgd,
    /// Adam with PyTorch's defaults (beta 0.9 / 0.999, epsilon 1e-8).
    Adam,
}

/// The loss of one window (its arithmetic is in `loss.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossKind {
    /// The tutorial's `sum((pred - target)^2) / 2`; an epoch's loss is the sum of its windows'.
    #[serde(rename = "tutorial")]
    HalfSumSquares,
    /// The mean squared error over the window's steps, sequences and outputs; an epoch's loss
    /// is the mean of its windows'.
    #[serde(rename = "mse")]
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
    /// Compute the gradients by hand instead of through Burn's autodiff over the steps, for
    /// every batch size and window: the fused one-step path in the tutorial's case (batch 1,
    /// `bptt = 1`), hand-derived BPTT otherwise, and for the gated cells the layer's window
    /// with its backward pass by hand. See [`GradientPath`].
    pub fused: bool,
    /// How the learning rate changes over the run.
    pub schedule: Schedule,
    /// Stop when the validation loss stops improving.
    pub early_stopping: Option<EarlyStopping>,
    /// Run the fused path through `elman-model`'s kernels where they apply (Flex, and the GPU
    /// kernel on CubeCL devices); false: through Burn's tensor operations, to compare the two.
    pub kernels: bool,
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
            schedule: Schedule::Constant,
            early_stopping: None,
            kernels: true,
        }
    }
}

impl TrainConfig {
    /// [`TrainConfig::gradient_path`] for a network of `model`'s cell: the hand-derived paths
    /// are written for the Elman cell (BPTT with or without biases, the one-step path without);
    /// the gated cells train through the layer (`GradientPath::Layer`, with or without biases,
    /// a batch of one sequence and one-step windows included).
    pub fn gradient_path_for(&self, model: &elman_model::ElmanConfig) -> GradientPath {
        use elman_model::Cell;
        match (model.cell, model.bias, self.gradient_path()) {
            (Cell::Elman, false, path) => path,
            (_, _, GradientPath::Autodiff) => GradientPath::Autodiff,
            // Hand-derived BPTT has the biases' gradients too; the one-step path does not.
            (Cell::Elman, _, _) => GradientPath::HandBptt,
            (Cell::Lstm | Cell::Gru, _, _) => GradientPath::Layer,
        }
    }

    /// The path [`crate::fit`] takes with this configuration.
    pub fn gradient_path(&self) -> GradientPath {
        match (self.fused, self.batch_size, self.bptt) {
            (true, 1, 1) => GradientPath::Fused,
            (true, _, _) => GradientPath::HandBptt,
            (false, _, _) => GradientPath::Autodiff,
        }
    }
}

/// How the gradients of a run are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientPath {
    /// Burn's autodiff: a graph per window, `loss.backward()` (`autodiff.rs`).
    Autodiff,
    /// The one-step gradients derived by hand, with no graph (batch 1, `bptt = 1` only;
    /// `fused.rs`).
    Fused,
    /// Backpropagation through time derived by hand, for any batch and window: the recurrence
    /// forward step by step, then backward from the window's last step, the weight gradients
    /// summed on the way (`bptt.rs`).
    HandBptt,
    /// Burn's autodiff through the layer: a window's recurrence one operation whose backward
    /// pass is written by hand (`elman_model::ElmanLayer`), the read-out and the loss recorded
    /// (`autodiff.rs`).
    Layer,
}

impl std::fmt::Display for GradientPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GradientPath::Autodiff => "autodiff",
            GradientPath::Fused => "fused one-step gradients",
            GradientPath::HandBptt => "hand-derived BPTT",
            GradientPath::Layer => "autodiff through the layer",
        })
    }
}

impl GradientPath {
    /// The path as it runs on `device` for a network of `d_hidden` neurons: on Flex the fused
    /// steps, and a small network's recurrence, run in the custom operations of
    /// `elman_model::kernel`, on a CubeCL device the sequence and a window's recurrence in GPU
    /// kernels, elsewhere as tensor operations.
    pub fn on(self, device: &Device, d_hidden: usize, cell: elman_model::Cell) -> String {
        match self {
            GradientPath::Fused if kernel::available(device) => {
                format!("{self}, in the Flex kernel")
            }
            GradientPath::Fused if kernel::on_gpu(device) => {
                format!("{self}, with SGD in one GPU kernel per sequence")
            }
            GradientPath::Fused => format!("{self}, as tensor operations"),
            GradientPath::HandBptt
                if kernel::available(device) && kernel::recurrence_available(device, d_hidden) =>
            {
                format!("{self}, the recurrence in the Flex kernels")
            }
            GradientPath::HandBptt if kernel::available(device) => {
                format!("{self}, tanh by the Flex kernel")
            }
            GradientPath::HandBptt if kernel::recurrence_available(device, d_hidden) => {
                format!("{self}, the recurrence in GPU kernels")
            }
            GradientPath::Layer => format!(
                "{self}, the {} cell's window one operation",
                cell.name().to_uppercase()
            ),
            GradientPath::HandBptt | GradientPath::Autodiff => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::{Cell, ElmanConfig};

    /// Batch 1 with one-step windows is the fused path; any other shape hand-derived BPTT;
    /// `fused = false` autodiff whatever the shape.
    #[test]
    fn the_path_follows_the_shape() {
        let tutorial = TrainConfig::default();
        assert_eq!(tutorial.gradient_path(), GradientPath::Fused);
        for (batch_size, bptt) in [(2, 1), (1, 2), (32, 16)] {
            let config = TrainConfig {
                batch_size,
                bptt,
                ..tutorial
            };
            assert_eq!(config.gradient_path(), GradientPath::HandBptt);
            let autodiff = TrainConfig {
                fused: false,
                ..config
            };
            assert_eq!(autodiff.gradient_path(), GradientPath::Autodiff);
        }
        assert_eq!(
            GradientPath::Fused.on(&Device::flex(), 6, Cell::Elman),
            "fused one-step gradients, in the Flex kernel"
        );
        assert_eq!(
            GradientPath::Fused.on(&Device::flex().autodiff(), 6, Cell::Elman),
            "fused one-step gradients, as tensor operations"
        );
        assert_eq!(
            GradientPath::Layer.on(&Device::flex(), 16, Cell::Lstm),
            "autodiff through the layer, the LSTM cell's window one operation"
        );
    }

    /// Every cell takes hand-derived BPTT (the Elman cell with biases also where the shape
    /// would take the one-step path, which has no biases); any cell with `fused = false`,
    /// autodiff.
    #[test]
    fn the_path_follows_the_cell() {
        let tutorial = TrainConfig::default();
        let batched = TrainConfig {
            batch_size: 8,
            bptt: 24,
            ..tutorial
        };
        let model = |cell, bias| ElmanConfig {
            cell,
            bias,
            ..ElmanConfig::default()
        };
        for (config, cell, bias, path) in [
            (tutorial, Cell::Elman, false, GradientPath::Fused),
            (tutorial, Cell::Elman, true, GradientPath::HandBptt),
            (batched, Cell::Elman, true, GradientPath::HandBptt),
            (tutorial, Cell::Lstm, false, GradientPath::Layer),
            (batched, Cell::Lstm, true, GradientPath::Layer),
            (tutorial, Cell::Gru, false, GradientPath::Layer),
            (batched, Cell::Gru, true, GradientPath::Layer),
            (
                TrainConfig {
                    fused: false,
                    ..batched
                },
                Cell::Lstm,
                false,
                GradientPath::Autodiff,
            ),
            (
                TrainConfig {
                    fused: false,
                    ..batched
                },
                Cell::Gru,
                true,
                GradientPath::Autodiff,
            ),
        ] {
            assert_eq!(
                config.gradient_path_for(&model(cell, bias)),
                path,
                "{cell:?} {bias}"
            );
        }
    }
}
