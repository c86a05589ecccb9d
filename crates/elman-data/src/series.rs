//! A user's series cut for training: differencing and its inverse, the split in time into
//! training, validation and a held-out tail, and the scaled windows the network trains on.
//!
//! With `rows` rows after differencing, `test_steps` held out and a validation fraction `f`:
//!
//! ```text
//! rows 0 .. valid_start            training (the scaler's statistics come from here alone)
//! rows valid_start .. test_start   validation, floor(test_start · f) rows
//! rows test_start .. rows          held out: never trained or validated on, forecast later
//! ```

use crate::{DataError, Scaler, SequenceDataset, Table, windows};

/// The `[csv]` settings that shape a series into training data.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpec {
    /// Inputs per step: the table's first columns (the target column comes last).
    pub n_inputs: usize,
    /// Steps per training sequence.
    pub window: usize,
    /// Steps between the starts of two training sequences.
    pub stride: usize,
    /// Rows at the end held out for forecasting.
    pub test_steps: usize,
    /// The seasonal-naive baseline's cycle (0: the last value).
    pub season: usize,
    /// Learn the change over this many rows instead of the level (0: the level).
    pub difference: usize,
    /// Fraction of the rows before the held-out tail kept for validation, in `[0, 1)`.
    pub valid_fraction: f64,
}

/// A user's series, unscaled, with where its parts end.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Each input column, one value per row (differenced when `difference > 0`).
    pub inputs: Vec<Vec<f32>>,
    /// The target column as the network sees it (differenced when `difference > 0`), unscaled;
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
    /// The time column, row for row with `levels`, when the file has one.
    pub time: Option<crate::TimeColumn>,
    /// The target column's name.
    pub name: String,
}

/// `column[t] - column[t - lag]` for every `t` from `lag` on (the column itself for lag 0).
pub fn difference(column: &[f32], lag: usize) -> Vec<f32> {
    if lag == 0 {
        return column.to_vec();
    }
    (lag..column.len())
        .map(|t| column[t] - column[t - lag])
        .collect()
}

/// Undoes [`difference`] going forward: after the levels `before`, each change adds to the
/// level `lag` steps before it (one of `before`, or an earlier result once those run out).
/// Returns one level per change.
///
/// # Panics
///
/// If `lag > 0` and `before` holds fewer than `lag` levels.
pub fn undifference(before: &[f32], changes: &[f32], lag: usize) -> Vec<f32> {
    if lag == 0 {
        return changes.to_vec();
    }
    assert!(
        before.len() >= lag,
        "undifference needs `lag` levels before"
    );
    let mut extended = before.to_vec();
    for change in changes {
        extended.push(extended[extended.len() - lag] + change);
    }
    extended.split_off(before.len())
}

/// Where training ends and validation ends, for `rows` rows with `test_steps` held out and a
/// fraction `valid_fraction` of the rest validated on: `(valid_start, test_start)`.
pub fn split_in_time(
    rows: usize,
    test_steps: usize,
    valid_fraction: f64,
) -> Result<(usize, usize), DataError> {
    if test_steps + 2 >= rows {
        return Err(DataError::TooShort(format!(
            "csv.test_steps = {test_steps} leaves nothing to train on ({rows} rows)"
        )));
    }
    let test_start = rows - test_steps;
    let n_valid = (test_start as f64 * valid_fraction.clamp(0.0, 1.0)).floor() as usize;
    Ok((test_start - n_valid, test_start))
}

impl Series {
    /// The series of `table` (its first `spec.n_inputs` columns the inputs, its last the
    /// target), differenced and split as `spec` says.
    pub fn new(table: &Table, spec: &SeriesSpec) -> Result<Self, DataError> {
        let n_inputs = spec.n_inputs;
        assert_eq!(table.columns.len(), n_inputs + 1, "inputs, then the target");
        let lag = spec.difference;
        if lag > 0 && lag + 3 >= table.rows() {
            return Err(DataError::TooShort(format!(
                "csv.difference = {lag} leaves too few rows ({})",
                table.rows()
            )));
        }
        let mut columns: Vec<Vec<f32>> = table.columns.iter().map(|c| difference(c, lag)).collect();
        let target = columns.pop().expect("the target column");
        let (valid_start, test_start) =
            split_in_time(target.len(), spec.test_steps, spec.valid_fraction)?;
        if valid_start < spec.window + 1 {
            return Err(DataError::TooShort(format!(
                "the training part has {valid_start} rows, fewer than csv.window + 1 = {}",
                spec.window + 1
            )));
        }
        let time = table
            .time
            .as_ref()
            .map(|(name, labels)| crate::TimeColumn::parse(name, labels.clone(), &table.lines))
            .transpose()?;
        Ok(Self {
            inputs: columns,
            target,
            levels: table.columns[n_inputs].clone(),
            difference: lag,
            valid_start,
            test_start,
            season: spec.season,
            time,
            name: table.names[n_inputs].clone(),
        })
    }

