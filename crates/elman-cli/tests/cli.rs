//! The `elman` binary as a user runs it: each test in its own temporary folder, asserting exit
//! codes, messages and the files written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/tutorial_seed1"
);
const REPO_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/tutorial.toml");

fn elman(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elman"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A failed run: exit code 2 and exactly one `error:` line, the last one, containing `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
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

fn json_floats(name: &str, key: Option<&str>) -> Vec<f64> {
    let text = std::fs::read_to_string(format!("{FIXTURE}/{name}")).unwrap();
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
fn csv_column(path: &Path, column: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|line| line.split(',').nth(index).unwrap().parse().unwrap())
        .collect()
}

fn out_arg(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(name);
    let arg = out.to_str().unwrap().to_string();
    (out, arg)
}

/// The tutorial's run from the reference weights: the printed epochs, the CSV files and the
/// predictions match the PyTorch run, and every promised file is there.
#[test]
fn tutorial_run_from_reference_weights_matches_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_s) = out_arg(dir.path(), "run");
    let init = format!("{FIXTURE}/init.safetensors");
    let output = elman(
        dir.path(),
        &[
            "--backend",
            "ndarray",
            "--init-weights",
            &init,
            "--out",
            &out_s,
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let expected = json_floats("losses.json", None);
    let printed: Vec<(usize, f64)> = stdout(&output)
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("Epoch: ").expect(line);
            let (epoch, loss) = rest.split_once(" loss ").expect(line);
            (epoch.parse().unwrap(), loss.parse().unwrap())
        })
        .collect();
    assert_eq!(
        printed.iter().map(|p| p.0).collect::<Vec<_>>(),
        (0..300).step_by(10).collect::<Vec<_>>()
    );
    for (epoch, loss) in &printed {
        let rel = (loss - expected[*epoch]).abs() / expected[*epoch];
        assert!(rel < 5e-4, "epoch {epoch}: {loss} vs {}", expected[*epoch]);
    }

    let losses = csv_column(&out.join("losses.csv"), "loss");
    assert_eq!(losses.len(), 300);
    assert_eq!(csv_column(&out.join("losses.csv"), "epoch")[299], 299.0);
    for (epoch, (ours, theirs)) in losses.iter().zip(&expected).enumerate() {
        assert!(
            (ours - theirs).abs() / theirs < 5e-4,
            "epoch {epoch}: {ours} vs {theirs}"
        );
    }

    let predicted = csv_column(&out.join("predictions.csv"), "predicted");
    let actual = csv_column(&out.join("predictions.csv"), "actual");
    let time = csv_column(&out.join("predictions.csv"), "time");
    let reference = json_floats("predictions.json", Some("predictions"));
    let target = json_floats("predictions.json", Some("target"));
    assert_eq!(predicted.len(), 20);
    for i in 0..20 {
        assert!((predicted[i] - reference[i]).abs() < 5e-4, "step {i}");
        assert!((actual[i] - target[i]).abs() < 1e-6, "step {i}");
    }
    assert!((time[0] - 2.4).abs() < 1e-12 && (time[19] - 10.0).abs() < 1e-12);

    let png = std::fs::read(out.join("predictions.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "the plot is nearly empty");
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("backend = \"ndarray\""), "{config}");
    for file in ["weights.safetensors", "init.safetensors"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // The starting weights are written back unchanged.
    for name in ["w1", "w2"] {
        assert_eq!(
            tensor_bytes(&out.join("init.safetensors"), name),
            tensor_bytes(Path::new(&init), name),
            "{name}"
        );
    }
    assert!(stderr(&output).contains(&format!("wrote results to {}", out.display())));
}

/// The same short run on the CPU backends and on wgpu (Mesa's lavapipe here) agrees to float
/// tolerance, from the same seeded draw; each run says how it computed the gradients (the Flex
/// kernel on flex, tensor operations elsewhere).
#[test]
fn backends_agree_on_a_short_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (backend, path) in [
        ("ndarray", "fused one-step gradients, as tensor operations"),
        ("flex", "fused one-step gradients, in the Flex kernel"),
        ("wgpu", "fused one-step gradients, as tensor operations"),
    ] {
        let (out, out_s) = out_arg(dir.path(), backend);
        let output = elman(
            dir.path(),
            &[
                "--backend",
                backend,
                "--seed",
                "4",
                "--epochs",
                "20",
                "--out",
                &out_s,
            ],
        );
        assert!(output.status.success(), "{backend}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("gradients: {path}\n")),
            "{backend}: {}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read(out.join("init.safetensors")).unwrap(),
            std::fs::read(dir.path().join("ndarray/init.safetensors")).unwrap(),
            "{backend}: the same seed draws the same weights"
        );
        runs.push((
            backend,
            csv_column(&out.join("losses.csv"), "loss"),
            csv_column(&out.join("predictions.csv"), "predicted"),
        ));
    }
    let (_, ref_losses, ref_pred) = &runs[0];
    assert!(
        ref_losses[19] < ref_losses[0],
        "the run did not learn: {ref_losses:?}"
    );
    for (backend, losses, predicted) in &runs[1..] {
        for (a, b) in losses.iter().zip(ref_losses) {
            assert!(
                (a - b).abs() / b < 1e-4,
                "{backend}: loss {a} vs ndarray {b}"
            );
        }
        for (a, b) in predicted.iter().zip(ref_pred) {
            assert!(
                (a - b).abs() < 1e-4,
                "{backend}: prediction {a} vs ndarray {b}"
            );
        }
    }
}

