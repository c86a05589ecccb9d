//! `elman forecast`'s choices as the defaults of a `[csv]` section: what a section of one
//! series (its own only input) does not write, the season, the transformation (`difference`,
//! `log` and `deseasonalize` all unwritten) and the window, is chosen as `elman forecast`
//! chooses it, by rolling-origin validation over the rows before the held-out ones, with the
//! run's own network and loop; what it writes always stands. Any other section takes the plain
//! defaults. Afterwards every choice is written in the config, so that the run's `config.toml`
//! and checkpoint say what it trained with and `--resume` chooses nothing again.

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use elman_data::{DataSource, Table, TimeColumn};

use super::choose::{self, Space};
use super::recipe::Recipe;
use crate::settings::{Lags, RunConfig};

/// Origins the validation forecasts from, as `elman forecast`'s.
const ORIGINS: usize = 3;

/// Seeds each candidate is validated with: the run's seed and the next ones.
const SEEDS: u64 = 3;

/// Makes the choices `config`'s `[csv]` section leaves open (see the module), printing what it
/// tried and chose; a config with nothing open is left as it is.
pub fn settle(config: &mut RunConfig, device: &Device) -> Result<()> {
    let Some(csv) = config.csv.clone() else {
        return Ok(());
    };
    let open = csv.open_choices();
    if !open.any() {
        return Ok(());
    }
    if !csv.one_series() {
        config.csv = Some(csv.with_defaults());
        return Ok(());
    }
    let DataSource::Series { table, .. } = config.data_source()? else {
        bail!("a [csv] section of one series reads one series");
    };
    // Only the rows before the held-out tail: they are never trained or validated on.
    let rows = table.rows().saturating_sub(csv.test_steps);
    let table = head(&table, rows);
    let levels = table.columns[1].clone();
    let time = table
        .time
        .as_ref()
        .map(|(name, labels)| TimeColumn::parse(name, labels.clone(), &table.lines))
        .transpose()
        .with_context(|| format!("data {}", csv.path.display()))?;
    let (season, from) = match csv.season {
        Some(season) => (season, "written"),
        None => elman_data::season_of(time.as_ref(), &levels),
    };
    let mut settled = csv.clone();
    settled.season = Some(season);
    if !(open.transform || open.window) {
        eprintln!("elman: csv.season = {season} ({from})");
        config.csv = Some(settled.with_defaults());
        return Ok(());
    }

    // The held-out span, else a season, else 8 steps: what the validation forecasts.
    let horizon = match (csv.test_steps, season) {
        (0, 0 | 1) => 8,
        (0, season) => season,
        (steps, _) => steps,
    };
    let written = {
        let mut transform = csv.transform();
        transform.adjust = if csv.deseasonalize == Some(true) {
            season
        } else {
            0
        };
        transform
    };
    let space = Space {
        transforms: if open.transform {
            elman_data::transforms(&levels, season)
        } else {
            vec![written]
        },
        windows: if open.window {
            elman_data::candidate_windows(season, horizon)
        } else {
            [csv.window(); 2]
        },
    };
    let mut base = config.clone();
    base.train.log_every = 0;
    base.train.valid_fraction = 0.0;
    let recipe = Recipe {
        path: csv.path.clone(),
        target: csv.target.clone(),
        season,
        rows,
        base,
        bptt_is_window: false,
    };
    eprintln!(
        "elman: [csv] leaves {} open: choosing by validation, with season {season} ({from})",
        [
            (open.transform, "the transformation"),
            (open.window, "the window"),
        ]
        .iter()
        .filter(|(is, _)| *is)
        .map(|(_, what)| *what)
        .collect::<Vec<_>>()
        .join(" and ")
    );
    let seeds: Vec<u64> = (0..SEEDS).map(|k| config.seed.saturating_add(k)).collect();
    let chosen = choose::choose(&recipe, &table, horizon, &seeds, device, ORIGINS, &space)?;
    let best = &chosen.best().candidate;
    if open.transform {
        settled.difference = Some(Lags(best.transform.lags.clone()));
        settled.log = Some(best.transform.log);
        settled.deseasonalize = Some(best.transform.adjust > 0);
    }
    if open.window {
        settled.window = Some(best.window);
    }
    config.csv = Some(settled.with_defaults());
    Ok(())
}

/// The first `rows` rows of `table`.
fn head(table: &Table, rows: usize) -> Table {
    Table {
        names: table.names.clone(),
        columns: table
            .columns
            .iter()
            .map(|c| c[..rows.min(c.len())].to_vec())
            .collect(),
        lines: table.lines.head(rows),
        time: table
            .time
            .as_ref()
            .map(|(name, labels)| (name.clone(), labels.slice(0, rows))),
    }
}
