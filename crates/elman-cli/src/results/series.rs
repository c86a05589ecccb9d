//! One series' results (the tutorial's wave, a generated wave or a user's series): the
//! one-step-ahead predictions every finished training writes (`predictions.csv`,
//! `predictions.png`) and a closed-loop forecast (`forecast.csv`, `forecast.png`), with the
//! metrics they give. `panel.rs` builds a panel's from the pieces here.

use std::path::Path;

use anyhow::Result;
use elman_data::{ClosedLoop, Forecast, RunData, Source, mae, mase, mse, smape};
use elman_model::Elman;
use serde_json::{Map, Value};

use crate::settings::RunConfig;
use crate::{atomic, files, plot};

/// Values as `f64`, for the CSV writer and the charts.
pub(crate) fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// Writes `predictions.csv` and `predictions.png` for `model` over the run's data, and returns
/// the metrics they give.
pub fn predictions(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
) -> Result<Map<String, Value>> {
    let mut metrics = Map::new();
    let one_step = data.one_step();
    let outputs = elman_train::predict(model, &one_step.inputs)?;
    // In original units, once, for the metrics, the file and the picture.
    let values = data.one_step_values(&outputs);
    let (axis, actual, predicted) = (&one_step.axis, f64s(&one_step.actual), f64s(&values));
    let lines = |from: usize, values: &[f64]| -> Vec<(f64, f64)> {
        axis[from..]
            .iter()
            .copied()
            .zip(values[from..].iter().copied())
            .collect()
    };
    let (title, x_label, header, from, marks, actual_points) = match &data.source {
        Source::Panel(_) => unreachable!("results::predictions gives a panel to panel.rs"),
        Source::Tutorial(wave) => {
            metrics.insert("predict_mse".into(), mse(&one_step.actual, &values).into());
            // The tutorial's picture: the actual points at t[0..20], predictions at t[1..21].
            let points = wave
                .times()
                .iter()
                .zip(wave.inputs())
                .map(|(&t, v)| (t, v.into()))
                .collect();
            (
                format!("Elman RNN on {}: sine wave, one step ahead", config.backend),
                "time",
                "time",
                0,
                [plot::Mark::Points(8), plot::Mark::Points(5)],
                points,
            )
        }
        Source::Waves => {
            let (key, set) = match &data.valid {
                Some(valid) => ("valid_mse", valid),
                None => ("train_mse", &data.train),
            };
            metrics.insert(key.into(), elman_train::evaluate(model, set).into());
            (
                "A validation wave, one step ahead".to_string(),
                "step",
                "step",
                0,
                [plot::Mark::Points(6), plot::Mark::Points(4)],
                lines(0, &actual),
            )
        }
        Source::Series(series) => {
            if let Some(valid) = &one_step.valid {
                metrics.insert(
                    "valid_mse_original_units".into(),
                    mse(&one_step.actual[valid.clone()], &values[valid.clone()]).into(),
                );
            }
            // The picture: the validation span and as much history again before it.
            let shown = (series.test_start - series.valid_start).max(200);
            let from = axis.len().saturating_sub(2 * shown);
            let time = series
                .time
                .as_ref()
                .map_or("step", |time| time.name.as_str());
            (
                "One step ahead".to_string(),
                time,
                time,
                from,
                [plot::Mark::Line(2), plot::Mark::Line(1)],
                lines(from, &actual),
            )
        }
    };
    let header = [header, "actual", "predicted"];
    let table = match &one_step.labels {
        Some(labels) => files::labelled_csv(&header, labels, &[&actual, &predicted])?,
        None => files::columns_csv(&header, &[axis, &actual, &predicted])?,
    };
    atomic::write(&out.join("predictions.csv"), &table)?;
    plot::png(
        &out.join("predictions.png"),
        &plot::Chart {
            title: &title,
            x_label,
            y_label: &config.value_label(),
            log_y: false,
        },
        &[
            plot::Series {
                label: "Actual",
                points: actual_points,
                color: plot::BLUE,
                mark: marks[0],
            },
            plot::Series {
                label: "Predicted",
                points: lines(from, &predicted),
                color: plot::ORANGE,
                mark: marks[1],
            },
        ],
    )?;
    Ok(metrics)
}

