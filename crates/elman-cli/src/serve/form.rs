//! The page's settings of a run ([`Form`]), the data it may pick ([`Catalog`]: the configs in
//! `configs/`), and the bounds every run is held to before it starts ([`Limits`]).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use elman_data::RunData;
use elman_train::OptimizerKind;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::settings::RunConfig;
use crate::validate::available_memory;

/// The settings of one run as the page's form (and its URL) hold them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// The data: a config's file name in the catalog, e.g. `tutorial.toml`.
    pub data: String,
    /// Hidden (and context) neurons.
    pub d_hidden: usize,
    /// The learning rate.
    pub lr: f64,
    /// "sgd" or "adam".
    pub optimizer: OptimizerKind,
    /// Sequences per mini-batch.
    pub batch_size: usize,
    /// Steps per truncated-BPTT window.
    pub bptt: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seed of the initial weights, the generated waves and the shuffling.
    pub seed: u64,
    /// The backend.
    pub backend: Backend,
    /// At most this many epochs a second, so that a quick run can be watched (0: as fast as it
    /// trains).
    pub pace: usize,
}

/// One choice of data: a config, with the form it fills in.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// The config's file name, the form's `data`.
    pub name: String,
    /// What the data is, for the page's menu.
    pub label: String,
    /// The form as the config sets it.
    pub defaults: Form,
    /// The whole config (the form's fields are laid over it).
    #[serde(skip)]
    pub config: RunConfig,
}

/// The data the page offers: the configs of a folder (and the one `--config` names).
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// The choices, the default first.
    pub choices: Vec<Choice>,
}

impl Catalog {
    /// The `*.toml` configs of `folder` (a broken one is left out with a warning), the one named
    /// by `config` first when given, else `tutorial.toml`; the built-in tutorial when there is
    /// none. `backend` overrides the configs' backends.
    pub fn load(folder: &Path, config: Option<&Path>, backend: Option<Backend>) -> Result<Self> {
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(folder) {
            Ok(entries) => entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect(),
            Err(_) if config.is_some() => Vec::new(),
            Err(err) => {
                eprintln!(
                    "elman: warning: cannot read configs folder {} ({err}); offering the tutorial alone",
                    folder.display()
                );
                Vec::new()
            }
        };
        paths.sort();
        let mut choices = Vec::new();
        if let Some(path) = config {
            // The named config must be good: the user asked for it.
            let (config, _) = RunConfig::load(Some(path))?;
            config.validate(None)?;
            choices.push(Choice::new(file_name(path), config, backend));
        }
        for path in paths {
            let name = file_name(&path);
            if choices.iter().any(|c| c.name == name) {
                continue;
            }
            match RunConfig::load(Some(&path)).and_then(|(c, _)| c.validate(None).map(|()| c)) {
                Ok(config) => choices.push(Choice::new(name, config, backend)),
                Err(err) => eprintln!("elman: warning: leaving out {}: {err:#}", path.display()),
            }
        }
        if !choices.iter().any(|c| c.name == "tutorial.toml") {
            choices.push(Choice::new(
                "tutorial.toml".into(),
                RunConfig::default(),
                backend,
            ));
        }
        if config.is_none()
            && let Some(at) = choices.iter().position(|c| c.name == "tutorial.toml")
        {
            let tutorial = choices.remove(at);
            choices.insert(0, tutorial);
        }
        Ok(Self { choices })
    }

    /// The run config `form` asks for: its data's config with the form's settings laid over it,
    /// held to `limits` and to the checks every run gets.
    pub fn config(&self, form: &Form, limits: &Limits) -> Result<RunConfig> {
        let Some(choice) = self.choices.iter().find(|c| c.name == form.data) else {
            bail!(
                "unknown data `{}` (expected one of: {})",
                form.data,
                self.choices
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        limits.check(form)?;
        let mut config = choice.config.clone();
        config.backend = form.backend;
        config.seed = form.seed;
        config.model.d_hidden = form.d_hidden;
        config.train.lr = form.lr;
        config.train.optimizer = form.optimizer;
        config.train.batch_size = form.batch_size;
        config.train.bptt = form.bptt;
        config.train.n_epochs = form.epochs;
        config.validate(available_memory())?;
        Ok(config)
    }
}

impl Choice {
    fn new(name: String, config: RunConfig, backend: Option<Backend>) -> Self {
        let label = match (&config.sines, &config.csv) {
            (_, Some(csv)) => format!(
                "{name}: the series `{}` of {}",
                csv.target,
                csv.path
                    .file_name()
                    .map_or("a CSV file".into(), |f| f.to_string_lossy())
            ),
            (Some(sines), None) => format!("{name}: {} random sine waves", sines.n_series),
            (None, None) => format!("{name}: the tutorial's sine wave"),
        };
        let tutorial_like = config.sines.is_none() && config.csv.is_none();
        let defaults = Form {
            data: name.clone(),
            d_hidden: config.model.d_hidden,
            lr: config.train.lr,
            optimizer: config.train.optimizer,
            batch_size: config.train.batch_size,
            bptt: config.train.bptt,
            epochs: config.train.n_epochs,
            seed: config.seed,
            backend: backend.unwrap_or(config.backend),
            // The tutorial's whole run plays out in about a second.
            pace: if tutorial_like {
                config.train.n_epochs
            } else {
                0
            },
        };
        Self {
            name,
            label,
            defaults,
            config,
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into(),
    )
}

/// The bounds of a run started from the page, so that a server left running cannot be made to
/// take the machine.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// The most hidden neurons.
    pub d_hidden: usize,
    /// The most epochs.
    pub epochs: usize,
    /// The largest batch.
    pub batch_size: usize,
    /// The longest BPTT window.
    pub bptt: usize,
    /// The highest pace, epochs per second.
    pub pace: usize,
    /// The most multiply-adds a run may take (see [`Limits::work`]).
    pub work: f64,
    /// Runs training (or paused) at once; a further one is refused until one ends.
    pub active_runs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            d_hidden: 256,
            epochs: 100_000,
            batch_size: 4096,
            bptt: 4096,
            pace: 100_000,
            // About a minute of one CPU core.
            work: 1e11,
            active_runs: 2,
        }
    }
}

