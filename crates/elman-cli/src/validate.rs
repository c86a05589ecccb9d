//! Every setting checked before anything is written: each value that parses but cannot run is
//! an error naming its key and the range it must be in, and a run too big for this machine's
//! memory is refused with the estimate.

use anyhow::{Result, bail};

use crate::settings::RunConfig;

/// The largest count any setting may hold: TOML integers are signed 64-bit.
const MAX_COUNT: usize = i64::MAX as usize;

/// An error unless `value` is at least 1 (and fits in TOML).
fn at_least_one(key: &str, value: usize) -> Result<()> {
    if value == 0 || value > MAX_COUNT {
        bail!("{key} must be at least 1 (and at most {MAX_COUNT}), got {value}");
    }
    Ok(())
}

/// An error unless `value` is finite and in `[min, ∞)` (`strict`: above `min`).
fn finite_from(key: &str, value: f64, min: f64, strict: bool) -> Result<()> {
    let ok = value.is_finite() && if strict { value > min } else { value >= min };
    if !ok {
        let bound = if strict { "above" } else { "of at least" };
        bail!("{key} must be a finite number {bound} {min}, got {value}");
    }
    Ok(())
}

impl RunConfig {
    /// Checks values that parse but make no sense, naming the key and its allowed range, and
    /// refuses a run that would not fit in `available` bytes of memory.
    pub fn validate(&self, available: Option<u64>) -> Result<()> {
        if self.seed > i64::MAX as u64 {
            bail!("seed must be at most {}, got {}", i64::MAX, self.seed);
        }
        at_least_one("model.d_hidden", self.model.d_hidden)?;
        finite_from("model.w1_std", self.model.w1_std, 0.0, false)?;
        finite_from("model.w2_std", self.model.w2_std, 0.0, false)?;

        let train = &self.train;
        at_least_one("train.n_epochs", train.n_epochs)?;
        finite_from("train.lr", train.lr, 0.0, true)?;
        at_least_one("train.batch_size", train.batch_size)?;
        at_least_one("train.bptt", train.bptt)?;
        finite_from("train.grad_clip", train.grad_clip, 0.0, false)?;
        finite_from("train.checkpoint_every", train.checkpoint_every, 0.0, false)?;
        finite_from("train.min_delta", train.min_delta, 0.0, false)?;
        if !(train.lr_min.is_finite() && train.lr_min >= 0.0 && train.lr_min <= train.lr) {
            bail!(
                "train.lr_min must be a finite number from 0 to train.lr ({}), got {}",
                train.lr,
                train.lr_min
            );
        }
        if !(train.plateau_factor > 0.0 && train.plateau_factor < 1.0) {
            bail!(
                "train.plateau_factor must be above 0 and below 1, got {}",
                train.plateau_factor
            );
        }
        at_least_one("train.plateau_patience", train.plateau_patience)?;
        if train.patience > MAX_COUNT {
            bail!("train.patience must be at most {MAX_COUNT}");
        }
        let needs_validation = match (train.patience > 0, train.schedule) {
            (true, _) => Some("train.patience (early stopping)"),
            (false, elman_train::ScheduleKind::Plateau) => Some("train.schedule = \"plateau\""),
            _ => None,
        };
        if let Some(what) = needs_validation
            && train.valid_fraction == 0.0
        {
            bail!("{what} needs a validation set: set train.valid_fraction above 0");
        }
        if train.log_every > MAX_COUNT {
            bail!("train.log_every must be at most {MAX_COUNT}");
        }
        if !(0.0..1.0).contains(&train.valid_fraction) {
            bail!(
                "train.valid_fraction must be at least 0 and below 1, got {}",
                train.valid_fraction
            );
        }

        match (&self.sines, &self.csv) {
            (Some(_), Some(_)) => bail!("a config takes [sines] or [csv], not both"),
            (Some(sines), None) => {
                at_least_one("sines.n_series", sines.n_series)?;
                if sines.seq_len < 2 || sines.seq_len > MAX_COUNT {
                    bail!("sines.seq_len must be at least 2, got {}", sines.seq_len);
                }
                for (key, [lo, hi]) in [
                    ("sines.amplitude", sines.amplitude),
                    ("sines.frequency", sines.frequency),
                ] {
                    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                        bail!(
                            "{key} must be two finite numbers, the smaller first, got [{lo}, {hi}]"
                        );
                    }
                }
                finite_from("sines.noise_std", sines.noise_std, 0.0, false)?;
            }
            (None, Some(csv)) => {
                if csv.path.as_os_str().is_empty() {
                    bail!("csv.path is missing: name the CSV file");
                }
                let many = !csv.series.is_empty() || !csv.targets.is_empty();
                if !csv.series.is_empty() && !csv.targets.is_empty() {
                    bail!(
                        "csv.series (many series in long form) and csv.targets (in wide form) exclude each other: keep one"
                    );
                }
                if csv.target.is_empty() && csv.targets.is_empty() {
                    bail!("csv.target is missing: name the column to predict");
                }
                if !csv.targets.is_empty() && !csv.target.is_empty() {
                    bail!("csv.target and csv.targets exclude each other: keep one");
                }
                if many && !csv.inputs.is_empty() {
                    bail!(
                        "csv.inputs is for one series: with many, each series is its own only input"
                    );
                }
                at_least_one("csv.window", csv.window())?;
                at_least_one("csv.stride", csv.stride)?;
                let lags = csv.transform().lags;
                if lags.contains(&0) {
                    bail!("csv.difference lists a lag of 0: list only lags of at least 1");
                }
                if csv.deseasonalize == Some(true) && csv.season.is_some_and(|m| m < 2) {
                    bail!(
                        "csv.deseasonalize takes out the pattern of csv.season: set a season of at least 2"
                    );
                }
                let lags = lags.iter().sum::<usize>();
                for (key, value) in [
                    ("csv.test_steps", csv.test_steps),
                    ("csv.season", csv.season()),
                    ("csv.difference", lags),
                ] {
                    if value > MAX_COUNT {
                        bail!("{key} must be at most {MAX_COUNT}, got {value}");
                    }
                }
            }
            (None, None) => {
                if !(self.data.start.is_finite() && self.data.end.is_finite()) {
                    bail!("data.start and data.end must be finite numbers");
                }
                if self.data.seq_len < 2 || self.data.seq_len > MAX_COUNT {
                    bail!("data.seq_len must be at least 2, got {}", self.data.seq_len);
                }
                if train.valid_fraction > 0.0 {
                    bail!(
                        "train.valid_fraction needs many sequences: use [sines] or [csv] data, or set it to 0"
                    );
                }
            }
        }

