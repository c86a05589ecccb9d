//! From a config to the sequences the network trains and validates on.

use anyhow::{Context, Result, bail};
use elman_data::{Scaler, SequenceDataset, SineDataset, SineWaves, parse_csv, windows};

use crate::config::RunConfig;

/// The data of a run, ready for training.
pub struct Prepared {
    /// Training sequences (scaled).
    pub train: SequenceDataset,
    /// Validation sequences (scaled), when the config keeps some.
    pub valid: Option<SequenceDataset>,
    /// Column statistics: the inputs, then the target (identity for generated waves).
    pub scaler: Scaler,
    /// The series, for a CSV source: what prediction and forecasting run over.
    pub series: Option<Series>,
}

/// A user's series, unscaled, with where its parts end.
#[derive(Debug, Clone)]
pub struct Series {
    /// Each input column, one value per row.
    pub inputs: Vec<Vec<f32>>,
    /// The target column, as the network sees it (differenced when `difference > 0`), unscaled;
    /// row `r` here is row `r + difference` of the file.
    pub target: Vec<f32>,
    /// The target column as in the file (the levels), every row.
    pub levels: Vec<f32>,
    /// The differencing lag (0: none).
    pub difference: usize,
    /// Rows `0..valid_start` are trained on.
    pub valid_start: usize,
    /// Rows `valid_start..test_start` are validated on; `test_start..` are held out.
    pub test_start: usize,
    /// The seasonal-naive baseline's cycle (0: last value).
    pub season: usize,
}

impl Series {
    /// The level at file row `row + difference`, from the network's value `value` for series
    /// row `row` and the level `difference` rows earlier (`earlier`).
    pub fn level(&self, value: f32, earlier: f32) -> f32 {
        if self.difference == 0 {
            value
        } else {
            earlier + value
        }
    }

    /// The inputs of rows `range`, scaled, step-major.
    pub fn scaled_inputs(&self, scaler: &Scaler, range: std::ops::Range<usize>) -> Vec<f32> {
        range
            .flat_map(|row| {
                self.inputs
                    .iter()
                    .enumerate()
                    .map(move |(i, column)| scaler.scale(i, column[row]))
            })
            .collect()
    }
}

/// Builds the data the config describes.
pub fn prepare(config: &RunConfig) -> Result<Prepared> {
    if let Some(sines) = &config.sines {
        let waves = SineWaves {
            n_series: sines.n_series,
            seq_len: sines.seq_len,
            amplitude: (sines.amplitude[0], sines.amplitude[1]),
            frequency: (sines.frequency[0], sines.frequency[1]),
            noise_std: sines.noise_std,
            seed: config.seed,
        };
        let (train, valid) = waves.generate().split(config.train.valid_fraction);
        return Ok(Prepared {
            train,
            valid: (!valid.items().is_empty()).then_some(valid),
            scaler: Scaler::identity(2),
            series: None,
        });
    }
    if let Some(csv) = &config.csv {
        return prepare_csv(config, csv);
    }
    if config.train.valid_fraction > 0.0 {
        bail!("train.valid_fraction needs many sequences: use [sines] or [csv] data");
    }
    let data = SineDataset::new(config.data.start, config.data.end, config.data.seq_len);
    Ok(Prepared {
        train: SequenceDataset::from_tutorial(&data),
        valid: None,
        scaler: Scaler::identity(2),
        series: None,
    })
}

fn prepare_csv(config: &RunConfig, csv: &crate::config::CsvSection) -> Result<Prepared> {
    let text = std::fs::read_to_string(&csv.path)
        .with_context(|| format!("cannot read data {}", csv.path.display()))?;
    let inputs: Vec<&str> = if csv.inputs.is_empty() {
        vec![csv.target.as_str()]
    } else {
        csv.inputs.iter().map(String::as_str).collect()
    };
    let mut picked = inputs.clone();
    picked.push(&csv.target);
    let table = parse_csv(&text, &picked, config.missing_values()?)
        .with_context(|| format!("data {}", csv.path.display()))?;
    let levels = table.columns[inputs.len()].clone();
    // Differencing: each column becomes its change over `difference` rows.
    let lag = csv.difference;
    if lag > 0 && lag + 3 >= table.rows() {
        bail!(
            "csv.difference = {lag} leaves too few rows ({})",
            table.rows()
        );
    }
    let columns: Vec<Vec<f32>> = table
        .columns
        .iter()
        .map(|c| {
            if lag == 0 {
                c.clone()
            } else {
                (lag..c.len()).map(|i| c[i] - c[i - lag]).collect()
            }
        })
        .collect();
    let rows = columns[0].len();
    let input_columns: Vec<Vec<f32>> = columns[..inputs.len()].to_vec();
    let target = columns[inputs.len()].clone();

    // Split in time: training, then validation, then the held-out tail.
    if csv.test_steps + 2 >= rows {
        bail!(
            "csv.test_steps = {} leaves nothing to train on ({} rows)",
            csv.test_steps,
            rows
        );
    }
    let test_start = rows - csv.test_steps;
    let n_valid = (test_start as f64 * config.train.valid_fraction).floor() as usize;
    let valid_start = test_start - n_valid;
    if valid_start < csv.window + 1 {
        bail!(
            "the training part of {} has {valid_start} rows, fewer than csv.window + 1 = {}",
            csv.path.display(),
            csv.window + 1
        );
    }

    // Statistics of the training part only.
    let train_columns: Vec<&[f32]> = columns
        .iter()
        .map(|column| &column[..valid_start])
        .collect();
    let scaler = Scaler::fit(&train_columns);
    let series = Series {
        inputs: input_columns,
        target,
        levels,
        difference: lag,
        valid_start,
        test_start,
        season: csv.season,
    };

    // Step t feeds row t and predicts the target at row t + 1.
    let d_input = inputs.len();
    let part = |start: usize, end: usize| -> Option<SequenceDataset> {
        if end < start + 2 {
            return None;
        }
        let x = series.scaled_inputs(&scaler, start..end - 1);
        let y = scaler.scale_column(d_input, &series.target[start + 1..end]);
        let steps = end - 1 - start;
        let window = csv.window.min(steps);
        Some(windows(&x, d_input, &y, 1, window, csv.stride.min(window)))
    };
    let train = part(0, valid_start).expect("checked above");
    let valid = part(valid_start, test_start);
    Ok(Prepared {
        train,
        valid,
        scaler,
        series: Some(series),
    })
}
