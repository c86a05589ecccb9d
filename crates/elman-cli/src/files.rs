//! The file formats the command reads and writes besides its config: weights as safetensors,
//! results as CSV (through the `csv` crate) and JSON. Every file is written through
//! [`atomic::write`](crate::atomic::write).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use elman_model::{Cell, ElmanWeights};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::atomic;

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
    // One entry, so that the same weights give the same bytes (safetensors writes a map's
    // entries in its own order): `elman`, or `elman cell=lstm bias=true` for the other kinds.
    let mut format = "elman".to_string();
    if weights.cell != Cell::Elman || weights.bias {
        format.push_str(&format!(
            " cell={} bias={}",
            weights.cell.name(),
            weights.bias
        ));
    }
    let metadata = HashMap::from([("format".to_string(), format)]);
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
    // The cell and bias the matrices are for (files before cells: the tutorial's).
    let (_, header) = SafeTensors::read_metadata(bytes).context("not a safetensors file")?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let format = metadata
        .get("format")
        .map(String::as_str)
        .unwrap_or_default();
    let field = |key: &str| {
        format
            .split_whitespace()
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
    };
    let cell = match field("cell") {
        None | Some("elman") => Cell::Elman,
        Some("lstm") => Cell::Lstm,
        Some("gru") => Cell::Gru,
        Some(other) => bail!("unknown cell `{other}` (expected elman, lstm or gru)"),
    };
    let bias = field("bias") == Some("true");
    let file = SafeTensors::deserialize(bytes).context("not a safetensors file")?;
    for name in ["w1", "w2"] {
        if file.tensor(name).is_err() {
            bail!(
                "no tensor `{name}` (the file has: {})",
                names(&file).join(", ")
            );
        }
    }
    Ok(weights_in(&file, "", cell, bias)?.expect("both tensors are there"))
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

/// The weights `{prefix}w1` and `{prefix}w2` of a safetensors file, read as `cell`'s (with or
/// without biases), checked, or `None` when either is missing.
pub fn weights_in(
    file: &SafeTensors<'_>,
    prefix: &str,
    cell: Cell,
    bias: bool,
) -> Result<Option<ElmanWeights>> {
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
        cell,
        bias,
    };
    weights.validate()?;
    Ok(Some(weights))
}

fn names<'a>(file: &'a SafeTensors<'a>) -> Vec<&'a str> {
    let mut names = file.names();
    names.sort_unstable();
    names
}

/// A CSV writer into `out` with `header` written: rows go straight to `out` as they come.
pub fn csv_into<'a>(
    out: &'a mut dyn std::io::Write,
    header: &[&str],
) -> Result<csv::Writer<&'a mut dyn std::io::Write>> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header)?;
    Ok(writer)
}

/// CSV text of `rows` under `header`.
pub fn text_csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    writer.into_inner().context("cannot write CSV text")
}

/// `epoch,loss` for every epoch, with a `valid_loss` column when there is one. The losses are
/// written in full (the shortest text that reads back as the same `f64`).
pub fn losses_csv(losses: &[f64], valid_losses: &[f64]) -> Result<Vec<u8>> {
    let header: &[&str] = if valid_losses.is_empty() {
        &["epoch", "loss"]
    } else {
        &["epoch", "loss", "valid_loss"]
    };
    let rows = losses.iter().enumerate().map(|(epoch, loss)| {
        let mut row = vec![epoch.to_string(), loss.to_string()];
        row.extend(valid_losses.get(epoch).map(f64::to_string));
        row
    });
    text_csv(header, rows)
}

/// Rows of numbers under a header, one column per name (a shorter column leaves its fields
/// empty).
pub fn columns_csv(header: &[&str], columns: &[&[f64]]) -> Result<Vec<u8>> {
    let rows = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let rows = (0..rows).map(|row| {
        columns
            .iter()
            .map(|c| c.get(row).map_or(String::new(), |&v| number(v)))
            .collect()
    });
    text_csv(header, rows)
}

/// [`columns_csv`] with a first column of text: a series' times as its file writes them.
pub fn labelled_csv(header: &[&str], labels: &[String], columns: &[&[f64]]) -> Result<Vec<u8>> {
    let rows = columns
        .iter()
        .map(|c| c.len())
        .chain([labels.len()])
        .max()
        .unwrap_or(0);
    let rows = (0..rows).map(|row| {
        std::iter::once(labels.get(row).cloned().unwrap_or_default())
            .chain(
                columns
                    .iter()
                    .map(|c| c.get(row).map_or(String::new(), |&v| number(v))),
            )
            .collect()
    });
    text_csv(header, rows)
}

/// A number as its shortest text: an `f32` value (most data here) as an `f32`, so that 369.8
/// reads `369.8`, not `369.79998779296875`.
pub fn number(value: f64) -> String {
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
    atomic::write(path, text.as_bytes())
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

    /// Three epochs, three rows under the header; a shorter column leaves its field empty.
    #[test]
    fn csv_layouts() {
        let text = |bytes: Result<Vec<u8>>| String::from_utf8(bytes.unwrap()).unwrap();
        assert_eq!(
            text(losses_csv(&[2.5, 1.0, 0.25], &[])),
            "epoch,loss\n0,2.5\n1,1\n2,0.25\n"
        );
        assert_eq!(
            text(losses_csv(&[2.5, 1.0], &[3.0, 0.5])),
            "epoch,loss,valid_loss\n0,2.5,3\n1,1,0.5\n"
        );
        assert_eq!(
            text(columns_csv(&["step", "y"], &[&[0.0, 1.0], &[0.5]])),
            "step,y\n0,0.5\n1,\n"
        );
        assert_eq!(
            text(labelled_csv(
                &["date", "y"],
                &["2000-01-01".into(), "2000-01-08".into()],
                &[&[0.5]]
            )),
            "date,y\n2000-01-01,0.5\n2000-01-08,\n"
        );
        assert_eq!(
            text(columns_csv(&["y"], &[&[f64::from(369.8f32), 0.1]])),
            "y\n369.8\n0.1\n"
        );
    }
}
