//! From the settings to the data: the one place that chooses among the tutorial's wave, many
//! generated waves and a CSV series, and the one place the series' file is read.

use anyhow::{Context, Result};
use elman_data::{
    DataSource, Layout, RunData, SeriesSpec, SineDataset, SineWaves, parse_csv_with_time,
    parse_series,
};

use crate::settings::RunConfig;

impl RunConfig {
    /// The data the settings describe (call [`RunConfig::validate`] first).
    pub fn data_source(&self) -> Result<DataSource> {
        if let Some(sines) = &self.sines {
            return Ok(DataSource::Waves {
                waves: SineWaves {
                    n_series: sines.n_series,
                    seq_len: sines.seq_len,
                    amplitude: (sines.amplitude[0], sines.amplitude[1]),
                    frequency: (sines.frequency[0], sines.frequency[1]),
                    noise_std: sines.noise_std,
                    seed: self.seed,
                },
                valid_fraction: self.train.valid_fraction,
            });
        }
        let Some(csv) = &self.csv else {
            let data = &self.data;
            return Ok(DataSource::Tutorial(SineDataset::new(
                data.start,
                data.end,
                data.seq_len,
            )));
        };
        let reader = open_data(&csv.path)?;
        let time = (!csv.time.is_empty()).then_some(csv.time.as_str());
        let spec = self.series_spec(csv);
        let layout = if !csv.series.is_empty() {
            Some(Layout::Long {
                id: &csv.series,
                target: &csv.target,
            })
        } else if !csv.targets.is_empty() {
            Some(Layout::Wide {
                targets: &csv.targets,
            })
        } else {
            None
        };
        if let Some(layout) = layout {
            let tables = parse_series(reader, layout, time, csv.missing)
                .with_context(|| format!("data {}", csv.path.display()))?;
            return Ok(DataSource::Panel { tables, spec });
        }
        let mut picked: Vec<&str> = if csv.inputs.is_empty() {
            vec![csv.target.as_str()]
        } else {
            csv.inputs.iter().map(String::as_str).collect()
        };
        let n_inputs = picked.len();
        picked.push(&csv.target);
        let table = parse_csv_with_time(reader, &picked, time, csv.missing)
            .with_context(|| format!("data {}", csv.path.display()))?;
        Ok(DataSource::Series {
            table,
            spec: SeriesSpec { n_inputs, ..spec },
        })
    }

    /// How the `[csv]` settings cut a series.
    pub fn series_spec(&self, csv: &crate::settings::CsvSection) -> SeriesSpec {
        SeriesSpec {
            n_inputs: csv.inputs.len().max(1),
            window: csv.window(),
            stride: csv.stride,
            test_steps: csv.test_steps,
            season: csv.season(),
            transform: csv.transform(),
            valid_fraction: self.train.valid_fraction,
        }
    }

    /// The name of the values' axis in pictures: the target column and its units for a series
    /// (`co2 (ppm)`), else `value`.
    pub fn value_label(&self) -> String {
        match &self.csv {
            Some(csv) => {
                let name = if csv.targets.is_empty() {
                    csv.target.clone()
                } else {
                    "value".to_string()
                };
                if csv.units.is_empty() {
                    name
                } else {
                    format!("{name} ({})", csv.units)
                }
            }
            None => "value".to_string(),
        }
    }

    /// The data, read and prepared for training.
    pub fn prepare_data(&self) -> Result<RunData> {
        let origin = match &self.csv {
            Some(csv) => format!("data {}", csv.path.display()),
            None => "data".to_string(),
        };
        self.data_source()?.prepare().context(origin)
    }
}

/// The data file at `path`, opened to be read once, streamed (an error naming it where it
/// cannot be opened or is not a file).
pub(crate) fn open_data(path: &std::path::Path) -> Result<std::io::BufReader<std::fs::File>> {
    let context = || format!("cannot read data {}", path.display());
    let file = std::fs::File::open(path).with_context(context)?;
    if !file.metadata().with_context(context)?.is_file() {
        return Err(anyhow::anyhow!("it is not a file")).with_context(context);
    }
    Ok(std::io::BufReader::with_capacity(1 << 16, file))
}
