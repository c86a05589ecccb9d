//! A reader for a user's own series in CSV, through the `csv` crate (quoted fields, a UTF-8
//! byte-order mark, CRLF lines) in one streamed pass (`rows.rs`): a header is required,
//! columns are picked by name, and every bad row is an error that names its line.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::rows::for_each_row;
use crate::{Labels, Lines};

/// What to do with an empty field in a picked column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingValues {
    /// Refuse the file, naming the first empty field's line.
    #[default]
    Error,
    /// Drop the rows that have an empty field.
    Skip,
    /// Fill each gap linearly from its neighbours (a gap at either end is an error).
    Interpolate,
}

/// The picked columns of a CSV file, in the order they were asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub names: Vec<String>,
    /// One vector per column, one value per kept row.
    pub columns: Vec<Vec<f32>>,
    /// For each kept row, its line number in the file (1-based).
    pub lines: Lines,
    /// The time column, when one was asked for: its name and each kept row's text.
    pub time: Option<(String, Labels)>,
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f32]> {
        let index = self.names.iter().position(|n| n == name)?;
        Some(&self.columns[index])
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }
}

/// Why a CSV file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    /// The file has no lines.
    #[error("the file is empty")]
    Empty,
    /// The file is not CSV text (not UTF-8, or broken quoting).
    #[error("line {line}: {message}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What the CSV reader found.
        message: String,
    },
    /// The first line holds numbers, not column names.
    #[error("line 1: expected a header of column names, found `{0}`")]
    NoHeader(String),
    /// A picked column is not in the header.
    #[error("no column `{column}` (the header has: {available})")]
    UnknownColumn {
        /// The column asked for.
        column: String,
        /// The header's names, comma-separated.
        available: String,
    },
    /// A row has the wrong number of fields.
    #[error("line {line}: expected {expected} fields, found {found}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A field is not a number.
    #[error("line {line}: column `{column}`: `{value}` is not a number")]
    NotANumber {
        /// 1-based line number.
        line: usize,
        /// The column.
        column: String,
        /// The field's text.
        value: String,
    },
    /// A field is empty and the policy is [`MissingValues::Error`] (or a gap cannot be filled).
    #[error("line {line}: column `{column}` has no value ({hint})")]
    Missing {
        /// 1-based line number.
        line: usize,
        /// The column.
        column: String,
        /// What the user can do.
        hint: &'static str,
    },
    /// No rows are left.
    #[error("no data rows")]
    NoRows,
}

/// Reads the columns `picked` from the CSV text `reader` gives (comma-separated, header first;
/// blank lines are skipped, fields trimmed), in one pass.
pub fn parse_csv<R: Read>(
    reader: R,
    picked: &[&str],
    missing: MissingValues,
) -> Result<Table, CsvError> {
    parse_csv_with_time(reader, picked, None, missing)
}

/// [`parse_csv`], and the column `time` as text (every kept row needs one; with
/// [`MissingValues::Skip`] a row without is dropped).
pub fn parse_csv_with_time<R: Read>(
    reader: R,
    picked: &[&str],
    time: Option<&str>,
    missing: MissingValues,
) -> Result<Table, CsvError> {
    let raw = read_raw(reader, picked, time.as_slice(), missing)?;
    let lines = raw.lines;
    let columns = raw
        .columns
        .into_iter()
        .zip(picked)
        .map(|(column, name)| fill_gaps(column, name, &lines))
        .collect::<Result<Vec<_>, _>>()?;
    let mut texts = raw.texts;
    Ok(Table {
        names: picked.iter().map(|n| n.to_string()).collect(),
        columns,
        lines,
        time: time.map(|name| (name.to_string(), texts.remove(0))),
    })
}

/// The rows of a file as read: the picked columns' values (NaN where empty), the text
/// columns, and each kept row's line.
pub(crate) struct Raw {
    pub columns: Vec<Vec<f32>>,
    pub texts: Vec<Labels>,
    pub lines: Lines,
}

/// Reads the numeric columns `picked` and the text columns `texts` of every row (see
/// [`crate::rows::for_each_row`]).
pub(crate) fn read_raw<R: Read>(
    reader: R,
    picked: &[&str],
    texts: &[&str],
    missing: MissingValues,
) -> Result<Raw, CsvError> {
    let mut raw = Raw {
        columns: vec![Vec::new(); picked.len()],
        texts: vec![Labels::default(); texts.len()],
        lines: Lines::default(),
    };
    for_each_row(reader, picked, texts, missing, |row| {
        for (column, &value) in raw.columns.iter_mut().zip(row.values) {
            column.push(value);
        }
        for (k, column) in raw.texts.iter_mut().enumerate() {
            column.push(row.text(k));
        }
        raw.lines.push(row.line);
        Ok(())
    })?;
    Ok(raw)
}

