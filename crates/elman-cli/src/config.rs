//! Settings, layered as defaults, then the TOML file, then command-line flags.
//!
//! The file goes through plain serde structs with `deny_unknown_fields`, so a misspelt key is an
//! error that names it instead of a setting silently ignored. Every key is optional.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;

/// Everything a run needs, after defaults, file and flags are merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The backend name: ndarray, flex, wgpu or cuda.
    pub backend: String,
    /// Seed of the initial weight draw.
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

/// `[csv]`: a user's series, predicting the `target` column's next value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvSection {
    /// The CSV file (a header line is required); relative paths start at the config's folder.
    pub path: PathBuf,
    /// The column to predict.
    pub target: String,
    /// The columns fed as inputs (default: the target alone).
    pub inputs: Vec<String>,
    /// Empty fields: "error", "skip" (drop the row) or "interpolate" (linearly).
    pub missing: String,
    /// Steps per training sequence cut from the series.
    pub window: usize,
    /// Steps between the starts of two training sequences.
    pub stride: usize,
    /// Steps at the end of the series held out for forecasting (never trained or validated on).
    pub test_steps: usize,
    /// Length of the seasonal cycle for the seasonal-naive baseline (0: repeat the last value).
    pub season: usize,
    /// Learn the change over this many steps, `y[t] - y[t - difference]`, instead of the level
    /// (0: the level itself); predictions are turned back into levels.
    pub difference: usize,
}

impl Default for CsvSection {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            target: String::new(),
            inputs: Vec::new(),
            missing: "error".into(),
            window: 64,
            stride: 8,
            test_steps: 0,
            season: 0,
            difference: 0,
        }
    }
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

/// `[train]`: the online SGD loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Passes over the sequence.
    pub n_epochs: usize,
    /// SGD learning rate.
    pub lr: f64,
    /// Print the epoch's loss every this many epochs (0: never).
    pub log_every: usize,
    /// Sequences per mini-batch.
    pub batch_size: usize,
    /// Steps per truncated-BPTT window.
    pub bptt: usize,
    /// "sgd" or "adam".
    pub optimizer: String,
    /// "tutorial" (the halved sum of squares) or "mse".
    pub loss: String,
    /// Largest global L2 norm of the gradients (0: no clipping).
    pub grad_clip: f64,
    /// Shuffle the training sequences each epoch (seeded).
    pub shuffle: bool,
    /// Fraction of the sequences (the last ones in time, for a series) kept for validation.
    pub valid_fraction: f64,
    /// Compute the gradients by hand where that is exact (batch 1, bptt 1); false: always
    /// Burn's autodiff.
    pub fused: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Ndarray.name().to_string(),
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

impl Default for TrainSection {
    fn default() -> Self {
        let train = elman_train::TrainConfig::default();
        Self {
            n_epochs: train.n_epochs,
            lr: train.lr,
            log_every: 10,
            batch_size: train.batch_size,
            bptt: train.bptt,
            optimizer: "sgd".into(),
            loss: "tutorial".into(),
            grad_clip: 0.0,
            shuffle: false,
            valid_fraction: 0.0,
            fused: true,
        }
    }
}

/// The key named by serde's "unknown field `key`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key)
}

/// The 1-based line number of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The file the run reads when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "configs/tutorial.toml";

