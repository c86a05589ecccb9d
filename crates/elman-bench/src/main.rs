//! The benchmark workloads behind `cargo xtask bench`, one JSON line per result on stdout.
//!
//! `elman-bench` alone runs every workload on every backend, each in a child process of its own
//! (`elman-bench --one WORKLOAD BACKEND PATH THREADS`) so that each result carries the peak
//! resident memory of that workload alone. Workloads:
//!
//! - `tutorial`: the tutorial's whole run, 300 epochs of online SGD on the 20-step wave
//!   (6,000 updates), in µs per update, through the fused path (in the Flex or GPU kernel, and
//!   as tensor operations: `fused-ops`) and through autodiff, and
//!   (`live`) through the fused path watched as `elman serve` watches it: every epoch recorded,
//!   the weights handed to the painter thread at most 30 times a second, frames drawn;
//! - `batched`: full BPTT over 64-step sine waves, batches of 256, hidden 64, Adam: training
//!   (through hand-derived BPTT, with the recurrence in the GPU kernels where they apply and as
//!   tensor operations (`hand-ops`), and through autodiff) and inference in sequences per
//!   second;
//! - `batched-256`: the same with hidden 256;
//! - `lstm`, `gru`, `lstm-256`, `gru-256` (asked for by `--workloads`): the same for `elman
//!   train`'s gated cells with biases at hidden 64 and 256, through the path `fit` takes for
//!   them (`elman`) and through autodiff over the steps (`autodiff`);
//! - `layer-elman`, `layer-lstm`, `layer-gru` and the same with `-256` (asked for by
//!   `--workloads`; `layers.rs`): a Burn user's model of a recurrent layer and a linear head,
//!   trained by Burn's autodiff and Adam at hidden 64 (256), around elman's `ElmanLayer` (path
//!   `elman`) and `burn::nn`'s layers (`burn-nn`), in training sequences per second, and its
//!   inference (`layer-*-inference`, sequences per second);
//! - `panel-N` (asked for by `--workloads`; `panel.rs`): N generated series of 1,000 steps in
//!   one long-form file, read as `elman train` reads it (rows a second, path `read`) and
//!   trained for an epoch (training sequences a second), with the peak memory of both.
//!
//! `elman-bench --phases BACKEND HIDDEN` times the parts of one batched window instead
//! (`phases.rs`).

mod chart;
mod layers;
mod panel;
mod phases;

use std::process::{Command, ExitCode};
use std::time::Instant;

use burn::prelude::Device;
use elman_cli::backend::Backend;
use elman_data::{SineDataset, SineWaves};
use elman_model::{Cell, ElmanConfig, ElmanWeights};
use elman_train::{LossKind, OptimizerKind, Start, TrainConfig};
use serde::Serialize;

/// The allocator of `elman` itself (see `elman-cli`'s `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One result, printed as one JSON line (`cargo xtask bench` reads it back with serde).
#[derive(Debug, Serialize)]
struct Measurement<'a> {
    workload: &'a str,
    backend: &'a str,
    path: &'a str,
    threads: usize,
    figure: f64,
    unit: &'a str,
    peak_rss_mib: f64,
}

/// Peak resident memory of this process so far, in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn line(
    workload: &str,
    backend: &str,
    path: &str,
    threads: usize,
    figure: f64,
    unit: &str,
) -> String {
    let measurement = Measurement {
        workload,
        backend,
        path,
        threads,
        figure,
        unit,
        // One decimal is all a reader of the table needs.
        peak_rss_mib: (peak_rss_mib() * 10.0).round() / 10.0,
    };
    serde_json::to_string(&measurement).expect("a measurement is plain JSON")
}

