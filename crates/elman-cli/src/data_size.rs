//! What a `[csv]` file will take in memory once read, from one quick look at it before the
//! run: its rows (its line breaks counted, 64 KiB at a time) and, from its first thousand
//! rows, whether its time column is integers or dates a step apart (kept as two numbers) or texts (a
//! `String` a row) and whether a panel's rows come series by series (their lines a run) or
//! interleaved (a line number a row).

use std::io::Read;

use crate::settings::CsvSection;

/// Rows of the file sampled for the shape of its columns.
const SAMPLE: usize = 1000;

/// A generous estimate of the bytes the series of `csv` take in memory, or `None` where its
/// file cannot be read (the reader says why, later). Per row: the value as read, the levels,
/// the transformed target and the scaled values the windows view (4 bytes each, and 4 for each
/// other input), a line number where rows do not follow one another, a label where the time
/// column is text; all 1.5 times over for the arrays' growth as they are read.
pub fn csv_bytes(csv: &CsvSection) -> Option<f64> {
    let mut file = std::fs::File::open(&csv.path).ok()?;
    let mut head = vec![0u8; 1 << 18];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]).ok()? {
            0 => break,
            n => filled += n,
        }
    }
    head.truncate(filled);
    let mut rows = head.iter().filter(|&&b| b == b'\n').count() as f64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buffer).ok()? {
            0 => break,
            n => rows += buffer[..n].iter().filter(|&&b| b == b'\n').count() as f64,
        }
    }
    let shape = Shape::of(&head, csv);
    let inputs = csv.inputs.len().saturating_sub(1) as f64;
    let per_row = 16.0 + 4.0 * inputs + shape.line + shape.label;
    Some(1.5 * rows * per_row)
}

/// What a row of the file takes beyond its values.
struct Shape {
    /// A line number's bytes, where rows do not follow one another in their series.
    line: f64,
    /// A label's bytes, where the time column is text.
    label: f64,
}

impl Shape {
    /// The shape of the first rows of `head` (the start of the file).
    fn of(head: &[u8], csv: &CsvSection) -> Self {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(head);
        let headers: Vec<String> = reader
            .headers()
            .map(|h| h.iter().map(|n| n.trim().to_string()).collect())
            .unwrap_or_default();
        let index = |name: &str| headers.iter().position(|h| h == name);
        let (time, id) = (index(&csv.time), index(&csv.series));
        let mut labels = elman_data::Labels::default();
        let (mut label_bytes, mut changes, mut last_id) = (0usize, 0usize, None::<String>);
        let mut count = 0usize;
        for record in reader.records().take(SAMPLE).flatten() {
            count += 1;
            if let Some(text) = time.and_then(|t| record.get(t)) {
                labels.push(text.trim());
                label_bytes += text.trim().len();
            }
            if let Some(name) = id.and_then(|i| record.get(i))
                && last_id.as_deref() != Some(name)
            {
                changes += 1;
                last_id = Some(name.to_string());
            }
        }
        let count = count.max(1) as f64;
        Shape {
            // Interleaved series: most rows start another series' run.
            line: if changes as f64 > count / 2.0 {
                8.0
            } else {
                0.0
            },
            label: match (&labels, time) {
                (_, None)
                | (elman_data::Labels::Steps { .. } | elman_data::Labels::Days { .. }, _) => 0.0,
                (elman_data::Labels::Text(_), Some(_)) => 24.0 + label_bytes as f64 / count,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn csv_in(dir: &Path, text: &str, series: &str, time: &str) -> CsvSection {
        let path = dir.join("data.csv");
        std::fs::write(&path, text).unwrap();
        CsvSection {
            path,
            target: "v".into(),
            series: series.into(),
            time: time.into(),
            ..CsvSection::default()
        }
    }

    /// 2,000 rows of two series, one after the other, with integer times: 16 bytes a row,
    /// 1.5 times over; with text times 24 bytes and the texts' 6 more; interleaved, 8 more for
    /// the lines; no file, no estimate.
    #[test]
    fn the_estimate_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorted = String::from("id,t,v\n");
        let mut dated = String::from("id,t,v\n");
        let mut interleaved = String::from("id,t,v\n");
        for s in 0..2 {
            for t in 0..1000 {
                sorted.push_str(&format!("s{s},{t},1\n"));
                dated.push_str(&format!("s{s},x{t:05},1\n"));
                interleaved.push_str(&format!("s{},{},1\n", t % 2, s * 1000 + t));
            }
        }
        let rows = 2001.0;
        let bytes = |text: &str| csv_bytes(&csv_in(dir.path(), text, "id", "t")).unwrap();
        assert_eq!(bytes(&sorted), 1.5 * rows * 16.0);
        assert_eq!(bytes(&dated), 1.5 * rows * (16.0 + 24.0 + 6.0));
        assert_eq!(bytes(&interleaved), 1.5 * rows * (16.0 + 8.0));
        let mut missing = csv_in(dir.path(), &sorted, "id", "t");
        missing.path = dir.path().join("nothing.csv");
        assert_eq!(csv_bytes(&missing), None);
    }
}