impl Limits {
    /// The form's own numbers against the bounds.
    fn check(&self, form: &Form) -> Result<()> {
        for (key, value, most) in [
            ("d_hidden", form.d_hidden, self.d_hidden),
            ("epochs", form.epochs, self.epochs),
            ("batch_size", form.batch_size, self.batch_size),
            ("bptt", form.bptt, self.bptt),
        ] {
            if value == 0 || value > most {
                bail!("{key} must be from 1 to {most}, got {value}");
            }
        }
        if form.pace > self.pace {
            bail!("pace must be from 0 to {}, got {}", self.pace, form.pace);
        }
        if !(form.lr.is_finite() && form.lr > 0.0 && form.lr <= 10.0) {
            bail!(
                "lr must be a number above 0 and at most 10, got {}",
                form.lr
            );
        }
        Ok(())
    }

    /// The multiply-adds of training `config` on `data`, forward and backward: three products
    /// of each step's input layer with `W1` and of its context with `W2`, every epoch.
    pub fn work(config: &RunConfig, data: &RunData) -> f64 {
        let steps = data.train.len() as f64 * data.train.seq_len() as f64;
        let (d_in, d_out) = (data.train.d_input() as f64, data.train.d_output() as f64);
        let h = config.model.d_hidden as f64;
        3.0 * config.train.n_epochs as f64 * steps * h * (d_in + h + d_out)
    }

    /// The run's work against the bound.
    pub fn check_work(&self, config: &RunConfig, data: &RunData) -> Result<()> {
        let work = Self::work(config, data);
        if work > self.work {
            bail!(
                "the run would take about {work:.1e} multiply-adds, more than the {:.0e} a run from the page may: fewer epochs, a smaller d_hidden or less data",
                self.work
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let configs = crate::settings_file::tests::repo_configs();
        Catalog::load(&configs, None, None).unwrap()
    }

    /// The repository's configs are all offered, the tutorial first and paced to about a
    /// second; each choice's defaults give back its own config.
    #[test]
    fn the_configs_are_the_choices() {
        let catalog = catalog();
        let names: Vec<&str> = catalog.choices.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "tutorial.toml");
        for name in ["co2.toml", "sines.toml", "sunspots.toml"] {
            assert!(names.contains(&name), "{names:?}");
        }
        let tutorial = &catalog.choices[0];
        assert_eq!(tutorial.defaults.pace, tutorial.defaults.epochs);
        for choice in &catalog.choices {
            let config = catalog
                .config(&choice.defaults, &Limits::default())
                .unwrap();
            assert_eq!(config, choice.config, "{}", choice.name);
        }
    }

    /// Every bound is enforced with a message that names the setting; unknown data lists the
    /// choices.
    #[test]
    fn out_of_bounds_settings_are_refused() {
        let catalog = catalog();
        let base = catalog.choices[0].defaults.clone();
        let refused = |form: Form| {
            catalog
                .config(&form, &Limits::default())
                .unwrap_err()
                .to_string()
        };
        let cases: [(Form, &str); 7] = [
            (
                Form {
                    d_hidden: 257,
                    ..base.clone()
                },
                "d_hidden must be from 1 to 256, got 257",
            ),
            (
                Form {
                    d_hidden: 0,
                    ..base.clone()
                },
                "d_hidden must be from 1 to 256, got 0",
            ),
            (
                Form {
                    epochs: 100_001,
                    ..base.clone()
                },
                "epochs must be from 1 to 100000",
            ),
            (
                Form {
                    batch_size: 0,
                    ..base.clone()
                },
                "batch_size must be from 1",
            ),
            (
                Form {
                    lr: f64::NAN,
                    ..base.clone()
                },
                "lr must be a number above 0",
            ),
            (
                Form {
                    pace: 1_000_000,
                    ..base.clone()
                },
                "pace must be from 0 to 100000",
            ),
            (
                Form {
                    data: "../etc/passwd".into(),
                    ..base.clone()
                },
                "unknown data `../etc/passwd` (expected one of: tutorial.toml,",
            ),
        ];
        for (form, message) in cases {
            let err = refused(form);
            assert!(err.starts_with(message), "{err}");
        }
    }

    /// The work bound counts epochs, sequences, steps and sizes: the tutorial's run is about
    /// 0.9 million multiply-adds (3 * 300 * 20 * 6 * (1 + 6 + 1)), and 1,000 times its epochs
    /// at hidden 256 is refused.
    #[test]
    fn the_work_bound() {
        let config = RunConfig::default();
        let data = config.prepare_data().unwrap();
        assert_eq!(Limits::work(&config, &data), 864_000.0);
        let mut big = config.clone();
        big.model.d_hidden = 256;
        big.train.n_epochs = 100_000;
        let err = Limits::default()
            .check_work(&big, &data)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the run would take about 4.0e11 multiply-adds"),
            "{err}"
        );
        Limits::default().check_work(&config, &data).unwrap();
    }
}