/// The closed-loop forecast of `horizon` steps of one series: `forecast.csv` and
/// `forecast.png` in `out`, and the metrics it gives.
pub fn forecast(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
    horizon: usize,
) -> Result<Map<String, Value>> {
    let closed = data.closed_loop()?;
    let (_, outputs) = elman_train::generate(model, &closed.prefix, horizon)?;
    let forecast = closed.finish(&outputs);
    let (predicted, actual, baseline) = (
        f64s(&forecast.predicted),
        f64s(&forecast.actual),
        f64s(&forecast.baseline),
    );

    // Where the forecast lies: the series' time where it has a time column, else the steps.
    let time = data.time().map_or("step", |time| time.name.as_str());
    let (steps, labels) = data.span(closed.history.len(), horizon);
    let header = [time, "actual", "predicted", "baseline"];
    let table = match &labels {
        Some(labels) => files::labelled_csv(&header, labels, &[&actual, &predicted, &baseline])?,
        None => files::columns_csv(&header, &[&steps, &actual, &predicted, &baseline])?,
    };
    atomic::write(&out.join("forecast.csv"), &table)?;
    let metrics = forecast_metrics(&closed, &forecast, horizon);

    let series = forecast_series(data, &closed, &forecast);
    plot::png(
        &out.join("forecast.png"),
        &plot::Chart {
            title: "Closed-loop forecast",
            x_label: time,
            y_label: &config.value_label(),
            log_y: false,
        },
        &series,
    )?;
    Ok(metrics)
}

/// The lines of a forecast's picture on `data`'s axis: the end of the history (three horizons,
/// at least 20 points), the truth where there is some, the forecast and the baseline.
pub(crate) fn forecast_series(
    data: &RunData,
    closed: &ClosedLoop,
    forecast: &Forecast,
) -> Vec<plot::Series<'static>> {
    let history = closed.history.len();
    let shown = history.saturating_sub((3 * forecast.predicted.len()).max(20));
    let line = |label, from: usize, values: &[f32], color, width| plot::Series {
        label,
        points: data
            .span(from, values.len())
            .0
            .into_iter()
            .zip(f64s(values))
            .collect(),
        color,
        mark: plot::Mark::Line(width),
    };
    let mut series = vec![line(
        "History",
        shown,
        &closed.history[shown..],
        plot::GREY,
        2,
    )];
    if !forecast.actual.is_empty() {
        series.push(line("Actual", history, &forecast.actual, plot::BLUE, 2));
    }
    series.push(line(
        "Forecast",
        history,
        &forecast.predicted,
        plot::ORANGE,
        2,
    ));
    series.push(line(
        "Baseline",
        history,
        &forecast.baseline,
        plot::GREEN,
        1,
    ));
    series
}

/// What a forecast of `horizon` steps from `closed` is: its horizon and its baseline.
pub(crate) fn forecast_setting(closed: &ClosedLoop, horizon: usize) -> Map<String, Value> {
    let mut metrics = Map::new();
    metrics.insert("horizon".into(), horizon.into());
    metrics.insert(
        "baseline".into(),
        (if closed.season > 0 {
            format!("seasonal naive, season {}", closed.season)
        } else {
            "last value".into()
        })
        .into(),
    );
    metrics
}

/// [`forecast_setting`], then the forecast's and the baseline's errors against the truth
/// (where there is truth).
pub(crate) fn forecast_metrics(
    closed: &ClosedLoop,
    forecast: &Forecast,
    horizon: usize,
) -> Map<String, Value> {
    let mut metrics = forecast_setting(closed, horizon);
    if !forecast.actual.is_empty() {
        for (name, values) in [
            ("forecast", &forecast.predicted),
            ("baseline", &forecast.baseline),
        ] {
            let truth = &forecast.actual;
            metrics.insert(format!("{name}_mse"), mse(truth, values).into());
            metrics.insert(format!("{name}_mae"), mae(truth, values).into());
            metrics.insert(format!("{name}_smape"), smape(truth, values).into());
            // Scaled by the in-sample error of the seasonal-naive forecast.
            if let Some(scaled) = mase(truth, values, &closed.history, closed.season) {
                metrics.insert(format!("{name}_mase"), scaled.into());
            }
        }
        metrics.insert("compared_steps".into(), forecast.actual.len().into());
    }
    metrics
}
