//! Standardization with statistics of the training split only.

use serde::{Deserialize, Serialize};

/// Per-feature `(x - mean) / std`, fitted on training data and stored with the model so that
/// predictions can be written back in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Mean of each feature.
    pub mean: Vec<f64>,
    /// Standard deviation of each feature (1 where the feature is constant).
    pub std: Vec<f64>,
}

impl Scaler {
    /// The scaler that changes nothing, for `features` features.
    pub fn identity(features: usize) -> Self {
        Self {
            mean: vec![0.0; features],
            std: vec![1.0; features],
        }
    }

    /// Fits one mean and standard deviation per column.
    ///
    /// # Panics
    ///
    /// If a column is empty.
    pub fn fit(columns: &[&[f32]]) -> Self {
        let (mean, std) = columns
            .iter()
            .map(|column| {
                assert!(!column.is_empty(), "cannot fit a scaler on an empty column");
                let n = column.len() as f64;
                let mean = column.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = column
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                let std = var.sqrt();
                (mean, if std > 0.0 { std } else { 1.0 })
            })
            .unzip();
        Self { mean, std }
    }

    /// Scales `value` of feature `feature`.
    pub fn scale(&self, feature: usize, value: f32) -> f32 {
        ((f64::from(value) - self.mean[feature]) / self.std[feature]) as f32
    }

    /// Undoes [`Scaler::scale`].
    pub fn unscale(&self, feature: usize, value: f32) -> f32 {
        (f64::from(value) * self.std[feature] + self.mean[feature]) as f32
    }

    /// Scales a whole column.
    pub fn scale_column(&self, feature: usize, column: &[f32]) -> Vec<f32> {
        column.iter().map(|&v| self.scale(feature, v)).collect()
    }

    /// Unscales a whole column.
    pub fn unscale_column(&self, feature: usize, column: &[f32]) -> Vec<f32> {
        column.iter().map(|&v| self.unscale(feature, v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[1, 3]` has mean 2 and (population) standard deviation 1, so 3 scales to 1 and
    /// 0 back to 2.
    #[test]
    fn fit_by_hand_and_round_trip() {
        let scaler = Scaler::fit(&[&[1.0, 3.0], &[5.0, 5.0]]);
        assert_eq!(scaler.mean, [2.0, 5.0]);
        assert_eq!(scaler.std, [1.0, 1.0], "a constant column keeps std 1");
        assert_eq!(scaler.scale(0, 3.0), 1.0);
        assert_eq!(scaler.unscale(0, 0.0), 2.0);
        let column = [315.5f32, 320.25, 371.0];
        let co2 = Scaler::fit(&[&column]);
        let back = co2.unscale_column(0, &co2.scale_column(0, &column));
        for (a, b) in back.iter().zip(column) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}
