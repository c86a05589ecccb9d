//! One pass over a CSV file's rows, streamed from any reader through the `csv` crate: the
//! header's columns picked by name, each row's numeric and text fields, and the line the row
//! starts on as the file shows it (blank lines, CRLF and quoted line breaks counted). The lines
//! come from the byte offsets of the line breaks the reader has passed, kept only until the
//! rows after them are read: a few kilobytes at a time, never a copy of the file.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

use crate::{CsvError, MissingValues};

/// The line breaks (`\r` and `\n`) read so far that rows still to come may start after.
#[derive(Debug, Default)]
struct Breaks {
    /// Offsets and bytes of the breaks not yet passed, in order.
    pending: VecDeque<(u64, u8)>,
    /// `\n`s before the first pending break.
    newlines: usize,
}

impl Breaks {
    /// The 1-based line of the record whose position is `offset`. The `csv` crate puts a
    /// record's position where the one before it ended, before its line break and any blank
    /// lines, so those are skipped first; positions only grow, so the breaks before one are
    /// counted and dropped.
    fn line_at(&mut self, offset: u64) -> usize {
        while let Some(&(at, byte)) = self.pending.front() {
            if at >= offset {
                break;
            }
            self.newlines += usize::from(byte == b'\n');
            self.pending.pop_front();
        }
        let skipped: usize = (offset..)
            .zip(&self.pending)
            .take_while(|(at, (position, _))| position == at)
            .map(|(_, &(_, byte))| usize::from(byte == b'\n'))
            .sum();
        self.newlines + skipped + 1
    }
}

