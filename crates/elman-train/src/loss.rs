//! The losses' arithmetic, in one place: the loss of a window, its derivative with respect to
//! the network's output, and an epoch's loss from its windows'.
//!
//! For a window whose residuals `r = prediction - target` hold `n` values:
//!
//! ```text
//! tutorial (halved sum of squares)   L = Σ r² / 2      dL/dy = r          epoch: Σ of windows
//! MSE                                L = Σ r² / n      dL/dy = 2 r / n    epoch: mean of windows
//! ```

use burn::prelude::*;

use crate::LossKind;

impl LossKind {
    /// The window's loss from the sum of its squared residuals over `n` values.
    pub(crate) fn of_squares(self, squares: Tensor<1>, n: usize) -> Tensor<1> {
        match self {
            LossKind::HalfSumSquares => squares.div_scalar(2.0),
            LossKind::Mse => squares.div_scalar(n.max(1) as f64),
        }
    }

    /// Each update's loss from its residuals `y - target` on the host, `d_output` values an
    /// update (the one-step paths' residuals, one step after another).
    pub(crate) fn of_residuals(self, residuals: &[f32], d_output: usize) -> Vec<f32> {
        residuals
            .chunks(d_output)
            .map(|r| {
                let squares: f32 = r.iter().map(|r| r * r).sum();
                self.of_squares_host(squares, d_output)
            })
            .collect()
    }

    /// [`LossKind::of_squares`] on the host.
    pub(crate) fn of_squares_host(self, squares: f32, n: usize) -> f32 {
        match self {
            LossKind::HalfSumSquares => squares / 2.0,
            LossKind::Mse => squares / n.max(1) as f32,
        }
    }

    /// The weight of a part of `part` sequences of a batch of `whole` when the parts' losses
    /// and gradients, each computed as if the part were the batch, are added up: the MSE divides
    /// by the count of the whole batch's values, the halved sum of squares by nothing.
    pub(crate) fn part_share(self, part: usize, whole: usize) -> f64 {
        match self {
            LossKind::HalfSumSquares => 1.0,
            LossKind::Mse => part as f64 / whole.max(1) as f64,
        }
    }

    /// `s` in `dL/dy = s · (y - target)`, for a window of `n` values.
    pub(crate) fn output_scale(self, n: usize) -> f64 {
        match self {
            LossKind::HalfSumSquares => 1.0,
            LossKind::Mse => 2.0 / n.max(1) as f64,
        }
    }

    /// An epoch's loss from its windows' losses, summed in `f64` as the tutorial sums its step
    /// losses in a Python float.
    pub(crate) fn epoch(self, windows: &[f32]) -> f64 {
        let sum: f64 = windows.iter().map(|&l| f64::from(l)).sum();
        match self {
            LossKind::HalfSumSquares => sum,
            LossKind::Mse => sum / windows.len().max(1) as f64,
        }
    }
}

/// The mean of `squares` summed over `n` values: the mean squared error.
pub(crate) fn mean_squares(squares: f64, n: usize) -> f64 {
    squares / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Residuals 1 and 3: Σ r² = 10, so the tutorial's loss is 5 and the MSE over two values 5
    /// too; over four values the MSE is 2.5, and its output scale 2 / 4.
    #[test]
    fn losses_by_hand() {
        let squares = Tensor::<1>::from_data(TensorData::new(vec![10.0f32], [1]), &Device::flex());
        let value = |t: Tensor<1>| t.into_scalar::<f32>();
        assert_eq!(
            value(LossKind::HalfSumSquares.of_squares(squares.clone(), 2)),
            5.0
        );
        assert_eq!(value(LossKind::Mse.of_squares(squares, 4)), 2.5);
        assert_eq!(LossKind::HalfSumSquares.of_squares_host(10.0, 4), 5.0);
        assert_eq!(LossKind::Mse.of_squares_host(10.0, 4), 2.5);
        assert_eq!(
            LossKind::Mse.of_residuals(&[1.0, 3.0, 2.0, 0.0], 2),
            [5.0, 2.0]
        );
        assert_eq!(LossKind::HalfSumSquares.output_scale(4), 1.0);
        assert_eq!(LossKind::Mse.output_scale(4), 0.5);
        assert_eq!(LossKind::HalfSumSquares.epoch(&[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(LossKind::Mse.epoch(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(mean_squares(10.0, 4), 2.5);
    }
}
