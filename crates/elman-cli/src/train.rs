//! `elman train` (and `elman` alone): settings, data, weights, the loop, then the files.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use elman_model::ElmanWeights;
use elman_train::{EpochReport, LossKind, TrainReport};

use crate::checkpoint::{self, Checkpoint};
use crate::config::RunConfig;
use crate::data::{self, Prepared};
use crate::progress::Progress;
use crate::{Common, TrainArgs, apply_flags, files, inference, output_folder, plot};

/// Trains as the config and flags say, writing results (and a checkpoint as it goes).
pub fn run(common: &Common, args: &TrainArgs) -> Result<()> {
    // Settings: defaults, then the file (or the checkpoint's), then the flags.
    let (mut config, source, resume) = match &args.resume {
        Some(dir) => {
            if common.config.is_some() {
                bail!("--resume continues with the run's own config: drop --config");
            }
            if common.out.as_deref().is_some_and(|out| out != dir) {
                bail!("--resume writes into the run's own folder: drop --out");
            }
            let checkpoint = checkpoint::load(dir)?;
            let source = format!("resuming {}", dir.display());
            (checkpoint.config.clone(), source, Some(checkpoint))
        }
        None => {
            let (config, path) = RunConfig::load(common.config.as_deref())?;
            let source = path.map_or("built-in defaults".to_string(), |p| p.display().to_string());
            (config, source, None)
        }
    };
    let backend = apply_flags(&mut config, common)?;
    if args.autodiff {
        config.train.fused = false;
    }
    let train_config = config.train_config()?;
    let out = match &args.resume {
        Some(dir) => dir.clone(),
        None => output_folder(common.out.as_deref(), backend.name())?,
    };

    // Data, then the initial weights: a seeded draw on the host, a file, or the checkpoint.
    let prepared = data::prepare(&config)?;
    let model_config = config.model_config(prepared.train.d_input());
    let weights = match (&resume, &args.init_weights) {
        (Some(checkpoint), _) => checkpoint.state.weights.clone(),
        (None, Some(path)) => {
            let weights = files::read_weights(path)?;
            weights
                .check_fits(&model_config)
                .with_context(|| format!("weights {}", path.display()))?;
            weights
        }
        (None, None) => ElmanWeights::init(&model_config, config.seed),
    };
    if let Some(checkpoint) = &resume {
        weights.check_fits(&model_config)?;
        if checkpoint.state.next_epoch >= config.train.n_epochs {
            bail!(
                "the run in {} already has {} epochs: pass a larger --epochs to go on",
                out.display(),
                checkpoint.state.next_epoch
            );
        }
    }
    let device = backend.device()?;

    let init = match (&resume, &args.init_weights) {
        (Some(c), _) => format!("from epoch {}", c.state.next_epoch),
        (None, Some(path)) => format!("weights from {}", path.display()),
        (None, None) => format!("seed {}", config.seed),
    };
    eprintln!(
        "elman: {} epochs, lr {}, {init}, on {backend} ({source}); {} training sequences of {} steps; gradients: {}",
        config.train.n_epochs,
        config.train.lr,
        prepared.train.items().len(),
        prepared.train.seq_len(),
        train_config.gradient_path().on(&device)
    );
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    let fresh = resume.is_none();

    // Train, reporting each epoch and checkpointing it.
    let first_epoch = resume.as_ref().map_or(0, |c| c.state.next_epoch);
    let updates_per_epoch = prepared
        .train
        .items()
        .len()
        .div_ceil(config.train.batch_size)
        * prepared.train.seq_len().div_ceil(config.train.bptt);
    let started = Instant::now();
    let log_every = config.train.log_every;
    let mut progress = Progress::new(config.train.n_epochs);
    let mut checkpoint_error = None;
    // A checkpoint holds the whole loss history, so writing one after every epoch of a long run
    // would cost time that grows with the run; at most once a second, and after the last epoch,
    // loses at most a second's work to a killed run.
    let mut last_checkpoint = Instant::now();
    let scaler = prepared.scaler.clone();
    let resume_state = resume.map(|c| c.state);
    let report = elman_train::fit(
        &weights,
        &prepared.train,
        prepared.valid.as_ref(),
        &train_config,
        &device,
        resume_state,
        |epoch: &EpochReport, snapshot| {
            if log_every > 0 && epoch.epoch.is_multiple_of(log_every) {
                progress.clear();
                match epoch.valid_loss {
                    Some(valid) => println!(
                        "Epoch: {} loss {} valid_loss {valid}",
                        epoch.epoch, epoch.loss
                    ),
                    None => println!("Epoch: {} loss {}", epoch.epoch, epoch.loss),
                }
            }
            progress.update(epoch.epoch, epoch.updates, epoch.loss, epoch.valid_loss);
            let last_epoch = epoch.epoch + 1 == config.train.n_epochs;
            if checkpoint_error.is_none()
                && (last_epoch || last_checkpoint.elapsed() >= CHECKPOINT_EVERY)
            {
                last_checkpoint = Instant::now();
                let checkpoint = Checkpoint {
                    state: snapshot.state(),
                    scaler: scaler.clone(),
                    config: config.clone(),
                };
                checkpoint_error = checkpoint::save(&out, &checkpoint).err();
            }
        },
    );
    progress.finish();
    if let Some(err) = checkpoint_error {
        return Err(err.context("the checkpoint could not be written"));
    }
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            // A run that failed before its first checkpoint leaves no empty folder behind.
            let _ = std::fs::remove_dir(&out);
            return Err(err.into());
        }
    };
    let elapsed = started.elapsed();
    let epochs_run = report.losses.len();
    let updates = report.losses.len().saturating_sub(first_epoch) * updates_per_epoch;
    eprintln!(
        "elman: trained in {} ({:.2} µs per update, {})",
        if elapsed.as_secs_f64() < 1.0 {
            format!("{:.1} ms", elapsed.as_secs_f64() * 1e3)
        } else {
            format!("{:.2} s", elapsed.as_secs_f64())
        },
        elapsed.as_secs_f64() * 1e6 / updates.max(1) as f64,
        report.path.on(&device)
    );

    if fresh {
        files::write_atomic(
            &out.join("init.safetensors"),
            &files::weights_to_safetensors(&weights)?,
        )?;
    }
    write_results(&out, &config, &prepared, &report, train_config.loss)?;
    eprintln!(
        "elman: wrote results to {} ({epochs_run} epochs)",
        out.display()
    );
    Ok(())
}

