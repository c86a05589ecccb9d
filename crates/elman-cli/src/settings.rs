//! A run's settings: plain serde structs with `deny_unknown_fields`, so that a misspelt key is an
//! error that names it; typed enums, so that an unknown value lists the allowed ones. Every key
//! is optional. They are layered as defaults, then the TOML file (`settings_file.rs`), then the
//! flags ([`RunConfig::apply`]), then checked (`validate.rs`).

use std::path::PathBuf;

use elman_data::MissingValues;
use elman_train::{EarlyStopping, LossKind, OptimizerKind, Schedule, ScheduleKind};
use serde::{Deserialize, Serialize};

use crate::args::Common;
use crate::backend::Backend;
pub use crate::csv_settings::{Lags, Predictions};

/// Everything a run needs, after defaults, file and flags are merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The backend: ndarray, flex, wgpu or cuda.
    pub backend: Backend,
    /// Seed of the initial weight draw, the generated waves and the shuffling.
    pub seed: u64,
    /// The network.
    pub model: ModelSection,
    /// The tutorial's sine sequence (used when neither `[sines]` nor `[csv]` is given).
    pub data: DataSection,
    /// Many random sine waves instead of the tutorial's one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sines: Option<SinesSection>,
    /// A series from a CSV file instead of the tutorial's wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvSection>,
    /// The training loop.
    pub train: TrainSection,
}

/// `[model]`: the network's sizes and initial scales.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// Hidden (and context) neurons.
    pub d_hidden: usize,
    /// Standard deviation of the initial `W1`.
    pub w1_std: f64,
    /// Standard deviation of the initial `W2`.
    pub w2_std: f64,
    /// The recurrent cell: "elman" (the tutorial's), "lstm" or "gru".
    #[serde(skip_serializing_if = "is_elman")]
    pub cell: elman_model::Cell,
    /// A bias for the hidden layer and the output (the tutorial's network has none).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bias: bool,
}

/// Whether `cell` is the tutorial's (left out of a written config).
fn is_elman(cell: &elman_model::Cell) -> bool {
    *cell == elman_model::Cell::Elman
}

/// `[data]`: `seq_len + 1` points of `sin` from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// First sample time.
    pub start: f64,
    /// Last sample time.
    pub end: f64,
    /// Number of time steps (one fewer than the number of points).
    pub seq_len: usize,
}

/// `[sines]`: many waves `a sin(w t + phase) + noise`, each predicting its next point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinesSection {
    /// Number of waves (a `valid_fraction` of them is kept for validation).
    pub n_series: usize,
    /// Steps per wave.
    pub seq_len: usize,
    /// Range of the amplitude.
    pub amplitude: [f64; 2],
    /// Range of the angular frequency, radians per step.
    pub frequency: [f64; 2],
    /// Standard deviation of the additive Gaussian noise.
    pub noise_std: f64,
}

/// `[csv]`: a user's series, predicting the `target` column's next value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvSection {
    /// The CSV file (a header line is required); relative paths start at the config's folder.
    pub path: PathBuf,
    /// The column to predict (in long form, the column of every series' values).
    pub target: String,
    /// Many series in long form: the column naming each row's series (default: none, one
    /// series).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub series: String,
    /// Many series in wide form: a column per series, each predicted from its own past.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The column of each row's time (dates such as `2000-01-31` or `20000131`, or numbers such
    /// as years): the axis of the pictures and the first column of the files (default: none,
    /// the row numbers).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub time: String,
    /// The target's units, for the pictures' axis (e.g. `ppm`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub units: String,
    /// The columns fed as inputs (default: the target alone).
    pub inputs: Vec<String>,
    /// Empty fields: "error", "skip" (drop the row) or "interpolate" (linearly).
    pub missing: MissingValues,
    /// Steps per training sequence cut from the series (unwritten, for one series that is its
    /// own only input: chosen by validation, see [`CsvSection::open_choices`]; else 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    /// Steps between the starts of two training sequences.
    pub stride: usize,
    /// Steps at the end of the series held out for forecasting (never trained or validated on).
    pub test_steps: usize,
    /// Length of the seasonal cycle (0: none; the seasonal-naive baseline repeats the last
    /// value). Unwritten, for one series that is its own only input: the calendar's or the
    /// autocorrelation's; else 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub season: Option<usize>,
    /// Learn the change over this many steps, `y[t] - y[t - difference]`, instead of the level
    /// (0: the level itself), or over several lags in turn (`[1, 12]`: the seasonal change of
    /// the first difference); predictions are turned back into levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Lags>,
    /// Learn the natural log of the levels (before any difference; every value above 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<bool>,
    /// Many series: whose one-step predictions `predictions.csv` holds, "shown" (the series
    /// the pictures show) or "all" (every series, streamed to the file); every series'
    /// metrics are computed either way.
    #[serde(skip_serializing_if = "Predictions::is_shown")]
    pub predictions: Predictions,
    /// Take the seasonal pattern of `season` out before any difference (the classical
    /// decomposition's, fitted on the rows before the held-out ones) and put it back into
    /// predictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deseasonalize: Option<bool>,
}

