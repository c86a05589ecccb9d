//! Every result file a command writes from a trained network, decided once between one series
//! and a panel of many: the one-step-ahead predictions every finished training and
//! `elman predict` write, the closed-loop forecast of `elman generate`, and the ensemble
//! forecast of `elman forecast`. `series.rs` writes one series' (the tutorial's wave, a
//! generated wave, a user's series), `panel.rs` a panel's from the same pieces, `ensemble.rs` an
//! ensemble's forecast past a series' end.

mod ensemble;
mod panel;
mod series;

use std::path::Path;

use anyhow::Result;
use elman_data::{RunData, Source};
use elman_model::Elman;
use serde_json::{Map, Value};

use crate::settings::RunConfig;

pub use ensemble::EnsembleForecast;

/// Writes `predictions.csv` and `predictions.png` for `model` over the run's data, and returns
/// the metrics they give.
pub fn predictions(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
) -> Result<Map<String, Value>> {
    match &data.source {
        Source::Panel(_) => panel::predictions(out, config, data, model),
        Source::Tutorial(_) | Source::Waves | Source::Series(_) => {
            series::predictions(out, config, data, model)
        }
    }
}

/// Writes `forecast.csv` and `forecast.png`, the closed-loop forecast of `horizon` steps of
/// `model` (of every series of a panel), and returns the metrics they give.
pub fn forecasts(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
    horizon: usize,
) -> Result<Map<String, Value>> {
    match &data.source {
        Source::Panel(_) => panel::forecasts(out, config, data, model, horizon),
        Source::Tutorial(_) | Source::Waves | Source::Series(_) => {
            series::forecast(out, config, data, model, horizon)
        }
    }
}

/// Writes an ensemble's forecast past a series' end (`forecast.csv`, `members.csv`,
/// `forecast.png`, `config.toml` and `metrics.json`).
pub fn ensemble_forecast(out: &Path, forecast: &EnsembleForecast<'_>) -> Result<()> {
    ensemble::write(out, forecast)
}