        // The size of the run, against the memory there is: the network's, and a series
        // file's once read (looked at only when the memory is known).
        let Some(available) = available else {
            return Ok(());
        };
        let network = self.memory_estimate();
        let data = self
            .csv
            .as_ref()
            .and_then(crate::data_size::csv_bytes)
            .unwrap_or(0.0);
        if network + data > available as f64 {
            let what = if data > network {
                format!(
                    "the series of {}: about {}",
                    self.csv
                        .as_ref()
                        .map_or(String::new(), |c| c.path.display().to_string()),
                    size(data)
                )
            } else {
                format!(
                    "model.d_hidden = {}: W1 alone takes {}",
                    self.model.d_hidden,
                    size(self.w1_values() * 4.0)
                )
            };
            bail!(
                "the run would need about {} of memory ({what}), more than the {} available",
                size(network + data),
                size(available as f64)
            );
        }
        Ok(())
    }

    /// `W1`'s number of values (a column block per gate, a row more with a bias), in `f64`:
    /// the sizes are not checked yet and may be huge.
    fn w1_values(&self) -> f64 {
        let (d_input, d_hidden) = (self.d_input() as f64, self.model.d_hidden as f64);
        let bias = f64::from(u8::from(self.model.bias));
        (d_input + bias + d_hidden) * (self.model.cell.gates() as f64 * d_hidden)
    }

    /// A generous estimate, in bytes, of what a run takes at its peak: the weights about ten
    /// times over (on the device, their gradients, Adam's two moments, the best network, and
    /// the host copies a checkpoint makes), a window's activations a few times over, and the
    /// generated data three times over (the draw, the sequences, a batch). A CSV series is
    /// bounded by its file.
    pub fn memory_estimate(&self) -> f64 {
        let d_hidden = self.model.d_hidden as f64;
        let weights = self.w1_values() + d_hidden;
        let (steps, values) = match (&self.sines, &self.csv) {
            (Some(sines), _) => {
                let seq_len = sines.seq_len as f64;
                (seq_len, sines.n_series as f64 * (seq_len + 1.0) * 2.0)
            }
            (None, Some(csv)) => (csv.window() as f64, 0.0),
            // The tutorial's loop keeps a few small tensors per step (about a kilobyte).
            (None, None) => (self.data.seq_len as f64, self.data.seq_len as f64 * 256.0),
        };
        let batch = self.train.batch_size as f64;
        let window = steps.min(self.train.bptt as f64);
        let activations = batch * (window + 1.0) * d_hidden * 4.0;
        4.0 * (10.0 * weights + activations + 3.0 * values)
    }
}

/// The environment variable that caps the memory a run may take, in bytes (for a machine
/// shared with other work).
pub const MEMORY_LIMIT: &str = "ELMAN_MEMORY";

/// [`MEMORY_LIMIT`]'s bytes, where it is set: an error naming it where it is not a number.
pub fn memory_limit() -> anyhow::Result<Option<u64>> {
    match std::env::var(MEMORY_LIMIT) {
        Err(_) => Ok(None),
        Ok(text) => {
            text.trim().parse().map(Some).map_err(|_| {
                anyhow::anyhow!("{MEMORY_LIMIT} must be a number of bytes, got `{text}`")
            })
        }
    }
}

