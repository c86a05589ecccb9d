//! `elman train` (and `elman` alone): settings, data, weights, the loop, then the files.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use elman_data::RunData;
use elman_model::ElmanWeights;
use elman_train::{EpochReport, LossKind, Snapshot, Start, TrainReport};

use crate::args::{Common, TrainArgs};
use crate::checkpoint::{self, Checkpoint};
use crate::progress::Progress;
use crate::run_folder::RunFolder;
use crate::settings::RunConfig;
use crate::validate::available_memory;
use crate::words::count;
use crate::{atomic, files, plot, results};

/// Trains as the config and flags say, writing results (and a checkpoint as it goes).
pub fn run(common: &Common, args: &TrainArgs) -> Result<()> {
    // Settings: defaults, then the file (or the checkpoint's), then the flags; all checked
    // before anything is written.
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
    config.apply(common);
    if args.autodiff {
        config.train.fused = false;
    }
    config.validate(available_memory())?;
    let device = config.backend.device()?;
    if resume.is_none() {
        // What a [csv] section leaves open, chosen by validation (a resumed run's config has
        // every choice written).
        crate::forecast::settle(&mut config, &device)?;
        config.validate(available_memory())?;
    }
    let train_config = config.train_config();

    // Data, then where to start: a seeded draw on the host, a file, or the checkpoint.
    let data = config.prepare_data()?;
    let model_config = config.model_config();
    let start = match (resume, &args.init_weights) {
        (Some(checkpoint), _) => {
            let next = checkpoint.state.next_epoch;
            let finished = args
                .resume
                .as_deref()
                .is_some_and(|dir| dir.join(LAST_RESULT).is_file());
            // A run killed after its last epoch but before all its results were written goes
            // on to write them.
            if next > config.train.n_epochs || (next == config.train.n_epochs && finished) {
                bail!(
                    "the run already has {next} epochs: pass a larger --epochs to go on (train.n_epochs = {})",
                    config.train.n_epochs
                );
            }
            Start::Resume(checkpoint.state)
        }
        (None, Some(path)) => {
            // Matrices for the run's cell: their shapes must fit it.
            let weights =
                files::read_weights(path)?.with_kind(model_config.cell, model_config.bias);
            weights
                .check_fits(&model_config)
                .with_context(|| format!("weights {}", path.display()))?;
            Start::Fresh(weights)
        }
        (None, None) => Start::Fresh(ElmanWeights::init(&model_config, config.seed)),
    };
    let folder = match &args.resume {
        Some(dir) => RunFolder::reopen(dir)?,
        None => RunFolder::create(common.out.as_deref(), config.backend.name())?,
    };

    let init = match (&start, &args.init_weights) {
        (Start::Resume(state), _) => format!("from epoch {}", state.next_epoch),
        (_, Some(path)) => format!("weights from {}", path.display()),
        (_, None) => format!("seed {}", config.seed),
    };
    eprintln!(
        "elman: {}, lr {}, {init}, on {} ({source}); {} of {} steps; gradients: {}",
        count(config.train.n_epochs, "epoch"),
        config.train.lr,
        config.backend,
        count(data.train.len(), "training sequence"),
        data.train.seq_len(),
        train_config.gradient_path_for(&model_config).on(
            &device,
            config.model.d_hidden,
            config.model.cell
        )
    );

    // Train, printing each epoch's loss as the config says, with a progress line.
    let log_every = config.train.log_every;
    let mut progress = Progress::new(config.train.n_epochs);
    let job = Job {
        config,
        data,
        start,
        device,
        folder,
    };
    let outcome = execute(job, |epoch: &EpochReport, _| {
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
        ControlFlow::Continue(())
    });
    progress.finish();
    let done = outcome?;
    let elapsed = done.elapsed;
    eprintln!(
        "elman: trained in {} ({:.2} µs per update, {})",
        if elapsed.as_secs_f64() < 1.0 {
            format!("{:.1} ms", elapsed.as_secs_f64() * 1e3)
        } else {
            format!("{:.2} s", elapsed.as_secs_f64())
        },
        elapsed.as_secs_f64() * 1e6 / done.updates.max(1) as f64,
        done.report.path.on(
            &done.device,
            done.report.model.d_hidden(),
            done.report.model.cell
        )
    );
    if let elman_train::StopReason::EarlyStopping { .. } = done.report.stop {
        eprintln!("elman: {}", done.report.stop);
    }
    eprintln!(
        "elman: wrote results to {} ({})",
        done.out.display(),
        count(done.report.losses.len(), "epoch")
    );
    Ok(())
}

/// A run ready to train: its settings checked, its data prepared, where it starts, the device
/// and the folder it holds. `elman train` and `elman serve` both build one.
pub(crate) struct Job {
    /// The settings.
    pub config: RunConfig,
    /// The prepared data.
    pub data: RunData,
    /// Fresh weights or a checkpoint's state.
    pub start: Start,
    /// The training device.
    pub device: Device,
    /// The folder the run writes into.
    pub folder: RunFolder,
}

