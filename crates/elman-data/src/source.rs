//! Where a run's data comes from, chosen once: [`DataSource`] is the tutorial's wave, many
//! generated waves, or a user's series; [`DataSource::prepare`] turns it into the sequences the
//! network trains and validates on ([`RunData`]), which then knows what to predict over and
//! what to forecast.

use std::ops::Range;

use crate::{
    ClosedLoop, DataError, Member, Scaler, SequenceDataset, Series, SeriesSpec, SineDataset,
    SineWaves, Table,
};

/// The data a run learns from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// The tutorial's one wave.
    Tutorial(SineDataset),
    /// Many generated waves, the last `valid_fraction` of them kept for validation.
    Waves {
        /// The generator.
        waves: SineWaves,
        /// Fraction of the waves kept for validation, in `[0, 1)`.
        valid_fraction: f64,
    },
    /// A user's series: the table read from its CSV file (inputs first, the target last) and
    /// how to cut it.
    Series {
        /// The picked columns.
        table: Table,
        /// How to cut it.
        spec: SeriesSpec,
    },
    /// Many series of one file, each a table of its one column (and time), cut alike: one
    /// network learns them all, each series its own only input.
    Panel {
        /// Each series' name and table.
        tables: Vec<(String, Table)>,
        /// How to cut each.
        spec: SeriesSpec,
    },
}

/// What the data of a run is, once prepared.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The tutorial's wave.
    Tutorial(SineDataset),
    /// Generated waves.
    Waves,
    /// A user's series (boxed: it is much larger than the other variants).
    Series(Box<Series>),
    /// Many series, one network: each series' own data. What the run shows and forecasts as
    /// one ([`RunData::one_step`], [`RunData::closed_loop`], ...) is the first series'.
    Panel(Vec<Member>),
}

/// A run's data, ready for training and for using the trained network.
#[derive(Debug, Clone, PartialEq)]
pub struct RunData {
    /// Training sequences (scaled).
    pub train: SequenceDataset,
    /// Validation sequences (scaled), when there are any.
    pub valid: Option<SequenceDataset>,
    /// Column statistics: the inputs, then the target (identity for the waves).
    pub scaler: Scaler,
    /// What the data is.
    pub source: Source,
}

/// One-step-ahead predictions to make over a run's data, and the truth to show beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct OneStep {
    /// The network's inputs, scaled, step-major.
    pub inputs: Vec<f32>,
    /// Where each prediction lies: the time (tutorial, a series with a time column) or the
    /// step (waves, series without).
    pub axis: Vec<f64>,
    /// Each prediction's time as the series' file writes it (a series with a time column).
    pub labels: Option<Vec<String>>,
    /// The true value each prediction is for, in original units.
    pub actual: Vec<f32>,
    /// The predictions that fall in the validation part (a series with validation rows).
    pub valid: Option<Range<usize>>,
}

impl DataSource {
    /// The training and validation sequences, scaled with statistics of the training part.
    pub fn prepare(self) -> Result<RunData, DataError> {
        match self {
            DataSource::Tutorial(wave) => Ok(RunData {
                train: SequenceDataset::from_tutorial(&wave),
                valid: None,
                scaler: Scaler::identity(2),
                source: Source::Tutorial(wave),
            }),
            DataSource::Waves {
                waves,
                valid_fraction,
            } => {
                let (train, valid) = waves.generate().split(valid_fraction);
                if train.is_empty() {
                    return Err(DataError::NoTrainingData(format!(
                        "train.valid_fraction = {valid_fraction} keeps every one of the {} waves for validation",
                        waves.n_series
                    )));
                }
                Ok(RunData {
                    train,
                    valid: (!valid.is_empty()).then_some(valid),
                    scaler: Scaler::identity(2),
                    source: Source::Waves,
                })
            }
            DataSource::Panel { tables, spec } => crate::panel::prepare(tables, &spec),
            DataSource::Series { table, spec } => {
                let series = Series::new(&table, &spec)?;
                let scaler = series.scaler();
                let (train, valid) = series.datasets(&scaler, spec.window, spec.stride);
                Ok(RunData {
                    train,
                    valid,
                    scaler,
                    source: Source::Series(Box::new(series)),
                })
            }
        }
    }
}

impl RunData {
    /// The data a run shows: a panel's first series, else the run's own.
    pub fn shown(&self) -> &RunData {
        match &self.source {
            Source::Panel(members) => &members[0].data,
            _ => self,
        }
    }

    /// The series of a panel, or none.
    pub fn members(&self) -> &[Member] {
        match &self.source {
            Source::Panel(members) => members,
            _ => &[],
        }
    }

