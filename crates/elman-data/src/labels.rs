//! A time column's texts, kept small: while they are whole numbers each a constant step after
//! the one before (`0, 1, 2, …`, or years), only the first and the step; otherwise every text.
//! A panel of millions of rows with a step column then holds no string per row.

use std::borrow::Cow;

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

impl Labels {
    /// Adds a row's text.
    pub fn push(&mut self, text: &str) {
        match self {
            Labels::Steps { first, step, len } => {
                let value = integer(text);
                let fits = match (value, *len) {
                    (Some(v), 0) => {
                        *first = v;
                        true
                    }
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
            Labels::Steps { len, .. } => *len,
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

    /// Years one apart stay two numbers; a gap, a text or a zero-padded number turns them into
    /// texts, which read back the same.
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
        for broken in [
            vec!["1", "2", "4"],
            vec!["1", "2", "x"],
            vec!["01", "02"],
            vec!["-0", "1"],
            vec!["+1", "+2"],
            vec!["2000-01-01", "2000-02-01"],
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
