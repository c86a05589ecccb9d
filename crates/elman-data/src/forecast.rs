//! Closed-loop forecasting's data: what the network warms up on, the truth it is judged
//! against, the seasonal-naive baseline, and the way back from its outputs to the series' units.

use crate::{Scaler, Transform};

/// The seasonal-naive forecast of `horizon` steps after `history`: each step repeats the value
/// one `season` before it (`season = 0`, or longer than the history: the last value).
pub fn seasonal_naive(history: &[f32], season: usize, horizon: usize) -> Vec<f32> {
    let Some(&last) = history.last() else {
        return Vec::new();
    };
    (0..horizon)
        .map(|k| {
            if season > 0 && season <= history.len() {
                history[history.len() - season + k % season]
            } else {
                last
            }
        })
        .collect()
}

/// A closed-loop forecast to make: the network warms up on `prefix`, then runs on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedLoop {
    /// What the network warms up on, scaled as it was trained.
    pub prefix: Vec<f32>,
    /// The series' levels up to the forecast's start, in original units.
    pub history: Vec<f32>,
    /// The true levels after it, as far as they are known.
    pub truth: Vec<f32>,
    /// The scaler, and the feature whose scale the network's output has.
    pub scaler: Scaler,
    /// The output's feature in `scaler`.
    pub output_feature: usize,
    /// What the network learned instead of the levels.
    pub transform: Transform,
    /// The seasonal-naive baseline's cycle (0: the last value).
    pub season: usize,
}

/// A finished forecast, in the series' own units.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The forecast levels, one per step.
    pub predicted: Vec<f32>,
    /// The truth over the same steps, as far as it is known.
    pub actual: Vec<f32>,
    /// The seasonal-naive baseline over the same steps.
    pub baseline: Vec<f32>,
    /// The naive baseline (the last value) over the same steps.
    pub naive: Vec<f32>,
}

impl ClosedLoop {
    /// The forecast in the series' units from the network's `outputs` (scaled, one per step):
    /// unscaled, then turned back into levels when the network learned differences.
    pub fn finish(&self, outputs: &[f32]) -> Forecast {
        let horizon = outputs.len();
        let changes = self.scaler.unscale_column(self.output_feature, outputs);
        Forecast {
            predicted: self.transform.levels_after(&self.history, &changes),
            actual: self.truth[..self.truth.len().min(horizon)].to_vec(),
            baseline: seasonal_naive(&self.history, self.season, horizon),
            naive: seasonal_naive(&self.history, 0, horizon),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// History 1, 2, 3, 4 with season 2 repeats 3, 4, 3, ...; with season 0 (or 5, longer
    /// than the history) the last value 4.
    #[test]
    fn seasonal_naive_by_hand() {
        let history = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(seasonal_naive(&history, 2, 5), [3.0, 4.0, 3.0, 4.0, 3.0]);
        assert_eq!(seasonal_naive(&history, 0, 2), [4.0, 4.0]);
        assert_eq!(seasonal_naive(&history, 5, 2), [4.0, 4.0]);
        assert!(seasonal_naive(&[], 2, 3).is_empty());
    }

    /// A network that learned the change over 2 steps, scaled by mean 1 and std 2, outputs 0
    /// and 0.5: changes 1 and 2, added onto the levels 10 and 20 two steps before: 11 and 22.
    #[test]
    fn finish_by_hand() {
        let closed = ClosedLoop {
            prefix: vec![],
            history: vec![5.0, 10.0, 20.0],
            truth: vec![12.0],
            scaler: Scaler {
                mean: vec![0.0, 1.0],
                std: vec![1.0, 2.0],
            },
            output_feature: 1,
            transform: Transform::lag(2),
            season: 0,
        };
        let forecast = closed.finish(&[0.0, 0.5]);
        assert_eq!(forecast.predicted, [11.0, 22.0]);
        assert_eq!(forecast.actual, [12.0]);
        assert_eq!(forecast.baseline, [20.0, 20.0]);
        assert_eq!(forecast.naive, [20.0, 20.0]);
    }
}
