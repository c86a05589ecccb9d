//! Many series in one file, one network: reading them in long or wide form ([`parse_series`])
//! and joining their prepared data into one run's ([`prepare`]).

use std::collections::HashMap;
use std::io::Read;

use crate::csv::fill_gaps;
use crate::rows::for_each_row;
use crate::{
    CsvError, DataError, DataSource, Labels, Lines, MissingValues, RunData, Scaler,
    SequenceDataset, SeriesSpec, Source, Table, parse_csv_with_time,
};

/// Many series in one file, each as a table of its one column `target` (and its time):
/// `(id, table)` in the order the series first appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout<'a> {
    /// Long form: a row per series and time, the column `id` naming the series and `target`
    /// holding its value.
    Long {
        /// The column of series names.
        id: &'a str,
        /// The column of values.
        target: &'a str,
    },
    /// Wide form: a column per series.
    Wide {
        /// The series' columns.
        targets: &'a [String],
    },
}

/// Reads the series of a file in `layout`, in one pass over the text `reader` gives: each
/// one's values (gaps filled within the series), lines and time column. In long form the rows
/// go straight to their series as they are read, a series' name kept once and its times as a
/// first value and a step where they are regular ([`Labels`]). A row with no series name is an
/// error (dropped with `skip`).
pub fn parse_series<R: Read>(
    reader: R,
    layout: Layout<'_>,
    time: Option<&str>,
    missing: MissingValues,
) -> Result<Vec<(String, Table)>, CsvError> {
    match layout {
        Layout::Wide { targets } => {
            let picked: Vec<&str> = targets.iter().map(String::as_str).collect();
            let table = parse_csv_with_time(reader, &picked, time, missing)?;
            Ok(table
                .names
                .iter()
                .zip(&table.columns)
                .map(|(name, column)| {
                    let one = Table {
                        names: vec![name.clone()],
                        columns: vec![column.clone()],
                        lines: table.lines.clone(),
                        time: table.time.clone(),
                    };
                    (name.clone(), one)
                })
                .collect())
        }
        Layout::Long { id, target } => {
            /// One series' rows as they are read.
            #[derive(Default)]
            struct Rows {
                values: Vec<f32>,
                labels: Labels,
                lines: Lines,
            }
            let texts: Vec<&str> = std::iter::once(id).chain(time).collect();
            let mut order: Vec<(String, Rows)> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            // The series of the row before: a file sorted by series looks its name up once.
            let mut last: Option<usize> = None;
            for_each_row(reader, &[target], &texts, missing, |row| {
                let name = row.text(0);
                let k = match last.filter(|&k| order[k].0 == name) {
                    Some(k) => k,
                    None => match index.get(name) {
                        Some(&k) => k,
                        None => {
                            index.insert(name.to_string(), order.len());
                            order.push((name.to_string(), Rows::default()));
                            order.len() - 1
                        }
                    },
                };
                last = Some(k);
                let rows = &mut order[k].1;
                rows.values.push(row.values[0]);
                if row.texts() > 1 {
                    rows.labels.push(row.text(1));
                }
                rows.lines.push(row.line);
                Ok(())
            })?;
            order
                .into_iter()
                .map(|(name, rows)| {
                    let table = Table {
                        names: vec![target.to_string()],
                        columns: vec![fill_gaps(rows.values, target, &rows.lines)?],
                        time: time.map(|time| (time.to_string(), rows.labels)),
                        lines: rows.lines,
                    };
                    Ok((name, table))
                })
                .collect()
        }
    }
}

/// One series of a [`Source::Panel`]: its name and its data, prepared on its own (scaled with
/// its own training part).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The series' name (its id in long form, its column in wide form).
    pub id: String,
    /// Its data, as if it were a run's only series.
    pub data: RunData,
}

