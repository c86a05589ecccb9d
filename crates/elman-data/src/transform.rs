//! What a network learns of a series instead of its levels: the natural log (for a positive
//! series), then the seasonal pattern taken out, then differences over one or more lags, and the
//! way back to levels, for a forecast that runs on its own results and for a one-step
//! prediction made from the true past.
//!
//! The seasonal adjustment is the classical decomposition's: a centred moving average over one
//! cycle is the trend, the mean of each phase's distance from it (made to sum to 0) is that
//! phase's index, and row `t` loses the index of phase `t mod cycle`; on logged values the
//! indices are factors. They are fitted on the rows a run trains and validates on alone
//! ([`Transform::fitted`]), so the held-out tail never shapes them.
//!
//! Differencing over the lags `l1, l2, ...` is the operator `(1 - B^l1)(1 - B^l2)...` (`B` the
//! step back); expanded, `z[t] = y[t] + Σ c_k y[t - k]` with integer `c_k`, so the level is the
//! change plus what the past decides: `y[t] = z[t] - Σ c_k y[t - k]`.

use crate::DataError;

/// The log (or not), the seasonal adjustment (or not), then the differences, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transform {
    /// Take the natural log of the levels first (every level must be above 0).
    pub log: bool,
    /// Take out the seasonal pattern of this cycle (0: none).
    pub adjust: usize,
    /// Difference over each of these lags in turn (none: the levels themselves).
    pub lags: Vec<usize>,
    /// The seasonal indices by phase, once fitted ([`Transform::fitted`]); empty before.
    pub indices: Vec<f32>,
}

impl Transform {
    /// No transformation: the levels themselves.
    pub fn none() -> Self {
        Self::default()
    }

    /// The change over one lag (0: the levels), as `csv.difference = lag` says.
    pub fn lag(lag: usize) -> Self {
        Self {
            lags: (lag > 0).then_some(lag).into_iter().collect(),
            ..Self::default()
        }
    }

    /// This transformation with its seasonal indices fitted on `logged` (the logged levels of
    /// the rows trained and validated on, from row 0); an error when they hold fewer than two
    /// cycles. Without an adjustment, itself.
    pub fn fitted(&self, logged: &[f32]) -> Result<Self, DataError> {
        let cycle = self.adjust;
        if cycle == 0 {
            return Ok(self.clone());
        }
        let n = logged.len();
        if cycle < 2 || n < 2 * cycle + 1 {
            return Err(DataError::TooShort(format!(
                "csv.deseasonalize with a season of {cycle} needs at least {} rows before the held-out ones, there are {n}",
                2 * cycle + 1
            )));
        }
        // The centred moving average over one cycle (for an even cycle, cycle + 1 values with
        // half weights at both ends).
        let weights: Vec<f64> = if cycle.is_multiple_of(2) {
            let mut w = vec![1.0; cycle + 1];
            w[0] = 0.5;
            w[cycle] = 0.5;
            w
        } else {
            vec![1.0; cycle]
        };
        let half = (weights.len() - 1) / 2;
        let mut sums = vec![0.0f64; cycle];
        let mut counts = vec![0usize; cycle];
        for t in half..n - half {
            let trend: f64 = weights
                .iter()
                .enumerate()
                .map(|(j, w)| w * f64::from(logged[t - half + j]))
                .sum::<f64>()
                / cycle as f64;
            sums[t % cycle] += f64::from(logged[t]) - trend;
            counts[t % cycle] += 1;
        }
        let raw: Vec<f64> = sums
            .iter()
            .zip(&counts)
            .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect();
        let centre = raw.iter().sum::<f64>() / cycle as f64;
        Ok(Self {
            indices: raw.iter().map(|v| (v - centre) as f32).collect(),
            ..self.clone()
        })
    }

    /// The index of row `t`'s phase (0 without an adjustment).
    fn index(&self, t: usize) -> f32 {
        match self.indices.len() {
            0 => 0.0,
            cycle => self.indices[t % cycle],
        }
    }

    /// `logged` (from row `from` on) with the seasonal pattern taken out.
    fn adjusted(&self, logged: &[f32], from: usize) -> Vec<f32> {
        logged
            .iter()
            .enumerate()
            .map(|(i, &v)| v - self.index(from + i))
            .collect()
    }

    /// Rows the differences use up at the start: the sum of the lags.
    pub fn span(&self) -> usize {
        self.lags.iter().sum()
    }

    /// Whether the network learns the levels as they are.
    pub fn is_identity(&self) -> bool {
        !self.log && self.adjust == 0 && self.lags.is_empty()
    }

