//! The choices of `elman forecast`, by rolling-origin validation: each candidate's networks
//! (a few seeds) train on the series up to the earliest of the last few horizons, then
//! forecast a horizon in closed loop from every later step, from the true values before it;
//! the median of the seeds' forecasts (one diverging seed does not sink a candidate) is scored
//! by MASE (the in-sample seasonal-naive scale, as the M4 competition scores), averaged over
//! the origins. First the transformations at the
//! shorter window, then the longer window for the best of them. The forecast is the mean over
//! the networks of the best `k` candidates, `k` the count whose mean validates best: one
//! candidate's validation score is a noisy guide on a short series, and on the suite of
//! `bench/forecast` a combination sized by its own validation forecast better than the best
//! candidate alone and than a fixed rule. Where even that combination does not validate clearly
//! better than the better simple forecast (`simple.rs`), the forecast is that one. Candidates
//! and seeds train at once over the cores (rayon).

use anyhow::{Result, bail};
use burn::prelude::Device;
use elman_data::{Forecast, Table, Transform, mase, mean, median, smape, validation_origins};
use rayon::prelude::*;

use super::recipe::{Candidate, Recipe};
use super::simple::{Simple, networks_win};

/// Seeds a candidate is validated with (at most; fewer for a smaller ensemble).
const VALIDATION_SEEDS: usize = 3;

/// One candidate's validation.
#[derive(Debug, Clone)]
pub struct Scored {
    /// What it tried.
    pub candidate: Candidate,
    /// The mean MASE over the origins (infinite where a forecast was not finite).
    pub mase: f64,
    /// The MASE of each origin.
    pub mase_by_origin: Vec<f64>,
    /// The mean sMAPE over the origins.
    pub smape: f64,
    /// Each seed's forecast from each origin, in levels.
    forecasts: Vec<Vec<Vec<f32>>>,
}

/// What the validation tried and chose.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The forecast origins (values before each are known), earliest first.
    pub origins: Vec<usize>,
    /// Seeds per candidate.
    pub seeds: usize,
    /// Every candidate, in the order tried.
    pub tried: Vec<Scored>,
    /// The indices in `tried` of the candidates the forecast combines, best first.
    pub picked: Vec<usize>,
    /// The combination's validation: the mean over the picked candidates' networks.
    pub combined: Validation,
    /// The no-change forecast's validation.
    pub no_change: Validation,
    /// The drift forecast's validation.
    pub drift: Validation,
}

/// A forecast's validation scores and errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// The mean MASE over the origins.
    pub mase: f64,
    /// The MASE of each origin (infinite where a forecast was not finite).
    pub mase_by_origin: Vec<f64>,
    /// The mean sMAPE over the origins.
    pub smape: f64,
    /// Each origin's errors, truth minus forecast, one per step.
    pub errors: Vec<Vec<f64>>,
}

impl Chosen {
    /// The best candidate's validation.
    pub fn best(&self) -> &Scored {
        &self.tried[self.picked[0]]
    }

    /// The candidates the forecast combines, best first.
    pub fn picked(&self) -> impl Iterator<Item = &Candidate> {
        self.picked.iter().map(|&i| &self.tried[i].candidate)
    }

    /// The simple forecast the networks must beat: no change, or drift where it validates lower.
    pub fn simple(&self) -> (Simple, &Validation) {
        if self.drift.mase < self.no_change.mase {
            (Simple::Drift, &self.drift)
        } else {
            (Simple::NoChange, &self.no_change)
        }
    }

    /// Whether the forecast is the simple one, the networks' combination not validating below
    /// [`super::simple::NETWORKS_MUST_SCORE`] times its score.
    pub fn simple_wins(&self) -> bool {
        !networks_win(&self.combined, self.simple().1)
    }
}

/// What a choice tries.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    /// The transformations, each at the first window.
    pub transforms: Vec<Transform>,
    /// The windows: the first for every transformation, the second (where longer) for the
    /// best of them.
    pub windows: [usize; 2],
}

