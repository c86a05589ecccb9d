//! The recipe every candidate of one choice trains with, and the config of one candidate: a
//! base config (for `elman forecast` the network and the loop of `configs/sunspots.toml` with
//! fewer epochs; for a `[csv]` run the user's own), the transformation and the window being
//! what the validation chooses.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::prelude::Device;
use elman_data::{DataSource, RunData, Table, Transform};
use elman_model::{Elman, ElmanWeights};
use elman_train::{LossKind, OptimizerKind, Start};

use crate::backend::Backend;
use crate::settings::{CsvSection, Lags, ModelSection, RunConfig, TrainSection};
use crate::validate::available_memory;

/// Epochs every network of `elman forecast` trains: on the suite of `bench/forecast`, 30
/// forecast better than 60 (the networks of short series overfit) in half the time.
const EPOCHS: usize = 30;

/// What every candidate of one choice shares.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// The CSV file, absolute, so that a written config finds it from anywhere.
    pub path: PathBuf,
    /// The forecast column.
    pub target: String,
    /// The seasonal cycle (0: none).
    pub season: usize,
    /// Values in the series.
    pub rows: usize,
    /// The config every candidate's is made from.
    pub base: RunConfig,
    /// Whether a candidate backpropagates through its whole window (`elman forecast`), or
    /// keeps the base's `train.bptt`.
    pub bptt_is_window: bool,
}

/// One candidate: what the network learns and the window it trains on.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The log and the differences.
    pub transform: Transform,
    /// Steps per training sequence (and per BPTT window).
    pub window: usize,
}

impl Candidate {
    /// How the candidate reads: `log, difference [1, 12], window 48`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.transform.log {
            parts.push("log".to_string());
        }
        if self.transform.adjust > 0 {
            parts.push("deseasonalized".to_string());
        }
        match self.transform.lags.as_slice() {
            [] if parts.is_empty() => parts.push("levels".to_string()),
            [] => {}
            [lag] => parts.push(format!("difference {lag}")),
            lags => parts.push(format!("difference {lags:?}")),
        }
        parts.push(format!("window {}", self.window));
        parts.join(", ")
    }
}

impl Candidate {
    /// The candidate as a column name: `log_adjust12_d1_w24` (`levels_w24` for none).
    pub fn code(&self) -> String {
        let mut parts = Vec::new();
        if self.transform.log {
            parts.push("log".to_string());
        }
        if self.transform.adjust > 0 {
            parts.push(format!("adjust{}", self.transform.adjust));
        }
        parts.extend(self.transform.lags.iter().map(|lag| format!("d{lag}")));
        if parts.is_empty() {
            parts.push("levels".to_string());
        }
        parts.push(format!("w{}", self.window));
        parts.join("_")
    }
}

impl Recipe {
    /// `elman forecast`'s recipe for the series `target` of the file `path` (`time` its time
    /// column, or empty; `missing` what its empty fields are), of `rows` values: an Elman network of 16 neurons with biases, Adam
    /// at 0.01 with clipping, batches of 8, 30 epochs, windows that start about 256 times
    /// over the series (at every step of a shorter one).
    pub fn forecast(
        path: PathBuf,
        (target, time, missing): (&str, &str, elman_data::MissingValues),
        season: usize,
        rows: usize,
        backend: Backend,
    ) -> Self {
        let base = RunConfig {
            backend,
            model: ModelSection {
                d_hidden: 16,
                w1_std: 0.15,
                w2_std: 0.3,
                cell: elman_model::Cell::Elman,
                bias: true,
            },
            csv: Some(CsvSection {
                path: path.clone(),
                target: target.to_string(),
                time: time.to_string(),
                missing,
                stride: (rows / 256).max(1),
                ..CsvSection::default()
            }),
            train: TrainSection {
                n_epochs: EPOCHS,
                lr: 0.01,
                log_every: 0,
                batch_size: 8,
                optimizer: OptimizerKind::Adam,
                loss: LossKind::Mse,
                grad_clip: 1.0,
                shuffle: true,
                valid_fraction: 0.0,
                ..TrainSection::default()
            },
            ..RunConfig::default()
        };
        Self {
            path,
            target: target.to_string(),
            season,
            rows,
            base,
            bptt_is_window: true,
        }
    }

    /// The config of `candidate` trained with `seed` on every value but the last `held_out`:
    /// the base with the candidate's choices written.
    pub fn config(&self, candidate: &Candidate, held_out: usize, seed: u64) -> RunConfig {
        let mut config = self.base.clone();
        config.seed = seed;
        if self.bptt_is_window {
            config.train.bptt = candidate.window;
        }
        let csv = config
            .csv
            .as_mut()
            .expect("a recipe's base has a [csv] section");
        csv.window = Some(candidate.window);
        csv.test_steps = held_out;
        csv.season = Some(self.season);
        csv.difference = Some(Lags(candidate.transform.lags.clone()));
        csv.log = Some(candidate.transform.log);
        csv.deseasonalize = Some(candidate.transform.adjust > 0);
        config
    }

    /// Trains `config` on `table` (the file's target column, read once) and returns its data
    /// and its network.
    pub fn train(
        &self,
        config: &RunConfig,
        table: &Table,
        device: &Device,
    ) -> Result<(RunData, Elman)> {
        config.validate(available_memory())?;
        let csv = config
            .csv
            .as_ref()
            .context("a forecast's config has a [csv] section")?;
        let data = DataSource::Series {
            table: table.clone(),
            spec: config.series_spec(csv),
        }
        .prepare()
        .with_context(|| format!("data {}", self.path.display()))?;
        let weights = ElmanWeights::init(&config.model_config(), config.seed);
        let report = elman_train::fit(
            Start::Fresh(weights),
            &data.train,
            None,
            &config.train_config(),
            device,
            |_, _| (),
        )?;
        Ok((data, report.model))
    }
}