    /// Every series with its name: a panel's members, else the run's own data (named "").
    pub fn each_series(&self) -> Vec<(&str, &RunData)> {
        match &self.source {
            Source::Panel(members) => members.iter().map(|m| (m.id.as_str(), &m.data)).collect(),
            _ => vec![("", self)],
        }
    }

    /// The sequence shown for generated waves: the first validation wave, else the first
    /// training one.
    fn shown_wave(&self) -> crate::SequenceRef<'_> {
        let data = self.valid.as_ref().unwrap_or(&self.train);
        data.get_ref(0)
    }

    /// The one-step-ahead predictions to make: over the tutorial's wave, over one generated
    /// wave, or over a series up to its held-out tail, each from a zero context.
    pub fn one_step(&self) -> OneStep {
        match &self.source {
            Source::Panel(members) => members[0].data.one_step(),
            Source::Tutorial(wave) => OneStep {
                inputs: wave.inputs(),
                axis: wave.times()[1..].to_vec(),
                labels: None,
                actual: wave.targets(),
                valid: None,
            },
            Source::Waves => {
                let item = self.shown_wave();
                OneStep {
                    inputs: item.inputs.to_vec(),
                    axis: (1..=item.targets.len()).map(|s| s as f64).collect(),
                    labels: None,
                    actual: item.targets.to_vec(),
                    valid: None,
                }
            }
            Source::Series(series) => {
                let lag = series.transform.span();
                let valid = series.valid_start - 1..series.test_start - 1;
                let rows = 1 + lag..series.test_start + lag;
                let (axis, labels) = match &series.time {
                    Some(time) => {
                        let (axis, labels) = time.span(rows.start, rows.len());
                        (axis, Some(labels))
                    }
                    None => (rows.clone().map(|s| s as f64).collect(), None),
                };
                OneStep {
                    inputs: series.scaled_inputs(&self.scaler, 0..series.test_start - 1),
                    axis,
                    labels,
                    actual: series.levels[1 + lag..series.test_start + lag].to_vec(),
                    valid: (!valid.is_empty()).then_some(valid),
                }
            }
        }
    }

    /// The network's one-step outputs for [`RunData::one_step`]'s inputs in original units
    /// (levels, for a differenced series).
    pub fn one_step_values(&self, outputs: &[f32]) -> Vec<f32> {
        if let Source::Panel(members) = &self.source {
            return members[0].data.one_step_values(outputs);
        }
        match &self.source {
            Source::Tutorial(_) | Source::Waves | Source::Panel(_) => outputs.to_vec(),
            Source::Series(series) => {
                let d_input = series.inputs.len();
                series.levels_of(&self.scaler.unscale_column(d_input, outputs))
            }
        }
    }

    /// The series' time column, when it has one.
    pub fn time(&self) -> Option<&crate::TimeColumn> {
        if let Source::Panel(members) = &self.source {
            return members[0].data.time();
        }
        match &self.source {
            Source::Series(series) => series.time.as_ref(),
            Source::Tutorial(_) | Source::Waves | Source::Panel(_) => None,
        }
    }

    /// `count` points of the closed loop's span from `start` (an index into its history, then
    /// past it): `(axis, labels)` in the series' time where it has a time column, else the
    /// step numbers (and no labels).
    pub fn span(&self, start: usize, count: usize) -> (Vec<f64>, Option<Vec<String>>) {
        if let Source::Panel(members) = &self.source {
            return members[0].data.span(start, count);
        }
        match self.time() {
            Some(time) => {
                let (axis, labels) = time.span(start, count);
                (axis, Some(labels))
            }
            None => ((start..start + count).map(|s| s as f64).collect(), None),
        }
    }

    /// The closed-loop forecast to make: a series warms up on everything before its held-out
    /// tail and forecasts the tail; a wave warms up on its first half and forecasts the second.
    pub fn closed_loop(&self) -> Result<ClosedLoop, DataError> {
        if let Source::Panel(members) = &self.source {
            return members[0].data.closed_loop();
        }
        let (_, origin) = self.forecast_span()?;
        self.closed_loop_at(origin)
    }

    /// How many values the closed loop runs over (a series' rows as the network sees them, or
    /// a wave's points) and the origin [`RunData::closed_loop`] forecasts from.
    pub fn forecast_span(&self) -> Result<(usize, usize), DataError> {
        if let Source::Panel(members) = &self.source {
            return members[0].data.forecast_span();
        }
        match &self.source {
            Source::Series(series) => {
                if series.inputs.len() != 1 {
                    return Err(DataError::NotClosedLoop);
                }
                Ok((series.target.len(), series.test_start))
            }
            Source::Tutorial(_) | Source::Waves | Source::Panel(_) => {
                let len = self.wave().len();
                Ok((len, len / 2))
            }
        }
    }

    /// The wave a closed loop runs over: the tutorial's, or the shown generated one, as points.
    fn wave(&self) -> Vec<f32> {
        let item = match &self.source {
            Source::Tutorial(_) => self.train.get_ref(0),
            _ => self.shown_wave(),
        };
        std::iter::once(item.inputs[0])
            .chain(item.targets.iter().copied())
            .collect()
    }

    /// The closed-loop forecast from `origin`: the network warms up on the values before it
    /// and forecasts the rest.
    ///
    /// # Panics
    ///
    /// If `origin` is 0 or beyond [`RunData::forecast_span`]'s length.
    pub fn closed_loop_at(&self, origin: usize) -> Result<ClosedLoop, DataError> {
        if let Source::Panel(members) = &self.source {
            return members[0].data.closed_loop_at(origin);
        }
        let (len, _) = self.forecast_span()?;
        assert!(origin > 0 && origin <= len, "an origin inside the span");
        let output_feature = self.train.d_input();
        let (prefix, history, truth, transform, season) = match &self.source {
            Source::Series(series) => {
                let split = origin + series.transform.span();
                (
                    series.target[..origin].to_vec(),
                    series.levels[..split].to_vec(),
                    series.levels[split..].to_vec(),
                    series.transform.clone(),
                    series.season,
                )
            }
            Source::Tutorial(_) | Source::Waves | Source::Panel(_) => {
                let wave = self.wave();
                let (history, truth) = wave.split_at(origin);
                (
                    history.to_vec(),
                    history.to_vec(),
                    truth.to_vec(),
                    crate::Transform::none(),
                    0,
                )
            }
        };
        Ok(ClosedLoop {
            prefix: self.scaler.scale_column(0, &prefix),
            history,
            truth,
            scaler: self.scaler.clone(),
            output_feature,
            transform,
            season,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tutorial's 21 points: one sequence of 20 steps; its closed loop warms up on the
    /// first 10 points and forecasts the other 11.
    #[test]
    fn the_tutorial_by_hand() {
        let data = DataSource::Tutorial(SineDataset::tutorial())
            .prepare()
            .unwrap();
        assert_eq!((data.train.len(), data.train.seq_len()), (1, 20));
        assert!(data.valid.is_none());
        let one = data.one_step();
        assert_eq!(one.axis.len(), 20);
        assert_eq!(one.actual[0], 2.4f64.sin() as f32);
        let closed = data.closed_loop().unwrap();
        assert_eq!((closed.history.len(), closed.truth.len()), (10, 11));
        assert_eq!(closed.prefix[0], 2f64.sin() as f32);
        assert_eq!(closed.truth[10], 10f64.sin() as f32);
    }

    /// Ten waves with a quarter for validation: ceil(2.5) = 3 validation waves, 7 training
    /// ones; keeping nearly all of them for validation leaves none to train on.
    #[test]
    fn waves_split_and_refuse_to_leave_nothing() {
        let waves = SineWaves {
            n_series: 10,
            seq_len: 8,
            ..SineWaves::default()
        };
        let data = DataSource::Waves {
            waves: waves.clone(),
            valid_fraction: 0.25,
        }
        .prepare()
        .unwrap();
        assert_eq!(
            (data.train.len(), data.valid.as_ref().unwrap().len()),
            (7, 3)
        );
        assert_eq!(
            data.one_step().inputs,
            data.valid.unwrap().get_ref(0).inputs
        );
        let err = DataSource::Waves {
            waves,
            valid_fraction: 0.95,
        }
        .prepare()
        .unwrap_err();
        assert!(
            err.to_string().contains("keeps every one of the 10 waves"),
            "{err}"
        );
    }

    /// A series of two input columns cannot be forecast in closed loop.
    #[test]
    fn a_series_with_other_inputs_has_no_closed_loop() {
        let rows: Vec<f32> = (0..40).map(|v| (v as f32 * 0.3).sin()).collect();
        let table = Table {
            names: vec!["a".into(), "b".into(), "y".into()],
            columns: vec![rows.clone(), rows.clone(), rows],
            lines: (2..42).collect(),
            time: None,
        };
        let spec = SeriesSpec {
            n_inputs: 2,
            window: 8,
            stride: 4,
            test_steps: 5,
            season: 0,
            transform: crate::Transform::none(),
            valid_fraction: 0.2,
        };
        let data = DataSource::Series { table, spec }.prepare().unwrap();
        assert_eq!(data.train.d_input(), 2);
        assert_eq!(data.one_step().inputs.len(), 2 * 34);
        assert_eq!(data.closed_loop().unwrap_err(), DataError::NotClosedLoop);
    }
}