    /// The expanded operator's terms `(k, c_k)` for `k >= 1` with `c_k != 0`, by `k`.
    fn terms(&self) -> Vec<(usize, f32)> {
        let mut coefficients = vec![1i64];
        for &lag in &self.lags {
            let mut next = vec![0i64; coefficients.len() + lag];
            for (k, &c) in coefficients.iter().enumerate() {
                next[k] += c;
                next[k + lag] -= c;
            }
            coefficients = next;
        }
        coefficients
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(_, &c)| c != 0)
            .map(|(k, &c)| (k, c as f32))
            .collect()
    }

    /// The levels as the network's arithmetic sees them: logged where asked, else as they are.
    /// A level at or below 0 cannot be logged: the error names its row.
    pub fn logged(&self, levels: &[f32], column: &str) -> Result<Vec<f32>, DataError> {
        if !self.log {
            return Ok(levels.to_vec());
        }
        if let Some(row) = levels.iter().position(|&v| v <= 0.0 || !v.is_finite()) {
            return Err(DataError::NotPositive(format!(
                "csv.log takes the log of `{column}`, but row {} is {}: the log needs values above 0",
                row + 1,
                levels[row]
            )));
        }
        Ok(levels.iter().map(|v| v.ln()).collect())
    }

    /// What the network learns from the (logged) levels of rows 0 on: one value per row from
    /// [`Transform::span`] on (the adjustment's indices must be fitted).
    pub fn apply(&self, logged: &[f32]) -> Vec<f32> {
        let terms = self.terms();
        let adjusted = self.adjusted(logged, 0);
        (self.span().min(logged.len())..logged.len())
            .map(|t| value_at(&adjusted, t, &terms))
            .collect()
    }

    /// The levels of a forecast: `changes` (one per step, what the network learns) continued
    /// after the levels `history` (rows 0 on), each step building on the ones before it, then
    /// the seasonal pattern put back and out of the log.
    ///
    /// # Panics
    ///
    /// If `history` holds fewer than [`Transform::span`] levels.
    pub fn levels_after(&self, history: &[f32], changes: &[f32]) -> Vec<f32> {
        let span = self.span();
        assert!(history.len() >= span, "a forecast needs the lags' levels");
        let terms = self.terms();
        let first = history.len() - span;
        let mut adjusted = self.adjusted(&self.logged_unchecked(&history[first..]), first);
        for &change in changes {
            let t = adjusted.len();
            adjusted.push(level_at(&adjusted, t, change, &terms));
        }
        let logged: Vec<f32> = adjusted[span..]
            .iter()
            .enumerate()
            .map(|(i, &v)| v + self.index(history.len() + i))
            .collect();
        self.unlogged(&logged)
    }

    /// The levels of one-step predictions: prediction `i` is the change at row `first + i`
    /// of `levels`, added onto the true levels before that row.
    ///
    /// # Panics
    ///
    /// If `first` is below [`Transform::span`] or the predictions run past `levels`.
    pub fn levels_at(&self, levels: &[f32], first: usize, changes: &[f32]) -> Vec<f32> {
        assert!(
            first >= self.span(),
            "one-step levels need the lags' levels"
        );
        let terms = self.terms();
        let logged = self.logged_unchecked(&levels[..(first + changes.len()).saturating_sub(1)]);
        let adjusted = self.adjusted(&logged, 0);
        let levels: Vec<f32> = changes
            .iter()
            .enumerate()
            .map(|(i, &change)| {
                level_at(&adjusted, first + i, change, &terms) + self.index(first + i)
            })
            .collect();
        self.unlogged(&levels)
    }

    /// `levels` logged where asked, with no check (they came through [`Transform::logged`]).
    fn logged_unchecked(&self, levels: &[f32]) -> Vec<f32> {
        levels
            .iter()
            .map(|&v| if self.log { v.ln() } else { v })
            .collect()
    }

    /// Out of the log, where there was one.
    fn unlogged(&self, values: &[f32]) -> Vec<f32> {
        values
            .iter()
            .map(|&v| if self.log { v.exp() } else { v })
            .collect()
    }
}

/// The change at row `t`: `y[t] + Σ c_k y[t - k]`.
fn value_at(logged: &[f32], t: usize, terms: &[(usize, f32)]) -> f32 {
    terms
        .iter()
        .fold(logged[t], |sum, &(k, c)| sum + c * logged[t - k])
}

