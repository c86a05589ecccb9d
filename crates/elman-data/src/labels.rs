//! A time column's texts, kept small: while they are whole numbers each a constant step after
//! the one before (`0, 1, 2, …`, or years), or ISO dates (`2011-01-29`) a constant number of
//! days apart, only the first and the step; otherwise every text. A panel of millions of rows
//! with a step or a daily date column then holds no string per row.

use std::borrow::Cow;

use chrono::NaiveDate;

/// A column of labels, in row order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    /// `first`, `first + step`, … for `len` rows, each written as the integer it is.
    Steps {
        /// The first row's value.
        first: i64,
        /// The difference between one row's value and the next's.
        step: i64,
        /// Rows.
        len: usize,
    },
    /// ISO dates (`YYYY-MM-DD`) from `first`, `step` days apart, for `len` rows.
    Days {
        /// The first row's date.
        first: NaiveDate,
        /// Days from one row to the next.
        step: i64,
        /// Rows.
        len: usize,
    },
    /// Each row's text.
    Text(Vec<String>),
}

impl Default for Labels {
    fn default() -> Self {
        Labels::Steps {
            first: 0,
            step: 0,
            len: 0,
        }
    }
}

/// `text` as an integer where it is written as one is (no sign but `-`, no leading zeros, no
/// `-0`), so that the integer written back is the text.
fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = match digits.as_bytes() {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [first, ..] => *first != b'0' && digits.bytes().all(|b| b.is_ascii_digit()),
    };
    if canonical { text.parse().ok() } else { None }
}

/// `text` as a date where it is written `YYYY-MM-DD`, each part zero-padded, so that the date
/// written back that way is the text.
fn iso_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