/// Fills each run of NaN (empty fields) linearly between the values around it, in place.
pub(crate) fn fill_gaps(
    mut column: Vec<f32>,
    name: &str,
    lines: &Lines,
) -> Result<Vec<f32>, CsvError> {
    let mut i = 0;
    while i < column.len() {
        if !column[i].is_nan() {
            i += 1;
            continue;
        }
        let end = (i..column.len()).find(|&j| !column[j].is_nan());
        let (Some(before), Some(end)) = (i.checked_sub(1).map(|b| column[b]), end) else {
            return Err(CsvError::Missing {
                line: lines.get(i),
                column: name.to_string(),
                hint: "a gap at the start or end of a series cannot be interpolated",
            });
        };
        let after = column[end];
        let span = (end - i + 1) as f32;
        for k in 1..=(end - i) {
            column[i + k - 1] = before + (after - before) * k as f32 / span;
        }
        i = end;
    }
    Ok(column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time column comes as text, row for row with the values; a row without a time is an
    /// error, or dropped with `skip`.
    #[test]
    fn a_time_column_as_text() {
        let text: &[u8] = b"date,co2\n2000-01-01,1\n2000-01-08,\n2000-01-15,3\n";
        let table =
            parse_csv_with_time(text, &["co2"], Some("date"), MissingValues::Interpolate).unwrap();
        assert_eq!(table.columns[0], [1.0, 2.0, 3.0]);
        let (name, times) = table.time.unwrap();
        assert_eq!((name.as_str(), times.len()), ("date", 3));
        assert_eq!(times.get(1), "2000-01-08");
        let skipped =
            parse_csv_with_time(text, &["co2"], Some("date"), MissingValues::Skip).unwrap();
        assert_eq!(
            skipped.time.unwrap().1.to_vec(),
            ["2000-01-01", "2000-01-15"]
        );

        let text: &[u8] = b"date,co2\n2000-01-01,1\n,2\n";
        let err =
            parse_csv_with_time(text, &["co2"], Some("date"), MissingValues::Error).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: column `date` has no value (this column needs a value in every row, or `skip` for missing values)"
        );
        let skipped =
            parse_csv_with_time(text, &["co2"], Some("date"), MissingValues::Skip).unwrap();
        assert_eq!(skipped.columns[0], [1.0]);
        let err =
            parse_csv_with_time(text, &["co2"], Some("when"), MissingValues::Error).unwrap_err();
        assert!(matches!(err, CsvError::UnknownColumn { .. }), "{err}");
    }

    /// A gap of two between 1 and 4 fills as 2 and 3.
    #[test]
    fn interpolation_by_hand() {
        let text: &[u8] = b"date,co2\n1,1\n2,\n3,\n4,4\n";
        let table = parse_csv(text, &["co2"], MissingValues::Interpolate).unwrap();
        assert_eq!(table.column("co2").unwrap(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(table.lines.to_vec(), [2, 3, 4, 5]);
        let skipped = parse_csv(text, &["co2", "date"], MissingValues::Skip).unwrap();
        assert_eq!(skipped.column("date").unwrap(), [1.0, 4.0]);
        assert_eq!(skipped.lines.to_vec(), [2, 5]);
    }

    /// A quoted field holding a comma, a byte-order mark, CRLF line ends and a blank line read
    /// as the plain file does.
    #[test]
    fn quotes_bom_and_crlf() {
        let plain = parse_csv(&b"note,y\nab,1\ncd,2\n"[..], &["y"], MissingValues::Error).unwrap();
        let fancy = "\u{feff}\"note\",\"y\"\r\n\"a, b\",1\r\n\r\n\"c \"\"d\"\"\",\"2\"\r\n";
        let table = parse_csv(fancy.as_bytes(), &["y"], MissingValues::Error).unwrap();
        assert_eq!(table.columns, plain.columns);
        assert_eq!(table.lines.to_vec(), [2, 4]);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let err = |text: &str, missing| {
            parse_csv(text.as_bytes(), &["y"], missing)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("x,y\n1,2\n3\n", MissingValues::Error),
            "line 3: expected 2 fields, found 1"
        );
        assert_eq!(
            err("x,y\n1,2\n\n3,abc\n", MissingValues::Error),
            "line 4: column `y`: `abc` is not a number"
        );
        assert!(
            err("x,y\n1,\n", MissingValues::Error).starts_with("line 2: column `y` has no value")
        );
        assert!(
            err("x,y\n1,\n2,3\n", MissingValues::Interpolate).starts_with("line 2: column `y`")
        );
        assert_eq!(
            err("1,2\n3,4\n", MissingValues::Error),
            "line 1: expected a header of column names, found `1,2`"
        );
        assert_eq!(
            err("a,b\n1,2\n", MissingValues::Error),
            "no column `y` (the header has: a, b)"
        );
        assert_eq!(err("", MissingValues::Error), "the file is empty");
        assert_eq!(err("x,y\n", MissingValues::Error), "no data rows");
        let latin1 = parse_csv(&b"x,y\n1,\xe9\n"[..], &["y"], MissingValues::Error).unwrap_err();
        assert_eq!(latin1.to_string(), "line 2: the text is not UTF-8");
    }
}
