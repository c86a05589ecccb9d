//! `elman`: trains the tutorial's Elman network and uses what it learned.
//!
//! Glue over the library crates: settings come from defaults, then a TOML config, then flags;
//! the backend name becomes a Burn device here and nowhere else; training, prediction and
//! forecasting run in `elman-train`; the results are written as CSV, JSON, PNG, TOML and
//! safetensors files.

mod backend;
mod checkpoint;
mod config;
mod data;
mod files;
mod inference;
mod plot;
mod progress;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::backend::Backend;
use crate::config::RunConfig;

/// Train the Elman network of "Introduction to Recurrent Neural Networks in PyTorch" on a CPU or
/// GPU backend, and use it to predict and forecast. With no subcommand, `elman` trains: with no
/// other argument, the tutorial's run.
#[derive(Debug, Parser)]
#[command(name = "elman", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    train: TrainArgs,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Common {
    /// TOML config to read (default: configs/tutorial.toml when it exists, else built-in defaults).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Backend to run on: ndarray, flex, wgpu or cuda (overrides the config's `backend`).
    #[arg(long, value_name = "NAME", global = true)]
    pub backend: Option<String>,
    /// Number of epochs (overrides `train.n_epochs`).
    #[arg(long, value_name = "N", global = true)]
    pub epochs: Option<usize>,
    /// Learning rate (overrides `train.lr`).
    #[arg(long, value_name = "LR", global = true)]
    pub lr: Option<f64>,
    /// Seed of the initial weight draw, the generated waves and the shuffling (overrides `seed`).
    #[arg(long, value_name = "N", global = true)]
    pub seed: Option<u64>,
    /// Folder to write the results into; it must not hold files yet (default: a new folder under runs/).
    #[arg(long, value_name = "DIR", global = true)]
    pub out: Option<PathBuf>,
}

/// Options of `elman train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Start from these weights (safetensors with f32 tensors `w1` and `w2`) instead of a draw.
    #[arg(long, value_name = "FILE")]
    pub init_weights: Option<PathBuf>,
    /// Compute the gradients with Burn's autodiff even where the fused one-step path applies.
    #[arg(long)]
    pub autodiff: bool,
    /// Continue the run in this folder from its checkpoint (results go to the same folder).
    #[arg(long, value_name = "DIR", conflicts_with = "init_weights")]
    pub resume: Option<PathBuf>,
}

/// Options of `elman predict` and `elman generate`.
#[derive(Debug, Args)]
pub struct UseArgs {
    /// The run folder whose trained network to use (it holds checkpoint.safetensors).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Use the network after the last epoch instead of the one with the best validation loss.
    #[arg(long)]
    pub last: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a network (what `elman` does with no subcommand).
    Train(TrainArgs),
    /// One-step-ahead predictions of a trained network over its data.
    Predict(UseArgs),
    /// A closed-loop forecast: warm up on the series, then feed each prediction back.
    Generate {
        #[command(flatten)]
        from: UseArgs,
        /// Steps to forecast (default: the config's `csv.test_steps`, or half the sequence).
        #[arg(long, value_name = "N")]
        horizon: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => train::run(&cli.common, &cli.train),
        Some(Command::Train(args)) => train::run(&cli.common, &args),
        Some(Command::Predict(args)) => inference::predict(&cli.common, &args),
        Some(Command::Generate { from, horizon }) => {
            inference::generate(&cli.common, &from, horizon)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Applies the flags that override config keys, then checks the result.
pub fn apply_flags(config: &mut RunConfig, common: &Common) -> Result<Backend> {
    if let Some(backend) = &common.backend {
        config.backend = backend.clone();
    }
    if let Some(epochs) = common.epochs {
        config.train.n_epochs = epochs;
    }
    if let Some(lr) = common.lr {
        config.train.lr = lr;
    }
    if let Some(seed) = common.seed {
        config.seed = seed;
    }
    config.validate()?;
    config.backend.parse()
}

/// The folder to write into: `--out` if given (it must not hold files yet, so no earlier
/// results are overwritten), else a new folder under `runs/` named by the time and backend.
pub fn output_folder(out: Option<&Path>, label: &str) -> Result<PathBuf> {
    if let Some(out) = out {
        if out.exists() {
            if !out.is_dir() {
                bail!("output {} exists and is not a folder", out.display());
            }
            let occupied = std::fs::read_dir(out)
                .with_context(|| format!("cannot read output folder {}", out.display()))?
                .next()
                .is_some();
            if occupied {
                bail!(
                    "output folder {} already holds files: pick another --out (nothing was overwritten)",
                    out.display()
                );
            }
        }
        return Ok(out.to_path_buf());
    }
    let stamp = utc_stamp(std::time::SystemTime::now());
    let base = PathBuf::from("runs").join(format!("{stamp}-{label}"));
    let mut candidate = base.clone();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    Ok(candidate)
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,700,000,000 s after the epoch is 2023-11-14 22:13:20 UTC.
    #[test]
    fn utc_stamp_of_a_known_instant() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(utc_stamp(t), "20231114-221320");
    }
}