/// `--autodiff` turns the fused step off: the run says so, and its losses are the fused run's
/// to float tolerance.
#[test]
fn autodiff_is_one_flag_away_and_agrees_with_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let mut losses = Vec::new();
    for (name, flags, path) in [
        ("kernel", &[][..], "gradients, in the Flex kernel"),
        ("autodiff", &["--autodiff"][..], "gradients: autodiff\n"),
    ] {
        let (out, out_s) = out_arg(dir.path(), name);
        let mut args = vec!["--backend", "flex", "--epochs", "30", "--out", &out_s];
        args.extend_from_slice(flags);
        let output = elman(dir.path(), &args);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(path),
            "{name}: {}",
            stderr(&output)
        );
        losses.push(csv_column(&out.join("losses.csv"), "loss"));
    }
    for (a, b) in losses[0].iter().zip(&losses[1]) {
        assert!((a - b).abs() <= 1e-5 * b, "kernel {a} vs autodiff {b}");
    }
}

#[test]
fn the_repo_config_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_s) = out_arg(dir.path(), "run");
    let output = elman(
        dir.path(),
        &[
            "--config",
            REPO_CONFIG,
            "--backend",
            "flex",
            "--epochs",
            "11",
            "--lr",
            "0.05",
            "--seed",
            "9",
            "--out",
            &out_s,
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    for line in [
        "backend = \"flex\"",
        "seed = 9",
        "n_epochs = 11",
        "lr = 0.05",
        "d_hidden = 6",
    ] {
        assert!(config.contains(line), "`{line}` not in {config}");
    }
    assert_eq!(
        stdout(&output).lines().count(),
        2,
        "epochs 0 and 10 are printed"
    );
}

#[test]
fn unknown_backend_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = elman(dir.path(), &["--backend", "tpu"]);
    assert_one_line_error(
        &output,
        "unknown backend `tpu` (expected one of: ndarray, flex, wgpu, cuda)",
    );
}

#[cfg(not(feature = "cuda"))]
#[test]
fn backend_not_compiled_in_names_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let output = elman(dir.path(), &["--backend", "cuda", "--epochs", "1"]);
    assert_one_line_error(&output, "rebuild with `--features cuda`");
}

#[test]
fn config_errors_name_the_key_or_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown.toml",
            "seed = 1\n[train]\nepoch = 3\n",
            "unknown.toml:3: unknown field `epoch`",
        ),
        ("type.toml", "[train]\nlr = \"fast\"\n", "type.toml:2: "),
        ("broken.toml", "seed = 1\n[model\n", "broken.toml:2: "),
        (
            "backend.toml",
            "backend = \"tpu\"\n",
            "unknown backend `tpu`",
        ),
        (
            "value.toml",
            "[model]\nd_hidden = 0\n",
            "model.d_hidden must be at least 1",
        ),
    ];
    for (name, text, needle) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let output = elman(dir.path(), &["--config", name]);
        assert_one_line_error(&output, needle);
    }
    let output = elman(dir.path(), &["--config", "missing.toml"]);
    assert_one_line_error(&output, "cannot read config missing.toml");
    assert!(
        !dir.path().join("runs").exists(),
        "a failed run wrote results"
    );
}

