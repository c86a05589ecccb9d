//! A series' time column: its text as the file writes it, a number for each row to place it on a
//! chart's axis, and the times after the file's last row for a forecast that runs past it.
//!
//! Three kinds of column are understood, told apart by the first row:
//!
//! ```text
//! 2000-01-01, 2000-01-01 12:00, 2000/01/01   a date (ISO order), placed at its decimal year
//! 19580329                                   eight digits: a date as YYYYMMDD, likewise
//! 1700, 0.5, 42                              a number (a year, a step): placed as it is
//! ```
//!
//! A forecast past the file's end continues the column by its median step between rows: whole
//! days for dates (written in the file's own format), the number for numbers.

use chrono::{Datelike, NaiveDate};

use crate::{DataError, Labels, Lines};

/// How a time column writes its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// A plain number.
    Number,
    /// Eight digits, `YYYYMMDD`.
    Digits,
    /// `YYYY-MM-DD` (anything after the date, such as a time of day, is kept as text but not
    /// placed).
    Dashes,
    /// `YYYY/MM/DD`.
    Slashes,
}

/// A series' time column: one text and one position per row.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeColumn {
    /// The column's name in the file's header.
    pub name: String,
    /// Each row's time as the file writes it.
    pub labels: Labels,
    /// Each row's place on an axis (the decimal year of a date, else the number), where the
    /// labels do not give it: empty when they are numbers a step apart.
    axis: Vec<f64>,
    format: Format,
}

