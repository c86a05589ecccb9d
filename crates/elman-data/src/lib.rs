//! The data the Elman network learns from, as Burn datasets and batchers.
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
//! [`SineDataset`] holds those items (one per time step, in time order) and [`SineBatcher`] turns
//! a run of them into a [`SineBatch`] of tensors.
//!
//! Beyond the tutorial, [`SequenceDataset`] holds many equal-length sequences of
//! `(inputs, targets)` steps and [`SequenceBatcher`] stacks them into `[batch, seq_len, features]`
//! tensors. They come from [`SineWaves`] (many random sine waves from a seed) or from a user's own
//! series: [`parse_csv`] reads CSV text, [`Scaler`] standardizes it with statistics of the
//! training split, and [`windows`] cuts a long series into training sequences.
//!
//! This crate does no IO (callers hand it text) and knows no model.

mod csv;
mod scaler;
mod sequences;
mod sines;
mod tutorial;

pub use csv::{CsvError, MissingValues, Table, parse_csv};
pub use scaler::Scaler;
pub use sequences::{SequenceBatch, SequenceBatcher, SequenceDataset, SequenceItem, windows};
pub use sines::SineWaves;
pub use tutorial::{SineBatch, SineBatcher, SineDataset, SineItem};
