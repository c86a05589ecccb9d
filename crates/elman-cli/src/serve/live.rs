//! What the page draws of a network at one epoch ([`Frame`]), made by a [`Painter`] from the
//! weights: the one-step predictions over the data, the closed-loop forecast of a series'
//! held-out part, the context neurons' activations at every step, and `W1` and `W2`.
//!
//! The painter runs beside the training, on its own thread and on the CPU, so that drawing
//! costs the training nothing but a copy of the weights.

use anyhow::Result;
use burn::prelude::Device;
use elman_data::{ClosedLoop, OneStep, RunData, Source};
use elman_model::ElmanWeights;
use serde::Serialize;

/// The most time steps drawn (the last ones): longer series show their recent part.
pub const MAX_STEPS: usize = 600;
/// The most rows and columns of a matrix drawn (its top-left block).
pub const MAX_CELLS: usize = 64;

/// The network at one epoch, as the page draws it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// The epoch whose weights these are (from 0).
    pub epoch: usize,
    /// The one-step-ahead predictions beside the truth.
    pub one_step: Curves,
    /// The closed-loop forecast of a series' held-out part.
    pub forecast: Option<Curves>,
    /// The context neurons after each drawn step: a row per step, a column per neuron.
    pub contexts: Matrix,
    /// `W1`: a row per input-layer neuron (inputs, then context), a column per hidden neuron.
    pub w1: Matrix,
    /// `W2`: a row per hidden neuron, a column per output.
    pub w2: Matrix,
}

/// Values along an axis: the truth and the network's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    /// Time (the tutorial) or step.
    pub axis: Vec<f64>,
    /// The true values.
    pub actual: Vec<f32>,
    /// The network's.
    pub predicted: Vec<f32>,
    /// Where the validation part starts, when the data has one along this axis.
    pub valid_from: Option<usize>,
}

/// A block of a matrix, row-major.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// Rows drawn.
    pub rows: usize,
    /// Columns drawn.
    pub cols: usize,
    /// The whole matrix's rows and columns (more than drawn when it is large).
    pub shape: [usize; 2],
    /// The values drawn, row-major.
    pub values: Vec<f32>,
}

impl Matrix {
    /// The top-left block of at most `max_rows` by [`MAX_CELLS`] of a row-major matrix.
    fn block(values: &[f32], shape: [usize; 2], max_rows: usize) -> Self {
        let (rows, cols) = (shape[0].min(max_rows), shape[1].min(MAX_CELLS));
        let values = (0..rows)
            .flat_map(|r| values[r * shape[1]..r * shape[1] + cols].iter().copied())
            .collect();
        Self {
            rows,
            cols,
            shape,
            values,
        }
    }
}

/// Makes frames for one run's data.
pub struct Painter {
    device: Device,
    data: RunData,
    one_step: OneStep,
    forecast: Option<(ClosedLoop, Vec<f64>)>,
}

impl Painter {
    /// A painter for `data`, computing on `device`.
    pub fn new(data: RunData, device: Device) -> Self {
        let one_step = data.one_step();
        // A series with one input is forecast closed-loop from its held-out part's start.
        // (A panel shows its first series.) The forecast lies on the series' time axis.
        let forecast = match &data.shown().source {
            Source::Series(series) => data.closed_loop().ok().map(|closed| {
                let (_, origin) = data.forecast_span().expect("a closed loop has a span");
                let (axis, _) = data.span(origin + series.transform.span(), closed.truth.len());
                (closed, axis)
            }),
            Source::Tutorial(_) | Source::Waves | Source::Panel(_) => None,
        };
        Self {
            device,
            data,
            one_step,
            forecast,
        }
    }

    /// The frame of the network with `weights` after `epoch`.
    pub fn paint(&self, epoch: usize, weights: &ElmanWeights) -> Result<Frame> {
        let model = weights.to_module(&self.device);
        let trace = elman_train::trace(&model, &self.one_step.inputs)?;
        let predicted = self.data.one_step_values(&trace.outputs);
        let steps = predicted.len();
        let from = steps.saturating_sub(MAX_STEPS);
        let d_hidden = model.d_hidden();
        let contexts = Matrix::block(
            &trace.contexts[from * d_hidden..],
            [steps - from, d_hidden],
            MAX_STEPS,
        );
        let one_step = Curves {
            axis: self.one_step.axis[from..].to_vec(),
            actual: self.one_step.actual[from..].to_vec(),
            predicted: predicted[from..].to_vec(),
            valid_from: self
                .one_step
                .valid
                .as_ref()
                .map(|valid| valid.start.saturating_sub(from)),
        };
        let forecast = match &self.forecast {
            Some((closed, axis)) => {
                let (_, outputs) =
                    elman_train::generate(&model, &closed.prefix, closed.truth.len())?;
                let forecast = closed.finish(&outputs);
                Some(Curves {
                    axis: axis.clone(),
                    actual: forecast.actual,
                    predicted: forecast.predicted,
                    valid_from: None,
                })
            }
            None => None,
        };
        Ok(Frame {
            epoch,
            one_step,
            forecast,
            contexts,
            w1: Matrix::block(&weights.w1, weights.w1_shape, MAX_CELLS + 1),
            w2: Matrix::block(&weights.w2, weights.w2_shape, MAX_CELLS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RunConfig;
    use elman_model::ElmanConfig;

    /// The tutorial's frame: 20 steps on the time axis with the wave's targets, 20 rows of six
    /// contexts in (-1, 1), the whole 7 x 6 `W1` and 6 x 1 `W2`, and no forecast.
    #[test]
    fn the_tutorial_frame() {
        let data = RunConfig::default().prepare_data().unwrap();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let frame = Painter::new(data, Device::flex())
            .paint(3, &weights)
            .unwrap();
        assert_eq!(frame.epoch, 3);
        assert_eq!(frame.one_step.axis.len(), 20);
        assert!((frame.one_step.axis[0] - 2.4).abs() < 1e-12);
        assert!((frame.one_step.actual[19] - 10f32.sin()).abs() < 1e-6);
        assert_eq!((frame.contexts.rows, frame.contexts.cols), (20, 6));
        assert!(frame.contexts.values.iter().all(|v| v.abs() < 1.0));
        assert_eq!(frame.w1.values, weights.w1);
        assert_eq!((frame.w2.rows, frame.w2.cols), (6, 1));
        assert!(frame.forecast.is_none());
    }

    /// A large matrix is drawn as its top-left block, its shape kept.
    #[test]
    fn large_matrices_are_cut() {
        let values: Vec<f32> = (0..100 * 70).map(|v| v as f32).collect();
        let block = Matrix::block(&values, [100, 70], 65);
        assert_eq!((block.rows, block.cols, block.shape), (65, 64, [100, 70]));
        assert_eq!(block.values[64], 70.0);
    }
}
