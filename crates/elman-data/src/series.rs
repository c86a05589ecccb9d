//! A user's series cut for training: its transformation (`transform.rs`), the split in time
//! into training, validation and a held-out tail, and the scaled windows the network trains on.
//!
//! With `rows` rows after the transformation, `test_steps` held out and a validation fraction `f`:
//!
//! ```text
//! rows 0 .. valid_start            training (the scaler's statistics come from here alone)
//! rows valid_start .. test_start   validation, floor(test_start · f) rows
//! rows test_start .. rows          held out: never trained or validated on, forecast later
//! ```

use std::sync::Arc;

use crate::{DataError, Scaler, SequenceDataset, Table, Transform, windows, windows_ahead};

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
    /// What the network learns instead of the levels (the log, differences).
    pub transform: Transform,
    /// Fraction of the rows before the held-out tail kept for validation, in `[0, 1)`.
    pub valid_fraction: f64,
}

/// A user's series, unscaled, with where its parts end. Columns that hold the same values
/// (an input that is the target, a target learned as it is) share one array.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Each input column, one value per row, transformed as the target is.
    pub inputs: Vec<Arc<[f32]>>,
    /// The target column as the network sees it (transformed), unscaled; row `r` here is row
    /// `r + transform.span()` of the file.
    pub target: Arc<[f32]>,
    /// The target column as in the file (the levels), every row.
    pub levels: Arc<[f32]>,
    /// What the network learns instead of the levels.
    pub transform: Transform,
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
        let transform = &spec.transform;
        let lag = transform.span();
        if lag > 0 && lag + 3 >= table.rows() {
            return Err(DataError::TooShort(format!(
                "csv.difference = {} leaves too few rows ({})",
                lags_text(&transform.lags),
                table.rows()
            )));
        }
        // The seasonal indices of each column come from the rows before the held-out ones.
        let fit_rows = table.rows().saturating_sub(spec.test_steps);
        let levels: Arc<[f32]> = table.columns[n_inputs].as_slice().into();
        let mut columns: Vec<Arc<[f32]>> = Vec::with_capacity(table.columns.len());
        let mut fitted = transform.clone();
        for (i, (column, name)) in table.columns.iter().zip(&table.names).enumerate() {
            // A column the same as the target (a series that is its own input) is one array.
            if i < n_inputs && column == &table.columns[n_inputs] && name == &table.names[n_inputs]
            {
                columns.push(Arc::from([]));
                continue;
            }
            let logged = transform.logged(column, name)?;
            fitted = transform.fitted(&logged[..fit_rows])?;
            // The target learned as it is shares the levels' array; any other column is its own.
            columns.push(if transform.is_identity() && i == n_inputs {
                levels.clone()
            } else {
                fitted.apply(&logged).into()
            });
        }
        let target = columns.pop().expect("the target column");
        for column in &mut columns {
            if column.is_empty() {
                *column = target.clone();
            }
        }
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
            levels,
            transform: fitted,
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
        // A series that is its own only input, scaled alike as input and as target, is stored
        // once: each step's target is the next step's input.
        let ahead = d_input == 1
            && Arc::ptr_eq(&self.inputs[0], &self.target)
            && scaler.mean[0] == scaler.mean[1]
            && scaler.std[0] == scaler.std[1];
        let part = |start: usize, end: usize| -> Option<SequenceDataset> {
            if end < start + 2 {
                return None;
            }
            let window = window.min(end - 1 - start);
            if ahead {
                let values = scaler.scale_column(d_input, &self.target[start..end]);
                return Some(windows_ahead(values, window, stride.min(window)));
            }
            let x = self.scaled_inputs(scaler, start..end - 1);
            let y = scaler.scale_column(d_input, &self.target[start + 1..end]);
            Some(windows(&x, d_input, &y, 1, window, stride.min(window)))
        };
        let train = part(0, self.valid_start).expect("checked by Series::new");
        (train, part(self.valid_start, self.test_start))
    }

    /// The levels of the one-step-ahead predictions `predicted` (unscaled, in the network's
    /// terms) made from row 0 on: prediction `i` is for series row `i + 1`, file row
    /// `i + 1 + transform.span()`, built on the true levels before it.
    pub fn levels_of(&self, predicted: &[f32]) -> Vec<f32> {
        self.transform
            .levels_at(&self.levels, 1 + self.transform.span(), predicted)
    }
}

