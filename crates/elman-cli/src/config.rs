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
    /// The sine sequence.
    pub data: DataSection,
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
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Ndarray.name().to_string(),
            seed: 1,
            model: ModelSection::default(),
            data: DataSection::default(),
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
        let config = Self::from_toml(&text, &path.display().to_string())?;
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
        if !(self.train.lr.is_finite() && self.train.lr > 0.0) {
            bail!(
                "train.lr must be a finite number above 0, got {}",
                self.train.lr
            );
        }
        Ok(())
    }

    /// The network's configuration.
    pub fn model_config(&self) -> elman_model::ElmanConfig {
        elman_model::ElmanConfig {
            d_hidden: self.model.d_hidden,
            w1_std: self.model.w1_std,
            w2_std: self.model.w2_std,
            ..elman_model::ElmanConfig::default()
        }
    }

    /// The training loop's configuration.
    pub fn train_config(&self) -> elman_train::TrainConfig {
        elman_train::TrainConfig {
            n_epochs: self.train.n_epochs,
            lr: self.train.lr,
            ..elman_train::TrainConfig::default()
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