impl RunConfig {
    /// Parses a TOML document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        // toml's messages span several lines (with a caret under the culprit); keep the first,
        // which names the line and the key, and the explanation after the snippet.
        toml::from_str(text).map_err(|err| {
            let message = err.message().trim().to_string();
            let line = err.span().map(|span| {
                // An unknown key's span covers its whole table: point at the key itself.
                let start = span.start.min(text.len());
                let end = span.end.clamp(start, text.len());
                let key_offset = unknown_field(&message).and_then(|key| {
                    text[start..end]
                        .split_inclusive('\n')
                        .scan(start, |offset, line| {
                            let at = *offset;
                            *offset += line.len();
                            Some((at, line))
                        })
                        .find(|(_, line)| {
                            line.trim_start()
                                .strip_prefix(key)
                                .is_some_and(|rest| rest.trim_start().starts_with('='))
                        })
                        .map(|(at, _)| at)
                });
                line_of(text, key_offset.unwrap_or(start))
            });
            match line {
                Some(line) => anyhow::anyhow!("{origin}:{line}: {message}"),
                None => anyhow::anyhow!("{origin}: {message}"),
            }
        })
    }

    /// Reads the config at `path`, or the default one (or built-in defaults when there is none).
    /// Returns the config and the file it came from, if any.
    pub fn load(path: Option<&Path>) -> Result<(Self, Option<PathBuf>)> {
        let path = match path {
            Some(path) => path.to_path_buf(),
            None => {
                let default = PathBuf::from(DEFAULT_CONFIG);
                if !default.is_file() {
                    return Ok((Self::default(), None));
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config = Self::from_toml(&text, &path.display().to_string())?;
        // A relative CSV path starts at the config's folder, wherever the command runs from.
        if let Some(csv) = &mut config.csv
            && csv.path.is_relative()
            && !csv.path.as_os_str().is_empty()
        {
            let joined = path.parent().unwrap_or(Path::new(".")).join(&csv.path);
            csv.path = std::fs::canonicalize(&joined).unwrap_or(joined);
        }
        Ok((config, Some(path)))
    }

    /// The resolved config as TOML, as written next to a run's results.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a config always serializes")
    }

    /// Checks values that parse but make no sense, naming the key.
    pub fn validate(&self) -> Result<()> {
        self.backend.parse::<Backend>()?;
        if self.model.d_hidden == 0 {
            bail!("model.d_hidden must be at least 1");
        }
        for (key, std) in [
            ("model.w1_std", self.model.w1_std),
            ("model.w2_std", self.model.w2_std),
        ] {
            if !(std.is_finite() && std >= 0.0) {
                bail!("{key} must be a finite number of at least 0, got {std}");
            }
        }
        if self.data.seq_len == 0 {
            bail!("data.seq_len must be at least 1");
        }
        if !(self.data.start.is_finite() && self.data.end.is_finite()) {
            bail!("data.start and data.end must be finite numbers");
        }
        if self.sines.is_some() && self.csv.is_some() {
            bail!("a config takes [sines] or [csv], not both");
        }
        if let Some(sines) = &self.sines {
            if sines.n_series == 0 || sines.seq_len == 0 {
                bail!("sines.n_series and sines.seq_len must be at least 1");
            }
            for (key, [lo, hi]) in [
                ("sines.amplitude", sines.amplitude),
                ("sines.frequency", sines.frequency),
            ] {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    bail!("{key} must be two finite numbers, the smaller first, got [{lo}, {hi}]");
                }
            }
            if !(sines.noise_std.is_finite() && sines.noise_std >= 0.0) {
                bail!("sines.noise_std must be a finite number of at least 0");
            }
        }
        if let Some(csv) = &self.csv {
            if csv.path.as_os_str().is_empty() {
                bail!("csv.path is missing");
            }
            if csv.target.is_empty() {
                bail!("csv.target is missing: name the column to predict");
            }
            self.missing_values()?;
            if csv.window == 0 || csv.stride == 0 {
                bail!("csv.window and csv.stride must be at least 1");
            }
        }
        self.optimizer()?;
        self.loss()?;
        if self.train.batch_size == 0 || self.train.bptt == 0 {
            bail!("train.batch_size and train.bptt must be at least 1");
        }
        if !(self.train.grad_clip.is_finite() && self.train.grad_clip >= 0.0) {
            bail!("train.grad_clip must be a finite number of at least 0 (0: no clipping)");
        }
        if !(0.0..1.0).contains(&self.train.valid_fraction) {
            bail!(
                "train.valid_fraction must be at least 0 and below 1, got {}",
                self.train.valid_fraction
            );
        }
        if !(self.train.lr.is_finite() && self.train.lr > 0.0) {
            bail!(
                "train.lr must be a finite number above 0, got {}",
                self.train.lr
            );
        }
        Ok(())
    }

    /// `csv.missing` as the reader's policy.
    pub fn missing_values(&self) -> Result<elman_data::MissingValues> {
        let missing = self
            .csv
            .as_ref()
            .map_or("error", |csv| csv.missing.as_str());
        Ok(match missing {
            "error" => elman_data::MissingValues::Error,
            "skip" => elman_data::MissingValues::Skip,
            "interpolate" => elman_data::MissingValues::Interpolate,
            other => {
                bail!("csv.missing must be \"error\", \"skip\" or \"interpolate\", got \"{other}\"")
            }
        })
    }

    fn optimizer(&self) -> Result<elman_train::OptimizerKind> {
        Ok(match self.train.optimizer.as_str() {
            "sgd" => elman_train::OptimizerKind::Sgd,
            "adam" => elman_train::OptimizerKind::Adam,
            other => bail!("train.optimizer must be \"sgd\" or \"adam\", got \"{other}\""),
        })
    }

    fn loss(&self) -> Result<elman_train::LossKind> {
        Ok(match self.train.loss.as_str() {
            "tutorial" => elman_train::LossKind::HalfSumSquares,
            "mse" => elman_train::LossKind::Mse,
            other => bail!("train.loss must be \"tutorial\" or \"mse\", got \"{other}\""),
        })
    }

    /// The network's configuration, for data with `d_input` inputs per step.
    pub fn model_config(&self, d_input: usize) -> elman_model::ElmanConfig {
        elman_model::ElmanConfig {
            d_input,
            d_hidden: self.model.d_hidden,
            w1_std: self.model.w1_std,
            w2_std: self.model.w2_std,
            ..elman_model::ElmanConfig::default()
        }
    }

    /// The training loop's configuration (call [`RunConfig::validate`] first).
    pub fn train_config(&self) -> Result<elman_train::TrainConfig> {
        Ok(elman_train::TrainConfig {
            n_epochs: self.train.n_epochs,
            lr: self.train.lr,
            batch_size: self.train.batch_size,
            bptt: self.train.bptt,
            optimizer: self.optimizer()?,
            loss: self.loss()?,
            grad_clip: (self.train.grad_clip > 0.0).then_some(self.train.grad_clip),
            shuffle_seed: self.train.shuffle.then_some(self.seed),
            fused: self.train.fused,
        })
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
        assert_eq!(config.backend, "ndarray");
    }

    /// `configs/tutorial.toml` spells out the built-in defaults, key for key.
    #[test]
    fn the_tutorial_config_is_the_defaults() {
        let text = include_str!("../../../configs/tutorial.toml");
        let config = RunConfig::from_toml(text, "configs/tutorial.toml").unwrap();
        assert_eq!(config, RunConfig::default());
        let spelled: toml::Table = toml::from_str(text).unwrap();
        let defaults: toml::Table = toml::from_str(&RunConfig::default().to_toml()).unwrap();
        assert_eq!(spelled, defaults, "every default key is written out");
    }

    #[test]
    fn missing_keys_keep_their_defaults() {
        let config = RunConfig::from_toml("[train]\nlr = 0.05\n", "t.toml").unwrap();
        assert_eq!(config.train.lr, 0.05);
        assert_eq!(config.train.n_epochs, 300);
        assert_eq!(config.model, ModelSection::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = RunConfig::from_toml("seed = 3\n[train]\nepochs = 5\n", "t.toml").unwrap_err();
        let err = err.to_string();
        assert!(err.starts_with("t.toml:3: unknown field `epochs`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn wrong_types_and_broken_toml_are_errors_with_a_line() {
        let err = RunConfig::from_toml("[train]\nlr = \"fast\"\n", "t.toml").unwrap_err();
        assert!(err.to_string().starts_with("t.toml:2: "), "{err}");
        let err = RunConfig::from_toml("seed = 1\n[train\n", "t.toml").unwrap_err();
        assert!(err.to_string().starts_with("t.toml:2: "), "{err}");
    }

    #[test]
    fn resolved_config_round_trips() {
        let config = RunConfig {
            seed: 42,
            backend: "wgpu".into(),
            ..RunConfig::default()
        };
        let back = RunConfig::from_toml(&config.to_toml(), "x").unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn nonsense_values_name_the_key() {
        let mut config = RunConfig::default();
        config.train.lr = -1.0;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("train.lr")
        );
        let config = RunConfig {
            backend: "tpu".into(),
            ..RunConfig::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("unknown backend `tpu`")
        );
    }
}