/// The tutorial's run, the best of at least 3 runs and as many more as fit in a second (at most
/// 50; a fast run takes a few milliseconds, so one best of 3 would be mostly noise): µs per
/// update.
fn tutorial(device: &Device, fused: bool, kernels: bool) -> f64 {
    let data = SineDataset::tutorial();
    let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
    let config = TrainConfig {
        fused,
        kernels,
        ..TrainConfig::default()
    };
    let steps = (config.n_epochs * data.seq_len()) as f64;
    let all = Instant::now();
    let mut best = f64::MAX;
    for repeat in 0..50 {
        if repeat >= 3 && all.elapsed().as_secs_f64() > 1.0 {
            break;
        }
        let started = Instant::now();
        let report = elman_train::train(&weights, &data, &config, device, |_| {}).expect("trains");
        assert!(report.losses.last().is_some_and(|l| l.is_finite()));
        best = best.min(started.elapsed().as_secs_f64() * 1e6 / steps);
    }
    best
}

/// [`tutorial`] through the fused path with `elman serve`'s per-epoch callback and painter, as
/// a run of the page at full pace: µs per update of the training alone.
fn tutorial_live(device: &Device) -> f64 {
    use elman_cli::serve::{Form, Painter, Run};

    let data = SineDataset::tutorial();
    let sequences = elman_data::SequenceDataset::from_tutorial(&data);
    let shown = elman_data::DataSource::Tutorial(data.clone())
        .prepare()
        .expect("the tutorial's data");
    let cpu = elman_cli::backend::cpu().expect("a CPU backend");
    let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
    let config = TrainConfig::default();
    let form = Form {
        data: "tutorial.toml".into(),
        d_hidden: 6,
        lr: config.lr,
        optimizer: config.optimizer,
        batch_size: 1,
        bptt: 1,
        epochs: config.n_epochs,
        seed: 1,
        backend: Backend::Flex,
        pace: 0,
    };
    let steps = (config.n_epochs * data.seq_len()) as f64;
    let all = Instant::now();
    let mut best = f64::MAX;
    for repeat in 0..50 {
        if repeat >= 3 && all.elapsed().as_secs_f64() > 1.0 {
            break;
        }
        let run = Run::new(
            0,
            form.clone(),
            Default::default(),
            String::new(),
            config.lr,
        );
        let painting = run.spawn_painter(Painter::new(shown.clone(), cpu.clone()));
        let mut watcher = run.watcher();
        let started = Instant::now();
        let report = elman_train::fit(
            Start::Fresh(weights.clone()),
            &sequences,
            None,
            &config,
            device,
            |epoch, snapshot| watcher.epoch(epoch, snapshot),
        )
        .expect("trains");
        let elapsed = started.elapsed();
        run.finish_painting(painting);
        assert!(report.losses.last().is_some_and(|l| l.is_finite()));
        assert!(run.live().frame.is_some(), "frames were drawn");
        best = best.min(elapsed.as_secs_f64() * 1e6 / steps);
    }
    best
}

/// Timed repetitions of a batched figure: at least this many, and more while under [`BUDGET_S`].
const MIN_REPEATS: usize = 5;
/// Repetitions go on until this many seconds have passed (at most [`MAX_REPEATS`]).
const BUDGET_S: f64 = 1.5;
/// At most this many timed repetitions.
const MAX_REPEATS: usize = 40;

/// Whether to time another repetition after `done` of them, the first begun at `since`.
fn another(done: usize, since: Instant) -> bool {
    done < MIN_REPEATS || (done < MAX_REPEATS && since.elapsed().as_secs_f64() <= BUDGET_S)
}

