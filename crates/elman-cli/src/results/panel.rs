//! Many series, one network: what a run over a panel writes beside a one-series run's files.
//! The pictures show the first four series, a chart each; the CSV files hold
//! every series in long form (a `series` column first); the metrics give each series' own and
//! their mean (and median, for the scaled errors, which compare across series).

use std::path::Path;

use anyhow::Result;
use elman_data::{RunData, mean, median, mse};
use elman_model::Elman;
use serde_json::{Map, Value, json};

use super::series;
use crate::settings::{Predictions, RunConfig};
use crate::{atomic, files, plot};

/// The name of the time column the series share, or `step`.
fn time_name(data: &RunData) -> &str {
    data.shown()
        .time()
        .map_or("step", |time| time.name.as_str())
}

/// The series a panel's pictures show, one chart each: the first ones.
const SHOWN: usize = 4;

/// A line of `points`.
fn line(
    label: &'static str,
    points: Vec<(f64, f64)>,
    color: plot::Rgb,
    width: u32,
) -> plot::Series<'static> {
    plot::Series {
        label,
        points,
        color,
        mark: plot::Mark::Line(width),
    }
}

/// [`series::predictions`] for a panel: `predictions.png` of the first series,
/// `predictions.csv` of those (of every series with `csv.predictions = "all"`, streamed), the
/// validation MSE of each series and their mean.
pub fn predictions(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
) -> Result<Map<String, Value>> {
    let mut metrics = Map::new();
    let (mut per_series, mut valid_mses) = (Map::new(), Vec::new());
    let mut pictures = Vec::new();
    let every = config
        .csv
        .as_ref()
        .is_some_and(|csv| csv.predictions == Predictions::All);
    let header = ["series", time_name(data), "actual", "predicted"];
    // Each series' rows go to the file as they are made, never all held at once.
    atomic::write_with(&out.join("predictions.csv"), |file| {
        let mut rows = files::csv_into(file, &header)?;
        for (k, (id, member)) in data.each_series().into_iter().enumerate() {
            let one = member.one_step();
            let outputs = elman_train::predict(model, &one.inputs)?;
            let values = member.one_step_values(&outputs);
            if pictures.len() < SHOWN {
                // The last stretch of each series, as a one-series run shows its own.
                let from = one.axis.len().saturating_sub(400);
                let points = |values: &[f32]| -> Vec<(f64, f64)> {
                    one.axis[from..]
                        .iter()
                        .zip(&values[from..])
                        .map(|(&x, &y)| (x, f64::from(y)))
                        .collect()
                };
                pictures.push((
                    format!("{id}: one step ahead"),
                    points(&one.actual),
                    points(&values),
                ));
            }
            if let Some(valid) = &one.valid {
                let error = mse(&one.actual[valid.clone()], &values[valid.clone()]);
                valid_mses.push(error);
                per_series.insert(id.into(), json!({ "valid_mse_original_units": error }));
            }
            if !every && k >= SHOWN {
                continue;
            }
            for (i, (&actual, &predicted)) in one.actual.iter().zip(&values).enumerate() {
                let when = match &one.labels {
                    Some(labels) => labels[i].clone(),
                    None => files::number(one.axis[i]),
                };
                rows.write_record([
                    id.to_string(),
                    when,
                    files::number(actual.into()),
                    files::number(predicted.into()),
                ])?;
            }
        }
        rows.flush()?;
        Ok(())
    })?;
    let y_label = config.value_label();
    let panels: Vec<_> = pictures
        .iter()
        .map(|(title, actual, predicted)| {
            let chart = plot::Chart {
                title,
                x_label: time_name(data),
                y_label: &y_label,
                log_y: false,
            };
            let series = vec![
                line("Actual", actual.clone(), plot::BLUE, 2),
                line("Predicted", predicted.clone(), plot::ORANGE, 1),
            ];
            (chart, series)
        })
        .collect();
    plot::png_grid(&out.join("predictions.png"), &panels)?;
    metrics.insert("series_count".into(), data.members().len().into());
    if !valid_mses.is_empty() {
        metrics.insert(
            "valid_mse_original_units_mean".into(),
            mean(&valid_mses).into(),
        );
        metrics.insert("series".into(), per_series.into());
    }
    Ok(metrics)
}

/// [`series::forecast`] for a panel: `forecast.png` of the first series,
/// `forecast.csv` of all, each series' errors against the truth, the mean MSE and the median
/// MASE of the forecasts and of the baselines.
pub fn forecasts(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
    horizon: usize,
) -> Result<Map<String, Value>> {
    let mut metrics = series::forecast_setting(&data.shown().closed_loop()?, horizon);
    let mut per_series = Map::new();
    let mut pictures = Vec::new();
    // Each series' forecast and baseline MSE, and MASE where it is defined.
    let (mut mses, mut baseline_mses) = (Vec::new(), Vec::new());
    let (mut mases, mut baseline_mases) = (Vec::new(), Vec::new());
    let header = ["series", time_name(data), "actual", "predicted", "baseline"];
    // Each series' rows go to the file as they are made, never all held at once.
    atomic::write_with(&out.join("forecast.csv"), |file| {
        let mut rows = files::csv_into(file, &header)?;
        for (id, member) in data.each_series() {
            let closed = member.closed_loop()?;
            let (_, outputs) = elman_train::generate(model, &closed.prefix, horizon)?;
            let forecast = closed.finish(&outputs);
            let (axis, labels) = member.span(closed.history.len(), horizon);
            if pictures.len() < SHOWN {
                pictures.push((
                    format!("{id}: closed-loop forecast"),
                    series::forecast_series(member, &closed, &forecast),
                ));
            }
            for k in 0..horizon {
                let when = match &labels {
                    Some(labels) => labels[k].clone(),
                    None => files::number(axis[k]),
                };
                let actual = forecast
                    .actual
                    .get(k)
                    .map_or(String::new(), |&a| files::number(a.into()));
                rows.write_record([
                    id.to_string(),
                    when,
                    actual,
                    files::number(forecast.predicted[k].into()),
                    files::number(forecast.baseline[k].into()),
                ])?;
            }
            let own = series::forecast_metrics(&closed, &forecast, horizon);
            let get = |key: &str| own.get(key).and_then(Value::as_f64);
            if let (Some(f), Some(b)) = (get("forecast_mse"), get("baseline_mse")) {
                mses.push(f);
                baseline_mses.push(b);
            }
            if let (Some(f), Some(b)) = (get("forecast_mase"), get("baseline_mase")) {
                mases.push(f);
                baseline_mases.push(b);
            }
            per_series.insert(id.into(), own.into());
        }
        rows.flush()?;
        Ok(())
    })?;
    let y_label = config.value_label();
    let panels: Vec<_> = pictures
        .iter()
        .map(|(title, series)| {
            let chart = plot::Chart {
                title,
                x_label: time_name(data),
                y_label: &y_label,
                log_y: false,
            };
            (chart, series.clone())
        })
        .collect();
    plot::png_grid(&out.join("forecast.png"), &panels)?;
    metrics.insert("series_count".into(), data.members().len().into());
    if !mses.is_empty() {
        metrics.insert("forecast_mse".into(), mean(&mses).into());
        metrics.insert("baseline_mse".into(), mean(&baseline_mses).into());
    }
    if !mases.is_empty() {
        metrics.insert("forecast_mase_median".into(), median(&mases).into());
        metrics.insert(
            "baseline_mase_median".into(),
            median(&baseline_mases).into(),
        );
    }
    metrics.insert("series".into(), per_series.into());
    Ok(metrics)
}
