//! The arithmetic of a forecast that makes its own choices: the season (from the calendar, or
//! the autocorrelation), the candidates it tries (transformations, then windows), where its
//! rolling-origin validation cuts the series, and the ensemble's mean and intervals.

use crate::{DataError, TimeColumn, Transform};

/// The seasonal cycle of `levels` and where it came from: the calendar's where the time column
/// is of dates with one (12 for monthly, 4 quarterly, 52 weekly, 7 daily) and the series holds
/// two cycles, else the autocorrelation's.
pub fn season_of(time: Option<&TimeColumn>, levels: &[f32]) -> (usize, &'static str) {
    match time.and_then(TimeColumn::calendar_season) {
        Some(season) if 2 * season < levels.len() => (season, "calendar"),
        _ => (autocorrelation_season(levels), "autocorrelation"),
    }
}

/// The lag, from 2 to a third of the series, at which the autocorrelation of the first
/// differences has its highest local peak among those clearly above noise (above 0.2 and three
/// standard errors by Bartlett's formula, `sqrt((1 + 2 Σ_{k<lag} r_k²) / n)`, and above 0.1 at
/// twice the lag where that is in range), or the shortest such peak that divides it (a cycle of
/// 12 also peaks at 24); 0 when none is.
pub fn autocorrelation_season(levels: &[f32]) -> usize {
    let changes: Vec<f64> = levels
        .windows(2)
        .map(|w| f64::from(w[1]) - f64::from(w[0]))
        .collect();
    let n = changes.len();
    let max_lag = (n / 3).min(400);
    if max_lag < 3 {
        return 0;
    }
    let mean = changes.iter().sum::<f64>() / n as f64;
    let variance: f64 = changes.iter().map(|c| (c - mean).powi(2)).sum();
    if variance <= 0.0 {
        return 0;
    }
    let acf: Vec<f64> = (0..=max_lag + 1)
        .map(|lag| {
            (lag..n)
                .map(|t| (changes[t] - mean) * (changes[t - lag] - mean))
                .sum::<f64>()
                / variance
        })
        .collect();
    let significant: Vec<usize> = (2..=max_lag)
        .filter(|&lag| acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1])
        .filter(|&lag| {
            let squares: f64 = acf[1..lag].iter().map(|r| r * r).sum();
            let error = ((1.0 + 2.0 * squares) / n as f64).sqrt();
            // A season repeats: where twice the lag is in range, it peaks there too.
            let repeats = 2 * lag > max_lag || acf[2 * lag] > 0.1;
            acf[lag] > 0.2 && acf[lag] > 3.0 * error && repeats
        })
        .collect();
    let Some(&highest) = significant
        .iter()
        .max_by(|&&a, &&b| acf[a].total_cmp(&acf[b]))
    else {
        return 0;
    };
    significant
        .into_iter()
        .find(|&lag| highest.is_multiple_of(lag))
        .unwrap_or(highest)
}

/// The transformations a forecast tries: the levels, the first difference, the seasonal
/// difference and both, and (where there is a season and two cycles to fit it on) the
/// seasonally adjusted levels and their first difference; each also of the log where every
/// value is above 0.
pub fn transforms(levels: &[f32], season: usize) -> Vec<Transform> {
    let mut shapes = vec![(0, vec![]), (0, vec![1])];
    if season >= 2 {
        shapes.push((0, vec![season]));
        shapes.push((0, vec![1, season]));
        if levels.len() > 3 * season {
            shapes.push((season, vec![]));
            shapes.push((season, vec![1]));
        }
    }
    let positive = levels.iter().all(|&v| v > 0.0 && v.is_finite());
    [false, true]
        .into_iter()
        .filter(|&log| !log || positive)
        .flat_map(|log| {
            shapes.iter().map(move |(adjust, lags)| Transform {
                log,
                adjust: *adjust,
                lags: lags.clone(),
                indices: Vec::new(),
            })
        })
        .collect()
}

/// The windows a forecast tries: two seasons (at least 8 steps, and twice the horizon for a
/// series with no season), then twice that.
pub fn candidate_windows(season: usize, horizon: usize) -> [usize; 2] {
    let base = if season >= 2 {
        (2 * season).max(8)
    } else {
        (2 * horizon).clamp(8, 64)
    };
    [base, 2 * base]
}

