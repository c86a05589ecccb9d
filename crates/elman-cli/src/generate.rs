//! `elman generate`: a closed-loop forecast of a trained network, against the truth and the
//! seasonal-naive baseline: `forecast.csv`, `forecast.png` and `metrics.json`.

use std::path::Path;

use anyhow::{Result, bail};
use elman_data::{ClosedLoop, Forecast, RunData, mae, mase, mse, smape};
use elman_model::Elman;
use serde_json::{Map, Value};

use crate::args::{Common, UseArgs};
use crate::predict::f64s;
use crate::run_folder::RunFolder;
use crate::settings::RunConfig;
use crate::{atomic, files, plot, trained};

/// Warms up on the series, then forecasts by feeding predictions back.
pub fn run(common: &Common, args: &UseArgs, horizon: Option<usize>) -> Result<()> {
    let trained = trained::load(common, args)?;
    let closed = trained.data.closed_loop()?;
    let horizon = match horizon.or((!closed.truth.is_empty()).then_some(closed.truth.len())) {
        Some(0) | None => bail!("nothing to forecast: pass --horizon N (at least 1)"),
        Some(h) if h > 1_000_000 => bail!("--horizon must be at most 1000000, got {h}"),
        Some(h) => h,
    };
    let folder = RunFolder::create(common.out.as_deref(), "generate")?;
    let out = folder.path();
    let metrics = if trained.data.members().is_empty() {
        write_forecast(out, &trained.config, &trained.data, &trained.model, horizon)?
    } else {
        crate::panel::write_forecasts(out, &trained.config, &trained.data, &trained.model, horizon)?
    };
    files::write_json(&out.join("metrics.json"), &metrics)?;
    match (metrics.get("forecast_mse"), metrics.get("baseline_mse")) {
        (Some(f), Some(b)) => {
            eprintln!("elman: forecast of {horizon} steps, MSE {f} (baseline {b})")
        }
        _ => eprintln!("elman: forecast of {horizon} steps"),
    }
    eprintln!("elman: wrote the forecast to {}", out.display());
    folder.release();
    Ok(())
}

/// The closed-loop forecast of `horizon` steps of one series: `forecast.csv` and
/// `forecast.png` in `out`, and the metrics it gives.
pub(crate) fn write_forecast(
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

/// The forecast's and the baseline's errors against the truth (where there is truth).
pub(crate) fn forecast_metrics(
    closed: &ClosedLoop,
    forecast: &Forecast,
    horizon: usize,
) -> Map<String, Value> {
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