impl Labels {
    /// Adds a row's text.
    pub fn push(&mut self, text: &str) {
        match self {
            Labels::Steps { len: 0, .. } => {
                *self = match (integer(text), iso_date(text)) {
                    (Some(first), _) => Labels::Steps {
                        first,
                        step: 0,
                        len: 1,
                    },
                    (None, Some(first)) => Labels::Days {
                        first,
                        step: 0,
                        len: 1,
                    },
                    (None, None) => Labels::Text(vec![text.to_string()]),
                }
            }
            Labels::Days { first, step, len } => {
                let fits = iso_date(text).is_some_and(|date| {
                    let days = (date - *first).num_days();
                    if *len == 1 {
                        *step = days;
                        true
                    } else {
                        i64::try_from(*len).is_ok_and(|n| step.checked_mul(n) == Some(days))
                    }
                });
                if fits {
                    *len += 1;
                } else {
                    let mut texts = self.to_vec();
                    texts.push(text.to_string());
                    *self = Labels::Text(texts);
                }
            }
            Labels::Steps { first, step, len } => {
                let value = integer(text);
                let fits = match (value, *len) {
                    (Some(v), 1) => match v.checked_sub(*first) {
                        Some(d) => {
                            *step = d;
                            true
                        }
                        None => false,
                    },
                    (Some(v), n) => {
                        i64::try_from(n)
                            .ok()
                            .and_then(|n| step.checked_mul(n))
                            .and_then(|d| first.checked_add(d))
                            == Some(v)
                    }
                    (None, _) => false,
                };
                if fits {
                    *len += 1;
                } else {
                    let mut texts = self.to_vec();
                    texts.push(text.to_string());
                    *self = Labels::Text(texts);
                }
            }
            Labels::Text(texts) => texts.push(text.to_string()),
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            Labels::Steps { len, .. } | Labels::Days { len, .. } => *len,
            Labels::Text(texts) => texts.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s text.
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn get(&self, i: usize) -> Cow<'_, str> {
        match self {
            Labels::Steps { first, step, len } => {
                assert!(i < *len, "label {i} of {len}");
                Cow::Owned((first + step * i as i64).to_string())
            }
            Labels::Days { len, .. } => {
                assert!(i < *len, "label {i} of {len}");
                Cow::Owned(self.date(i).expect("a date").format("%Y-%m-%d").to_string())
            }
            Labels::Text(texts) => Cow::Borrowed(&texts[i]),
        }
    }

    /// Every row's text.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, str>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Every row's text, owned.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// Row `i`'s date, where the labels are [`Labels::Days`].
    pub fn date(&self, i: usize) -> Option<NaiveDate> {
        match self {
            Labels::Days { first, step, .. } => {
                first.checked_add_signed(chrono::Duration::days(step * i as i64))
            }
            _ => None,
        }
    }

    /// The rows `from..to`.
    pub fn slice(&self, from: usize, to: usize) -> Labels {
        let (from, to) = (
            from.min(self.len()),
            to.min(self.len()).max(from.min(self.len())),
        );
        match self {
            Labels::Steps { first, step, .. } => Labels::Steps {
                first: first + step * from as i64,
                step: *step,
                len: to - from,
            },
            Labels::Days { step, .. } => Labels::Days {
                first: self.date(from).expect("a date in range"),
                step: *step,
                len: to - from,
            },
            Labels::Text(texts) => Labels::Text(texts[from..to].to_vec()),
        }
    }

    /// The rows `rows`, in that order.
    pub fn pick(&self, rows: &[usize]) -> Labels {
        let mut picked = Labels::default();
        for &r in rows {
            picked.push(&self.get(r));
        }
        picked
    }
}

impl<S: AsRef<str>> FromIterator<S> for Labels {
    fn from_iter<I: IntoIterator<Item = S>>(texts: I) -> Self {
        let mut labels = Labels::default();
        for text in texts {
            labels.push(text.as_ref());
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Years one apart stay two numbers, and days a step apart a date and a step; a gap, a
    /// text, a zero-padded number or dates a month apart turn them into texts, which read back
    /// the same.
    #[test]
    fn steps_while_they_last() {
        let years: Labels = ["1700", "1701", "1702"].into_iter().collect();
        assert_eq!(
            years,
            Labels::Steps {
                first: 1700,
                step: 1,
                len: 3
            }
        );
        assert_eq!(years.get(2), "1702");
        assert_eq!(years.slice(1, 3).to_vec(), ["1701", "1702"]);
        let down: Labels = ["10", "5", "0", "-5"].into_iter().collect();
        assert!(matches!(down, Labels::Steps { step: -5, .. }));
        let days: Labels = ["2011-12-30", "2011-12-31", "2012-01-01"]
            .into_iter()
            .collect();
        assert!(
            matches!(
                days,
                Labels::Days {
                    step: 1,
                    len: 3,
                    ..
                }
            ),
            "{days:?}"
        );
        assert_eq!(days.to_vec(), ["2011-12-30", "2011-12-31", "2012-01-01"]);
        assert_eq!(days.slice(1, 3).to_vec(), ["2011-12-31", "2012-01-01"]);
        let weeks: Labels = ["2000-01-01", "2000-01-08"].into_iter().collect();
        assert!(matches!(weeks, Labels::Days { step: 7, .. }));
        for broken in [
            vec!["1", "2", "4"],
            vec!["1", "2", "x"],
            vec!["01", "02"],
            vec!["-0", "1"],
            vec!["+1", "+2"],
            vec!["2000-01-01", "2000-02-01", "2000-03-01"],
            vec!["2000-1-01", "2000-1-02"],
            vec!["2000-01-01 06:00", "2000-01-02 06:00"],
        ] {
            let labels: Labels = broken.iter().collect();
            assert!(matches!(labels, Labels::Text(_)), "{broken:?}");
            assert_eq!(labels.to_vec(), broken);
        }
        let one: Labels = ["7"].into_iter().collect();
        assert_eq!(one.to_vec(), ["7"]);
        assert_eq!(years.pick(&[2, 0]).to_vec(), ["1702", "1700"]);
    }
}