/// Lags as a config writes them: `2`, or `[1, 12]`.
fn lags_text(lags: &[usize]) -> String {
    match lags {
        [lag] => lag.to_string(),
        lags => format!("{lags:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            transform: Transform::lag(1),
            valid_fraction: 0.0,
        };
        let series = Series::new(&table((0..20).map(|v| v as f32).collect()), &spec).unwrap();
        assert_eq!(*series.target, [1.0; 19]);
        assert_eq!((series.valid_start, series.test_start), (15, 15));
        let scaler = series.scaler();
        assert_eq!((scaler.mean[1], scaler.std[1]), (1.0, 1.0));
        let (train, valid) = series.datasets(&scaler, 5, 5);
        assert!(valid.is_none());
        // 14 steps (rows 0..14 predicting rows 1..15) in windows of 5 every 5: two.
        assert_eq!(train.len(), 2);
        assert_eq!(train.get_ref(0).targets, vec![0.0; 5]);
        assert_eq!(series.levels_of(&[1.0, 1.5]), [2.0, 3.5]);

        let long_window = SeriesSpec { window: 15, ..spec };
        let err = Series::new(&table((0..20).map(|v| v as f32).collect()), &long_window);
        assert_eq!(
            err.unwrap_err().to_string(),
            "the training part has 15 rows, fewer than csv.window + 1 = 16"
        );
    }

    /// A series that is its own only input is stored once, yet every training and validation
    /// window reads, bit for bit, the values the separate copies of its inputs and targets
    /// held (so every run's losses stay the same).
    #[test]
    fn windows_stored_once_read_what_copies_held() {
        let values: Vec<f32> = (0..97)
            .map(|t| (t as f32 * 0.37).sin() * 3.0 + t as f32 * 0.1)
            .collect();
        for (window, stride) in [(8, 1), (12, 5), (30, 30)] {
            let spec = SeriesSpec {
                n_inputs: 1,
                window,
                stride,
                test_steps: 7,
                season: 0,
                transform: Transform::lag(1),
                valid_fraction: 0.2,
            };
            let series = Series::new(&table(values.clone()), &spec).unwrap();
            let scaler = series.scaler();
            let (train, valid) = series.datasets(&scaler, window, stride);
            let copies = |start: usize, end: usize| {
                let x = series.scaled_inputs(&scaler, start..end - 1);
                let y = scaler.scale_column(1, &series.target[start + 1..end]);
                let window = window.min(end - 1 - start);
                windows(&x, 1, &y, 1, window, stride.min(window))
            };
            for (views, copied) in [
                (train, copies(0, series.valid_start)),
                (
                    valid.unwrap(),
                    copies(series.valid_start, series.test_start),
                ),
            ] {
                assert_eq!(views.len(), copied.len());
                for i in 0..views.len() {
                    let (a, b) = (views.get_ref(i), copied.get_ref(i));
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(a.inputs), bits(b.inputs), "window {i}");
                    assert_eq!(bits(a.targets), bits(b.targets), "window {i}");
                }
            }
        }
    }

    /// A series with other inputs keeps each input's own values (learned as they are, only
    /// the target shares the levels' array), and a series that is its own input shares one.
    #[test]
    fn other_inputs_keep_their_own_values() {
        let table = Table {
            names: vec!["x".into(), "y".into()],
            lines: (2..22).collect(),
            time: None,
            columns: vec![(0..20).map(|v| v as f32).collect(), vec![5.0; 20]],
        };
        let spec = SeriesSpec {
            n_inputs: 1,
            window: 4,
            stride: 4,
            test_steps: 0,
            season: 0,
            transform: Transform::none(),
            valid_fraction: 0.0,
        };
        let series = Series::new(&table, &spec).unwrap();
        assert_eq!(series.inputs[0][..3], [0.0, 1.0, 2.0]);
        assert!(Arc::ptr_eq(&series.target, &series.levels));
        let own = Series::new(&self::table(vec![1.0; 20]), &spec).unwrap();
        assert!(Arc::ptr_eq(&own.inputs[0], &own.target));
    }
}