    /// The scaler fitted on the training rows: the inputs, then the target.
    pub fn scaler(&self) -> Scaler {
        let train: Vec<&[f32]> = self
            .inputs
            .iter()
            .chain(std::iter::once(&self.target))
            .map(|column| &column[..self.valid_start])
            .collect();
        Scaler::fit(&train)
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

    /// The training and validation sequences of rows `0..valid_start` and
    /// `valid_start..test_start`, scaled: step `t` feeds row `t` and predicts the target at row
    /// `t + 1`, in windows of `window` steps every `stride` steps.
    pub fn datasets(
        &self,
        scaler: &Scaler,
        window: usize,
        stride: usize,
    ) -> (SequenceDataset, Option<SequenceDataset>) {
        let d_input = self.inputs.len();
        let part = |start: usize, end: usize| -> Option<SequenceDataset> {
            if end < start + 2 {
                return None;
            }
            let x = self.scaled_inputs(scaler, start..end - 1);
            let y = scaler.scale_column(d_input, &self.target[start + 1..end]);
            let window = window.min(end - 1 - start);
            Some(windows(&x, d_input, &y, 1, window, stride.min(window)))
        };
        let train = part(0, self.valid_start).expect("checked by Series::new");
        (train, part(self.valid_start, self.test_start))
    }

    /// The levels of the one-step-ahead predictions `predicted` (unscaled, in the network's
    /// terms) made from row 0 on: prediction `i` is for series row `i + 1`, file row
    /// `i + 1 + difference`.
    pub fn levels_of(&self, predicted: &[f32]) -> Vec<f32> {
        predicted
            .iter()
            .enumerate()
            .map(|(i, &value)| match self.difference {
                0 => value,
                _ => self.levels[i + 1] + value,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels 1, 2, 4, 7, 11 change by 3, 5, 7 over two steps; adding the changes back onto
    /// the first two levels gives the levels again, and a forecast beyond them builds on its
    /// own results: after 7, 11 a change of 1, 1 gives 8, 12, then another 1 gives 9.
    #[test]
    fn differencing_by_hand() {
        let levels = [1.0, 2.0, 4.0, 7.0, 11.0];
        assert_eq!(difference(&levels, 2), [3.0, 5.0, 7.0]);
        assert_eq!(difference(&levels, 0), levels);
        assert_eq!(undifference(&levels[..2], &[3.0, 5.0, 7.0], 2), levels[2..]);
        assert_eq!(
            undifference(&[7.0, 11.0], &[1.0, 1.0, 1.0], 2),
            [8.0, 12.0, 9.0]
        );
        assert_eq!(undifference(&[], &[0.5], 0), [0.5]);
    }

    /// 100 rows, 10 held out, a quarter of the other 90 validated: floor(22.5) = 22 rows,
    /// so training ends at 68 and validation at 90.
    #[test]
    fn split_in_time_by_hand() {
        assert_eq!(split_in_time(100, 10, 0.25).unwrap(), (68, 90));
        assert_eq!(split_in_time(100, 0, 0.0).unwrap(), (100, 100));
        let err = split_in_time(12, 10, 0.0).unwrap_err().to_string();
        assert_eq!(
            err,
            "csv.test_steps = 10 leaves nothing to train on (12 rows)"
        );
    }

    fn table(values: Vec<f32>) -> Table {
        Table {
            names: vec!["y".into(), "y".into()],
            lines: (2..values.len() + 2).collect(),
            time: None,
            columns: vec![values.clone(), values],
        }
    }

    /// Twenty rows 0, 1, ..., 19 differenced by 1 are nineteen ones: with 4 held out and no
    /// validation, training is rows 0..15; the scaler of a constant column keeps std 1, and the
    /// one-step levels add each predicted change to the level before.
    #[test]
    fn a_series_by_hand() {
        let spec = SeriesSpec {
            n_inputs: 1,
            window: 5,
            stride: 5,
            test_steps: 4,
            season: 0,
            difference: 1,
            valid_fraction: 0.0,
        };
        let series = Series::new(&table((0..20).map(|v| v as f32).collect()), &spec).unwrap();
        assert_eq!(series.target, vec![1.0; 19]);
        assert_eq!((series.valid_start, series.test_start), (15, 15));
        let scaler = series.scaler();
        assert_eq!((scaler.mean[1], scaler.std[1]), (1.0, 1.0));
        let (train, valid) = series.datasets(&scaler, 5, 5);
        assert!(valid.is_none());
        // 14 steps (rows 0..14 predicting rows 1..15) in windows of 5 every 5: two.
        assert_eq!(train.len(), 2);
        assert_eq!(train.items()[0].targets, vec![0.0; 5]);
        assert_eq!(series.levels_of(&[1.0, 1.5]), [2.0, 3.5]);

        let long_window = SeriesSpec { window: 15, ..spec };
        let err = Series::new(&table((0..20).map(|v| v as f32).collect()), &long_window);
        assert_eq!(
            err.unwrap_err().to_string(),
            "the training part has 15 rows, fewer than csv.window + 1 = 16"
        );
    }
}
