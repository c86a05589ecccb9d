//! Everything the command writes or reads besides its config: weights as safetensors, results
//! as CSV, all written atomically (a temporary file in the same folder, then a rename), so an
//! interrupted run never leaves a half-written file behind.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use elman_model::ElmanWeights;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// Writes `bytes` to `path` atomically: readers see the old file or the whole new one, and the
/// new one is on disk before this returns.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, true)
}

/// Like [`write_atomic`] but without waiting for the disk: as safe against a killed process
/// (the rename is atomic), not against a power cut. For files rewritten often, such as the
/// checkpoint.
pub fn write_atomic_fast(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, false)
}

fn replace(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// The weights as a safetensors file: tensors `w1` and `w2`, f32, row-major.
pub fn weights_to_safetensors(weights: &ElmanWeights) -> Result<Vec<u8>> {
    let w1: Vec<u8> = weights.w1.iter().flat_map(|v| v.to_le_bytes()).collect();
    let w2: Vec<u8> = weights.w2.iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensors = [
        (
            "w1",
            TensorView::new(Dtype::F32, weights.w1_shape.to_vec(), &w1)?,
        ),
        (
            "w2",
            TensorView::new(Dtype::F32, weights.w2_shape.to_vec(), &w2)?,
        ),
    ];
    let metadata = HashMap::from([("format".to_string(), "elman".to_string())]);
    Ok(safetensors::serialize(tensors, Some(metadata))?)
}

/// Reads weights from a safetensors file with f32 tensors `w1` and `w2`.
pub fn read_weights(path: &Path) -> Result<ElmanWeights> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read weights {}", path.display()))?;
    weights_from_safetensors(&bytes).with_context(|| format!("weights {}", path.display()))
}

/// Parses weights from safetensors bytes.
pub fn weights_from_safetensors(bytes: &[u8]) -> Result<ElmanWeights> {
    let file = SafeTensors::deserialize(bytes).context("not a safetensors file")?;
    for name in ["w1", "w2"] {
        if file.tensor(name).is_err() {
            bail!(
                "no tensor `{name}` (the file has: {})",
                names(&file).join(", ")
            );
        }
    }
    Ok(weights_in(&file, "")?.expect("both tensors are there"))
}

/// The f32 matrix `name` of a safetensors file (f64 is narrowed), or `None` when it has none.
pub fn matrix(file: &SafeTensors<'_>, name: &str) -> Result<Option<(Vec<f32>, [usize; 2])>> {
    let Ok(view) = file.tensor(name) else {
        return Ok(None);
    };
    let shape: [usize; 2] = match view.shape() {
        &[rows, cols] => [rows, cols],
        other => bail!("tensor `{name}` has shape {other:?}, expected 2 dimensions"),
    };
    let values = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        other => bail!("tensor `{name}` is {other:?}, expected F32"),
    };
    Ok(Some((values, shape)))
}

/// The weights `{prefix}w1` and `{prefix}w2` of a safetensors file, checked, or `None` when
/// either is missing.
pub fn weights_in(file: &SafeTensors<'_>, prefix: &str) -> Result<Option<ElmanWeights>> {
    let (Some((w1, w1_shape)), Some((w2, w2_shape))) = (
        matrix(file, &format!("{prefix}w1"))?,
        matrix(file, &format!("{prefix}w2"))?,
    ) else {
        return Ok(None);
    };
    let weights = ElmanWeights {
        w1,
        w1_shape,
        w2,
        w2_shape,
    };
    weights.validate()?;
    Ok(Some(weights))
}

fn names<'a>(file: &'a SafeTensors<'a>) -> Vec<&'a str> {
    let mut names = file.names();
    names.sort_unstable();
    names
}

/// `epoch,loss` for every epoch, with a `valid_loss` column when there is one.
pub fn losses_csv(losses: &[f64], valid_losses: &[f64]) -> String {
    let with_valid = !valid_losses.is_empty();
    let mut csv = String::from(if with_valid {
        "epoch,loss,valid_loss\n"
    } else {
        "epoch,loss\n"
    });
    for (epoch, loss) in losses.iter().enumerate() {
        match valid_losses.get(epoch) {
            Some(valid) => writeln!(csv, "{epoch},{loss},{valid}"),
            None => writeln!(csv, "{epoch},{loss}"),
        }
        .expect("writing to a String");
    }
    csv
}

/// Rows of numbers under a header, one column per name.
pub fn columns_csv(header: &[&str], columns: &[&[f64]]) -> String {
    let mut csv = header.join(",");
    csv.push('\n');
    let rows = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    for row in 0..rows {
        let fields: Vec<String> = columns
            .iter()
            .map(|c| c.get(row).map_or(String::new(), |&v| number(v)))
            .collect();
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    csv
}

/// A number as its shortest text: an `f32` value (most data here) as an `f32`, so that 369.8
/// reads `369.8`, not `369.79998779296875`.
fn number(value: f64) -> String {
    let single = value as f32;
    if f64::from(single) == value {
        single.to_string()
    } else {
        value.to_string()
    }
}

/// Writes a JSON object, pretty-printed, atomically.
pub fn write_json(path: &Path, value: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// `time,actual,predicted`: at each time `t[i + 1]`, the true value and its one-step-ahead
/// prediction made at `t[i]`.
pub fn predictions_csv(times: &[f64], actual: &[f32], predicted: &[f32]) -> String {
    let mut csv = String::from("time,actual,predicted\n");
    for ((time, actual), predicted) in times.iter().zip(actual).zip(predicted) {
        writeln!(csv, "{time},{actual},{predicted}").expect("writing to a String");
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::ElmanConfig;

    #[test]
    fn weights_round_trip_through_safetensors() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 3);
        let bytes = weights_to_safetensors(&weights).unwrap();
        assert_eq!(weights_from_safetensors(&bytes).unwrap(), weights);
    }

    #[test]
    fn missing_tensor_is_named() {
        let w1 = vec![0u8; 7 * 6 * 4];
        let bytes = safetensors::serialize(
            [("w1", TensorView::new(Dtype::F32, vec![7, 6], &w1).unwrap())],
            None,
        )
        .unwrap();
        let err = weights_from_safetensors(&bytes).unwrap_err().to_string();
        assert_eq!(err, "no tensor `w2` (the file has: w1)");
    }

    #[test]
    fn garbage_is_not_a_safetensors_file() {
        let err = weights_from_safetensors(b"hello").unwrap_err();
        assert!(
            format!("{err:#}").starts_with("not a safetensors file"),
            "{err:#}"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Three epochs, three rows under the header; two predictions, two rows.
    #[test]
    fn csv_layouts() {
        assert_eq!(
            losses_csv(&[2.5, 1.0, 0.25], &[]),
            "epoch,loss\n0,2.5\n1,1\n2,0.25\n"
        );
        assert_eq!(
            losses_csv(&[2.5, 1.0], &[3.0, 0.5]),
            "epoch,loss,valid_loss\n0,2.5,3\n1,1,0.5\n"
        );
        assert_eq!(
            columns_csv(&["step", "y"], &[&[0.0, 1.0], &[0.5]]),
            "step,y\n0,0.5\n1,\n"
        );
        assert_eq!(
            columns_csv(&["y"], &[&[f64::from(369.8f32), 0.1]]),
            "y\n369.8\n0.1\n"
        );
        assert_eq!(
            predictions_csv(&[2.4, 2.8], &[0.5, 0.25], &[0.5, 0.125]),
            "time,actual,predicted\n2.4,0.5,0.5\n2.8,0.25,0.125\n"
        );
    }
}