/// The dtype, shape and raw bytes of tensor `name` in a safetensors file.
fn tensor_bytes(path: &Path, name: &str) -> (String, Vec<u64>, Vec<u8>) {
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
fn write_weights(path: &Path, tensors: &[(&str, Vec<usize>)]) {
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

#[test]
fn weight_file_errors_name_the_tensor_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    write_weights(
        &dir.path().join("wide.safetensors"),
        &[("w1", vec![8, 7]), ("w2", vec![7, 1])],
    );
    let output = elman(dir.path(), &["--init-weights", "wide.safetensors"]);
    assert_one_line_error(&output, "tensor `w1` has shape [8, 7], expected [7, 6]");

    write_weights(&dir.path().join("half.safetensors"), &[("w1", vec![7, 6])]);
    let output = elman(dir.path(), &["--init-weights", "half.safetensors"]);
    assert_one_line_error(&output, "no tensor `w2` (the file has: w1)");

    write_weights(
        &dir.path().join("odd.safetensors"),
        &[("w1", vec![7, 6]), ("w2", vec![5, 1])],
    );
    let output = elman(dir.path(), &["--init-weights", "odd.safetensors"]);
    assert_one_line_error(
        &output,
        "tensor `w1` has shape [7, 6] and `w2` has shape [5, 1]",
    );

    std::fs::write(dir.path().join("junk.safetensors"), b"not weights").unwrap();
    let output = elman(dir.path(), &["--init-weights", "junk.safetensors"]);
    assert_one_line_error(&output, "junk.safetensors: not a safetensors file");

    let output = elman(dir.path(), &["--init-weights", "absent.safetensors"]);
    assert_one_line_error(&output, "cannot read weights absent.safetensors");
}

#[test]
fn diverging_run_names_epoch_and_step_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_s) = out_arg(dir.path(), "run");
    let output = elman(
        dir.path(),
        &["--backend", "flex", "--lr", "100", "--out", &out_s],
    );
    assert_one_line_error(&output, "training diverged: the loss is");
    let err = stderr(&output);
    assert!(
        err.contains(" at epoch ") && err.contains(", step "),
        "{err}"
    );
    assert!(
        !out.exists(),
        "a run that diverged in its first epoch left files behind"
    );
}

#[test]
fn an_occupied_output_folder_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_s) = out_arg(dir.path(), "run");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("losses.csv"), "mine").unwrap();
    let output = elman(dir.path(), &["--epochs", "1", "--out", &out_s]);
    assert_one_line_error(&output, "already holds files");
    assert_eq!(
        std::fs::read_to_string(out.join("losses.csv")).unwrap(),
        "mine"
    );
}

#[test]
fn default_output_goes_under_runs() {
    let dir = tempfile::tempdir().unwrap();
    let output = elman(dir.path(), &["--backend", "flex", "--epochs", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].as_ref().unwrap().path();
    assert!(
        run.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-flex")
    );
    assert!(run.join("losses.csv").is_file());
}

/// With every graphics driver hidden (no Vulkan ICD, no EGL vendor), `--backend wgpu` says what
/// to install instead of panicking inside wgpu.
#[test]
fn wgpu_without_a_driver_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_elman"))
        .args(["--backend", "wgpu", "--epochs", "1"])
        .current_dir(dir.path())
        .env("VK_ICD_FILENAMES", "/nonexistent")
        .env("VK_DRIVER_FILES", "/nonexistent")
        .env("__EGL_VENDOR_LIBRARY_DIRS", "/nonexistent")
        .output()
        .unwrap();
    assert_one_line_error(&output, "apt-get install mesa-vulkan-drivers libvulkan1");
    assert!(!dir.path().join("runs").exists());
}

/// A small version of `configs/sines.toml`, fast enough for a test.
const SMALL_SINES: &str = r#"
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

#[test]
fn batched_training_on_sines_writes_validation_results() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sines.toml"), SMALL_SINES).unwrap();
    let output = elman(
        dir.path(),
        &["train", "--config", "sines.toml", "--out", "run"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let run = dir.path().join("run");
    let valid = csv_column(&run.join("losses.csv"), "valid_loss");
    assert_eq!(valid.len(), 4);
    assert!(stdout(&output).lines().all(|l| l.contains(" valid_loss ")));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let best = metrics["best_epoch"].as_u64().unwrap() as usize;
    let valid_mse = metrics["valid_mse"].as_f64().unwrap();
    assert!(
        (valid_mse - valid[best]).abs() <= 1e-12 * valid_mse,
        "{valid_mse} vs {}",
        valid[best]
    );
    assert!(
        valid.iter().all(|&v| v >= valid[best]),
        "best is the lowest: {valid:?}"
    );
    for file in [
        "loss.png",
        "predictions.png",
        "best.safetensors",
        "weights.safetensors",
        "checkpoint.safetensors",
    ] {
        assert!(run.join(file).is_file(), "{file}");
    }
    // Not a terminal: no progress bar, only plain lines.
    assert!(!stderr(&output).contains('\r') && !stderr(&output).contains("steps/s"));

    // `predict` with the best network gives its validation MSE again.
    let predict = elman(dir.path(), &["predict", "--from", "run", "--out", "pred"]);
    assert!(predict.status.success(), "{}", stderr(&predict));
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("pred/metrics.json")).unwrap(),
    )
    .unwrap();
    let again = again["valid_mse"].as_f64().unwrap();
    assert!(
        (again - valid_mse).abs() <= 1e-6 * valid_mse,
        "{again} vs {valid_mse}"
    );
}

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

