//! The data the Elman network learns from, as Burn datasets and batchers, and the forecasting
//! arithmetic around it.
//!
//! The tutorial's data is one sine wave sampled at 21 points, fed one point per time step, with
//! the target at each step being the next point of the same wave:
//!
//! ```text
//! t = linspace(2, 10, seq_len + 1)     # the tutorial has seq_len = 20
//! s = sin(t)
//! x = s[0..seq_len]                    # inputs,  [seq_len, 1]
//! y = s[1..seq_len + 1]                # targets, [seq_len, 1]: x shifted one step into the future
//! ```
//!
//! [`SineDataset`] holds those items, one per time step, in time order.
//! Beyond the tutorial, [`SequenceDataset`] holds many equal-length sequences of
//! `(inputs, targets)` steps and [`SequenceBatcher`] stacks them into `[batch, seq_len, features]`
//! tensors. They come from [`SineWaves`] (many random sine waves from a seed) or from a user's own
//! series: [`parse_csv`] reads CSV bytes, [`Series`] transforms it ([`Transform`]: the log, differences) and splits it in time, [`Scaler`]
//! standardizes it with statistics of the training split, and [`windows`] cuts it into training
//! sequences. [`DataSource`] is the choice among the three, made once;
//! [`DataSource::prepare`] gives the [`RunData`] a run trains on, which also says what to
//! predict over ([`RunData::one_step`]) and what to forecast ([`RunData::closed_loop`], with
//! the [`seasonal_naive`] baseline); [`mse`], [`mae`], [`smape`] and [`mase`] score either, and
//! [`origins`] and [`score`] make a rolling-origin backtest of many forecasts.
//!
//! | file | its job |
//! |---|---|
//! | `tutorial.rs` | the tutorial's wave |
//! | `sines.rs` | many random waves |
//! | `csv.rs` | reading a series from CSV |
//! | `rows.rs` | one streamed pass over a CSV file's rows, with each row's line |
//! | `time.rs` | a series' time column: labels, axis positions, times past the file's end |
//! | `labels.rs` | a time column's texts, a first value and a step where they are regular |
//! | `series.rs` | the split in time, windows of a series |
//! | `transform.rs` | the log and differences a network learns instead of the levels, and back |
//! | `scaler.rs` | standardization |
//! | `sequences.rs` | sequences and windows, stored once and read as views |
//! | `batcher.rs` | sequences stacked into tensors |
//! | `panel.rs` | many series in one file: read in long or wide form, joined into one run's data |
//! | `source.rs` | the data source, chosen once, and what it predicts and forecasts |
//! | `forecast.rs` | closed-loop forecasts and the seasonal-naive baseline |
//! | `metrics.rs` | error measures |
//! | `backtest.rs` | rolling-origin evaluation: the origins, the scores by step |
//! | `choice.rs` | a forecast's own choices: the season, the candidates, the validation's origins, the ensemble's median and intervals |
//! | `error.rs` | why data could not be made ready |
//!
//! This crate does no IO (callers hand it bytes) and knows no model.

mod backtest;
mod batcher;
mod choice;
mod csv;
mod error;
mod forecast;
mod labels;
mod metrics;
mod panel;
mod rows;
mod scaler;
mod sequences;
mod series;
mod sines;
mod source;
mod time;
mod transform;
mod tutorial;

pub use backtest::{
    Case, Coverage, Errors, MEASURES, MIN_KNOWN_ERRORS, interval_coverage, origins, score,
};
pub use batcher::{SequenceBatch, SequenceBatcher};
pub use choice::{
    Ensemble, autocorrelation_season, candidate_windows, ensemble, mean, median, season_of,
    transforms, validation_origins,
};
pub use csv::{CsvError, MissingValues, Table, parse_csv, parse_csv_with_time};
pub use error::DataError;
pub use forecast::{ClosedLoop, Forecast, seasonal_naive};
pub use labels::Labels;
pub use metrics::{mae, mase, mse, rmse, seasonal_scale, smape};
pub use panel::{Layout, Member, parse_series};
pub use rows::Lines;
pub use scaler::Scaler;
pub use sequences::{SequenceDataset, SequenceItem, SequenceRef, windows, windows_ahead};
pub use series::{Series, SeriesSpec, split_in_time};
pub use sines::SineWaves;
pub use source::{DataSource, OneStep, RunData, Source};
pub use time::{TimeColumn, decimal_year};
pub use transform::Transform;
pub use tutorial::{SineDataset, SineItem};
