//! Error measures of a forecast or of predictions against the truth.

/// The mean squared error over the pairs of `actual` and `predicted` (as many as the shorter
/// has; 0 for none).
pub fn mse(actual: &[f32], predicted: &[f32]) -> f64 {
    let n = actual.len().min(predicted.len());
    let sum: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(&a, &p)| (f64::from(a) - f64::from(p)).powi(2))
        .sum();
    sum / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors 1 and 3 give (1 + 9) / 2 = 5; a longer side is cut to the shorter.
    #[test]
    fn mse_by_hand() {
        assert_eq!(mse(&[1.0, 2.0], &[2.0, 5.0]), 5.0);
        assert_eq!(mse(&[1.0, 2.0, 7.0], &[2.0, 5.0]), 5.0);
        assert_eq!(mse(&[], &[]), 0.0);
    }
}
