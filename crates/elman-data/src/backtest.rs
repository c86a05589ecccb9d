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

/// How often a forecaster's intervals held the truth in a backtest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Forecasts that had intervals (enough known errors before their origin).
    pub forecasts: usize,
    /// True values scored.
    pub values: usize,
    /// Of those, inside the 80% interval.
    pub inside80: usize,
    /// Of those, inside the 95% interval.
    pub inside95: usize,
}

/// Known errors a forecast needs before its origin for intervals of its own.
pub const MIN_KNOWN_ERRORS: usize = 10;

/// The coverage of the intervals forecaster `forecaster` would have had in `cases`, the
/// forecasts of one series from the origins `origins` (earliest first): each forecast's
/// intervals are [`crate::ensemble`]'s from the errors of the earlier forecasts at the steps
/// whose truth was known at its origin (step `h` of a forecast from `o` is known from
/// `o + h + 1` on), so that no interval uses a value after its own origin; a forecast with
/// fewer than [`MIN_KNOWN_ERRORS`] such errors is not scored.
///
/// # Panics
///
/// If `cases` and `origins` differ in length.
pub fn interval_coverage(cases: &[Case], origins: &[usize], forecaster: usize) -> Coverage {
    assert_eq!(cases.len(), origins.len(), "an origin per case");
    let errors: Vec<Vec<f64>> = cases
        .iter()
        .map(|c| {
            c.actual
                .iter()
                .zip(&c.forecasts[forecaster])
                .map(|(&a, &p)| f64::from(a) - f64::from(p))
                .collect()
        })
        .collect();
    let mut coverage = Coverage::default();
    for (i, case) in cases.iter().enumerate() {
        let known: Vec<Vec<f64>> = (0..i)
            .map(|j| {
                let steps = origins[i].saturating_sub(origins[j]);
                errors[j][..steps.min(errors[j].len())].to_vec()
            })
            .filter(|e| !e.is_empty())
            .collect();
        if known.iter().map(Vec::len).sum::<usize>() < MIN_KNOWN_ERRORS {
            continue;
        }
        let forecast: Vec<f64> = case.forecasts[forecaster]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let intervals = crate::ensemble(&[forecast], &known);
        coverage.forecasts += 1;
        for (h, &truth) in case.actual.iter().enumerate() {
            let truth = f64::from(truth);
            coverage.values += 1;
            coverage.inside80 +=
                usize::from(intervals.lo80[h] <= truth && truth <= intervals.hi80[h]);
            coverage.inside95 +=
                usize::from(intervals.lo95[h] <= truth && truth <= intervals.hi95[h]);
        }
    }
    coverage
}

impl std::ops::Add for Coverage {
    type Output = Coverage;

    /// Both backtests' counts together.
    fn add(self, other: Coverage) -> Coverage {
        Coverage {
            forecasts: self.forecasts + other.forecasts,
            values: self.values + other.values,
            inside80: self.inside80 + other.inside80,
            inside95: self.inside95 + other.inside95,
        }
    }
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

    /// Origins 0, 1, 2 of two-step forecasts whose errors are always 1 then 2. The third
    /// forecast knows the first's two errors (its origin is two steps later) and the second's
    /// first: too few with the minimum of 10, so nothing is scored; with a series of a hundred
    /// such origins every later forecast has intervals, each step's error the same as the
    /// known ones, and inside them.
    #[test]
    fn coverage_uses_only_known_errors() {
        let case = |o: usize| Case {
            history: vec![0.0; o + 1],
            actual: vec![1.0, 2.0],
            forecasts: vec![vec![0.0, 0.0]],
        };
        let few: Vec<Case> = (0..3).map(case).collect();
        assert_eq!(interval_coverage(&few, &[0, 1, 2], 0), Coverage::default());
        let many: Vec<Case> = (0..100).map(case).collect();
        let origins: Vec<usize> = (0..100).collect();
        let coverage = interval_coverage(&many, &origins, 0);
        // Origin i knows 2 (i - 1) + 1 errors: 10 or more from origin 6 on.
        assert_eq!(coverage.forecasts, 94);
        assert_eq!(coverage.values, 188);
        // s² = mean(e²/h) = (1 + 4/2) / 2 = 1.5: step 1's 80% bound is 1.28 sqrt(1.5) = 1.57,
        // above its error of 1; step 2's is 1.28 sqrt(3) = 2.22, above 2.
        assert_eq!((coverage.inside80, coverage.inside95), (188, 188));
    }
}
