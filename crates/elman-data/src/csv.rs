//! A reader for a user's own series in CSV: a header is required, columns are picked by name,
//! and every bad row is an error that names its line.

/// What to do with an empty field in a picked column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    pub lines: Vec<usize>,
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

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
}

/// Reads the columns `picked` from CSV `text` (comma-separated, header first).
pub fn parse_csv(text: &str, picked: &[&str], missing: MissingValues) -> Result<Table, CsvError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty());
    let (_, header) = lines.next().ok_or(CsvError::Empty)?;
    let names: Vec<&str> = header.split(',').map(unquote).collect();
    if names.iter().all(|n| n.parse::<f64>().is_ok()) {
        return Err(CsvError::NoHeader(header.to_string()));
    }
    let indices = picked
        .iter()
        .map(|column| {
            names
                .iter()
                .position(|n| n == column)
                .ok_or_else(|| CsvError::UnknownColumn {
                    column: column.to_string(),
                    available: names.join(", "),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut columns: Vec<Vec<Option<f32>>> = vec![Vec::new(); picked.len()];
    let mut kept_lines = Vec::new();
    for (line, row) in lines {
        let fields: Vec<&str> = row.split(',').map(unquote).collect();
        if fields.len() != names.len() {
            return Err(CsvError::FieldCount {
                line,
                expected: names.len(),
                found: fields.len(),
            });
        }
        let mut values = Vec::with_capacity(indices.len());
        for (&index, column) in indices.iter().zip(picked) {
            let field = fields[index];
            if field.is_empty() {
                if missing == MissingValues::Error {
                    return Err(CsvError::Missing {
                        line,
                        column: column.to_string(),
                        hint: "choose `skip` or `interpolate` for missing values",
                    });
                }
                values.push(None);
                continue;
            }
            match field.parse::<f32>() {
                Ok(v) if v.is_finite() => values.push(Some(v)),
                _ => {
                    return Err(CsvError::NotANumber {
                        line,
                        column: column.to_string(),
                        value: field.to_string(),
                    });
                }
            }
        }
        if missing == MissingValues::Skip && values.iter().any(Option::is_none) {
            continue;
        }
        for (column, value) in columns.iter_mut().zip(values) {
            column.push(value);
        }
        kept_lines.push(line);
    }
    if kept_lines.is_empty() {
        return Err(CsvError::NoRows);
    }
    let columns = columns
        .into_iter()
        .zip(picked)
        .map(|(column, name)| fill_gaps(&column, name, &kept_lines))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table {
        names: picked.iter().map(|n| n.to_string()).collect(),
        columns,
        lines: kept_lines,
    })
}

/// Fills each run of `None` linearly between the values around it.
fn fill_gaps(column: &[Option<f32>], name: &str, lines: &[usize]) -> Result<Vec<f32>, CsvError> {
    let mut filled = Vec::with_capacity(column.len());
    let mut i = 0;
    while i < column.len() {
        if let Some(v) = column[i] {
            filled.push(v);
            i += 1;
            continue;
        }
        let end = (i..column.len()).find(|&j| column[j].is_some());
        let (Some(before), Some(end)) = (filled.last().copied(), end) else {
            return Err(CsvError::Missing {
                line: lines[i],
                column: name.to_string(),
                hint: "a gap at the start or end of a series cannot be interpolated",
            });
        };
        let after = column[end].expect("found above");
        let span = (end - i + 1) as f32;
        for k in 1..=(end - i) {
            filled.push(before + (after - before) * k as f32 / span);
        }
        i = end;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gap of two between 1 and 4 fills as 2 and 3.
    #[test]
    fn interpolation_by_hand() {
        let text = "date,co2\n1,1\n2,\n3,\n4,4\n";
        let table = parse_csv(text, &["co2"], MissingValues::Interpolate).unwrap();
        assert_eq!(table.column("co2").unwrap(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(table.lines, [2, 3, 4, 5]);
        let skipped = parse_csv(text, &["co2", "date"], MissingValues::Skip).unwrap();
        assert_eq!(skipped.column("date").unwrap(), [1.0, 4.0]);
        assert_eq!(skipped.lines, [2, 5]);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let err = |text: &str, missing| parse_csv(text, &["y"], missing).unwrap_err().to_string();
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
    }
}
