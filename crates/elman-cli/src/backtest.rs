//! `elman backtest`: rolling-origin evaluation of a trained network, `--origins K` forecasts of
//! `--horizon H` steps in closed loop from the last K origins of its series, scored step by step
//! and overall (MAE, RMSE, sMAPE, MASE) beside the naive and seasonal-naive baselines, and how
//! often the model's 80% and 95% intervals (from its own errors before each origin) held the
//! truth: `backtest.csv`, `metrics.json` and `backtest.png`.

use anyhow::Result;
use elman_data::{Case, MEASURES};
use serde_json::{Map, Value};

use crate::args::{Common, UseArgs};
use crate::run_folder::RunFolder;
use crate::{atomic, files, plot, trained};

/// The forecasters a backtest compares, in the order of each case's forecasts.
const FORECASTERS: [&str; 3] = ["model", "naive", "seasonal_naive"];

/// Runs the backtest.
pub fn run(common: &Common, args: &UseArgs, count: usize, horizon: Option<usize>) -> Result<()> {
    let trained = trained::load(common, args)?;
    let (len, default_origin) = trained.data.forecast_span()?;
    // By default the horizon of the held-out tail (or half the wave).
    let horizon = horizon.unwrap_or(len - default_origin);

    // Forecast from each origin of each series (many series: their cases pooled).
    let mut cases = Vec::new();
    let mut origins = Vec::new();
    let mut season = 0;
    // Origins before the held-out tail forecast values the network trained or validated on.
    let mut seen = 0;
    let all = trained.data.each_series();
    let mut coverage = elman_data::Coverage::default();
    for &(id, data) in &all {
        let (len, held_out) = data.forecast_span()?;
        let these = elman_data::origins(len, horizon, count, 1).map_err(|err| match id {
            "" => anyhow::anyhow!(err),
            id => anyhow::anyhow!("series `{id}`: {err}"),
        })?;
        for &origin in &these {
            let closed = data.closed_loop_at(origin)?;
            let (_, outputs) = elman_train::generate(&trained.model, &closed.prefix, horizon)?;
            let forecast = closed.finish(&outputs);
            season = closed.season;
            cases.push(Case {
                history: closed.history,
                actual: forecast.actual,
                forecasts: vec![forecast.predicted, forecast.naive, forecast.baseline],
            });
        }
        let own = &cases[cases.len() - these.len()..];
        coverage = coverage + elman_data::interval_coverage(own, &these, 0);
        seen += these.iter().filter(|&&o| o < held_out).count();
        origins.extend(these);
    }
    let errors = elman_data::score(&cases, &FORECASTERS, season);

    // The files: errors by step, overall, and the picture of the MAE by step.
    let folder = RunFolder::create(common.out.as_deref(), "backtest")?;
    let out = folder.path();
    let mut header = vec!["step".to_string()];
    let mut columns = vec![(1..=horizon).map(|h| h as f64).collect::<Vec<_>>()];
    for forecaster in &errors {
        for (m, measure) in MEASURES.iter().enumerate() {
            header.push(format!("{}_{measure}", forecaster.name));
            columns.push(forecaster.by_step.iter().map(|e| e[m]).collect());
        }
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    atomic::write(
        &out.join("backtest.csv"),
        &files::columns_csv(&header, &columns)?,
    )?;
    let mut metrics = Map::new();
    metrics.insert("origins".into(), origins.len().into());
    metrics.insert("first_origin".into(), origins[0].into());
    metrics.insert("horizon".into(), horizon.into());
    metrics.insert("season".into(), season.into());
    metrics.insert("origins_before_held_out".into(), seen.into());
    if all.len() > 1 {
        metrics.insert("series".into(), all.len().into());
    }
    for forecaster in &errors {
        let overall: Map<String, Value> = MEASURES
            .iter()
            .zip(forecaster.overall)
            .map(|(measure, value)| (measure.to_string(), value.into()))
            .collect();
        metrics.insert(forecaster.name.clone(), overall.into());
    }
    // The model's 80% and 95% intervals, each from its errors before its origin (as
    // `elman forecast` builds them from its validation's).
    let share = |inside: usize| inside as f64 / coverage.values.max(1) as f64;
    if coverage.forecasts > 0 {
        metrics.insert(
            "model_intervals".into(),
            serde_json::json!({
                "forecasts": coverage.forecasts,
                "values": coverage.values,
                "coverage_80": share(coverage.inside80),
                "coverage_95": share(coverage.inside95),
            }),
        );
    }
    files::write_json(&out.join("metrics.json"), &metrics)?;
    let colors = [plot::ORANGE, plot::GREY, plot::GREEN];
    let series: Vec<plot::Series<'_>> = errors
        .iter()
        .zip(colors)
        .map(|(forecaster, color)| plot::Series {
            label: &forecaster.name,
            points: forecaster
                .by_step
                .iter()
                .enumerate()
                .map(|(h, e)| ((h + 1) as f64, e[0]))
                .collect(),
            color,
            mark: plot::Mark::Line(2),
        })
        .collect();
    plot::png(
        &out.join("backtest.png"),
        &plot::Chart {
            title: &format!("Backtest: {} origins, MAE by step ahead", origins.len()),
            x_label: "steps ahead",
            y_label: "MAE",
            log_y: false,
        },
        &series,
    )?;

    let mase: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {:.3}", e.name, e.overall[3]))
        .collect();
    eprintln!(
        "elman: backtest of {} origins, {horizon} steps ahead: MASE {}",
        origins.len(),
        mase.join(", ")
    );
    if coverage.forecasts > 0 {
        eprintln!(
            "elman: the model's intervals, from its errors before each origin, held {:.0}% of the truth at 80% and {:.0}% at 95% ({} of the forecasts)",
            100.0 * share(coverage.inside80),
            100.0 * share(coverage.inside95),
            coverage.forecasts
        );
    } else {
        eprintln!(
            "elman: too few origins for intervals: each needs {} errors known before it",
            elman_data::MIN_KNOWN_ERRORS
        );
    }
    if seen > 0 {
        eprintln!(
            "elman: {seen} of the origins come before the held-out part: their forecasts cover values the network trained or validated on"
        );
    }
    eprintln!("elman: wrote the backtest to {}", out.display());
    folder.release();
    Ok(())
}