impl Space {
    /// Every transformation [`elman_data::transforms`] offers for `levels` with `season`, and
    /// the windows [`elman_data::candidate_windows`] offers for a forecast of `horizon` steps.
    pub fn all(levels: &[f32], season: usize, horizon: usize) -> Self {
        Self {
            transforms: elman_data::transforms(levels, season),
            windows: elman_data::candidate_windows(season, horizon),
        }
    }
}

/// Validates the candidates of `space` for a forecast of `horizon` steps and chooses among
/// them.
pub fn choose(
    recipe: &Recipe,
    table: &Table,
    horizon: usize,
    seeds: &[u64],
    device: &Device,
    count: usize,
    space: &Space,
) -> Result<Chosen> {
    let levels = &table.columns[1];
    let transforms = space.transforms.clone();
    let widest = transforms.iter().map(|t| t.span()).max().unwrap_or(0);
    // Before the earliest origin: the differences' span and a window of at least 8 steps with
    // its next value, and no fewer values than the forecast has steps.
    let min_train = (widest + 9).max(horizon);
    let origins = validation_origins(levels.len(), horizon, count, min_train)
        .map_err(|err| anyhow::anyhow!("`{}`: {err}", recipe.target))?;
    let room = origins[0] - widest - 1;
    let windows = space.windows.map(|w| w.min(room));
    let seeds = &seeds[..seeds.len().min(VALIDATION_SEEDS)];
    eprintln!(
        "elman: validating from {} of {} (origins {}), {} a candidate",
        crate::words::count(origins.len(), "origin"),
        crate::words::count(horizon, "step"),
        origins
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        crate::words::count(seeds.len(), "seed")
    );

    // A seasonal adjustment is fitted on the values before the earliest origin.
    let first: Vec<Candidate> = transforms
        .into_iter()
        .filter(|t| t.adjust == 0 || origins[0] > 2 * t.adjust)
        .map(|transform| Candidate {
            transform,
            window: windows[0],
        })
        .collect();
    let mut tried = score_all(recipe, table, &first, &origins, horizon, seeds, device)?;
    let best_transform = ranked(&tried)[0];
    if windows[1] > windows[0] {
        let longer = Candidate {
            window: windows[1],
            ..tried[best_transform].candidate.clone()
        };
        tried.extend(score_all(
            recipe,
            table,
            &[longer],
            &origins,
            horizon,
            seeds,
            device,
        )?);
    }
    let order = ranked(&tried);
    let best = tried[order[0]].mase;
    if !best.is_finite() {
        bail!(
            "`{}`: no candidate gave a finite forecast in validation",
            recipe.target
        );
    }
    let finite: Vec<usize> = order
        .into_iter()
        .take_while(|&i| tried[i].mase.is_finite())
        .collect();
    let (picked, combined) = best_combination(&finite, &tried, |forecasts| {
        validate(recipe, table, &origins, horizon, forecasts, mean)
    });
    eprintln!(
        "elman: best candidate {} (MASE {:.3}, the median of its seeds)",
        tried[picked[0]].candidate.describe(),
        best
    );
    let [no_change, drift] = [Simple::NoChange, Simple::Drift].map(|simple| {
        let forecasts: Vec<Vec<f32>> = origins
            .iter()
            .map(|&origin| simple.forecast(&levels[..origin], horizon))
            .collect();
        validate(recipe, table, &origins, horizon, &[&forecasts], mean)
    });
    Ok(Chosen {
        origins,
        seeds: seeds.len(),
        tried,
        picked,
        combined,
        no_change,
        drift,
    })
}

/// The best `k` of the candidates `ranked` (indices into `tried`, best first) for every `k`,
/// each combination scored by `score` as it would forecast: the mean of its networks, less any
/// whose forecasts are not finite (a candidate's own score, the median of its seeds, outvotes
/// them). The lowest score wins, the fewest candidates among equals.
fn best_combination(
    ranked: &[usize],
    tried: &[Scored],
    score: impl Fn(&[&Vec<Vec<f32>>]) -> Validation,
) -> (Vec<usize>, Validation) {
    (1..=ranked.len())
        .map(|k| {
            let forecasts: Vec<&Vec<Vec<f32>>> = ranked[..k]
                .iter()
                .flat_map(|&i| &tried[i].forecasts)
                .filter(|network| network.iter().flatten().all(|v| v.is_finite()))
                .collect();
            (ranked[..k].to_vec(), score(&forecasts))
        })
        .min_by(|a, b| a.1.mase.total_cmp(&b.1.mase))
        .expect("at least one candidate is ranked")
}