/// The most time between two checkpoints of a run.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The files a finished run leaves beside its checkpoint.
fn write_results(
    out: &Path,
    config: &RunConfig,
    prepared: &Prepared,
    report: &TrainReport,
    loss: LossKind,
) -> Result<()> {
    let trained = ElmanWeights::from_module(&report.model);
    files::write_atomic(
        &out.join("weights.safetensors"),
        &files::weights_to_safetensors(&trained)?,
    )?;
    if let Some((_, best)) = &report.best {
        let best = ElmanWeights::from_module(best);
        files::write_atomic(
            &out.join("best.safetensors"),
            &files::weights_to_safetensors(&best)?,
        )?;
    }
    files::write_atomic(
        &out.join("losses.csv"),
        files::losses_csv(&report.losses, &report.valid_losses).as_bytes(),
    )?;
    files::write_atomic(&out.join("config.toml"), config.to_toml().as_bytes())?;

    // The loss curves.
    let train_label = match loss {
        LossKind::HalfSumSquares => "train (summed half squared error)",
        LossKind::Mse => "train MSE",
    };
    let curve = |values: &[f64]| {
        values
            .iter()
            .enumerate()
            .map(|(e, &l)| (e as f64, l))
            .collect()
    };
    let mut curves = vec![plot::Series {
        label: train_label,
        points: curve(&report.losses),
        color: plot::BLUE,
        mark: plot::Mark::Line(2),
    }];
    if !report.valid_losses.is_empty() {
        curves.push(plot::Series {
            label: "validation MSE",
            points: curve(&report.valid_losses),
            color: plot::ORANGE,
            mark: plot::Mark::Line(2),
        });
    }
    plot::png(
        &out.join("loss.png"),
        &plot::Chart {
            title: "Training loss",
            x_label: "epoch",
            y_label: "loss",
            log_y: true,
        },
        &curves,
    )?;

    // One-step-ahead predictions with the network a user would pick: the best, else the last.
    let model = report.best.as_ref().map_or(&report.model, |(_, best)| best);
    let mut metrics = inference::write_predictions(out, config, prepared, model)?;
    metrics.insert("epochs".into(), report.losses.len().into());
    metrics.insert("train_loss".into(), report.losses.last().copied().into());
    if let Some((epoch, _)) = &report.best {
        metrics.insert("best_epoch".into(), (*epoch).into());
        metrics.insert("valid_mse".into(), report.valid_losses[*epoch].into());
    }
    files::write_json(&out.join("metrics.json"), &metrics)
}