/// The origins of the rolling-origin validation over the last `count` horizons of a series of
/// `rows` values: every step from the earliest of `rows - count horizon`, ...,
/// `rows - 2 horizon` that leaves at least `min_train` values before it, to the last whole
/// horizon, `rows - horizon`. A forecast from every step costs no training (the networks train
/// once, up to the earliest) and scores a candidate on every phase of the season. An error
/// when not even `rows - horizon` leaves `min_train` values.
pub fn validation_origins(
    rows: usize,
    horizon: usize,
    count: usize,
    min_train: usize,
) -> Result<Vec<usize>, DataError> {
    let earliest = (1..=count)
        .map_while(|k| rows.checked_sub(k * horizon))
        .take_while(|&origin| origin >= min_train)
        .last();
    let Some(earliest) = earliest else {
        return Err(DataError::TooShort(format!(
            "{rows} values are too few to validate a forecast of {horizon} steps: it needs at least {}",
            min_train + horizon
        )));
    };
    Ok((earliest..=rows - horizon).collect())
}

/// The median of `values` (NaN for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The mean of `values` (NaN for none).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// An ensemble's forecast: the mean of its members' at each step, and intervals around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// The mean forecast, one value per step.
    pub mean: Vec<f64>,
    /// The 80% interval's bounds at each step.
    pub lo80: Vec<f64>,
    /// See [`Ensemble::lo80`].
    pub hi80: Vec<f64>,
    /// The 95% interval's bounds at each step.
    pub lo95: Vec<f64>,
    /// See [`Ensemble::lo95`].
    pub hi95: Vec<f64>,
}

/// The standard normal's quantiles for the central 80% and 95%.
const Z80: f64 = 1.281_551_565_545;
const Z95: f64 = 1.959_963_984_540;

