//! `elman forecast`: from a CSV file to a forecast past its end, with no config. The season,
//! the transformation and the window are chosen by rolling-origin validation over the last
//! horizons of the series (`choose.rs`); then an ensemble of networks from consecutive seeds
//! trains on the whole series for each chosen candidate, and their mean, with 80% and 95%
//! intervals, is the forecast (or the simple forecast, the last value repeated or the drift
//! line continued, where the networks do not validate clearly better than it); `report.rs`
//! makes the metrics of the choice and the `config.toml` of the best candidate (which
//! `elman train --config` trains again), and `results` writes them with `forecast.csv`,
//! `members.csv` and `forecast.png`.
//!
//! Invariant: bad input is one error before any network trains; the output folder is taken
//! (and checked empty) before the work and removed again if the work fails before writing.

mod choose;
mod defaults;
mod recipe;
mod report;
mod simple;

use anyhow::{Context, Result, bail};
use elman_data::{MissingValues, Table, TimeColumn, parse_csv_with_time};

use crate::args::{Common, ForecastArgs};
use crate::backend::Backend;
use crate::run_folder::RunFolder;

pub use defaults::settle;
pub use recipe::Recipe;

/// How many horizons at the end of the series the validation forecasts.
const VALIDATION_ORIGINS: usize = 3;

/// The longest forecast `elman forecast` makes.
const MAX_HORIZON: usize = 10_000;

/// Runs `elman forecast`.
pub fn run(common: &Common, args: &ForecastArgs) -> Result<()> {
    if common.config.is_some() {
        bail!(
            "elman forecast makes its own choices: drop --config (elman train --config takes the config.toml it writes)"
        );
    }
    if args.horizon == 0 {
        bail!("--horizon must be at least 1");
    }
    if args.horizon > MAX_HORIZON {
        bail!(
            "--horizon must be at most {MAX_HORIZON}, got {}",
            args.horizon
        );
    }
    let (recipe, table, season_from) = read(common, args)?;
    let device = recipe.base.backend.device()?;
    let folder = RunFolder::create(common.out.as_deref(), "forecast")?;
    let out = folder.path().to_path_buf();
    let done = forecast(&recipe, &table, season_from, args, common, &device, &out);
    folder.release();
    done?;
    eprintln!("elman: wrote the forecast to {}", out.display());
    Ok(())
}

/// The file's series and what every candidate shares: the file read once, the season given,
/// the calendar's or the autocorrelation's.
fn read(common: &Common, args: &ForecastArgs) -> Result<(Recipe, Table, &'static str)> {
    let path = std::fs::canonicalize(&args.csv)
        .with_context(|| format!("cannot read data {}", args.csv.display()))?;
    let bytes = crate::source::open_data(&path)?;
    let target = args.target.as_str();
    let missing = match args.missing.as_str() {
        "skip" => MissingValues::Skip,
        "interpolate" => MissingValues::Interpolate,
        _ => MissingValues::Error,
    };
    let table = parse_csv_with_time(bytes, &[target, target], args.time.as_deref(), missing)
        .with_context(|| format!("data {}", path.display()))?;
    let time = table
        .time
        .as_ref()
        .map(|(name, labels)| TimeColumn::parse(name, labels.clone(), &table.lines))
        .transpose()
        .with_context(|| format!("data {}", path.display()))?;
    let levels = &table.columns[1];
    if levels.iter().any(|v| !v.is_finite()) {
        bail!(
            "data {}: `{target}` holds a value that is not a finite number",
            path.display()
        );
    }
    let (season, season_from) = match args.season {
        Some(season) => (season, "given"),
        None => elman_data::season_of(time.as_ref(), levels),
    };
    if season == 1 || 2 * season >= levels.len() {
        bail!(
            "--season {season} does not fit `{target}`: a season is 0 (none) or at least 2, and the series needs two of them ({} values, it has {})",
            2 * season,
            levels.len()
        );
    }
    let recipe = Recipe::forecast(
        path,
        (target, args.time.as_deref().unwrap_or_default(), missing),
        season,
        levels.len(),
        common.backend.unwrap_or(Backend::Flex),
    );
    Ok((recipe, table, season_from))
}

/// Validates the candidates, trains the ensemble and writes the files into `out`.
fn forecast(
    recipe: &Recipe,
    table: &Table,
    season_from: &str,
    args: &ForecastArgs,
    common: &Common,
    device: &burn::prelude::Device,
    out: &std::path::Path,
) -> Result<()> {
    let seeds: Vec<u64> = (0..u64::from(args.ensemble))
        .map(|k| common.seed.unwrap_or(1) + k)
        .collect();
    eprintln!(
        "elman: `{}`, {} values; season {} ({season_from}); forecasting {} past the end",
        recipe.target,
        recipe.rows,
        recipe.season,
        crate::words::count(args.horizon, "step")
    );
    let space = choose::Space::all(&table.columns[1], recipe.season, args.horizon);
    let chosen = choose::choose(
        recipe,
        table,
        args.horizon,
        &seeds,
        device,
        VALIDATION_ORIGINS,
        &space,
    )?;
    let others: Vec<String> = chosen.picked().skip(1).map(|c| c.describe()).collect();
    eprintln!(
        "elman: combined with {}, the combination that validates best: MASE {:.3}, the mean of its networks",
        match others.len() {
            0 => "no other".to_string(),
            _ => format!("the next {}: {}", others.len(), others.join("; ")),
        },
        chosen.combined.mase
    );
    let members = if chosen.simple_wins() {
        let (simple, validation) = chosen.simple();
        let name = simple.name();
        eprintln!(
            "elman: the {name} forecast validates at MASE {:.3}, and the networks do not score below {:.0}% of it: forecasting {name}",
            validation.mase,
            100.0 * simple::NETWORKS_MUST_SCORE
        );
        Vec::new()
    } else {
        choose::ensemble(recipe, table, &chosen, args.horizon, &seeds, device)?
    };
    let report = report::report(
        recipe,
        table,
        season_from,
        args.horizon,
        &chosen,
        &members,
        seeds[0],
    )?;
    crate::results::ensemble_forecast(out, &report)
}
