//! Helpers every subject's tests share: running the binary in a folder, reading what it wrote,
//! and asserting the one-line errors.

#![allow(dead_code)] // each subject uses some of them

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `path` in the repository, found from the crate's folder that `cargo test` sets in
/// `CARGO_MANIFEST_DIR` when it runs the tests (the one baked in at compile time otherwise): the
/// target folder is shared, and a test binary built from another checkout of the same sources
/// (CI's clone) would otherwise read that checkout's files, or a folder that is gone.
pub fn repo(path: &str) -> String {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    format!("{crate_dir}/../../{path}")
}

/// The reference run of the original PyTorch code.
pub fn fixture() -> String {
    repo("tests/fixtures/tutorial_seed1")
}

/// The repository's tutorial config.
pub fn repo_config() -> String {
    repo("configs/tutorial.toml")
}

/// The training losses of `elman train` with the repository's tutorial config, run in `dir`
/// (its results in `dir/cli`): what the live page's runs are held to.
pub fn cli_tutorial_losses(dir: &Path) -> Vec<f64> {
    let out = dir.join("cli");
    let output = elman(
        dir,
        &["--config", &repo_config(), "--out", out.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    csv_column(&out.join("losses.csv"), "loss")
}

pub fn elman(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elman"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A failed run: exit code 2 and exactly one `error:` line, the last one, containing `needle`.
pub fn assert_one_line_error(output: &Output, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "stderr: {err}");
    assert_eq!(err.lines().last(), Some(errors[0]), "stderr: {err}");
    assert!(
        errors[0].contains(needle),
        "`{needle}` not in: {}",
        errors[0]
    );
}

pub fn json_floats(name: &str, key: Option<&str>) -> Vec<f64> {
    let text = std::fs::read_to_string(format!("{}/{name}", fixture())).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let value = key.map_or(&value, |k| &value[k]);
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The named column of a CSV file written by a run.
pub fn csv_column(path: &Path, column: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|line| line.split(',').nth(index).unwrap().parse().unwrap())
        .collect()
}

pub fn out_arg(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(name);
    let arg = out.to_str().unwrap().to_string();
    (out, arg)
}

/// The dtype, shape and raw bytes of tensor `name` in a safetensors file.
pub fn tensor_bytes(path: &Path, name: &str) -> (String, Vec<u64>, Vec<u8>) {
    let file = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&file[8..8 + len]).unwrap();
    let entry = &header[name];
    let range: Vec<usize> = entry["data_offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let shape = entry["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let data = file[8 + len + range[0]..8 + len + range[1]].to_vec();
    (entry["dtype"].as_str().unwrap().to_string(), shape, data)
}

/// Writes a safetensors file with the given f32 tensors, all zeros.
pub fn write_weights(path: &Path, tensors: &[(&str, Vec<usize>)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<usize>() * 4;
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut header = serde_json::to_vec(&header).unwrap();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    file.extend(vec![0u8; offset]);
    std::fs::write(path, file).unwrap();
}

/// A seasonal series with a trend: `10 + 0.05 t + sin(2 pi t / 12)`, 240 rows, one of them empty.
pub fn seasonal_csv() -> String {
    let mut csv = String::from("t,y\n");
    for t in 0..240 {
        let y = 10.0 + 0.05 * t as f64 + (std::f64::consts::TAU * t as f64 / 12.0).sin();
        if t == 100 {
            csv.push_str("100,\n");
        } else {
            csv.push_str(&format!("{t},{y}\n"));
        }
    }
    csv
}

/// A small version of `configs/sines.toml`, fast enough for a test.
pub const SMALL_SINES: &str = r#"
backend = "flex"
seed = 3
[model]
d_hidden = 8
w1_std = 0.3
w2_std = 0.3
[sines]
n_series = 40
seq_len = 16
[train]
n_epochs = 4
lr = 0.01
log_every = 1
batch_size = 8
bptt = 4
optimizer = "adam"
loss = "mse"
grad_clip = 1.0
shuffle = true
valid_fraction = 0.25
"#;

pub const SEASONAL: &str = r#"
backend = "flex"
[model]
d_hidden = 8
w1_std = 0.3
w2_std = 0.3
[csv]
path = "series.csv"
target = "y"
missing = "interpolate"
window = 24
stride = 4
test_steps = 12
season = 12
difference = 12
[train]
n_epochs = 3
lr = 0.01
batch_size = 8
bptt = 8
optimizer = "adam"
loss = "mse"
valid_fraction = 0.1
"#;

/// Rewrites the metadata entry `key` of a safetensors file with `change`.
pub fn rewrite_metadata(path: &Path, key: &str, change: impl FnOnce(&str) -> String) {
    let file = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&file[8..8 + len]).unwrap();
    let old = header["__metadata__"][key].as_str().unwrap().to_string();
    header["__metadata__"][key] = serde_json::Value::String(change(&old));
    let mut text = serde_json::to_vec(&header).unwrap();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend(text);
    bytes.extend_from_slice(&file[8 + len..]);
    std::fs::write(path, bytes).unwrap();
}

/// Writes `seasonal_csv()` and `SEASONAL` into `dir` and trains them into `dir/run`, with
/// `flags` added.
pub fn train_seasonal(dir: &Path, flags: &[&str]) {
    std::fs::write(dir.join("series.csv"), seasonal_csv()).unwrap();
    std::fs::write(dir.join("seasonal.toml"), SEASONAL).unwrap();
    let mut args = vec!["train", "--config", "seasonal.toml", "--out", "run"];
    args.extend_from_slice(flags);
    let train = elman(dir, &args);
    assert!(train.status.success(), "{}", stderr(&train));
}