/// The ensemble forecast of `members` (each one forecast of the same steps), with intervals
/// whose width at step `h` (from 1) combines the members' spread there with the validation's
/// error: `σ_h² = s² h + var_h`, where `s²` is the mean of `e²/h` over the validation errors
/// `validation[o][h - 1]` (a forecast's error grows about as the square root of the steps
/// ahead) and `var_h` the members' variance; the bounds are the mean `± z σ_h`. The mean, not
/// the median: over the networks of several candidates the median follows whichever
/// candidate has the most seeds near the middle, and on the suite of `bench/forecast` the
/// mean forecast better.
///
/// # Panics
///
/// If there are no members or they differ in length.
pub fn ensemble(members: &[Vec<f64>], validation: &[Vec<f64>]) -> Ensemble {
    let steps = members[0].len();
    assert!(members.iter().all(|m| m.len() == steps), "equal forecasts");
    let scaled: Vec<f64> = validation
        .iter()
        .flat_map(|errors| {
            errors
                .iter()
                .enumerate()
                .map(|(h, e)| e * e / (h + 1) as f64)
        })
        .collect();
    let s2 = if scaled.is_empty() {
        0.0
    } else {
        mean(&scaled)
    };
    let mut out = Ensemble {
        mean: Vec::with_capacity(steps),
        lo80: Vec::with_capacity(steps),
        hi80: Vec::with_capacity(steps),
        lo95: Vec::with_capacity(steps),
        hi95: Vec::with_capacity(steps),
    };
    for h in 0..steps {
        let at: Vec<f64> = members.iter().map(|m| m[h]).collect();
        let centre = mean(&at);
        let spread = at.iter().map(|v| (v - centre).powi(2)).sum::<f64>() / at.len() as f64;
        let sigma = (s2 * (h + 1) as f64 + spread).sqrt();
        out.mean.push(centre);
        out.lo80.push(centre - Z80 * sigma);
        out.hi80.push(centre + Z80 * sigma);
        out.lo95.push(centre - Z95 * sigma);
        out.hi95.push(centre + Z95 * sigma);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wave of period 12 with a trend has its season at 12; noise with no cycle has none.
    #[test]
    fn the_season_of_a_wave_and_of_noise() {
        let wave: Vec<f32> = (0..144)
            .map(|t| 0.05 * t as f32 + (t as f32 * std::f32::consts::TAU / 12.0).sin())
            .collect();
        assert_eq!(autocorrelation_season(&wave), 12);
        let mut state = 12345u64;
        let noise: Vec<f32> = (0..200)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        assert_eq!(autocorrelation_season(&noise), 0);
        assert_eq!(season_of(None, &wave), (12, "autocorrelation"));
    }

    /// Eight transformations for a short positive seasonal series, twelve for a longer one,
    /// two for a series with values at or below 0 and no season.
    #[test]
    fn the_candidates() {
        let positive = transforms(&[1.0, 2.0, 3.0], 12);
        assert_eq!(positive.len(), 8);
        assert_eq!(
            positive[7],
            Transform {
                log: true,
                lags: vec![1, 12],
                ..Transform::none()
            }
        );
        let long = transforms(&[1.0; 40], 12);
        assert_eq!(long.len(), 12);
        assert_eq!(
            long[11],
            Transform {
                log: true,
                adjust: 12,
                lags: vec![1],
                ..Transform::none()
            }
        );
        let signed = transforms(&[1.0, -2.0, 3.0], 0);
        assert_eq!(signed, [Transform::none(), Transform::lag(1)]);
        assert_eq!(candidate_windows(12, 18), [24, 48]);
        assert_eq!(candidate_windows(0, 10), [20, 40]);
        assert_eq!(candidate_windows(0, 1), [8, 16]);
    }

    /// 100 rows, horizon 10: origins 70 to 90; with at least 75 to train on 80 to 90; with 90,
    /// only 90; with 95 none, an error naming what it needs.
    #[test]
    fn validation_origins_by_hand() {
        let every = |from: usize| (from..=90).collect::<Vec<_>>();
        assert_eq!(validation_origins(100, 10, 3, 20).unwrap(), every(70));
        assert_eq!(validation_origins(100, 10, 3, 75).unwrap(), every(80));
        assert_eq!(validation_origins(100, 10, 3, 90).unwrap(), [90]);
        let err = validation_origins(100, 10, 3, 95).unwrap_err().to_string();
        assert!(err.contains("needs at least 105"), "{err}");
    }

    /// Three members 1, 2, 6 at one step: mean 3, variance 14/3; with no validation error the
    /// 95% interval is 3 ± 1.96 sqrt(14/3); validation errors of 2 at step 1 and 4 at step 2
    /// give s² = (4 + 8) / 2 = 6, so step 1 of identical members is 2 ± z sqrt(6).
    #[test]
    fn the_ensemble_by_hand() {
        let spread = ensemble(&[vec![1.0], vec![2.0], vec![6.0]], &[]);
        assert_eq!(spread.mean, [3.0]);
        let sigma = (14.0f64 / 3.0).sqrt();
        assert!((spread.hi95[0] - (3.0 + Z95 * sigma)).abs() < 1e-12);
        let validated = ensemble(&vec![vec![2.0, 2.0]; 3], &[vec![2.0, 4.0]]);
        assert!((validated.lo80[0] - (2.0 - Z80 * 6f64.sqrt())).abs() < 1e-12);
        assert!((validated.hi95[1] - (2.0 + Z95 * 12f64.sqrt())).abs() < 1e-12);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    /// Standard normal draws from an LCG and Box–Muller.
    fn normals(seed: u64, n: usize) -> Vec<f64> {
        let mut state = seed;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let (u, v) = (uniform(), uniform());
                (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            })
            .collect()
    }

    /// Forecasts whose errors grow as a random walk's (the error at step h has variance
    /// 4 h): from validation errors of the same kind, the intervals hold about 80% and 95% of
    /// new truths, at every step; and the forecast is the members' mean.
    #[test]
    fn the_intervals_cover_what_they_say() {
        let steps = 6;
        let walk = |seed: u64| -> Vec<f64> {
            normals(seed, steps)
                .iter()
                .scan(0.0, |sum, e| {
                    *sum += 2.0 * e;
                    Some(*sum)
                })
                .collect()
        };
        let validation: Vec<Vec<f64>> = (0..200).map(|k| walk(1000 + k)).collect();
        let members = vec![vec![10.0; steps], vec![10.2; steps], vec![9.8; steps]];
        let forecast = ensemble(&members, &validation);
        for h in 0..steps {
            assert!(
                (forecast.mean[h] - 10.0).abs() < 1e-12,
                "{}",
                forecast.mean[h]
            );
        }
        let (mut in80, mut in95) = (vec![0usize; steps], vec![0usize; steps]);
        let trials = 4000;
        for k in 0..trials {
            let error = walk(k);
            for h in 0..steps {
                let truth = 10.0 + error[h];
                in80[h] += usize::from(forecast.lo80[h] <= truth && truth <= forecast.hi80[h]);
                in95[h] += usize::from(forecast.lo95[h] <= truth && truth <= forecast.hi95[h]);
            }
        }
        for h in 0..steps {
            let (c80, c95) = (
                in80[h] as f64 / trials as f64,
                in95[h] as f64 / trials as f64,
            );
            assert!((0.76..0.86).contains(&c80), "step {h}: 80% covered {c80}");
            assert!((0.93..0.975).contains(&c95), "step {h}: 95% covered {c95}");
        }
    }
}
