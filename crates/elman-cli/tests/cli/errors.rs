//! Bad input of every kind: one `error:` line naming the problem, exit code 2, and nothing a
//! user wrote lost or half-overwritten.

use std::process::Command;

use crate::util::*;

#[test]
fn unknown_backend_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = elman(dir.path(), &["--backend", "tpu"]);
    assert_one_line_error(
        &output,
        "invalid value 'tpu' for '--backend <NAME>' [possible values: ndarray, flex, wgpu, cuda]",
    );
}

/// `--threads` takes a count of at least 1: 0 or a word is one line; 1 and 2 train the same
/// tutorial.
#[test]
fn threads_are_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let zero = elman(dir.path(), &["--threads", "0", "--epochs", "1"]);
    assert_one_line_error(&zero, "invalid value '0' for '--threads <N>'");
    let word = elman(dir.path(), &["--threads", "all", "--epochs", "1"]);
    assert_one_line_error(&word, "invalid value 'all' for '--threads <N>'");
    for threads in ["1", "2"] {
        let run = elman(
            dir.path(),
            &["--threads", threads, "--epochs", "20", "--out", threads],
        );
        assert!(run.status.success(), "{}", stderr(&run));
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("1/losses.csv")).unwrap(),
        std::fs::read_to_string(dir.path().join("2/losses.csv")).unwrap()
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
            "backend.toml:1: unknown variant `tpu`, expected one of `ndarray`, `flex`, `wgpu`, `cuda`",
        ),
        (
            "optimizer.toml",
            "[train]\noptimizer = \"adamw\"\n",
            "optimizer.toml:2: unknown variant `adamw`, expected `sgd` or `adam`",
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

/// Settings that parse but cannot run are refused before anything is written, naming the key
/// and its range: `--epochs 0` used to write half a run folder and then fail.
#[test]
fn settings_out_of_range_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_s) = out_arg(dir.path(), "run");
    for (flags, needle) in [
        (&["--epochs", "0"][..], "train.n_epochs must be at least 1"),
        (
            &["--lr", "0"][..],
            "train.lr must be a finite number above 0, got 0",
        ),
        (
            &["--lr", "inf"][..],
            "train.lr must be a finite number above 0, got inf",
        ),
        (
            &["--lr=-0.1"][..],
            "train.lr must be a finite number above 0, got -0.1",
        ),
    ] {
        let mut args = flags.to_vec();
        args.extend(["--out", &out_s]);
        let output = elman(dir.path(), &args);
        assert_one_line_error(&output, needle);
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
    }
    let big = "[model]\nd_hidden = 100000\n";
    std::fs::write(dir.path().join("big.toml"), big).unwrap();
    let output = elman(dir.path(), &["--config", "big.toml", "--out", &out_s]);
    assert_one_line_error(
        &output,
        "the run would need about 372.5 GiB of memory (model.d_hidden = 100000",
    );
    assert!(!out.exists());
}

/// A checkpoint whose config was changed to name two input columns, while its weights take
/// one, is refused in one line by `predict` (it used to panic with an index out of bounds).
#[test]
fn a_checkpoint_that_does_not_fit_its_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    train_seasonal(dir.path(), &["--epochs", "1"]);
    let checkpoint = dir.path().join("run/checkpoint.safetensors");
    rewrite_metadata(&checkpoint, "config", |config| {
        config.replace("inputs = []", "inputs = [\"y\", \"t\"]")
    });
    for command in ["predict", "generate"] {
        let output = elman(dir.path(), &[command, "--from", "run", "--out", command]);
        assert_one_line_error(
            &output,
            "the checkpoint's weights do not fit its config (2 inputs, model.d_hidden = 8): tensor `w1` has shape [9, 8], expected [10, 8]",
        );
        assert!(!dir.path().join(command).exists());
    }
    let resume = elman(dir.path(), &["train", "--resume", "run", "--epochs", "2"]);
    assert_one_line_error(&resume, "the checkpoint's weights do not fit its config");
}