/// The indices of `tried` from the lowest score up (equals in the order tried).
fn ranked(tried: &[Scored]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tried.len()).collect();
    order.sort_by(|&a, &b| tried[a].mase.total_cmp(&tried[b].mase));
    order
}

/// The validation of `centre` (the mean or the median) of `forecasts` (each a network's
/// forecast from every origin, in levels) at each step.
fn validate(
    recipe: &Recipe,
    table: &Table,
    origins: &[usize],
    horizon: usize,
    forecasts: &[&Vec<Vec<f32>>],
    centre: fn(&[f64]) -> f64,
) -> Validation {
    let levels = &table.columns[1];
    let (mut mases, mut smapes, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for (o, &origin) in origins.iter().enumerate() {
        let actual = &levels[origin..(origin + horizon).min(levels.len())];
        let forecast: Vec<f32> = (0..actual.len())
            .map(|h| {
                let at: Vec<f64> = forecasts.iter().map(|f| f64::from(f[o][h])).collect();
                centre(&at) as f32
            })
            .collect();
        let finite = forecast.iter().all(|v| v.is_finite());
        mases.push(
            match mase(actual, &forecast, &levels[..origin], recipe.season) {
                Some(score) if finite && score.is_finite() => score,
                _ => f64::INFINITY,
            },
        );
        smapes.push(smape(actual, &forecast));
        errors.push(
            actual
                .iter()
                .zip(&forecast)
                .map(|(&a, &p)| f64::from(a) - f64::from(p))
                .collect(),
        );
    }
    Validation {
        mase: mean(&mases),
        mase_by_origin: mases,
        smape: mean(&smapes),
        errors,
    }
}

/// Scores `candidates`, each with every seed, all at once; prints each score.
fn score_all(
    recipe: &Recipe,
    table: &Table,
    candidates: &[Candidate],
    origins: &[usize],
    horizon: usize,
    seeds: &[u64],
    device: &Device,
) -> Result<Vec<Scored>> {
    let jobs: Vec<(usize, u64)> = (0..candidates.len())
        .flat_map(|c| seeds.iter().map(move |&s| (c, s)))
        .collect();
    let held_out = recipe.rows - origins[0];
    // Each job: its forecast from each origin, in levels.
    let forecasts = jobs
        .par_iter()
        .map(|&(c, seed)| {
            let candidate = &candidates[c];
            let config = recipe.config(candidate, held_out, seed);
            let (data, model) = recipe.train(&config, table, device)?;
            let span = candidate.transform.span();
            origins
                .iter()
                .map(|&origin| {
                    let closed = data.closed_loop_at(origin - span)?;
                    let (_, outputs) = elman_train::generate(&model, &closed.prefix, horizon)?;
                    Ok(closed.finish(&outputs).predicted)
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;

    let scored: Vec<Scored> = candidates
        .iter()
        .enumerate()
        .map(|(c, candidate)| {
            let own: Vec<&Vec<Vec<f32>>> = jobs
                .iter()
                .zip(&forecasts)
                .filter(|((job, _), _)| *job == c)
                .map(|(_, f)| f)
                .collect();
            let validation = validate(recipe, table, origins, horizon, &own, median);
            Scored {
                candidate: candidate.clone(),
                mase: validation.mase,
                mase_by_origin: validation.mase_by_origin,
                smape: validation.smape,
                forecasts: own.into_iter().cloned().collect(),
            }
        })
        .collect();
    for s in &scored {
        eprintln!("elman:   {}: MASE {:.3}", s.candidate.describe(), s.mase);
    }
    Ok(scored)
}

/// Trains the networks of the picked candidates on the whole series, one per seed and
/// candidate, all at once, and returns each one's forecast of `horizon` steps past the end,
/// in levels, with the candidate and the seed it came from.
pub fn ensemble(
    recipe: &Recipe,
    table: &Table,
    chosen: &Chosen,
    horizon: usize,
    seeds: &[u64],
    device: &Device,
) -> Result<Vec<Member>> {
    let jobs: Vec<(&Candidate, u64)> = chosen
        .picked()
        .flat_map(|candidate| seeds.iter().map(move |&seed| (candidate, seed)))
        .collect();
    eprintln!(
        "elman: training {} on the whole series",
        crate::words::count(jobs.len(), "network")
    );
    jobs.par_iter()
        .map(|&(candidate, seed)| {
            let config = recipe.config(candidate, 0, seed);
            let (data, model) = recipe.train(&config, table, device)?;
            let closed = data.closed_loop()?;
            let (_, outputs) = elman_train::generate(&model, &closed.prefix, horizon)?;
            let Forecast { predicted, .. } = closed.finish(&outputs);
            if predicted.iter().any(|v| !v.is_finite()) {
                bail!(
                    "the network of seed {seed} ({}) forecast a value that is not finite",
                    candidate.describe()
                );
            }
            Ok(Member {
                candidate: candidate.clone(),
                seed,
                forecast: predicted.iter().map(|&v| f64::from(v)).collect(),
            })
        })
        .collect()
}

/// One network of the ensemble and its forecast.
#[derive(Debug, Clone)]
pub struct Member {
    /// The candidate it was trained as.
    pub candidate: Candidate,
    /// Its seed.
    pub seed: u64,
    /// Its forecast past the end, in levels.
    pub forecast: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_data::Transform;

    /// A candidate whose networks forecast `values` from one origin.
    fn scored(mase: f64, networks: &[&[f32]]) -> Scored {
        Scored {
            candidate: Candidate {
                transform: Transform::none(),
                window: 8,
            },
            mase,
            mase_by_origin: vec![mase],
            smape: 0.0,
            forecasts: networks.iter().map(|n| vec![n.to_vec()]).collect(),
        }
    }

    /// The mean absolute error of the networks' mean against a truth of 0.
    fn error(forecasts: &[&Vec<Vec<f32>>]) -> Validation {
        let steps = forecasts[0][0].len();
        let errors: Vec<f64> = (0..steps)
            .map(|h| {
                mean(
                    &forecasts
                        .iter()
                        .map(|f| f64::from(f[0][h]))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let mase = mean(&errors.iter().map(|e| e.abs()).collect::<Vec<_>>());
        Validation {
            mase,
            mase_by_origin: vec![mase],
            smape: 0.0,
            errors: vec![errors],
        }
    }

    /// Two candidates that err on opposite sides combine to the best forecast; a third that
    /// errs on the first's side makes it worse, so two are picked. A network that diverged
    /// (its median outvoted it) does not reach the mean. Equal scores pick the fewest.
    #[test]
    fn the_combination_is_sized_by_its_validation() {
        let tried = vec![
            scored(1.0, &[&[1.0, 1.0], &[f32::NAN, 1.0], &[1.0, 1.0]]),
            scored(1.2, &[&[-1.2, -1.0]]),
            scored(1.5, &[&[1.5, 1.5]]),
        ];
        let (picked, combined) = best_combination(&[0, 1, 2], &tried, error);
        assert_eq!(picked, [0, 1]);
        // The mean of 1, 1 and -1.2 at step 1, of 1, 1 and -1 at step 2.
        let expected = ((0.8f64 / 3.0).abs() + 1.0 / 3.0) / 2.0;
        assert!((combined.mase - expected).abs() < 1e-6, "{}", combined.mase);
        let alike = vec![scored(1.0, &[&[1.0]]), scored(1.0, &[&[1.0]])];
        assert_eq!(best_combination(&[0, 1], &alike, error).0, [0]);
    }
}