/// `[train]`: the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Passes over the sequences.
    pub n_epochs: usize,
    /// The learning rate.
    pub lr: f64,
    /// Print the epoch's loss every this many epochs (0: never).
    pub log_every: usize,
    /// Sequences per mini-batch.
    pub batch_size: usize,
    /// Steps per truncated-BPTT window.
    pub bptt: usize,
    /// "sgd" or "adam".
    pub optimizer: OptimizerKind,
    /// "tutorial" (the halved sum of squares) or "mse".
    pub loss: LossKind,
    /// Largest global L2 norm of the gradients (0: no clipping).
    pub grad_clip: f64,
    /// Shuffle the training sequences each epoch (seeded).
    pub shuffle: bool,
    /// Fraction of the sequences (the last ones in time, for a series) kept for validation.
    pub valid_fraction: f64,
    /// Compute the gradients by hand (one step at a time for batch 1 and bptt 1, hand-derived
    /// BPTT otherwise); false: Burn's autodiff.
    pub fused: bool,
    /// Seconds between two checkpoints of a run (0: after every epoch); the last epoch's is
    /// always written.
    pub checkpoint_every: f64,
    /// The learning-rate schedule: "constant", "cosine" or "plateau".
    pub schedule: ScheduleKind,
    /// The lowest learning rate of the cosine and plateau schedules.
    pub lr_min: f64,
    /// The plateau schedule's factor, in (0, 1).
    pub plateau_factor: f64,
    /// Epochs without a new lowest validation loss before the plateau schedule reduces.
    pub plateau_patience: usize,
    /// Stop after this many epochs without an improvement of the validation loss (0: never).
    pub patience: usize,
    /// The least decrease of the validation loss that counts as an improvement.
    pub min_delta: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Ndarray,
            seed: 1,
            model: ModelSection::default(),
            data: DataSection::default(),
            sines: None,
            csv: None,
            train: TrainSection::default(),
        }
    }
}

impl Default for ModelSection {
    fn default() -> Self {
        let model = elman_model::ElmanConfig::default();
        Self {
            d_hidden: model.d_hidden,
            w1_std: model.w1_std,
            w2_std: model.w2_std,
            cell: model.cell,
            bias: model.bias,
        }
    }
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            start: 2.0,
            end: 10.0,
            seq_len: 20,
        }
    }
}

impl Default for SinesSection {
    fn default() -> Self {
        let waves = elman_data::SineWaves::default();
        Self {
            n_series: waves.n_series,
            seq_len: waves.seq_len,
            amplitude: [waves.amplitude.0, waves.amplitude.1],
            frequency: [waves.frequency.0, waves.frequency.1],
            noise_std: waves.noise_std,
        }
    }
}

