//! What `elman forecast` writes: `forecast.csv` (the time continued past the file's end, the
//! median forecast and its intervals), `members.csv` (each seed's forecast), `forecast.png`,
//! `metrics.json` (every candidate's validation scores and the choice) and `config.toml` (the
//! chosen recipe, the first seed's network).

use std::path::Path;

use anyhow::Result;
use elman_data::{Table, TimeColumn};
use serde_json::{Map, Value, json};

use super::choose::{Chosen, Member};
use super::recipe::Recipe;
use crate::{atomic, files, plot};

/// Everything a finished forecast writes from.
pub struct Outcome<'a> {
    /// The folder.
    pub out: &'a Path,
    /// What the candidates shared.
    pub recipe: &'a Recipe,
    /// The file's target (and time) column.
    pub table: &'a Table,
    /// Where the season came from: `given`, `calendar` or `autocorrelation`.
    pub season_from: &'a str,
    /// Steps forecast.
    pub horizon: usize,
    /// The validation.
    pub chosen: &'a Chosen,
    /// Each network's forecast, in levels.
    pub members: &'a [Member],
}

/// Writes the forecast's files (`metrics.json` last).
pub fn write(outcome: &Outcome<'_>) -> Result<()> {
    let Outcome {
        out,
        recipe,
        table,
        season_from,
        horizon,
        chosen,
        members,
    } = *outcome;
    let best = chosen.best();
    let forecasts: Vec<Vec<f64>> = members.iter().map(|m| m.forecast.clone()).collect();
    let forecast = elman_data::ensemble(&forecasts, &chosen.combined.errors);
    let levels = &table.columns[1];

    // Where the forecast lies: the time column continued, else the steps after the last row.
    let time = table
        .time
        .as_ref()
        .and_then(|(name, labels)| TimeColumn::parse(name, labels.clone(), &table.lines).ok());
    let (axis, labels, time_name) = match &time {
        Some(time) => {
            let (axis, labels) = time.span(levels.len(), horizon);
            (axis, labels, time.name.as_str())
        }
        None => {
            let axis: Vec<f64> = (levels.len()..levels.len() + horizon)
                .map(|s| s as f64)
                .collect();
            let labels = axis.iter().map(|&s| files::number(s)).collect();
            (axis, labels, "step")
        }
    };
    let header = [time_name, "predicted", "lo80", "hi80", "lo95", "hi95"];
    let columns = [
        forecast.median.as_slice(),
        &forecast.lo80,
        &forecast.hi80,
        &forecast.lo95,
        &forecast.hi95,
    ];
    atomic::write(
        &out.join("forecast.csv"),
        &files::labelled_csv(&header, &labels, &columns)?,
    )?;
    // Each network's forecast, a column each: `log_d1_w24_seed3`.
    let names: Vec<String> = members
        .iter()
        .map(|m| format!("{}_seed{}", m.candidate.code(), m.seed))
        .collect();
    let mut member_header = vec![time_name];
    member_header.extend(names.iter().map(String::as_str));
    let member_columns: Vec<&[f64]> = members.iter().map(|m| m.forecast.as_slice()).collect();
    atomic::write(
        &out.join("members.csv"),
        &files::labelled_csv(&member_header, &labels, &member_columns)?,
    )?;

    // The config that trains the best candidate's first network again.
    let seed = members[0].seed;
    let config = recipe.config(&best.candidate, 0, seed);
    let text = format!(
        "# Chosen by `elman forecast` ({}): `elman train --config` trains its network of seed {seed} again, `--seed N` another.\n{}",
        best.candidate.describe(),
        config.to_toml()?
    );
    atomic::write(&out.join("config.toml"), text.as_bytes())?;

    picture(outcome, &axis, time_name, &forecast)?;

    let candidates: Vec<Value> = chosen
        .tried
        .iter()
        .map(|s| {
            json!({
                "candidate": s.candidate.describe(),
                "log": s.candidate.transform.log,
                "deseasonalize": s.candidate.transform.adjust > 0,
                "difference": s.candidate.transform.lags,
                "window": s.candidate.window,
                "mase": finite(s.mase),
                "mase_by_origin": s.mase_by_origin.iter().map(|&m| finite(m)).collect::<Vec<_>>(),
                "smape": finite(s.smape),
            })
        })
        .collect();
    let mut metrics = Map::new();
    metrics.insert("target".into(), recipe.target.clone().into());
    metrics.insert("values".into(), levels.len().into());
    metrics.insert("horizon".into(), horizon.into());
    metrics.insert("season".into(), recipe.season.into());
    metrics.insert("season_from".into(), season_from.into());
    metrics.insert("validation_origins".into(), json!(chosen.origins));
    metrics.insert("validation_seeds".into(), chosen.seeds.into());
    metrics.insert("candidates".into(), candidates.into());
    let picked: Vec<Value> = chosen
        .picked()
        .map(|c| {
            json!({
                "candidate": c.describe(),
                "log": c.transform.log,
                "deseasonalize": c.transform.adjust > 0,
                "difference": c.transform.lags,
                "window": c.window,
            })
        })
        .collect();
    metrics.insert(
        "chosen".into(),
        json!({
            "candidate": best.candidate.describe(),
            "log": best.candidate.transform.log,
            "deseasonalize": best.candidate.transform.adjust > 0,
            "difference": best.candidate.transform.lags,
            "window": best.candidate.window,
            "validation_mase": finite(best.mase),
        }),
    );
    metrics.insert("combined".into(), picked.into());
    metrics.insert(
        "combined_validation_mase".into(),
        finite(chosen.combined.mase),
    );
    metrics.insert(
        "combined_validation_smape".into(),
        finite(chosen.combined.smape),
    );
    metrics.insert("networks".into(), members.len().into());
    let seeds: Vec<u64> = members
        .iter()
        .map(|m| m.seed)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    metrics.insert("seeds".into(), json!(seeds));
    files::write_json(&out.join("metrics.json"), &metrics)
}

