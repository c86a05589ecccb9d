//! `elman`: trains the tutorial's Elman network on a sine wave and writes what it learned.
//!
//! Glue over the library crates: settings come from defaults, then a TOML config, then flags;
//! the backend name becomes a Burn device here and nowhere else; training and prediction run in
//! `elman-train`; the results are written as CSV, PNG, TOML and safetensors files.

mod backend;
mod config;
mod files;
mod plot;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use elman_data::SineDataset;
use elman_model::ElmanWeights;
use plotters::style::RGBColor;

use crate::backend::Backend;
use crate::config::RunConfig;

/// Train the Elman network of "Introduction to Recurrent Neural Networks in PyTorch" to
/// predict a sine wave one step ahead, on a CPU or GPU backend.
#[derive(Debug, Parser)]
#[command(name = "elman", version, about)]
struct Cli {
    /// TOML config to read (default: configs/tutorial.toml when it exists, else built-in defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Backend to run on: ndarray, flex, wgpu or cuda (overrides the config's `backend`).
    #[arg(long, value_name = "NAME")]
    backend: Option<String>,
    /// Number of epochs (overrides `train.n_epochs`).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Learning rate (overrides `train.lr`).
    #[arg(long, value_name = "LR")]
    lr: Option<f64>,
    /// Seed of the initial weight draw (overrides `seed`).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Start from these weights (safetensors with f32 tensors `w1` and `w2`) instead of a draw.
    #[arg(long, value_name = "FILE")]
    init_weights: Option<PathBuf>,
    /// Folder to write the results into; it must not hold files yet (default: a new folder under runs/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    // Settings: defaults, then the file, then the flags.
    let (mut config, source) = RunConfig::load(cli.config.as_deref())?;
    if let Some(backend) = cli.backend {
        config.backend = backend;
    }
    if let Some(epochs) = cli.epochs {
        config.train.n_epochs = epochs;
    }
    if let Some(lr) = cli.lr {
        config.train.lr = lr;
    }
    if let Some(seed) = cli.seed {
        config.seed = seed;
    }
    config.validate()?;
    let backend: Backend = config.backend.parse()?;
    let out = output_folder(cli.out.as_deref(), backend)?;

    // Initial weights: a seeded draw on the host, or a file.
    let model_config = config.model_config();
    let weights = match &cli.init_weights {
        Some(path) => {
            let weights = files::read_weights(path)?;
            weights
                .check_fits(&model_config)
                .with_context(|| format!("weights {}", path.display()))?;
            weights
        }
        None => ElmanWeights::init(&model_config, config.seed),
    };
    let device = backend.device()?;
    let data = SineDataset::new(config.data.start, config.data.end, config.data.seq_len);

    // Train.
    let init = match &cli.init_weights {
        Some(path) => format!("weights from {}", path.display()),
        None => format!("seed {}", config.seed),
    };
    let config_name = source.map_or("built-in defaults".to_string(), |p| p.display().to_string());
    eprintln!(
        "elman: {} epochs, lr {}, {init}, on {backend} ({config_name})",
        config.train.n_epochs, config.train.lr
    );
    let started = Instant::now();
    let log_every = config.train.log_every;
    let report = elman_train::train(&weights, &data, &config.train_config(), &device, |epoch| {
        if log_every > 0 && epoch.epoch % log_every == 0 {
            println!("Epoch: {} loss {}", epoch.epoch, epoch.loss);
        }
    })?;
    let elapsed = started.elapsed();
    let steps = config.train.n_epochs * data.seq_len();
    eprintln!(
        "elman: trained {steps} steps in {:.2} s ({:.1} µs/step)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / steps.max(1) as f64
    );

    // Predict one step ahead from a zero context.
    let predicted = elman_train::predict(&report.model, &data.inputs());

    // Write the results, each file whole or not at all.
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    let trained = ElmanWeights::from_module(&report.model);
    let times = data.times();
    files::write_atomic(
        &out.join("init.safetensors"),
        &files::weights_to_safetensors(&weights)?,
    )?;
    files::write_atomic(
        &out.join("weights.safetensors"),
        &files::weights_to_safetensors(&trained)?,
    )?;
    files::write_atomic(
        &out.join("losses.csv"),
        files::losses_csv(&report.losses).as_bytes(),
    )?;
    files::write_atomic(
        &out.join("predictions.csv"),
        files::predictions_csv(&times[1..], &data.targets(), &predicted).as_bytes(),
    )?;
    files::write_atomic(&out.join("config.toml"), config.to_toml().as_bytes())?;
    let inputs = data.inputs();
    plot::scatter_png(
        &out.join("predictions.png"),
        &format!("Elman RNN on {backend}: sine wave, one step ahead"),
        &[
            plot::Series {
                label: "Actual",
                points: times
                    .iter()
                    .zip(&inputs)
                    .map(|(&t, &v)| (t, v.into()))
                    .collect(),
                color: RGBColor(31, 119, 180),
                size: 8,
            },
            plot::Series {
                label: "Predicted",
                points: times[1..]
                    .iter()
                    .zip(&predicted)
                    .map(|(&t, &v)| (t, v.into()))
                    .collect(),
                color: RGBColor(255, 127, 14),
                size: 5,
            },
        ],
    )?;
    eprintln!("elman: wrote results to {}", out.display());
    Ok(())
}

/// The folder to write into: `--out` if given (it must not hold files yet, so no earlier
/// results are overwritten), else a new folder under `runs/` named by the time and backend.
fn output_folder(out: Option<&Path>, backend: Backend) -> Result<PathBuf> {
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
    let base = PathBuf::from("runs").join(format!("{stamp}-{backend}"));
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