impl Default for CsvSection {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            target: String::new(),
            series: String::new(),
            targets: Vec::new(),
            time: String::new(),
            units: String::new(),
            inputs: Vec::new(),
            missing: MissingValues::Error,
            window: None,
            stride: 8,
            test_steps: 0,
            season: None,
            difference: None,
            log: None,
            deseasonalize: None,
            predictions: Predictions::Shown,
        }
    }
}

impl Default for TrainSection {
    fn default() -> Self {
        let train = elman_train::TrainConfig::default();
        Self {
            n_epochs: train.n_epochs,
            lr: train.lr,
            log_every: 10,
            batch_size: train.batch_size,
            bptt: train.bptt,
            optimizer: train.optimizer,
            loss: train.loss,
            grad_clip: 0.0,
            shuffle: false,
            valid_fraction: 0.0,
            fused: train.fused,
            checkpoint_every: 1.0,
            schedule: ScheduleKind::Constant,
            lr_min: 0.0,
            plateau_factor: 0.5,
            plateau_patience: 5,
            patience: 0,
            min_delta: 0.0,
        }
    }
}

impl RunConfig {
    /// Applies the flags that override config keys (check the result with
    /// [`RunConfig::validate`]).
    pub fn apply(&mut self, common: &Common) {
        if let Some(backend) = common.backend {
            self.backend = backend;
        }
        if let Some(epochs) = common.epochs {
            self.train.n_epochs = epochs;
        }
        if let Some(lr) = common.lr {
            self.train.lr = lr;
        }
        if let Some(seed) = common.seed {
            self.seed = seed;
        }
        match common.cell.as_deref() {
            Some("elman") => self.model.cell = elman_model::Cell::Elman,
            Some("lstm") => self.model.cell = elman_model::Cell::Lstm,
            Some("gru") => self.model.cell = elman_model::Cell::Gru,
            _ => {}
        }
    }

    /// The network's inputs per step: the CSV's input columns, else the one wave value.
    pub fn d_input(&self) -> usize {
        self.csv.as_ref().map_or(1, |csv| csv.inputs.len().max(1))
    }

    /// The network's configuration.
    pub fn model_config(&self) -> elman_model::ElmanConfig {
        elman_model::ElmanConfig {
            d_input: self.d_input(),
            d_hidden: self.model.d_hidden,
            w1_std: self.model.w1_std,
            w2_std: self.model.w2_std,
            cell: self.model.cell,
            bias: self.model.bias,
            ..elman_model::ElmanConfig::default()
        }
    }

    /// The training loop's configuration.
    pub fn train_config(&self) -> elman_train::TrainConfig {
        elman_train::TrainConfig {
            n_epochs: self.train.n_epochs,
            lr: self.train.lr,
            batch_size: self.train.batch_size,
            bptt: self.train.bptt,
            optimizer: self.train.optimizer,
            loss: self.train.loss,
            grad_clip: (self.train.grad_clip > 0.0).then_some(self.train.grad_clip),
            shuffle_seed: self.train.shuffle.then_some(self.seed),
            fused: self.train.fused,
            schedule: match self.train.schedule {
                ScheduleKind::Constant => Schedule::Constant,
                ScheduleKind::Cosine => Schedule::Cosine {
                    lr_min: self.train.lr_min,
                },
                ScheduleKind::Plateau => Schedule::Plateau {
                    factor: self.train.plateau_factor,
                    patience: self.train.plateau_patience,
                    lr_min: self.train.lr_min,
                },
            },
            early_stopping: (self.train.patience > 0).then_some(EarlyStopping {
                patience: self.train.patience,
                min_delta: self.train.min_delta,
            }),
            kernels: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_tutorial() {
        let config = RunConfig::default();
        assert_eq!(config.train.n_epochs, 300);
        assert_eq!(config.train.lr, 0.1);
        assert_eq!(config.model.d_hidden, 6);
        assert_eq!(config.data.seq_len, 20);
        assert_eq!(config.backend, Backend::Ndarray);
        assert_eq!(config.train_config(), elman_train::TrainConfig::default());
        assert_eq!(config.model_config(), elman_model::ElmanConfig::default());
    }
}
