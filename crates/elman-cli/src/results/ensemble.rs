//! An ensemble's forecast past a series' end (`elman forecast`): `forecast.csv` (the time
//! continued past the file's end, the members' mean and its 80% and 95% intervals),
//! `members.csv` (each network's forecast), `forecast.png` (the end of the history, the
//! forecast and its intervals), `config.toml` and `metrics.json` (last).

use std::path::Path;

use anyhow::Result;
use elman_data::{Ensemble, Table, TimeColumn};
use serde_json::{Map, Value};

use crate::{atomic, files, plot};

/// What an ensemble forecast writes from.
pub struct EnsembleForecast<'a> {
    /// The forecast column's name.
    pub target: &'a str,
    /// The file's target (column 1) and time column.
    pub table: &'a Table,
    /// The seasonal cycle (0: none), for how much history the picture shows.
    pub season: usize,
    /// Steps forecast.
    pub horizon: usize,
    /// Each network's column name and forecast, in levels.
    pub members: Vec<(String, Vec<f64>)>,
    /// The validation's errors (truth minus forecast) from each origin, one per step: the
    /// intervals' scale.
    pub validation_errors: &'a [Vec<f64>],
    /// The text of `config.toml`.
    pub config: String,
    /// What `metrics.json` holds.
    pub metrics: Map<String, Value>,
}

/// Writes the forecast's files into `out` (`metrics.json` last).
pub fn write(out: &Path, forecast: &EnsembleForecast<'_>) -> Result<()> {
    let EnsembleForecast { table, horizon, .. } = *forecast;
    let forecasts: Vec<Vec<f64>> = forecast.members.iter().map(|(_, f)| f.clone()).collect();
    let ensemble = elman_data::ensemble(&forecasts, forecast.validation_errors);
    let levels = &table.columns[1];

    // Where the forecast lies: the time column continued, else the steps after the last row.
    let time = table
        .time
        .as_ref()
        .and_then(|(name, labels)| TimeColumn::parse(name, labels.clone(), &table.lines).ok());
    let (history_axis, axis, labels, time_name) = match &time {
        Some(time) => {
            let (axis, labels) = time.span(levels.len(), horizon);
            (time.positions(), axis, labels, time.name.as_str())
        }
        None => {
            let axis: Vec<f64> = (levels.len()..levels.len() + horizon)
                .map(|s| s as f64)
                .collect();
            let labels = axis.iter().map(|&s| files::number(s)).collect();
            let history = (0..levels.len()).map(|s| s as f64).collect();
            (history, axis, labels, "step")
        }
    };
    let header = [time_name, "predicted", "lo80", "hi80", "lo95", "hi95"];
    let columns = [
        ensemble.mean.as_slice(),
        &ensemble.lo80,
        &ensemble.hi80,
        &ensemble.lo95,
        &ensemble.hi95,
    ];
    atomic::write(
        &out.join("forecast.csv"),
        &files::labelled_csv(&header, &labels, &columns)?,
    )?;
    let mut member_header = vec![time_name];
    member_header.extend(forecast.members.iter().map(|(name, _)| name.as_str()));
    let member_columns: Vec<&[f64]> = forecast.members.iter().map(|(_, f)| f.as_slice()).collect();
    atomic::write(
        &out.join("members.csv"),
        &files::labelled_csv(&member_header, &labels, &member_columns)?,
    )?;
    atomic::write(&out.join("config.toml"), forecast.config.as_bytes())?;
    picture(out, forecast, &history_axis, &axis, time_name, &ensemble)?;
    files::write_json(&out.join("metrics.json"), &forecast.metrics)
}

/// `forecast.png`: the end of the history (four horizons, three seasons, at least 40 values),
/// the mean forecast and its two intervals.
fn picture(
    out: &Path,
    forecast: &EnsembleForecast<'_>,
    history_axis: &[f64],
    axis: &[f64],
    time_name: &str,
    ensemble: &Ensemble,
) -> Result<()> {
    let levels = &forecast.table.columns[1];
    let shown = (4 * axis.len()).max(3 * forecast.season).max(40);
    let from = levels.len().saturating_sub(shown);
    let band = |lo: &[f64], hi: &[f64]| -> Vec<(f64, f64)> {
        axis.iter()
            .copied()
            .zip(hi.iter().copied())
            .chain(axis.iter().copied().zip(lo.iter().copied()).rev())
            .collect()
    };
    let series = [
        plot::Series {
            label: "95% interval",
            points: band(&ensemble.lo95, &ensemble.hi95),
            color: plot::ORANGE,
            mark: plot::Mark::Band(0.15),
        },
        plot::Series {
            label: "80% interval",
            points: band(&ensemble.lo80, &ensemble.hi80),
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
            label: "Forecast (ensemble mean)",
            points: axis
                .iter()
                .copied()
                .zip(ensemble.mean.iter().copied())
                .collect(),
            color: plot::ORANGE,
            mark: plot::Mark::Line(2),
        },
    ];
    plot::png(
        &out.join("forecast.png"),
        &plot::Chart {
            title: &format!("Forecast of {}", forecast.target),
            x_label: time_name,
            y_label: forecast.target,
            log_y: false,
        },
        &series,
    )
}
