//! The `panel-N` workloads (asked for by `--workloads`): a panel of N generated series of
//! [`STEPS`] steps each, written in long form (`id,t,value`, series after series) to a
//! temporary file, then read and prepared as `elman train` reads it (the streamed reader,
//! every series cut and scaled on its own, windows as views) and trained for one epoch as the
//! issue that asked for it trains (hidden 32 with biases, windows of 48 every 8 steps, batches
//! of 256, Adam): rows read a second, training sequences a second, and the process's peak
//! memory, which covers both.

use std::time::Instant;

use burn::prelude::Device;
use elman_data::{DataSource, Layout, MissingValues, SeriesSpec, Transform, parse_series};
use elman_model::{Cell, ElmanConfig, ElmanWeights};
use elman_train::{LossKind, OptimizerKind, Start, TrainConfig};

/// Steps in every series.
pub const STEPS: usize = 1000;

/// The series count of a `panel-N` workload.
pub fn series(workload: &str) -> Option<usize> {
    workload.strip_prefix("panel-")?.parse().ok()
}

/// Writes `n` series of [`STEPS`] steps (sine waves of their own amplitude, frequency, phase
/// and level, with noise from a fixed generator) into `path`, streamed through the one writer.
fn generate(path: &std::path::Path, n: usize) -> Result<(), String> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    elman_cli::atomic::write_with(path, |out| {
        writeln!(out, "id,t,value")?;
        for s in 0..n {
            let amplitude = 0.5 + 1.5 * uniform();
            let frequency = 0.05 + 0.45 * uniform();
            let phase = std::f64::consts::TAU * uniform();
            let level = 2.0 * uniform() - 1.0;
            for t in 0..STEPS {
                let noise = 0.1 * (uniform() - 0.5);
                let v = amplitude * (frequency * t as f64 + phase).sin() + level + noise;
                writeln!(out, "s{s},{t},{v:.4}")?;
            }
        }
        Ok(())
    })
    .map_err(|e| format!("{e:#}"))
}

/// Generates the panel of `n` series, reads it and trains an epoch on `device`: (rows read a
/// second, training sequences a second).
pub fn run(device: &Device, n: usize) -> Result<(f64, f64), String> {
    let dir = std::env::temp_dir().join(format!("elman-bench-panel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("panel.csv");
    let result = (|| {
        generate(&path, n)?;
        let started = Instant::now();
        let reader = std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(&path).map_err(|e| e.to_string())?,
        );
        let tables = parse_series(
            reader,
            Layout::Long {
                id: "id",
                target: "value",
            },
            Some("t"),
            MissingValues::Error,
        )
        .map_err(|e| e.to_string())?;
        let spec = SeriesSpec {
            n_inputs: 1,
            window: 48,
            stride: 8,
            test_steps: 24,
            season: 0,
            transform: Transform::none(),
            valid_fraction: 0.0,
        };
        let data = DataSource::Panel { tables, spec }
            .prepare()
            .map_err(|e| e.to_string())?;
        let rows_per_second = (n * STEPS) as f64 / started.elapsed().as_secs_f64();

        let model = ElmanConfig {
            cell: Cell::Elman,
            bias: true,
            d_hidden: 32,
            w1_std: 0.15,
            w2_std: 0.3,
            ..ElmanConfig::default()
        };
        let config = TrainConfig {
            n_epochs: 1,
            lr: 0.01,
            batch_size: 256,
            bptt: 48,
            optimizer: OptimizerKind::Adam,
            loss: LossKind::Mse,
            ..TrainConfig::default()
        };
        let started = Instant::now();
        let report = elman_train::fit(
            Start::Fresh(ElmanWeights::init(&model, 1)),
            &data.train,
            None,
            &config,
            device,
            |_, _| (),
        )
        .map_err(|e| e.to_string())?;
        if !report.losses.iter().all(|l| l.is_finite()) {
            return Err("the panel's epoch diverged".to_string());
        }
        let sequences_per_second = data.train.len() as f64 / started.elapsed().as_secs_f64();
        Ok((rows_per_second, sequences_per_second))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
