//! Rolling-origin evaluation: forecasts from each of the last `K` origins of a series, `H` steps
//! ahead, scored step by step and overall against the truth, beside the naive (last value) and
//! seasonal-naive baselines.
//!
//! ```text
//! origins   o = n - H - K + 1, …, n - H     (n values; each forecast has H true values after it)
//! per step  MAE_h, RMSE_h, sMAPE_h over the K forecasts' h-th values;
//!           MASE_h = mean over origins of |a - p| / s_o, s_o the in-sample seasonal-naive MAE
//!           of the values before origin o
//! overall   the same over every origin and step
//! ```

use crate::metrics::seasonal_scale;
use crate::{DataError, mae, rmse, smape};

/// The last `count` forecast origins of a series of `len` values for forecasts of `horizon`
/// steps: each origin needs at least `warmup` values before it and `horizon` after.
pub fn origins(
    len: usize,
    horizon: usize,
    count: usize,
    warmup: usize,
) -> Result<Vec<usize>, DataError> {
    if horizon == 0 || count == 0 {
        return Err(DataError::TooShort(format!(
            "a backtest needs a horizon and a number of origins of at least 1, got {horizon} and {count}"
        )));
    }
    let last = len.checked_sub(horizon);
    let first = last.and_then(|last| last.checked_sub(count - 1));
    match (first, last) {
        (Some(first), Some(last)) if first >= warmup.max(1) => Ok((first..=last).collect()),
        _ => Err(DataError::TooShort(format!(
            "{count} origins of {horizon} steps need {} values, the series has {len}",
            warmup.max(1) + count - 1 + horizon
        ))),
    }
}

/// One forecast of a backtest, in the series' units: the truth, the values before the origin,
/// and what each forecaster said.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The values before the origin.
    pub history: Vec<f32>,
    /// The true values after it.
    pub actual: Vec<f32>,
    /// Each forecaster's values, in the order of the names [`score`] is given.
    pub forecasts: Vec<Vec<f32>>,
}

/// One forecaster's errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Errors {
    /// The forecaster.
    pub name: String,
    /// MAE, RMSE, sMAPE (%) and MASE at each step ahead, step 1 first.
    pub by_step: Vec<[f64; 4]>,
    /// The same over every origin and step.
    pub overall: [f64; 4],
}

/// The names of the four measures, as [`Errors`] orders them.
pub const MEASURES: [&str; 4] = ["mae", "rmse", "smape", "mase"];

/// Scores each forecaster (named by `names`, in the order of the cases' forecasts) over
/// `cases`, the MASE scaled with `season` (0 or 1: the naive scale).
///
/// # Panics
///
/// If a case has fewer forecasts than names, or its forecasts and truth differ in length.
pub fn score(cases: &[Case], names: &[&str], season: usize) -> Vec<Errors> {
    let horizon = cases.first().map_or(0, |c| c.actual.len());
    let scales: Vec<Option<f64>> = cases
        .iter()
        .map(|c| seasonal_scale(&c.history, season))
        .collect();
    // The four measures over a set of (actual, predicted, scale) triples.
    let measure = |triples: &[(f32, f32, Option<f64>)]| -> [f64; 4] {
        let actual: Vec<f32> = triples.iter().map(|t| t.0).collect();
        let predicted: Vec<f32> = triples.iter().map(|t| t.1).collect();
        let scaled: Vec<f64> = triples
            .iter()
            .filter_map(|&(a, p, s)| s.map(|s| (f64::from(a) - f64::from(p)).abs() / s))
            .collect();
        let mase = match scaled.len() {
            0 => f64::NAN,
            n => scaled.iter().sum::<f64>() / n as f64,
        };
        [
            mae(&actual, &predicted),
            rmse(&actual, &predicted),
            smape(&actual, &predicted),
            mase,
        ]
    };
    names
        .iter()
        .enumerate()
        .map(|(f, name)| {
            let triples = |step: Option<usize>| -> Vec<(f32, f32, Option<f64>)> {
                cases
                    .iter()
                    .zip(&scales)
                    .flat_map(|(case, &scale)| {
                        let forecast = &case.forecasts[f];
                        assert_eq!(forecast.len(), case.actual.len(), "whole forecasts");
                        (0..case.actual.len())
                            .filter(move |&h| step.is_none_or(|s| s == h))
                            .map(move |h| (case.actual[h], forecast[h], scale))
                    })
                    .collect()
            };
            Errors {
                name: name.to_string(),
                by_step: (0..horizon).map(|h| measure(&triples(Some(h)))).collect(),
                overall: measure(&triples(None)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 values, 3 origins of 2 steps: 6, 7 and 8 (the last forecast ends at value 9).
    #[test]
    fn origins_by_hand() {
        assert_eq!(origins(10, 2, 3, 1).unwrap(), [6, 7, 8]);
        assert_eq!(origins(10, 2, 8, 1).unwrap(), (1..=8).collect::<Vec<_>>());
        let err = origins(10, 2, 10, 1).unwrap_err().to_string();
        assert_eq!(
            err,
            "10 origins of 2 steps need 12 values, the series has 10"
        );
        assert!(origins(10, 0, 3, 1).is_err());
        assert!(origins(3, 5, 1, 1).is_err());
    }

    /// Two origins, two steps. History 1, 2, 3 (naive in-sample MAE 1) and 1, 2, 3, 4 (also
    /// 1). Truth 4, 5 and 5, 6; the forecaster says 4, 7 and 5, 5: errors 0, 2 and 0, 1.
    /// Step 1: MAE 0; step 2: MAE 1.5, RMSE √2.5, MASE 1.5; overall MAE 0.75, MASE 0.75.
    #[test]
    fn scores_by_hand() {
        let cases = [
            Case {
                history: vec![1.0, 2.0, 3.0],
                actual: vec![4.0, 5.0],
                forecasts: vec![vec![4.0, 7.0]],
            },
            Case {
                history: vec![1.0, 2.0, 3.0, 4.0],
                actual: vec![5.0, 6.0],
                forecasts: vec![vec![5.0, 5.0]],
            },
        ];
        let [errors] = score(&cases, &["model"], 1).try_into().unwrap();
        assert_eq!(errors.name, "model");
        assert_eq!(errors.by_step[0], [0.0, 0.0, 0.0, 0.0]);
        let [mae, rmse, smape, mase] = errors.by_step[1];
        assert_eq!((mae, mase), (1.5, 1.5));
        assert!((rmse - 2.5f64.sqrt()).abs() < 1e-12);
        let expected_smape = 50.0 * (2.0 * 2.0 / 12.0 + 2.0 / 11.0);
        assert!((smape - expected_smape).abs() < 1e-9, "{smape}");
        assert_eq!((errors.overall[0], errors.overall[3]), (0.75, 0.75));
    }
}