/// Full BPTT of a network like `model` on batches of 256 waves of 64 steps: (training,
/// inference) sequences per second,
/// each the best of at least [`MIN_REPEATS`] timed repetitions (an epoch of 1,024 waves in one
/// run of `fit`, timed from one epoch's end to the next; then `evaluate_on` over the same waves,
/// put on the device beforehand),
/// after one untimed to warm up. The PyTorch and JAX scripts time theirs the same way.
fn batched(device: &Device, model: ElmanConfig, fused: bool, kernels: bool) -> (f64, f64) {
    let waves = SineWaves {
        n_series: 1024,
        seq_len: 64,
        ..SineWaves::default()
    }
    .generate();
    let weights = ElmanWeights::init(&model, 1);
    let config = TrainConfig {
        n_epochs: 1 + MAX_REPEATS,
        lr: 1e-3,
        batch_size: 256,
        bptt: 64,
        optimizer: OptimizerKind::Adam,
        loss: LossKind::Mse,
        grad_clip: None,
        shuffle_seed: None,
        fused,
        kernels,
        ..TrainConfig::default()
    };
    let items = waves.len() as f64;
    // The first epoch warms up (kernels, allocations); each later epoch is one repetition,
    // its end marked when `fit` reports it (the epoch's losses read back: one sync point).
    let all = Instant::now();
    let mut last = Instant::now();
    let mut best = f64::MAX;
    let report = elman_train::fit(
        Start::Fresh(weights),
        &waves,
        None,
        &config,
        device,
        |report, _| {
            let now = Instant::now();
            if report.epoch > 0 {
                best = best.min(now.duration_since(last).as_secs_f64());
            }
            last = now;
            if another(report.epoch, all) {
                std::ops::ControlFlow::Continue(())
            } else {
                std::ops::ControlFlow::Break(())
            }
        },
    )
    .expect("trains");
    let train = items / best;
    let model = report.model;
    // The waves go to the device once, as the PyTorch and JAX scripts put theirs there before
    // timing; the first pass warms up (the GPU compiles the forward kernel).
    let on_device = elman_train::Sequences::new(&waves, device);
    elman_train::evaluate_on(&model, &on_device);
    let all = Instant::now();
    let (mut best, mut done) = (f64::MAX, 0);
    while another(done, all) {
        let started = Instant::now();
        let mse = elman_train::evaluate_on(&model, &on_device);
        assert!(mse.is_finite());
        best = best.min(started.elapsed().as_secs_f64());
        done += 1;
    }
    (train, items / best)
}

/// Runs one workload in this process and prints its lines.
fn one(workload: &str, backend: &str, path: &str, threads: usize) -> Result<(), String> {
    let device = Backend::from_name(backend)
        .and_then(Backend::device)
        .map_err(|err| format!("{err:#}"))?;
    match workload {
        "tutorial" => {
            let us = match path {
                "live" => tutorial_live(&device),
                "fused-ops" => tutorial(&device, true, false),
                _ => tutorial(&device, path == "fused", true),
            };
            println!("{}", line(workload, backend, path, threads, us, "us/step"));
        }
        "batched" | "batched-256" | "lstm" | "lstm-256" | "gru" | "gru-256" => {
            let (cell, bias) = match workload.split('-').next() {
                Some("lstm") => (Cell::Lstm, true),
                Some("gru") => (Cell::Gru, true),
                _ => (Cell::Elman, false),
            };
            let model = ElmanConfig {
                cell,
                bias,
                d_hidden: if workload.ends_with("-256") { 256 } else { 64 },
                w1_std: 0.1,
                w2_std: 0.1,
                ..ElmanConfig::default()
            };
            let (train, infer) = batched(&device, model, path != "autodiff", path != "hand-ops");
            println!(
                "{}",
                line(workload, backend, path, threads, train, "train seq/s")
            );
            // Inference is the same for both training paths: reported once.
            if path == "hand" || path == "elman" {
                println!(
                    "{}",
                    line(
                        &format!("{workload}-inference"),
                        backend,
                        "forward",
                        threads,
                        infer,
                        "seq/s"
                    )
                );
            }
        }
        other if panel::series(other).is_some() => {
            let n = panel::series(other).expect("matched");
            let (rows, train) = panel::run(&device, n)?;
            println!("{}", line(other, backend, "read", threads, rows, "rows/s"));
            println!(
                "{}",
                line(other, backend, path, threads, train, "train seq/s")
            );
        }
        other => {
            let (cell, hidden) =
                layers::workload(other).ok_or(format!("unknown workload `{other}`"))?;
            let burn_nn = path == "burn-nn";
            let train = layers::train(&device, cell, hidden, burn_nn);
            println!(
                "{}",
                line(other, backend, path, threads, train, "train seq/s")
            );
            let infer = layers::infer(&device, cell, hidden, burn_nn);
            println!(
                "{}",
                line(
                    &format!("{other}-inference"),
                    backend,
                    path,
                    threads,
                    infer,
                    "seq/s"
                )
            );
        }
    }
    Ok(())
}

