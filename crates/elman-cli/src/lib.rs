//! `elman`: trains the tutorial's Elman network and uses what it learned.
//!
//! Glue over the library crates: settings come from defaults, then a TOML config, then flags;
//! the backend name becomes a Burn device here and nowhere else; training, prediction and
//! forecasting run in `elman-train` and `elman-data`; the results are written as CSV, JSON, PNG,
//! TOML and safetensors files. The binary (`main.rs`) parses the command line and calls
//! [`run`]; the benchmarks use [`backend`], [`plot`] and [`serve`]'s live view from here.
//!
//! | file | its job |
//! |---|---|
//! | `args.rs` | the command line |
//! | `settings.rs`, `csv_settings.rs`, `settings_file.rs`, `validate.rs` | the settings (the `[csv]` section's lags, panel predictions and open choices apart), their TOML file, their checks |
//! | `data_size.rs` | what a series file will take in memory, from a quick look at it |
//! | `backend.rs` | backend names to Burn devices |
//! | `source.rs` | the settings to the data, the series' file read |
//! | `run_folder.rs` | the folder a run writes into, and its lock |
//! | `train.rs`, `predict.rs`, `generate.rs`, `backtest.rs` | one subcommand each (`trained.rs`: a run to use) |
//! | `forecast/` | `elman forecast`: a CSV to a forecast, its choices made by validation |
//! | `results/` | the result files of a trained network, one series or a panel decided once: predictions, forecasts, an ensemble's forecast |
//! | `checkpoint.rs`, `files.rs` | the file formats: checkpoint, weights, CSV, JSON |
//! | `atomic.rs` | the one file writer |
//! | `serve/` | `elman serve`: the live page, its server and its runs ([`serve`]) |
//! | `plot.rs`, `progress.rs` | pictures and the progress bar |
//! | `words.rs` | counts in the messages (`1 epoch`, `2 epochs`) |
//! | `fuzz.rs` | tests: every reader against random and damaged files |

mod args;
pub mod atomic;
pub mod backend;
mod backtest;
mod checkpoint;
mod csv_settings;
mod data_size;
mod files;
mod forecast;
#[cfg(test)]
mod fuzz;
mod generate;
pub mod plot;
mod predict;
mod progress;
mod results;
mod run_folder;
pub mod serve;
mod settings;
mod settings_file;
mod source;
mod train;
mod trained;
mod validate;
mod words;

pub use args::Cli;
use args::Command;

/// Runs the command line `cli`, on `--threads` threads where it says so.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    validate::memory_limit()?;
    match cli.common.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(threads))
            .build()
            .map_err(|err| anyhow::anyhow!("cannot start {threads} threads: {err}"))?
            .install(|| command(cli)),
        None => command(cli),
    }
}

/// Runs the command of `cli`.
fn command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => train::run(&cli.common, &cli.train),
        Some(Command::Train(args)) => train::run(&cli.common, &args),
        Some(Command::Predict(args)) => predict::run(&cli.common, &args),
        Some(Command::Generate { from, horizon }) => generate::run(&cli.common, &from, horizon),
        Some(Command::Backtest {
            from,
            origins,
            horizon,
        }) => backtest::run(&cli.common, &from, origins, horizon),
        Some(Command::Forecast(args)) => forecast::run(&cli.common, &args),
        Some(Command::Serve(args)) => serve::run(&cli.common, &args),
    }
}
