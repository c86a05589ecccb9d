//! Error measures of a forecast or of predictions against the truth, over the pairs of
//! `actual` and `predicted` (as many as the shorter has):
//!
//! ```text
//! MSE    Σ (a - p)² / n                  RMSE   √MSE
//! MAE    Σ |a - p| / n
//! sMAPE  100 / n · Σ 2 |a - p| / (|a| + |p|)          (a term with a = p = 0 counts 0)
//! MASE   MAE / (Σ_t |h_t - h_{t-m}| / (T - m))       (h the T in-sample values, m the season)
//! ```

/// The pairs of `actual` and `predicted`, in `f64`.
fn pairs<'a>(actual: &'a [f32], predicted: &'a [f32]) -> impl Iterator<Item = (f64, f64)> + 'a {
    actual
        .iter()
        .zip(predicted)
        .map(|(&a, &p)| (f64::from(a), f64::from(p)))
}

/// The mean of `values` over `n` (0 for none).
fn mean(sum: f64, n: usize) -> f64 {
    sum / n.max(1) as f64
}

/// The mean squared error (0 for no pairs).
pub fn mse(actual: &[f32], predicted: &[f32]) -> f64 {
    let n = actual.len().min(predicted.len());
    mean(
        pairs(actual, predicted).map(|(a, p)| (a - p).powi(2)).sum(),
        n,
    )
}

/// The root of the mean squared error.
pub fn rmse(actual: &[f32], predicted: &[f32]) -> f64 {
    mse(actual, predicted).sqrt()
}

/// The mean absolute error.
pub fn mae(actual: &[f32], predicted: &[f32]) -> f64 {
    let n = actual.len().min(predicted.len());
    mean(
        pairs(actual, predicted).map(|(a, p)| (a - p).abs()).sum(),
        n,
    )
}

/// The symmetric mean absolute percentage error, in percent (0 to 200).
pub fn smape(actual: &[f32], predicted: &[f32]) -> f64 {
    let n = actual.len().min(predicted.len());
    let terms = pairs(actual, predicted).map(|(a, p)| {
        let scale = a.abs() + p.abs();
        if scale == 0.0 {
            0.0
        } else {
            2.0 * (a - p).abs() / scale
        }
    });
    100.0 * mean(terms.sum(), n)
}

/// The mean absolute scaled error: the MAE over the in-sample MAE of the seasonal-naive
/// forecast of `history` with `season` (0 or 1: the naive one, the last value). `None` when the
/// history is too short for the season or that scale is 0.
pub fn mase(actual: &[f32], predicted: &[f32], history: &[f32], season: usize) -> Option<f64> {
    seasonal_scale(history, season).map(|scale| mae(actual, predicted) / scale)
}

/// MASE's scale: the in-sample MAE of the seasonal-naive forecast of `history` with `season`
/// (0 or 1: the naive one), `Σ_t |h_t - h_{t-m}| / (T - m)`; `None` when the history is too
/// short for the season or the scale is 0.
pub fn seasonal_scale(history: &[f32], season: usize) -> Option<f64> {
    let m = season.max(1);
    if history.len() <= m {
        return None;
    }
    let scale = mean(
        (m..history.len())
            .map(|t| (f64::from(history[t]) - f64::from(history[t - m])).abs())
            .sum(),
        history.len() - m,
    );
    (scale > 0.0 && scale.is_finite()).then_some(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors 1 and 3: MSE (1 + 9) / 2 = 5, MAE 2; a longer side is cut to the shorter.
    /// sMAPE of 1 against 2 and 2 against 5: 100 / 2 · (2/3 + 6/7) = 76.19…; MASE against the
    /// history 1, 2, 4 (naive errors 1 and 2, scale 1.5): 2 / 1.5.
    #[test]
    fn metrics_by_hand() {
        let (actual, predicted) = ([1.0, 2.0], [2.0, 5.0]);
        assert_eq!(mse(&actual, &predicted), 5.0);
        assert_eq!(mse(&[1.0, 2.0, 7.0], &predicted), 5.0);
        assert_eq!(mse(&[], &[]), 0.0);
        assert_eq!(rmse(&actual, &predicted), 5f64.sqrt());
        assert_eq!(mae(&actual, &predicted), 2.0);
        let smape = smape(&actual, &predicted);
        assert!(
            (smape - 50.0 * (2.0 / 3.0 + 6.0 / 7.0)).abs() < 1e-12,
            "{smape}"
        );
        assert_eq!(super::smape(&[0.0], &[0.0]), 0.0);
        let mase = mase(&actual, &predicted, &[1.0, 2.0, 4.0], 1).unwrap();
        assert!((mase - 2.0 / 1.5).abs() < 1e-12, "{mase}");
        assert_eq!(super::mase(&actual, &predicted, &[3.0, 3.0], 1), None);
        assert_eq!(super::mase(&actual, &predicted, &[1.0, 2.0], 2), None);
    }
}