/// What [`execute`] leaves: the report, and where and how long.
pub(crate) struct Done {
    /// The training loop's report.
    pub report: TrainReport,
    /// The run folder.
    pub out: PathBuf,
    /// The training device.
    pub device: Device,
    /// Time spent in the loop.
    pub elapsed: Duration,
    /// Weight updates made by this run (not counting epochs before a resume).
    pub updates: usize,
}

/// Trains `job` with `elman-train`'s loop, checkpointing as it goes, and writes the results into
/// its folder, which it then releases. `observe` sees every epoch before the checkpoint is
/// written; a `Break` stops the run after that epoch, with its checkpoint and results written.
pub(crate) fn execute(
    job: Job,
    mut observe: impl FnMut(&EpochReport, &Snapshot<'_>) -> ControlFlow<()>,
) -> Result<Done> {
    let Job {
        config,
        data,
        start,
        device,
        folder,
    } = job;
    let out = folder.path().to_path_buf();
    if let Start::Fresh(weights) = &start {
        atomic::write(
            &out.join("init.safetensors"),
            &files::weights_to_safetensors(weights)?,
        )?;
    }
    let first_epoch = start.epoch();
    let train_config = config.train_config();
    let updates_per_epoch = data.train.len().div_ceil(config.train.batch_size)
        * data.train.seq_len().div_ceil(config.train.bptt);
    let started = Instant::now();
    let mut checkpoint_error = None;
    // A checkpoint holds the whole loss history, so writing one after every epoch of a long run
    // would cost time that grows with the run: by default at most once a second, and after the
    // last epoch, which loses at most a second's work to a killed run.
    let checkpoint_every = Duration::from_secs_f64(config.train.checkpoint_every);
    let mut last_checkpoint = Instant::now();
    let report = elman_train::fit(
        start,
        &data.train,
        data.valid.as_ref(),
        &train_config,
        &device,
        |epoch: &EpochReport, snapshot| {
            let next = observe(epoch, snapshot);
            if checkpoint_error.is_none()
                && (epoch.last || next.is_break() || last_checkpoint.elapsed() >= checkpoint_every)
            {
                last_checkpoint = Instant::now();
                let checkpoint = Checkpoint {
                    state: snapshot.state(),
                    scaler: data.scaler.clone(),
                    config: config.clone(),
                };
                checkpoint_error = checkpoint::save(&out, &checkpoint).err();
            }
            next
        },
    );
    let elapsed = started.elapsed();
    if let Some(err) = checkpoint_error {
        return Err(err.context("the checkpoint could not be written"));
    }
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            // A run that failed before its first checkpoint leaves no folder behind.
            if first_epoch == 0 && !out.join(checkpoint::FILE).exists() {
                let _ = std::fs::remove_file(out.join("init.safetensors"));
            }
            folder.release();
            return Err(err.into());
        }
    };
    let updates = report.losses.len().saturating_sub(first_epoch) * updates_per_epoch;
    write_results(&folder, &config, &data, &report)?;
    folder.release();
    Ok(Done {
        report,
        out,
        device,
        elapsed,
        updates,
    })
}

/// The file a finished run writes last: with it there, the run's results are complete.
const LAST_RESULT: &str = "metrics.json";

/// The files a finished run leaves beside its checkpoint (`metrics.json` last).
fn write_results(
    folder: &RunFolder,
    config: &RunConfig,
    data: &RunData,
    report: &TrainReport,
) -> Result<()> {
    let out = folder.path();
    let trained = ElmanWeights::from_module(&report.model);
    atomic::write(
        &out.join("weights.safetensors"),
        &files::weights_to_safetensors(&trained)?,
    )?;
    if let Some((_, best)) = &report.best {
        let best = ElmanWeights::from_module(best);
        atomic::write(
            &out.join("best.safetensors"),
            &files::weights_to_safetensors(&best)?,
        )?;
    }
    atomic::write(
        &out.join("losses.csv"),
        &files::losses_csv(&report.losses, &report.valid_losses)?,
    )?;
    atomic::write(&out.join("config.toml"), config.to_toml()?.as_bytes())?;

    // The loss curves.
    let train_label = match config.train.loss {
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
    let mut metrics = results::predictions(out, config, data, model)?;
    metrics.insert("epochs".into(), report.losses.len().into());
    metrics.insert("train_loss".into(), report.losses.last().copied().into());
    match report.stop {
        elman_train::StopReason::EarlyStopping { epoch, .. } => {
            metrics.insert("stopped_early_after_epoch".into(), epoch.into());
        }
        elman_train::StopReason::Stopped { epoch } => {
            metrics.insert("stopped_after_epoch".into(), epoch.into());
        }
        elman_train::StopReason::Completed => {}
    }
    if let Some((epoch, _)) = &report.best {
        metrics.insert("best_epoch".into(), (*epoch).into());
        metrics.insert("valid_mse".into(), report.valid_losses[*epoch].into());
    }
    files::write_json(&out.join("metrics.json"), &metrics)
}