impl TimeColumn {
    /// Reads a time column: `labels[r]` is row `r`'s text, `lines[r]` its line in the file (for
    /// the error that names a value that is not a time of the column's kind).
    pub fn parse(name: &str, labels: Labels, lines: &Lines) -> Result<Self, DataError> {
        if labels.is_empty() {
            return Err(DataError::Time(format!("column `{name}` has no rows")));
        }
        let first = labels.get(0).into_owned();
        let format = detect(&first);
        let axis = match (&labels, format) {
            (Labels::Steps { .. }, Format::Number) | (Labels::Days { .. }, Format::Dashes) => {
                Vec::new()
            }
            _ => labels
                .iter()
                .enumerate()
                .map(|(row, label)| {
                    let line = lines.get(row);
                    place(&label, format).ok_or_else(|| {
                        DataError::Time(format!(
                            "line {line}: column `{name}`: `{}` is not a {} like the first row's `{first}`",
                            label.chars().take(40).collect::<String>(),
                            match format {
                                Format::Number => "number",
                                _ => "date",
                            },
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Self {
            name: name.to_string(),
            labels,
            axis,
            format,
        })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Row `r`'s place on the axis.
    ///
    /// # Panics
    ///
    /// If `r` is out of range.
    pub fn position(&self, r: usize) -> f64 {
        match (&self.labels, self.axis.is_empty()) {
            (Labels::Steps { first, step, len }, true) => {
                assert!(r < *len, "row {r} of {len}");
                *first as f64 + *step as f64 * r as f64
            }
            (Labels::Days { len, .. }, true) => {
                assert!(r < *len, "row {r} of {len}");
                decimal_year(self.labels.date(r).expect("a date in range"))
            }
            _ => self.axis[r],
        }
    }

    /// Every row's place on the axis.
    pub fn positions(&self) -> Vec<f64> {
        (0..self.len()).map(|r| self.position(r)).collect()
    }

    /// The rows `from..` of this column (after differencing, say).
    pub fn skip(&self, from: usize) -> Self {
        Self {
            name: self.name.clone(),
            labels: self.labels.slice(from, self.labels.len()),
            axis: self.axis[from.min(self.axis.len())..].to_vec(),
            format: self.format,
        }
    }

    /// `count` rows from row `start` on, `(axis, labels)`: the file's own where it has them,
    /// then continued by the median step between its rows.
    pub fn span(&self, start: usize, count: usize) -> (Vec<f64>, Vec<String>) {
        let mut axis = Vec::with_capacity(count);
        let mut labels = Vec::with_capacity(count);
        let rows = self.labels.len();
        for r in start..start + count {
            if r < rows {
                axis.push(self.position(r));
                labels.push(self.labels.get(r).into_owned());
            } else {
                let (position, label) = self.beyond(r + 1 - rows);
                axis.push(position);
                labels.push(label);
            }
        }
        (axis, labels)
    }

    /// The time `k` steps after the last row (`k >= 1`).
    fn beyond(&self, k: usize) -> (f64, String) {
        let last = self.labels.len() - 1;
        match self.format {
            Format::Number => {
                let step = match &self.labels {
                    Labels::Steps { step, .. } if self.axis.is_empty() => *step as f64,
                    _ => median_step(&self.axis),
                };
                let value = self.position(last) + step * k as f64;
                (value, number_label(value))
            }
            format => {
                let dates: Vec<NaiveDate> = self
                    .labels
                    .iter()
                    .filter_map(|label| date(&label, format))
                    .collect();
                let date = match calendar_step(&dates) {
                    Step::Months(months) => {
                        (dates[last]).checked_add_months(chrono::Months::new(months * k as u32))
                    }
                    Step::Days(days) => {
                        dates[last].checked_add_signed(chrono::Duration::days(days * k as i64))
                    }
                }
                .unwrap_or(dates[last]);
                let label = match format {
                    Format::Digits => date.format("%Y%m%d").to_string(),
                    Format::Slashes => date.format("%Y/%m/%d").to_string(),
                    _ => date.format("%Y-%m-%d").to_string(),
                };
                (decimal_year(date), label)
            }
        }
    }
}

/// How a column of dates steps: by whole months (monthly, quarterly and yearly dates, which
/// land on the same day of the month), or by a number of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Months between rows.
    Months(u32),
    /// Days between rows.
    Days(i64),
}

/// The median step between `dates`, in whole months where it is one month, three or twelve
/// (28 to 31 days, 89 to 92, 365 or 366), else in days.
fn calendar_step(dates: &[NaiveDate]) -> Step {
    let days: Vec<f64> = dates
        .iter()
        .map(|d| f64::from(d.num_days_from_ce()))
        .collect();
    let step = median_step(&days).round().max(1.0) as i64;
    match step {
        28..=31 => Step::Months(1),
        89..=92 => Step::Months(3),
        365 | 366 => Step::Months(12),
        days => Step::Days(days),
    }
}

impl TimeColumn {
    /// The seasonal cycle the calendar gives a column of dates: 12 for monthly dates, 4 for
    /// quarterly, 52 for weekly, 7 for daily; none for yearly dates, other steps or numbers.
    pub fn calendar_season(&self) -> Option<usize> {
        if self.format == Format::Number {
            return None;
        }
        let dates: Vec<NaiveDate> = self
            .labels
            .iter()
            .filter_map(|label| date(&label, self.format))
            .collect();
        match calendar_step(&dates) {
            Step::Months(1) => Some(12),
            Step::Months(3) => Some(4),
            Step::Days(7) => Some(52),
            Step::Days(1) => Some(7),
            _ => None,
        }
    }
}

/// The kind of time the first row writes.
fn detect(first: &str) -> Format {
    if first.len() == 8
        && first.bytes().all(|b| b.is_ascii_digit())
        && date(first, Format::Digits).is_some()
    {
        Format::Digits
    } else if date(first, Format::Dashes).is_some() {
        Format::Dashes
    } else if date(first, Format::Slashes).is_some() {
        Format::Slashes
    } else {
        Format::Number
    }
}

/// The date a label of `format` writes (its first ten characters for the ISO forms).
fn date(label: &str, format: Format) -> Option<NaiveDate> {
    let head = |n: usize| label.get(..n);
    match format {
        Format::Number => None,
        Format::Digits => NaiveDate::parse_from_str(label, "%Y%m%d").ok(),
        Format::Dashes => NaiveDate::parse_from_str(head(10)?, "%Y-%m-%d").ok(),
        Format::Slashes => NaiveDate::parse_from_str(head(10)?, "%Y/%m/%d").ok(),
    }
}

/// A label's place on the axis.
fn place(label: &str, format: Format) -> Option<f64> {
    match format {
        Format::Number => label.parse::<f64>().ok().filter(|v| v.is_finite()),
        format => date(label, format).map(decimal_year),
    }
}

/// The year plus the fraction of it gone by at the start of the day: 2000-07-02 is 2000.5.
pub fn decimal_year(date: NaiveDate) -> f64 {
    let year = date.year();
    let days_in_year = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366.0
    } else {
        365.0
    };
    f64::from(year) + f64::from(date.ordinal0()) / days_in_year
}

/// The median difference between neighbours (1 for fewer than two values).
fn median_step(values: &[f64]) -> f64 {
    let mut steps: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.is_empty() {
        return 1.0;
    }
    steps.sort_by(f64::total_cmp);
    steps[steps.len() / 2]
}

/// A number as short as it reads: `2009`, not `2009.0`; `0.25` as is.
fn number_label(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(labels: &[&str]) -> Result<TimeColumn, DataError> {
        let lines = Lines::Run {
            first: 2,
            len: labels.len(),
        };
        TimeColumn::parse("t", labels.iter().collect(), &lines)
    }

    /// Decimal years by hand: 1 January is the year itself, 2 July 2000 (leap year, day 183 of
    /// 366) is 2000.5, 1 April 2001 (day 90 of 365) is 2001 + 90/365.
    #[test]
    fn decimal_years_by_hand() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(decimal_year(day(1958, 1, 1)), 1958.0);
        assert_eq!(decimal_year(day(2000, 7, 2)), 2000.5);
        assert_eq!(decimal_year(day(2001, 4, 1)), 2001.0 + 90.0 / 365.0);
    }

    /// The three kinds, each placed and continued past the last row by its median step.
    #[test]
    fn kinds_placed_and_continued() {
        let years = column(&["1700", "1701", "1702"]).unwrap();
        assert_eq!(years.positions(), [1700.0, 1701.0, 1702.0]);
        assert_eq!(
            years.span(2, 3),
            (
                vec![1702.0, 1703.0, 1704.0],
                vec!["1702".into(), "1703".into(), "1704".into()]
            )
        );

        // Weekly dates as YYYYMMDD, with one gap of two weeks: the median step is a week.
        let weeks = column(&["19991218", "19991225", "20000101", "20000115"]).unwrap();
        assert_eq!(weeks.position(2), 2000.0);
        let (axis, labels) = weeks.span(3, 3);
        assert_eq!(labels, ["20000115", "20000122", "20000129"]);
        assert_eq!(axis[1], 2000.0 + 21.0 / 366.0);

        let iso = column(&["2000-01-01", "2000-02-01 06:00", "2000-03-01"]).unwrap();
        assert_eq!(iso.position(0), 2000.0);
        assert_eq!(iso.position(1), 2000.0 + 31.0 / 366.0);
        // Steps of 31 and 29 days: a month, so the column goes on by months.
        assert_eq!(iso.span(3, 2).1, ["2000-04-01", "2000-05-01"]);
        assert_eq!(iso.calendar_season(), Some(12));
        let quarters = column(&["1960-01-01", "1960-04-01", "1960-07-01"]).unwrap();
        assert_eq!(quarters.span(3, 2).1, ["1960-10-01", "1961-01-01"]);
        assert_eq!(quarters.calendar_season(), Some(4));
        assert_eq!(weeks.calendar_season(), Some(52));
        assert_eq!(years.calendar_season(), None);
        assert_eq!(
            column(&["2000/01/01"]).unwrap().span(1, 1).1,
            ["2000/01/02"]
        );
        assert_eq!(column(&["0.5", "0.75"]).unwrap().span(2, 1).1, ["1"]);
    }

    /// A row of another kind than the first is an error naming its line and value.
    #[test]
    fn a_row_of_another_kind_is_named() {
        let err = column(&["2000-01-01", "2000-01-08", "next week"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4: column `t`: `next week` is not a date like the first row's `2000-01-01`"
        );
        let err = column(&["1700", "MDCCI"]).unwrap_err();
        assert!(err.to_string().contains("`MDCCI` is not a number"), "{err}");
        assert!(column(&["20001301"]).is_ok_and(|c| c.format == Format::Number));
    }
}