/// The panel of `tables`, each series cut by `spec` and scaled on its own: the run's data, its
/// training and validation sets every series' together.
pub(crate) fn prepare(
    tables: Vec<(String, Table)>,
    spec: &SeriesSpec,
) -> Result<RunData, DataError> {
    let members = tables
        .into_iter()
        .map(|(id, mut table)| {
            // Each series is its own only input: the column, then the target.
            table.names.insert(0, table.names[0].clone());
            table.columns.insert(0, table.columns[0].clone());
            let data = DataSource::Series {
                table,
                spec: spec.clone(),
            }
            .prepare()
            .map_err(|err| match err {
                DataError::TooShort(why) => DataError::TooShort(format!("series `{id}`: {why}")),
                DataError::Time(why) => DataError::Time(format!("series `{id}`: {why}")),
                other => other,
            })?;
            Ok(Member { id, data })
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    let Some(first) = members.first() else {
        return Err(DataError::NoTrainingData("the file holds no series".into()));
    };
    // Every series' sequences together, read from the series' own stores; where a short
    // series has shorter ones, all are cut to the shortest (consecutive pieces, the rest of a
    // sequence dropped).
    let joined = |part: fn(&RunData) -> Option<&SequenceDataset>| {
        let parts: Vec<&SequenceDataset> = members.iter().filter_map(|m| part(&m.data)).collect();
        let steps = parts.iter().map(|d| d.seq_len()).min()?;
        Some(SequenceDataset::join(&parts, steps))
    };
    Ok(RunData {
        train: joined(|d| Some(&d.train)).expect("every series has training windows"),
        valid: joined(|d| d.valid.as_ref()),
        scaler: Scaler::identity(first.data.scaler.mean.len()),
        source: Source::Panel(members),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long form: rows grouped by series in the order they first appear, a gap filled within
    /// its own series; wide form: a table per column; a row with no series name is named.
    #[test]
    fn many_series_long_and_wide() {
        let long: &[u8] = b"id,t,v\na,1,1\nb,1,10\na,2,\nb,2,20\na,3,3\n";
        let layout = Layout::Long {
            id: "id",
            target: "v",
        };
        let series = parse_series(long, layout, Some("t"), MissingValues::Interpolate).unwrap();
        let names: Vec<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(series[0].1.columns[0], [1.0, 2.0, 3.0]);
        assert_eq!(series[0].1.lines.to_vec(), [2, 4, 6]);
        assert_eq!(series[1].1.columns[0], [10.0, 20.0]);
        assert_eq!(series[1].1.time.as_ref().unwrap().1.to_vec(), ["1", "2"]);

        let wide: &[u8] = b"t,a,b\n1,1,10\n2,2,20\n";
        let targets = ["b".to_string(), "a".to_string()];
        let series = parse_series(
            wide,
            Layout::Wide { targets: &targets },
            None,
            MissingValues::Error,
        )
        .unwrap();
        assert_eq!(series[0].0, "b");
        assert_eq!(series[0].1.columns, [vec![10.0, 20.0]]);
        assert_eq!(series[1].1.names, ["a"]);

        let unnamed: &[u8] = b"id,v\na,1\n,2\n";
        let err = parse_series(unnamed, layout_v(), None, MissingValues::Error).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: column `id` has no value (this column needs a value in every row, or `skip` for missing values)"
        );
        let err = parse_series(
            unnamed,
            Layout::Long {
                id: "series",
                target: "v",
            },
            None,
            MissingValues::Error,
        )
        .unwrap_err();
        assert!(matches!(err, CsvError::UnknownColumn { .. }), "{err}");
    }

    fn layout_v() -> Layout<'static> {
        Layout::Long {
            id: "id",
            target: "v",
        }
    }

    /// Two series of a panel, one shorter: each scaled on its own, their windows together;
    /// the shorter one's validation windows are shorter, so the longer one's are cut into pieces
    /// of their length; what the run shows is the first series'.
    #[test]
    fn a_panel_joins_its_series() {
        let table = |n: usize, scale: f32| Table {
            names: vec!["y".into()],
            columns: vec![(0..n).map(|v| scale * (v as f32 * 0.3).sin()).collect()],
            lines: (2..n + 2).collect(),
            time: None,
        };
        let spec = SeriesSpec {
            n_inputs: 1,
            window: 8,
            stride: 4,
            test_steps: 4,
            season: 0,
            transform: crate::Transform::none(),
            valid_fraction: 0.2,
        };
        let tables = vec![
            ("long".to_string(), table(60, 1.0)),
            ("short".to_string(), table(20, 50.0)),
        ];
        let data = DataSource::Panel { tables, spec }.prepare().unwrap();
        let members = data.members();
        assert_eq!(members.len(), 2);
        let (long, short) = (&members[0].data, &members[1].data);
        assert_eq!(data.train.len(), long.train.len() + short.train.len());
        // Validation: the long series' 11 rows give 8-step windows, the short one's 3 rows one
        // of 2 steps; together, pieces of 2 steps, four from each long window.
        let valid = |d: &RunData| d.valid.as_ref().unwrap().clone();
        assert_eq!((valid(long).seq_len(), valid(short).seq_len()), (8, 2));
        assert_eq!(valid(&data).seq_len(), 2);
        assert_eq!(
            valid(&data).len(),
            4 * valid(long).len() + valid(short).len()
        );
        assert_eq!(
            valid(&data).get_ref(1).inputs,
            &valid(long).get_ref(0).inputs[2..4]
        );
        // Each scaled on its own: the short series' values, 50 times larger, scale alike.
        assert!(short.scaler.std[1] / long.scaler.std[1] > 10.0);
        assert_eq!(data.one_step(), long.one_step());
        assert_eq!(data.each_series()[1].0, "short");
    }
}
