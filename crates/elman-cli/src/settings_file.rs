//! The settings file: TOML in, TOML out, errors that name the file, the line and the key.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::settings::RunConfig;

/// The file the run reads when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "configs/tutorial.toml";

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

impl RunConfig {
    /// Parses a TOML document; `origin` names it in errors, which are one line each.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        // toml's messages span several lines (with a caret under the culprit); keep the first,
        // which names the line and the key, and the explanation after the snippet.
        toml::from_str(text).map_err(|err| {
            let message = err.message().trim().replace('\n', " ");
            let line = err.span().map(|span| {
                // An unknown key's span covers its whole table: point at the key itself.
                let start = floor_boundary(text, span.start);
                let end = floor_boundary(text, span.end.max(start));
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
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| anyhow::anyhow!("config {} is not UTF-8 text", path.display()))?;
        let mut config = Self::from_toml(text, &path.display().to_string())?;
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
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).context("the config cannot be written as TOML")
    }
}

/// The largest char boundary of `text` at or before `offset`.
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The repository's `configs/`, found from the crate's folder that `cargo test` sets in
    /// `CARGO_MANIFEST_DIR` when it runs the tests (the one baked in at compile time otherwise):
    /// the target folder is shared, and a test binary built from another checkout of the same
    /// sources (CI's clone) would otherwise read that checkout's configs, or a folder that is
    /// gone.
    pub(crate) fn repo_configs() -> PathBuf {
        std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
            .join("../../configs")
    }
    use crate::backend::Backend;
    use crate::settings::ModelSection;

    /// `configs/tutorial.toml` spells out the built-in defaults, key for key.
    #[test]
    fn the_tutorial_config_is_the_defaults() {
        let text = include_str!("../../../configs/tutorial.toml");
        let config = RunConfig::from_toml(text, "configs/tutorial.toml").unwrap();
        assert_eq!(config, RunConfig::default());
        let spelled: toml::Table = toml::from_str(text).unwrap();
        let defaults: toml::Table =
            toml::from_str(&RunConfig::default().to_toml().unwrap()).unwrap();
        assert_eq!(spelled, defaults, "every default key is written out");
    }

    /// Every config in `configs/` reads, passes the checks, and its data prepares.
    #[test]
    fn every_shipped_config_is_valid() {
        let dir = repo_configs();
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let (config, _) = RunConfig::load(Some(&path)).unwrap();
            config
                .validate(None)
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            let data = config
                .prepare_data()
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(!data.train.is_empty(), "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 4, "the configs folder holds {seen} configs");
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

    /// An unknown value of a typed setting lists the allowed ones, with the line.
    #[test]
    fn unknown_values_list_the_allowed_ones() {
        for (text, line, allowed) in [
            (
                "backend = \"tpu\"\n",
                1,
                "`ndarray`, `flex`, `wgpu`, `cuda`",
            ),
            ("[train]\noptimizer = \"adamw\"\n", 2, "`sgd` or `adam`"),
            ("[train]\n\nloss = \"l1\"\n", 3, "`tutorial` or `mse`"),
            (
                "[csv]\nmissing = \"zero\"\n",
                2,
                "`error`, `skip`, `interpolate`",
            ),
        ] {
            let err = RunConfig::from_toml(text, "t.toml")
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("t.toml:{line}: unknown variant")),
                "{err}"
            );
            assert!(err.contains(allowed), "{err}");
        }
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
            backend: Backend::Wgpu,
            ..RunConfig::default()
        };
        let back = RunConfig::from_toml(&config.to_toml().unwrap(), "x").unwrap();
        assert_eq!(back, config);
    }
}