/// A seasonal series with a trend: `10 + 0.05 t + sin(2 pi t / 12)`, 240 rows, one of them empty.
fn seasonal_csv() -> String {
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

const SEASONAL: &str = r#"
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

#[test]
fn predict_and_generate_use_a_trained_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("series.csv"), seasonal_csv()).unwrap();
    std::fs::write(dir.path().join("seasonal.toml"), SEASONAL).unwrap();
    let train = elman(
        dir.path(),
        &["train", "--config", "seasonal.toml", "--out", "run"],
    );
    assert!(train.status.success(), "{}", stderr(&train));

    let predict = elman(dir.path(), &["predict", "--from", "run", "--out", "pred"]);
    assert!(predict.status.success(), "{}", stderr(&predict));
    let actual = csv_column(&dir.path().join("pred/predictions.csv"), "actual");
    let steps = csv_column(&dir.path().join("pred/predictions.csv"), "step");
    // Rows 13..228 of the file (after the 12 rows the differencing uses, before the test year).
    assert_eq!((steps[0], *steps.last().unwrap()), (13.0, 227.0));
    assert!(
        (actual[0] - (10.0 + 0.05 * 13.0 + (std::f64::consts::TAU * 13.0 / 12.0).sin())).abs()
            < 1e-4
    );

    let generate = elman(dir.path(), &["generate", "--from", "run", "--out", "gen"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    let forecast = dir.path().join("gen/forecast.csv");
    let header = std::fs::read_to_string(&forecast).unwrap();
    assert!(
        header.starts_with("step,actual,predicted,baseline\n"),
        "{header}"
    );
    assert_eq!(
        csv_column(&forecast, "step"),
        (228..240).map(f64::from).collect::<Vec<_>>()
    );
    let baseline = csv_column(&forecast, "baseline");
    let actual = csv_column(&forecast, "actual");
    // The seasonal-naive baseline repeats the last cycle: a year's trend, 0.6, below the truth.
    for (b, a) in baseline.iter().zip(&actual) {
        assert!((a - b - 0.6).abs() < 1e-3, "{a} vs {b}");
    }
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("gen/metrics.json")).unwrap(),
    )
    .unwrap();
    assert!((metrics["baseline_mse"].as_f64().unwrap() - 0.36).abs() < 1e-3);
    assert!(metrics["forecast_mse"].as_f64().unwrap().is_finite());
    assert!(dir.path().join("gen/forecast.png").is_file());

    let longer = elman(
        dir.path(),
        &[
            "generate",
            "--from",
            "run",
            "--horizon",
            "30",
            "--out",
            "gen30",
        ],
    );
    assert!(longer.status.success(), "{}", stderr(&longer));
    let predicted = csv_column(&dir.path().join("gen30/forecast.csv"), "predicted");
    assert_eq!(predicted.len(), 30);
}

#[test]
fn bad_csv_data_is_one_line_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seasonal.toml"), SEASONAL).unwrap();
    std::fs::write(dir.path().join("series.csv"), "t,y\n0,1\n1,oops\n").unwrap();
    let output = elman(dir.path(), &["train", "--config", "seasonal.toml"]);
    assert_one_line_error(&output, "line 3: column `y`: `oops` is not a number");
    std::fs::write(dir.path().join("series.csv"), "t,z\n0,1\n").unwrap();
    let output = elman(dir.path(), &["train", "--config", "seasonal.toml"]);
    assert_one_line_error(&output, "no column `y` (the header has: t, z)");
    std::fs::remove_file(dir.path().join("series.csv")).unwrap();
    let output = elman(dir.path(), &["train", "--config", "seasonal.toml"]);
    assert_one_line_error(&output, "cannot read data");
    assert!(!dir.path().join("runs").exists());
}

/// Two input columns (the series and its time) predicting one: training and one-step
/// predictions work; a closed-loop forecast, which feeds the prediction back as the only
/// input, is refused in one line.
#[test]
fn several_input_columns_train_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("series.csv"), seasonal_csv()).unwrap();
    let config = SEASONAL.replace("target = \"y\"", "target = \"y\"\ninputs = [\"y\", \"t\"]");
    std::fs::write(dir.path().join("two.toml"), config).unwrap();
    let train = elman(
        dir.path(),
        &["train", "--config", "two.toml", "--out", "run"],
    );
    assert!(train.status.success(), "{}", stderr(&train));
    let predicted = csv_column(&dir.path().join("run/predictions.csv"), "predicted");
    assert_eq!(predicted.len(), 215);
    assert!(predicted.iter().all(|p| p.is_finite()));
    let generate = elman(dir.path(), &["generate", "--from", "run"]);
    assert_one_line_error(&generate, "needs csv.inputs to be the target alone");
}