/// Runs `work` in a pool of `threads` threads, so that a figure labelled `threads` was measured
/// on that many (the batch's parts and Flex's own parallel loops take the current pool).
fn on_threads<T>(
    threads: usize,
    work: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String>
where
    T: Send,
{
    if threads == 0 {
        return Err("threads must be at least 1".to_string());
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|err| format!("a pool of {threads} threads: {err}"))?
        .install(work)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--chart", results, png] => chart::draw(results, png),
        ["--phases", backend, hidden] => hidden
            .parse()
            .map_err(|_| format!("hidden `{hidden}` is not a number"))
            .and_then(|hidden| phase_lines(backend, hidden)),
        ["--one", workload, backend, path, threads] => threads
            .parse()
            .map_err(|_| format!("threads `{threads}` is not a number"))
            .and_then(|threads| on_threads(threads, || one(workload, backend, path, threads))),
        rest => run_all(rest),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

/// Prints [`phases::run`]'s times, one JSON line per phase.
fn phase_lines(backend: &str, d_hidden: usize) -> Result<(), String> {
    let device = Backend::from_name(backend)
        .and_then(Backend::device)
        .map_err(|err| format!("{err:#}"))?;
    for (phase, us) in phases::run(&device, d_hidden) {
        let line = serde_json::json!({
            "phase": phase,
            "backend": backend,
            "hidden": d_hidden,
            "us": (us * 10.0).round() / 10.0,
        });
        println!("{line}");
    }
    Ok(())
}

/// Every workload on every backend named (default: all), each in a child process.
fn run_all(args: &[&str]) -> Result<(), String> {
    // The backends compiled into the bench (CUDA is not).
    let mut backends: Vec<&str> = [Backend::Flex, Backend::Ndarray, Backend::Wgpu]
        .map(Backend::name)
        .to_vec();
    let mut workloads = vec!["tutorial", "batched", "batched-256"];
    let mut threads = 1;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match *arg {
            "--backends" => backends = value()?.split(',').collect(),
            "--workloads" => workloads = value()?.split(',').collect(),
            "--threads" => {
                threads = value()?
                    .parse()
                    .map_err(|_| "--threads takes a number".to_string())?
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (use --backends, --workloads, --threads)"
                ));
            }
        }
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    for workload in &workloads {
        for backend in &backends {
            let paths: &[&str] = if *workload == "tutorial" {
                &["fused", "fused-ops", "live", "autodiff"]
            } else if layers::workload(workload).is_some() {
                &["elman", "burn-nn"]
            } else if panel::series(workload).is_some() {
                &["elman"]
            } else if workload.starts_with("lstm") || workload.starts_with("gru") {
                &["elman", "autodiff"]
            } else {
                &["hand", "hand-ops", "autodiff"]
            };
            for path in paths {
                eprintln!("bench: {workload} on {backend} ({path}, {threads} thread(s))");
                let status = Command::new(&exe)
                    .args(["--one", workload, backend, path, &threads.to_string()])
                    .env("RAYON_NUM_THREADS", threads.to_string())
                    .status()
                    .map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err(format!("{workload} on {backend} failed ({status})"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `--one`'s work sees the pool it was asked for, whatever the machine's cores.
    #[test]
    fn a_workload_runs_on_the_threads_it_names() {
        for threads in [1, 3] {
            let seen = super::on_threads(threads, || Ok(rayon::current_num_threads())).unwrap();
            assert_eq!(seen, threads);
        }
        assert!(super::on_threads(0, || Ok(())).is_err());
    }
}