/// The level at row `t` from its change and the levels before: `z - Σ c_k y[t - k]`, the
/// terms added onto what the past decides first (for one lag, exactly `y[t - lag] + z`).
fn level_at(logged: &[f32], t: usize, change: f32, terms: &[(usize, f32)]) -> f32 {
    if terms.is_empty() {
        return change;
    }
    let past = terms
        .iter()
        .fold(0.0f32, |sum, &(k, c)| sum - c * logged[t - k]);
    past + change
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lags 1 then 2: `(1 - B)(1 - B²) = 1 - B - B² + B³`. The levels 1, 2, 4, 7, 11, 16 give
    /// first differences 1, 2, 3, 4, 5, whose changes over two rows are 2, 2, 2; forecasting
    /// two more changes of 2 continues the levels 22, 29 (differences 6, 7).
    #[test]
    fn two_lags_by_hand() {
        let both = Transform {
            lags: vec![1, 2],
            ..Transform::none()
        };
        assert_eq!(both.terms(), [(1, -1.0), (2, -1.0), (3, 1.0)]);
        let levels = [1.0, 2.0, 4.0, 7.0, 11.0, 16.0];
        assert_eq!(both.apply(&levels), [2.0, 2.0, 2.0]);
        assert_eq!(both.levels_after(&levels, &[2.0, 2.0]), [22.0, 29.0]);
        // One step ahead from the true past: a change of 3 at row 4 is 1 more than the truth.
        assert_eq!(both.levels_at(&levels, 4, &[3.0, 2.0]), [12.0, 16.0]);
        assert_eq!(Transform::lag(0), Transform::none());
        assert_eq!(Transform::lag(2).apply(&levels), [3.0, 5.0, 7.0, 9.0]);
    }

    /// The log of 1, e, e² changes by 1 a row; two more changes of 1 are e³ and e⁴; a level of
    /// 0 cannot be logged and the error names its row.
    #[test]
    fn the_log_by_hand() {
        let log = Transform {
            log: true,
            lags: vec![1],
            ..Transform::none()
        };
        let e = std::f32::consts::E;
        let logged = log.logged(&[1.0, e, e * e], "y").unwrap();
        let changes = log.apply(&logged);
        assert!(
            changes.iter().all(|c| (c - 1.0).abs() < 1e-6),
            "{changes:?}"
        );
        let ahead = log.levels_after(&[1.0, e, e * e], &[1.0, 1.0]);
        assert!((ahead[0] - e.powi(3)).abs() < 1e-4 && (ahead[1] - e.powi(4)).abs() < 1e-3);
        let err = log.logged(&[1.0, 0.0], "y").unwrap_err().to_string();
        assert!(err.contains("row 2 is 0"), "{err}");
    }

    /// Forecasting the changes a series really has gives its levels back, and one-step
    /// predictions of the true changes are the true levels, for every transformation.
    #[test]
    fn the_way_back_inverts_the_way_there() {
        let levels: Vec<f32> = (0..40)
            .map(|t| 10.0 + 0.3 * t as f32 + (t as f32 * 0.7).sin())
            .collect();
        for (log, adjust) in [(false, 0), (true, 0), (false, 4), (true, 4)] {
            for lags in [vec![], vec![1], vec![4], vec![1, 4]] {
                let transform = Transform {
                    log,
                    adjust,
                    lags,
                    indices: vec![],
                };
                let logged = transform.logged(&levels, "y").unwrap();
                let transform = transform.fitted(&logged[..30]).unwrap();
                let changes = transform.apply(&logged);
                let span = transform.span();
                assert_eq!(changes.len(), levels.len() - span);
                let cut = 30;
                let ahead = transform.levels_after(&levels[..cut], &changes[cut - span..]);
                let at = transform.levels_at(&levels, cut, &changes[cut - span..]);
                for (t, (&a, &b)) in ahead.iter().zip(&at).enumerate() {
                    let truth = levels[cut + t];
                    assert!(
                        (a - truth).abs() < 1e-3,
                        "{transform:?} ahead {t}: {a} {truth}"
                    );
                    assert!(
                        (b - truth).abs() < 1e-3,
                        "{transform:?} at {t}: {b} {truth}"
                    );
                }
            }
        }
    }

    /// A cycle of 4 with the pattern +3, -1, -1, -1 on a straight line: the moving average is
    /// the line, so the indices are the pattern; taken out, the line is left, and its first
    /// difference is the slope; fewer than two cycles and one row cannot be adjusted.
    #[test]
    fn the_seasonal_adjustment_by_hand() {
        let pattern = [3.0, -1.0, -1.0, -1.0];
        let levels: Vec<f32> = (0..16).map(|t| 2.0 * t as f32 + pattern[t % 4]).collect();
        let adjust = Transform {
            adjust: 4,
            lags: vec![1],
            ..Transform::none()
        }
        .fitted(&levels)
        .unwrap();
        for (index, want) in adjust.indices.iter().zip(pattern) {
            assert!((index - want).abs() < 1e-5, "{:?}", adjust.indices);
        }
        assert!(adjust.apply(&levels).iter().all(|v| (v - 2.0).abs() < 1e-5));
        // Forecasting a slope of 2 continues the line with the pattern put back.
        let ahead = adjust.levels_after(&levels, &[2.0, 2.0]);
        assert!(
            (ahead[0] - 35.0).abs() < 1e-4 && (ahead[1] - 33.0).abs() < 1e-4,
            "{ahead:?}"
        );
        let short = Transform {
            adjust: 4,
            ..Transform::none()
        };
        let err = short.fitted(&levels[..8]).unwrap_err().to_string();
        assert!(err.contains("at least 9 rows"), "{err}");
    }
}
