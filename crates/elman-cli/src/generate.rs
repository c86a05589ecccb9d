//! `elman generate`: a closed-loop forecast of a trained network, against the truth and the
//! seasonal-naive baseline: `forecast.csv`, `forecast.png` (both written by `results`) and
//! `metrics.json`.

use anyhow::{Result, bail};

use crate::args::{Common, UseArgs};
use crate::run_folder::RunFolder;
use crate::{files, results, trained};

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
    let metrics = results::forecasts(out, &trained.config, &trained.data, &trained.model, horizon)?;
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