/// A reader that notes the offset of every line break that passes through it.
struct Tracked<R> {
    inner: R,
    offset: u64,
    breaks: Rc<RefCell<Breaks>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        for (i, &byte) in buf[..n].iter().enumerate() {
            if byte == b'\n' || byte == b'\r' {
                breaks.pending.push_back((self.offset + i as u64, byte));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The 1-based file lines of a table's rows: the first and how many while each row is on the
/// line after the one before (a series' rows in a file of one series, or of a panel sorted by
/// series), else every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lines {
    /// `first`, `first + 1`, … for `len` rows.
    Run {
        /// The first row's line.
        first: usize,
        /// Rows.
        len: usize,
    },
    /// Each row's line.
    Each(Vec<usize>),
}

impl Default for Lines {
    fn default() -> Self {
        Lines::Run { first: 0, len: 0 }
    }
}

impl Lines {
    /// Adds the next row's line.
    pub fn push(&mut self, line: usize) {
        match self {
            Lines::Run { first, len } if *len == 0 => {
                *first = line;
                *len = 1;
            }
            Lines::Run { first, len } if *first + *len == line => *len += 1,
            Lines::Run { .. } => {
                let mut each = self.to_vec();
                each.push(line);
                *self = Lines::Each(each);
            }
            Lines::Each(each) => each.push(line),
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            Lines::Run { len, .. } => *len,
            Lines::Each(each) => each.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s line.
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn get(&self, i: usize) -> usize {
        match self {
            Lines::Run { first, len } => {
                assert!(i < *len, "row {i} of {len}");
                first + i
            }
            Lines::Each(each) => each[i],
        }
    }

    /// Every row's line.
    pub fn to_vec(&self) -> Vec<usize> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// The rows `0..rows`.
    pub fn head(&self, rows: usize) -> Lines {
        match self {
            Lines::Run { first, len } => Lines::Run {
                first: *first,
                len: rows.min(*len),
            },
            Lines::Each(each) => Lines::Each(each[..rows.min(each.len())].to_vec()),
        }
    }
}

impl FromIterator<usize> for Lines {
    fn from_iter<I: IntoIterator<Item = usize>>(lines: I) -> Self {
        let mut all = Lines::default();
        for line in lines {
            all.push(line);
        }
        all
    }
}

/// One row as read: its picked numbers (NaN where empty: a number read is always finite), its
/// text fields and its line.
pub(crate) struct Row<'a> {
    /// The picked numeric columns, in the order asked for.
    pub values: &'a [f32],
    record: &'a ::csv::StringRecord,
    text_at: &'a [usize],
    /// The 1-based line it starts on.
    pub line: usize,
}

impl Row<'_> {
    /// The `k`-th text column asked for (not empty).
    pub fn text(&self, k: usize) -> &str {
        self.record[self.text_at[k]].trim()
    }

    /// How many text columns were asked for.
    pub fn texts(&self) -> usize {
        self.text_at.len()
    }
}

/// Reads every row of the CSV text `reader` gives (comma-separated, header first; blank lines
/// are skipped, fields trimmed) and hands `visit` the numeric columns `picked` and the text
/// columns `texts` of each, dropping rows with an empty field under [`MissingValues::Skip`]
/// and refusing them under [`MissingValues::Error`] (an empty text field is refused unless
/// skipped). Returns how many rows it handed over (an error when none).
pub(crate) fn for_each_row<R: Read>(
    reader: R,
    picked: &[&str],
    texts: &[&str],
    missing: MissingValues,
    mut visit: impl FnMut(Row<'_>) -> Result<(), CsvError>,
) -> Result<usize, CsvError> {
    let breaks = Rc::new(RefCell::new(Breaks::default()));
    let tracked = Tracked {
        inner: reader,
        offset: 0,
        breaks: Rc::clone(&breaks),
    };
    // Fields are trimmed as they are read (the `csv` crate's own trimming builds a new record
    // for every row, which cost more than reading it).
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(tracked);
    let malformed = |err: ::csv::Error| {
        let line = err
            .position()
            .map_or(0, |position| breaks.borrow_mut().line_at(position.byte()));
        let message = match err.kind() {
            ::csv::ErrorKind::Utf8 { .. } => "the text is not UTF-8".to_string(),
            _ => err.to_string(),
        };
        CsvError::Malformed { line, message }
    };
    let mut record = ::csv::StringRecord::new();
    if !reader.read_record(&mut record).map_err(malformed)? {
        return Err(CsvError::Empty);
    }
    let names: Vec<String> = record.iter().map(|n| n.trim().to_string()).collect();
    if names.iter().all(|n| n.parse::<f64>().is_ok()) {
        return Err(CsvError::NoHeader(names.join(",")));
    }
    let indices = picked
        .iter()
        .chain(texts)
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
    let (indices, text_indices) = indices.split_at(picked.len());

    let mut kept = 0;
    let mut values = Vec::with_capacity(indices.len());
    while reader.read_record(&mut record).map_err(malformed)? {
        let line = record
            .position()
            .map_or(0, |p| breaks.borrow_mut().line_at(p.byte()));
        if record.len() != names.len() {
            return Err(CsvError::FieldCount {
                line,
                expected: names.len(),
                found: record.len(),
            });
        }
        values.clear();
        for (&index, column) in indices.iter().zip(picked) {
            let field = record[index].trim();
            if field.is_empty() {
                if missing == MissingValues::Error {
                    return Err(CsvError::Missing {
                        line,
                        column: column.to_string(),
                        hint: "choose `skip` or `interpolate` for missing values",
                    });
                }
                values.push(f32::NAN);
                continue;
            }
            match field.parse::<f32>() {
                Ok(v) if v.is_finite() => values.push(v),
                _ => {
                    return Err(CsvError::NotANumber {
                        line,
                        column: column.to_string(),
                        value: field.chars().take(40).collect(),
                    });
                }
            }
        }
        let empty_text = text_indices
            .iter()
            .position(|&i| record[i].trim().is_empty());
        if missing == MissingValues::Skip
            && (values.iter().any(|v| v.is_nan()) || empty_text.is_some())
        {
            continue;
        }
        if let Some(empty) = empty_text {
            return Err(CsvError::Missing {
                line,
                column: texts[empty].to_string(),
                hint: "this column needs a value in every row, or `skip` for missing values",
            });
        }
        visit(Row {
            values: &values,
            record: &record,
            text_at: text_indices,
            line,
        })?;
        kept += 1;
    }
    if kept == 0 {
        return Err(CsvError::NoRows);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines one after another stay a run; a skipped line makes them a list, read back the same.
    #[test]
    fn lines_in_a_run_and_apart() {
        let mut lines = Lines::default();
        for line in [2, 3, 4] {
            lines.push(line);
        }
        assert_eq!(lines, Lines::Run { first: 2, len: 3 });
        lines.push(6);
        assert_eq!(lines, Lines::Each(vec![2, 3, 4, 6]));
        assert_eq!(lines.get(3), 6);
        assert_eq!(lines.head(2).to_vec(), [2, 3]);
    }

    /// A reader that hands out a few bytes at a time, so that records and line breaks fall
    /// across the reads.
    struct Trickle<'a> {
        text: &'a [u8],
        at: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (1 + self.at % 7)
                .min(buf.len())
                .min(self.text.len() - self.at);
            buf[..n].copy_from_slice(&self.text[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Every row of a long file, with blank lines, CRLF ends and quoted line breaks scattered
    /// through it, gets the line it starts on, read whole or a few bytes at a time; a bad
    /// value near its end names its line.
    #[test]
    fn every_row_gets_its_line() {
        let mut text = String::from("name,y\n");
        let mut want = Vec::new();
        let mut line = 2;
        for row in 0..3000 {
            if row % 17 == 0 {
                text.push('\n');
                line += 1;
            }
            want.push(line);
            if row % 23 == 0 {
                text.push_str(&format!("\"a\nb\",{row}\r\n"));
                line += 2;
            } else {
                text.push_str(&format!("r{row},{row}\n"));
                line += 1;
            }
        }
        for trickle in [false, true] {
            let mut got = Vec::new();
            let mut values = Vec::new();
            let visit = |row: Row<'_>| {
                got.push(row.line);
                values.push(row.values[0]);
                Ok(())
            };
            let kept = if trickle {
                let reader = Trickle {
                    text: text.as_bytes(),
                    at: 0,
                };
                for_each_row(reader, &["y"], &["name"], MissingValues::Error, visit)
            } else {
                for_each_row(
                    text.as_bytes(),
                    &["y"],
                    &["name"],
                    MissingValues::Error,
                    visit,
                )
            }
            .unwrap();
            assert_eq!(kept, 3000);
            assert_eq!(got, want, "trickle {trickle}");
            assert_eq!(values[2999], 2999.0);
        }
        let bad = format!("{text}r,x\n");
        let err = for_each_row(
            bad.as_bytes(),
            &["y"],
            &[],
            MissingValues::Error,
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("line {line}: column `y`: `x` is not a number")
        );
    }
}
