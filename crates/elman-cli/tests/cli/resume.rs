//! Checkpoints and resuming: an interrupted run, resumed, ends where an uninterrupted one does.

use std::path::Path;
use std::process::Command;

use crate::util::*;

/// Stopping after two epochs and resuming to four gives the losses of four epochs in one go.
#[test]
fn resume_gives_the_same_losses_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sines.toml"), SMALL_SINES).unwrap();
    let whole = elman(
        dir.path(),
        &["train", "--config", "sines.toml", "--out", "whole"],
    );
    assert!(whole.status.success(), "{}", stderr(&whole));
    let part = elman(
        dir.path(),
        &[
            "train",
            "--config",
            "sines.toml",
            "--epochs",
            "2",
            "--out",
            "part",
        ],
    );
    assert!(part.status.success(), "{}", stderr(&part));
    let resumed = elman(dir.path(), &["train", "--resume", "part", "--epochs", "4"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("from epoch 2"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("part/losses.csv")).unwrap(),
        std::fs::read_to_string(dir.path().join("whole/losses.csv")).unwrap()
    );
    let again = elman(dir.path(), &["train", "--resume", "part", "--epochs", "4"]);
    assert_one_line_error(&again, "already has 4 epochs");
    let missing = elman(dir.path(), &["train", "--resume", "nowhere"]);
    assert_one_line_error(
        &missing,
        "cannot read checkpoint nowhere/checkpoint.safetensors",
    );
}

/// A run long enough to be killed part way, its last kill 300 ms after the first checkpoint
/// (about 1.1 s in all in a debug build on this project's machine; at 400 epochs it ended
/// before that kill): many small waves, a checkpoint after every epoch.
const KILLABLE_EPOCHS: usize = 1500;

/// [`KILLABLE_EPOCHS`]'s config.
const KILLABLE: &str = r#"
backend = "flex"
seed = 5
[model]
d_hidden = 8
w1_std = 0.3
w2_std = 0.3
[sines]
n_series = 48
seq_len = 24
[train]
n_epochs = 1500
lr = 0.003
log_every = 0
batch_size = 8
bptt = 6
optimizer = "adam"
loss = "mse"
grad_clip = 1.0
shuffle = true
valid_fraction = 0.25
checkpoint_every = 0.0
"#;

/// Whether the file at `path`, written by a run, is whole: each format parsed by a reader
/// that refuses a truncated file.
fn is_whole(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let result = match path.extension().and_then(|e| e.to_str()) {
        // The header, its lengths and the data they promise all there.
        Some("safetensors") => safetensors::SafeTensors::deserialize(&bytes)
            .map(drop)
            .map_err(|e| e.to_string()),
        Some("toml") => std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| toml::from_str::<toml::Table>(text).map_err(|e| e.to_string()))
            .map(drop),
        Some("json") => serde_json::from_slice::<serde_json::Value>(&bytes)
            .map(drop)
            .map_err(|e| e.to_string()),
        Some("csv") => {
            let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
            let widths: Vec<usize> = text.lines().map(|l| l.split(',').count()).collect();
            match text.ends_with('\n') && widths.iter().all(|&w| w == widths[0]) {
                true => Ok(()),
                false => Err("a cut CSV file".to_string()),
            }
        }
        Some("png") => match bytes.ends_with(&[0xAE, 0x42, 0x60, 0x82]) {
            true => Ok(()),
            false => Err("a PNG without its end".to_string()),
        },
        _ if name == ".lock" => Ok(()),
        _ => Err("a file no run writes".to_string()),
    };
    result.map_err(|e| format!("{name}: {e}"))
}

/// Kills (SIGKILL) a running `elman train` at several points: after each kill every file in the
/// run folder is whole (temporary files aside, which `--resume` clears), and `--resume` ends
/// with a `losses.csv` byte for byte equal to an uninterrupted run's.
#[test]
fn a_killed_run_leaves_whole_files_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("long.toml"), KILLABLE).unwrap();
    let whole = elman(
        dir.path(),
        &["train", "--config", "long.toml", "--out", "whole"],
    );
    assert!(whole.status.success(), "{}", stderr(&whole));
    let expected = std::fs::read(dir.path().join("whole/losses.csv")).unwrap();

    // Kill once a file has appeared and some time has passed: the first checkpoint, then
    // at once or later in the run (each epoch rewrites it, so the kill lands before, during or
    // after one of those writes); and the last weights, while the other results are written.
    let points = [
        ("checkpoint.safetensors", 0),
        ("checkpoint.safetensors", 40),
        ("checkpoint.safetensors", 300),
        ("weights.safetensors", 0),
    ];
    for (point, (file, delay_ms)) in points.into_iter().enumerate() {
        let out = format!("killed{point}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_elman"))
            .args(["train", "--config", "long.toml", "--out", &out])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !dir.path().join(&out).join(file).exists() && started.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let finished = child.wait().unwrap().success();
        // The last point may come too late on a fast machine: then the run is simply whole.
        assert!(
            !finished || file == "weights.safetensors",
            "point {point}: the run ended before the kill"
        );

        for entry in std::fs::read_dir(dir.path().join(&out)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                continue; // a temporary file the kill interrupted; never read
            }
            if let Err(err) = is_whole(&path) {
                panic!("point {point}: {err}");
            }
        }
        if !finished {
            let resumed = elman(dir.path(), &["train", "--resume", &out]);
            assert!(
                resumed.status.success(),
                "point {point}: {}",
                stderr(&resumed)
            );
        }
        assert_eq!(
            std::fs::read(dir.path().join(&out).join("losses.csv")).unwrap(),
            expected,
            "point {point}: the resumed losses differ"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(&out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "point {point}: left {leftovers:?}");
    }
}

/// Two `elman train` given the same `--out` at once: the second refuses, the first finishes
/// unharmed.
#[test]
fn a_second_run_into_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("long.toml"), KILLABLE).unwrap();
    let first = Command::new(env!("CARGO_BIN_EXE_elman"))
        .args(["train", "--config", "long.toml", "--out", "run"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !dir.path().join("run/checkpoint.safetensors").exists()
        && started.elapsed().as_secs() < 60
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let second = elman(
        dir.path(),
        &["train", "--config", "long.toml", "--out", "run"],
    );
    assert_one_line_error(&second, "another elman process is writing into run");
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let losses = csv_column(&dir.path().join("run/losses.csv"), "loss");
    assert_eq!(losses.len(), KILLABLE_EPOCHS);
}
