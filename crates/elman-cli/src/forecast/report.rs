//! What a finished `elman forecast` reports: the metrics of its choice (every candidate's
//! validation scores, the best, the combination) and the config of its best candidate, handed
//! to `results` with the networks' forecasts to write.

use anyhow::Result;
use elman_data::Table;
use serde_json::{Map, Value, json};

use super::choose::{Chosen, Member};
use super::recipe::{Candidate, Recipe};
use crate::results::EnsembleForecast;

/// The files' contents of a forecast of `horizon` steps.
pub fn report<'a>(
    recipe: &'a Recipe,
    table: &'a Table,
    season_from: &str,
    horizon: usize,
    chosen: &'a Chosen,
    members: &[Member],
    seed: u64,
) -> Result<EnsembleForecast<'a>> {
    let best = chosen.best();
    // The config that trains the best candidate's network of the first seed again.
    let config = format!(
        "# Chosen by `elman forecast` ({}): `elman train --config` trains its network of seed {seed} again, `--seed N` another.\n{}",
        best.candidate.describe(),
        recipe.config(&best.candidate, 0, seed).to_toml()?
    );

    let candidates: Vec<Value> = chosen
        .tried
        .iter()
        .map(|s| {
            let mut entry = settings(&s.candidate);
            entry.insert("mase".into(), finite(s.mase));
            entry.insert(
                "mase_by_origin".into(),
                s.mase_by_origin.iter().map(|&m| finite(m)).collect(),
            );
            entry.insert("smape".into(), finite(s.smape));
            entry.into()
        })
        .collect();
    let mut best_entry = settings(&best.candidate);
    best_entry.insert("validation_mase".into(), finite(best.mase));
    let seeds: std::collections::BTreeSet<u64> = members.iter().map(|m| m.seed).collect();

    let mut metrics = Map::new();
    metrics.insert("target".into(), recipe.target.clone().into());
    metrics.insert("values".into(), recipe.rows.into());
    metrics.insert("horizon".into(), horizon.into());
    metrics.insert("season".into(), recipe.season.into());
    metrics.insert("season_from".into(), season_from.into());
    metrics.insert("validation_origins".into(), json!(chosen.origins));
    metrics.insert("validation_seeds".into(), chosen.seeds.into());
    metrics.insert("candidates".into(), candidates.into());
    metrics.insert("chosen".into(), best_entry.into());
    metrics.insert(
        "combined".into(),
        chosen
            .picked()
            .map(|c| Value::from(settings(c)))
            .collect::<Vec<_>>()
            .into(),
    );
    metrics.insert(
        "combined_validation_mase".into(),
        finite(chosen.combined.mase),
    );
    metrics.insert(
        "combined_validation_smape".into(),
        finite(chosen.combined.smape),
    );
    metrics.insert(
        "no_change_validation_mase".into(),
        finite(chosen.no_change.mase),
    );
    metrics.insert("drift_validation_mase".into(), finite(chosen.drift.mase));
    let (simple, simple_validation) = chosen.simple();
    metrics.insert(
        "forecast".into(),
        if chosen.simple_wins() {
            simple.name()
        } else {
            "networks"
        }
        .into(),
    );
    metrics.insert("networks".into(), members.len().into());
    metrics.insert("seeds".into(), json!(seeds));

    // Each network's forecast, a column each (`log_d1_w24_seed3`), with the combination's
    // validation errors; or the simple forecast, with its own.
    let (columns, validation_errors) = if chosen.simple_wins() {
        let forecast = simple.forecast(&table.columns[1], horizon);
        let column = (
            simple.column().to_string(),
            forecast.into_iter().map(f64::from).collect(),
        );
        (vec![column], &simple_validation.errors)
    } else {
        let columns = members
            .iter()
            .map(|m| {
                (
                    format!("{}_seed{}", m.candidate.code(), m.seed),
                    m.forecast.clone(),
                )
            })
            .collect();
        (columns, &chosen.combined.errors)
    };
    Ok(EnsembleForecast {
        target: &recipe.target,
        table,
        season: recipe.season,
        horizon,
        members: columns,
        validation_errors,
        config,
        metrics,
    })
}

/// A candidate's settings as JSON.
fn settings(candidate: &Candidate) -> Map<String, Value> {
    let transform = &candidate.transform;
    let mut entry = Map::new();
    entry.insert("candidate".into(), candidate.describe().into());
    entry.insert("log".into(), transform.log.into());
    entry.insert("deseasonalize".into(), (transform.adjust > 0).into());
    entry.insert("difference".into(), json!(transform.lags));
    entry.insert("window".into(), candidate.window.into());
    entry
}

/// A score as JSON: the number, or null where it is not finite.
fn finite(value: f64) -> Value {
    if value.is_finite() {
        value.into()
    } else {
        Value::Null
    }
}
