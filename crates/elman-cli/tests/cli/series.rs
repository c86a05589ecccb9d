//! A user's series through the binary: training, one-step predictions and closed-loop forecasts.

use crate::util::*;

#[test]
fn predict_and_generate_use_a_trained_run() {
    let dir = tempfile::tempdir().unwrap();
    train_seasonal(dir.path(), &[]);

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
    // Every error of the baseline is the year's trend, 0.6, and so is the in-sample error of
    // the seasonal-naive forecast that scales the MASE: about 1.
    assert!((metrics["baseline_mae"].as_f64().unwrap() - 0.6).abs() < 1e-3);
    assert!((metrics["baseline_mase"].as_f64().unwrap() - 1.0).abs() < 0.01);
    for key in [
        "forecast_mae",
        "forecast_smape",
        "forecast_mase",
        "baseline_smape",
    ] {
        assert!(metrics[key].as_f64().unwrap().is_finite(), "{key}");
    }
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

/// A rolling-origin backtest of a trained run: five origins, six steps ahead. The
/// seasonal-naive baseline is off by the year's trend, 0.6, at every step, as is the in-sample
/// error that scales its MASE: about 1 at every step. Too many origins, or none, is one line.
#[test]
fn backtest_scores_every_step_against_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    train_seasonal(dir.path(), &[]);

    let args = [
        "backtest",
        "--from",
        "run",
        "--origins",
        "5",
        "--horizon",
        "6",
        "--out",
        "bt",
    ];
    let output = elman(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("elman: backtest of 5 origins, 6 steps ahead: MASE model "),
        "{}",
        stderr(&output)
    );
    let csv = dir.path().join("bt/backtest.csv");
    assert_eq!(csv_column(&csv, "step"), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    for (mae, mase) in csv_column(&csv, "seasonal_naive_mae")
        .iter()
        .zip(csv_column(&csv, "seasonal_naive_mase"))
    {
        assert!((mae - 0.6).abs() < 1e-3, "{mae}");
        assert!((mase - 1.0).abs() < 0.01, "{mase}");
    }
    assert!(csv_column(&csv, "model_rmse").iter().all(|v| v.is_finite()));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bt/metrics.json")).unwrap())
            .unwrap();
    // 228 rows after differencing by 12; the last of 5 origins leaves 6 steps: 218..=222.
    assert_eq!(metrics["first_origin"], 218);
    assert_eq!(metrics["origins"], 5);
    // The held-out year starts at 216: every origin is past it.
    assert_eq!(metrics["origins_before_held_out"], 0);
    assert!(metrics["naive"]["mase"].as_f64().unwrap() > 0.0);
    assert!(dir.path().join("bt/backtest.png").is_file());
    // Intervals from the errors known before each origin: the fifth origin knows 4 + 3 + 2 + 1
    // of the earlier forecasts' errors, the ten it needs; the first four have none of their own.
    let intervals = &metrics["model_intervals"];
    assert_eq!(intervals["forecasts"], 1, "{intervals}");
    assert_eq!(intervals["values"], 6, "{intervals}");
    let (c80, c95) = (
        intervals["coverage_80"].as_f64().unwrap(),
        intervals["coverage_95"].as_f64().unwrap(),
    );
    assert!(
        (0.0..=1.0).contains(&c80) && c80 <= c95 && c95 <= 1.0,
        "{intervals}"
    );
    assert!(
        stderr(&output).contains("the model's intervals, from its errors before each origin"),
        "{}",
        stderr(&output)
    );

    let output = elman(
        dir.path(),
        &[
            "backtest",
            "--from",
            "run",
            "--origins",
            "300",
            "--horizon",
            "6",
        ],
    );
    assert_one_line_error(
        &output,
        "300 origins of 6 steps need 306 values, the series has 228",
    );
    let output = elman(dir.path(), &["backtest", "--from", "run", "--origins", "0"]);
    assert_one_line_error(
        &output,
        "a backtest needs a horizon and a number of origins of at least 1",
    );
}

/// The seasonal series with a date per row (monthly, from January 2000): the files' first
/// column is the date as the file writes it, the forecast past the file's end continues the
/// dates by the median step (31 days here: January to February), and a row whose date is not
/// one is one line naming it.
#[test]
fn a_time_column_names_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("month,y\n");
    for (t, line) in seasonal_csv().lines().skip(1).enumerate() {
        let (year, month) = (2000 + t / 12, 1 + t % 12);
        let value = line.split(',').nth(1).unwrap();
        csv.push_str(&format!("{year}-{month:02}-01,{value}\n"));
    }
    std::fs::write(dir.path().join("series.csv"), &csv).unwrap();
    let config = SEASONAL.replace(
        "target = \"y\"",
        "target = \"y\"\ntime = \"month\"\nunits = \"kg\"",
    );
    std::fs::write(dir.path().join("dated.toml"), &config).unwrap();
    let train = elman(
        dir.path(),
        &["train", "--config", "dated.toml", "--out", "run"],
    );
    assert!(train.status.success(), "{}", stderr(&train));
    let predictions = std::fs::read_to_string(dir.path().join("run/predictions.csv")).unwrap();
    // Row 13 of the series (after the 12 rows the differencing uses) is February 2001.
    assert!(
        predictions.starts_with("month,actual,predicted\n2001-02-01,"),
        "{}",
        &predictions[..80]
    );

    let generate = elman(
        dir.path(),
        &[
            "generate",
            "--from",
            "run",
            "--horizon",
            "14",
            "--out",
            "gen",
        ],
    );
    assert!(generate.status.success(), "{}", stderr(&generate));
    let forecast = std::fs::read_to_string(dir.path().join("gen/forecast.csv")).unwrap();
    let months: Vec<&str> = forecast
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap())
        .collect();
    // The held-out year 2019, then two steps past the file's last row (2019-12-01).
    assert_eq!(months.len(), 14);
    assert_eq!(months[0], "2019-01-01");
    assert_eq!(months[11], "2019-12-01");
    assert_eq!(&months[12..], ["2020-01-01", "2020-02-01"]);

    let broken = csv.replace("2005-06-01", "June 2005");
    std::fs::write(dir.path().join("series.csv"), broken).unwrap();
    let output = elman(dir.path(), &["train", "--config", "dated.toml"]);
    assert_one_line_error(
        &output,
        "line 67: column `month`: `June 2005` is not a date like the first row's `2000-01-01`",
    );
}