/// A score as JSON: the number, or null where it is not finite.
fn finite(value: f64) -> Value {
    if value.is_finite() {
        value.into()
    } else {
        Value::Null
    }
}

/// `forecast.png`: the end of the history, the median forecast and its two intervals.
fn picture(
    outcome: &Outcome<'_>,
    axis: &[f64],
    time_name: &str,
    forecast: &elman_data::Ensemble,
) -> Result<()> {
    let Outcome {
        out, recipe, table, ..
    } = *outcome;
    let levels = &table.columns[1];
    let shown = (4 * axis.len()).max(3 * recipe.season).max(40);
    let from = levels.len().saturating_sub(shown);
    let history_axis: Vec<f64> = match &table.time {
        Some((name, labels)) => TimeColumn::parse(name, labels.clone(), &table.lines)
            .map(|time| time.axis)
            .unwrap_or_else(|_| (0..levels.len()).map(|s| s as f64).collect()),
        None => (0..levels.len()).map(|s| s as f64).collect(),
    };
    let band = |lo: &[f64], hi: &[f64]| -> Vec<(f64, f64)> {
        axis.iter()
            .copied()
            .zip(hi.iter().copied())
            .chain(axis.iter().copied().zip(lo.iter().copied()).rev())
            .collect()
    };
    let line = |values: &[f64]| -> Vec<(f64, f64)> {
        axis.iter().copied().zip(values.iter().copied()).collect()
    };
    let series = [
        plot::Series {
            label: "95% interval",
            points: band(&forecast.lo95, &forecast.hi95),
            color: plot::ORANGE,
            mark: plot::Mark::Band(0.15),
        },
        plot::Series {
            label: "80% interval",
            points: band(&forecast.lo80, &forecast.hi80),
            color: plot::ORANGE,
            mark: plot::Mark::Band(0.3),
        },
        plot::Series {
            label: "History",
            points: history_axis[from..]
                .iter()
                .copied()
                .zip(levels[from..].iter().map(|&v| f64::from(v)))
                .collect(),
            color: plot::GREY,
            mark: plot::Mark::Line(2),
        },
        plot::Series {
            label: "Forecast (median)",
            points: line(&forecast.median),
            color: plot::ORANGE,
            mark: plot::Mark::Line(2),
        },
    ];
    plot::png(
        &out.join("forecast.png"),
        &plot::Chart {
            title: &format!("Forecast of {}", recipe.target),
            x_label: time_name,
            y_label: &recipe.target,
            log_y: false,
        },
        &series,
    )
}