/// The memory a run may take, in bytes: what this machine has free (`MemAvailable` on Linux),
/// or [`MEMORY_LIMIT`] where it is set and smaller; `None` where neither is known.
pub fn available_memory() -> Option<u64> {
    let free = free_memory();
    match (memory_limit().ok().flatten(), free) {
        (Some(limit), Some(free)) => Some(limit.min(free)),
        (limit, free) => limit.or(free),
    }
}

/// The memory this machine has free, in bytes (`MemAvailable` on Linux; `None` elsewhere).
fn free_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// A number of bytes for people: `1.5 GiB`.
fn size(bytes: f64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", units[0])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CsvSection, SinesSection};

    const PLENTY: Option<u64> = Some(1 << 40);

    /// The tutorial: W1 is 7 × 6 = 42 values and W2 6, ten times over 480; a window's two
    /// contexts of 6, four times over, 48; the wave's 20 steps at 256 values each, three times
    /// over, 15,360: 4 · (480 + 48 + 15,360) = 63,552 bytes.
    #[test]
    fn the_estimate_by_hand() {
        assert_eq!(RunConfig::default().memory_estimate(), 63_552.0);
        assert_eq!(size(63_552.0), "62.1 KiB");
        assert_eq!(size(512.0), "512 bytes");
        assert!(RunConfig::default().validate(Some(63_552)).is_ok());
        assert!(RunConfig::default().validate(Some(63_551)).is_err());
    }

    fn error(config: &RunConfig) -> String {
        config.validate(PLENTY).unwrap_err().to_string()
    }

    /// Each nonsense value is named with its key and range.
    #[test]
    fn nonsense_values_name_the_key_and_range() {
        let mut config = RunConfig::default();
        config.train.n_epochs = 0;
        assert_eq!(
            error(&config),
            format!("train.n_epochs must be at least 1 (and at most {MAX_COUNT}), got 0")
        );
        let mut config = RunConfig::default();
        config.train.lr = -1.0;
        assert_eq!(
            error(&config),
            "train.lr must be a finite number above 0, got -1"
        );
        config.train.lr = f64::NAN;
        assert!(error(&config).starts_with("train.lr must be a finite number above 0"));
        let mut config = RunConfig::default();
        config.model.d_hidden = 0;
        assert!(error(&config).starts_with("model.d_hidden must be at least 1"));
        let mut config = RunConfig {
            sines: Some(SinesSection::default()),
            ..RunConfig::default()
        };
        config.train.valid_fraction = 1.0;
        assert_eq!(
            error(&config),
            "train.valid_fraction must be at least 0 and below 1, got 1"
        );
        config.train.valid_fraction = 0.2;
        config.sines.as_mut().unwrap().amplitude = [1.0, 0.5];
        assert!(error(&config).starts_with("sines.amplitude must be two finite numbers"));
        let config = RunConfig {
            csv: Some(CsvSection {
                path: "x.csv".into(),
                target: "y".into(),
                window: Some(0),
                ..CsvSection::default()
            }),
            ..RunConfig::default()
        };
        assert!(error(&config).starts_with("csv.window must be at least 1"));
        let config = RunConfig {
            seed: u64::MAX,
            ..RunConfig::default()
        };
        assert!(error(&config).starts_with("seed must be at most"));
    }

    /// A hidden layer of 100,000 is refused with how much it would take.
    #[test]
    fn a_run_too_big_for_memory_is_refused_with_the_estimate() {
        let mut config = RunConfig::default();
        config.model.d_hidden = 100_000;
        let err = config.validate(Some(24 << 30)).unwrap_err().to_string();
        assert!(
            err.starts_with("the run would need about 372.5 GiB of memory (model.d_hidden = 100000: W1 alone takes 37.3 GiB), more than the 24.0 GiB available"),
            "{err}"
        );
        assert!(
            config.validate(None).is_ok(),
            "no check where memory is unknown"
        );
    }

    /// A panel of 4,000 rows is refused, with the figure and before anything is read or
    /// written, where its estimate (4,001 rows at 24 bytes, 16 of them, 1.5 times over) does
    /// not fit beside the network's, and taken where it does.
    #[test]
    fn a_panel_too_big_for_memory_is_refused_with_the_estimate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("panel.csv");
        let mut text = String::from("id,t,v\n");
        for s in 0..4 {
            for t in 0..1000 {
                text.push_str(&format!("s{s},{t},{}\n", (t as f32 * 0.1).sin()));
            }
        }
        std::fs::write(&path, text).unwrap();
        let config = RunConfig {
            csv: Some(CsvSection {
                path: path.clone(),
                series: "id".into(),
                target: "v".into(),
                time: "t".into(),
                ..CsvSection::default()
            }),
            ..RunConfig::default()
        };
        let data = 1.5 * 4001.0 * 16.0;
        let needed = config.memory_estimate() + data;
        let err = config
            .validate(Some(needed as u64 - 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "the run would need about {} of memory (the series of {}: about {}), more than",
                size(needed),
                path.display(),
                size(data)
            )),
            "{err}"
        );
        assert!(config.validate(Some(needed as u64 + 1)).is_ok());
    }
}
