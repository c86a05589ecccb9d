//! The gated cells and biases through the binary: training, resuming,
//! the files, predicting and forecasting, and a cell that is not one.

use crate::util::*;

/// The seasonal series with `cell` (and a bias): a run of 4 epochs equals one of 2 resumed to
/// 4; the weights file names its tensors and says its cell; `predict` and `generate` use it.
/// Every cell's default path (the gated cells' layer, the Elman cell's hand-derived BPTT) agrees
/// with autodiff over the steps: `--autodiff` gives their losses within 1e-4.
#[test]
fn every_cell_trains_resumes_and_forecasts() {
    let cases = [
        (
            "lstm",
            true,
            4,
            "gradients: autodiff through the layer, the LSTM cell's window one operation",
        ),
        (
            "gru",
            false,
            3,
            "gradients: autodiff through the layer, the GRU cell's window one operation",
        ),
        ("elman", true, 1, "gradients: hand-derived BPTT"),
    ];
    for (cell, bias, gates, path) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("series.csv"), seasonal_csv()).unwrap();
        let config = SEASONAL
            .replace(
                "d_hidden = 8\n",
                &format!("d_hidden = 8\ncell = \"{cell}\"\nbias = {bias}\n"),
            )
            .replace("n_epochs = 3", "n_epochs = 4");
        std::fs::write(dir.path().join("cell.toml"), config).unwrap();
        let whole = elman(
            dir.path(),
            &["train", "--config", "cell.toml", "--out", "whole"],
        );
        assert!(whole.status.success(), "{cell}: {}", stderr(&whole));
        assert!(stderr(&whole).contains(path), "{}", stderr(&whole));
        let args = [
            "train",
            "--config",
            "cell.toml",
            "--epochs",
            "2",
            "--out",
            "part",
        ];
        let part = elman(dir.path(), &args);
        assert!(part.status.success(), "{cell}: {}", stderr(&part));
        let resumed = elman(dir.path(), &["train", "--resume", "part", "--epochs", "4"]);
        assert!(resumed.status.success(), "{cell}: {}", stderr(&resumed));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("part/losses.csv")).unwrap(),
            std::fs::read_to_string(dir.path().join("whole/losses.csv")).unwrap(),
            "{cell}: resumed and uninterrupted"
        );

        // The weights file: `w1` with a column block per gate and a bias row, `w2` likewise.
        let bytes = std::fs::read(dir.path().join("whole/weights.safetensors")).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let rows = 1 + usize::from(bias) + 8;
        assert_eq!(file.tensor("w1").unwrap().shape(), [rows, gates * 8]);
        assert_eq!(
            file.tensor("w2").unwrap().shape(),
            [8 + usize::from(bias), 1]
        );
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let format = header.metadata().clone().unwrap()["format"].clone();
        assert_eq!(format, format!("elman cell={cell} bias={bias}"));

        let args = [
            "train",
            "--config",
            "cell.toml",
            "--autodiff",
            "--out",
            "ad",
        ];
        let autodiff = elman(dir.path(), &args);
        assert!(autodiff.status.success(), "{}", stderr(&autodiff));
        let (hand, ad) = (
            csv_column(&dir.path().join("whole/losses.csv"), "loss"),
            csv_column(&dir.path().join("ad/losses.csv"), "loss"),
        );
        for (h, a) in hand.iter().zip(&ad) {
            assert!((h - a).abs() <= 1e-4 * a.abs().max(1.0), "{h} vs {a}");
        }
        let generate = elman(dir.path(), &["generate", "--from", "whole", "--out", "gen"]);
        assert!(generate.status.success(), "{cell}: {}", stderr(&generate));
        let predicted = csv_column(&dir.path().join("gen/forecast.csv"), "predicted");
        assert_eq!(predicted.len(), 12);
        assert!(predicted.iter().all(|p| p.is_finite()));
        let predict = elman(dir.path(), &["predict", "--from", "whole", "--out", "pred"]);
        assert!(predict.status.success(), "{cell}: {}", stderr(&predict));
        // Initial weights from a run of the same cell are taken; the tutorial's are refused.
        let again = elman(
            dir.path(),
            &[
                "train",
                "--config",
                "cell.toml",
                "--init-weights",
                "whole/init.safetensors",
                "--out",
                "again",
            ],
        );
        assert!(again.status.success(), "{cell}: {}", stderr(&again));
        assert_eq!(
            std::fs::read(dir.path().join("again/losses.csv")).unwrap(),
            std::fs::read(dir.path().join("whole/losses.csv")).unwrap()
        );
    }
}

/// A cell that is not one is one line naming the choices.
#[test]
fn an_unknown_cell_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("series.csv"), seasonal_csv()).unwrap();
    let config = SEASONAL.replace("d_hidden = 8\n", "d_hidden = 8\ncell = \"transformer\"\n");
    std::fs::write(dir.path().join("bad.toml"), config).unwrap();
    let output = elman(dir.path(), &["train", "--config", "bad.toml"]);
    assert_one_line_error(
        &output,
        "unknown variant `transformer`, expected one of `elman`, `lstm`, `gru`",
    );
}

/// `--cell` overrides the config's cell: the tutorial trained as an LSTM goes through the LSTM's
/// layer;
/// a cell that is not one is one line naming the choices.
#[test]
fn the_cell_flag_overrides_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let lstm = elman(
        dir.path(),
        &["--cell", "lstm", "--epochs", "2", "--out", "run"],
    );
    assert!(lstm.status.success(), "{}", stderr(&lstm));
    assert!(
        stderr(&lstm).contains("gradients: autodiff through the layer, the LSTM cell"),
        "{}",
        stderr(&lstm)
    );
    let bytes = std::fs::read(dir.path().join("run/weights.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("w1").unwrap().shape(), [7, 24]);
    let bad = elman(dir.path(), &["--cell", "transformer"]);
    assert_one_line_error(
        &bad,
        "invalid value 'transformer' for '--cell <CELL>' [possible values: elman, lstm, gru]",
    );
}
