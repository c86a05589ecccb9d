//! `elman forecast`: a CSV file to a forecast with no config; its choices by validation, its
//! files, the config it writes, and its refusals of bad input.

use std::path::Path;

use crate::util::*;

/// Standard normal draws from a fixed seed (an LCG and Box–Muller), so every test's series is
/// the same on every run.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

/// `date,y` with monthly dates from January 2000 and `values`.
fn monthly_csv(dir: &Path, name: &str, values: &[f64]) -> String {
    let mut text = String::from("date,y\n");
    for (i, v) in values.iter().enumerate() {
        text.push_str(&format!("{}-{:02}-01,{v}\n", 2000 + i / 12, i % 12 + 1));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `step,y` with the row numbers as the time and `values`.
fn numbered_csv(dir: &Path, name: &str, values: &[f64]) -> String {
    let mut text = String::from("step,y\n");
    for (i, v) in values.iter().enumerate() {
        text.push_str(&format!("{i},{v}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

/// Runs `elman forecast` and returns its folder's metrics, after checking that the chosen
/// candidate is the one with the lowest validation MASE of all it tried.
fn forecast(dir: &Path, csv: &str, time: &str, horizon: usize) -> serde_json::Value {
    let out = dir.join("fc");
    let output = elman(
        dir,
        &[
            "forecast",
            "--csv",
            csv,
            "--target",
            "y",
            "--time",
            time,
            "--horizon",
            &horizon.to_string(),
            "--ensemble",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let metrics = metrics(&out);
    let candidates = metrics["candidates"].as_array().unwrap();
    let lowest = candidates
        .iter()
        .min_by(|a, b| {
            let score = |c: &serde_json::Value| c["mase"].as_f64().unwrap_or(f64::INFINITY);
            score(a).total_cmp(&score(b))
        })
        .unwrap();
    assert_eq!(
        lowest["candidate"],
        metrics["chosen"]["candidate"],
        "{}",
        stderr(&output)
    );
    metrics
}

/// A seasonal random walk (each month the same month a year before, plus noise): the calendar
/// gives the season, and the seasonal difference, which leaves only the noise, validates best.
#[test]
fn a_seasonal_series_gets_its_season_and_its_difference() {
    let dir = tempfile::tempdir().unwrap();
    let noise = normals(1, 144);
    let pattern = [
        5.0, 3.0, 8.0, 1.0, -2.0, 4.0, 9.0, 0.0, -4.0, 2.0, 6.0, -1.0,
    ];
    let mut values: Vec<f64> = pattern.iter().map(|p| 50.0 + p).collect();
    for t in 12..144 {
        values.push(values[t - 12] + 0.8 * noise[t]);
    }
    let csv = monthly_csv(dir.path(), "seasonal.csv", &values);
    let metrics = forecast(dir.path(), &csv, "date", 12);
    assert_eq!(metrics["season"], 12);
    assert_eq!(metrics["season_from"], "calendar");
    let lags = metrics["chosen"]["difference"].as_array().unwrap();
    assert!(
        lags.contains(&serde_json::json!(12)),
        "{}",
        metrics["chosen"]
    );
}

/// Growth by a steady 3% a step with noise in the rate: the log's first difference is the rate,
/// stationary, where the levels' differences grow with the series.
#[test]
fn a_trended_positive_series_gets_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let noise = normals(2, 120);
    let mut level = 10.0f64;
    let values: Vec<f64> = noise
        .iter()
        .map(|e| {
            level *= (0.03 + 0.01 * e).exp();
            level
        })
        .collect();
    let csv = numbered_csv(dir.path(), "growth.csv", &values);
    let metrics = forecast(dir.path(), &csv, "step", 6);
    assert_eq!(metrics["chosen"]["log"], true, "{}", metrics["chosen"]);
}

/// Noise around 0 has no season, and its levels forecast better than its differences.
#[test]
fn white_noise_gets_no_transformation() {
    let dir = tempfile::tempdir().unwrap();
    let values = normals(3, 240);
    let csv = numbered_csv(dir.path(), "noise.csv", &values);
    let metrics = forecast(dir.path(), &csv, "step", 12);
    assert_eq!(metrics["season"], 0);
    assert_eq!(metrics["season_from"], "autocorrelation");
    let chosen = &metrics["chosen"];
    assert_eq!(chosen["log"], false, "{chosen}");
    assert_eq!(chosen["deseasonalize"], false, "{chosen}");
    assert_eq!(chosen["difference"], serde_json::json!([]), "{chosen}");
}

/// The command's files: the forecast continuing the dates by months with nested intervals
/// around it, each network's forecast, the picture, the metrics and a config that
/// `elman train --config` trains with the chosen settings.
#[test]
fn a_forecast_writes_its_files_and_a_config_that_trains() {
    let dir = tempfile::tempdir().unwrap();
    let noise = normals(4, 96);
    let values: Vec<f64> = (0..96)
        .map(|t| {
            100.0
                + 0.5 * t as f64
                + 10.0 * (std::f64::consts::TAU * t as f64 / 12.0).sin()
                + noise[t]
        })
        .collect();
    let csv = monthly_csv(dir.path(), "sales.csv", &values);
    let metrics = forecast(dir.path(), &csv, "date", 8);
    let out = dir.path().join("fc");

    let table = std::fs::read_to_string(out.join("forecast.csv")).unwrap();
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("date,predicted,lo80,hi80,lo95,hi95"));
    let dates: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(dates.len(), 8);
    // The file ends in December 2007: the forecast runs from January 2008.
    assert_eq!((dates[0], dates[7]), ("2008-01-01", "2008-08-01"));
    let column = |name| csv_column(&out.join("forecast.csv"), name);
    let (mid, lo80, hi80, lo95, hi95) = (
        column("predicted"),
        column("lo80"),
        column("hi80"),
        column("lo95"),
        column("hi95"),
    );
    for h in 0..8 {
        assert!(
            lo95[h] < lo80[h] && lo80[h] < mid[h] && mid[h] < hi80[h] && hi80[h] < hi95[h],
            "step {h}: {} {} {} {} {}",
            lo95[h],
            lo80[h],
            mid[h],
            hi80[h],
            hi95[h]
        );
        // The series is near 150 there: the forecast is in its range.
        assert!((120.0..180.0).contains(&mid[h]), "step {h}: {}", mid[h]);
    }
    // members.csv: a column per network, 3 seeds for each combined candidate; their mean is
    // the forecast.
    let members = std::fs::read_to_string(out.join("members.csv")).unwrap();
    let header: Vec<&str> = members.lines().next().unwrap().split(',').collect();
    let combined = metrics["combined"].as_array().unwrap().len();
    assert_eq!(header.len(), 1 + 3 * combined, "{header:?}");
    assert_eq!(metrics["networks"], 3 * combined);
    let first: Vec<f64> = header[1..]
        .iter()
        .map(|name| csv_column(&out.join("members.csv"), name)[0])
        .collect();
    let mean = first.iter().sum::<f64>() / first.len() as f64;
    assert!((mean - mid[0]).abs() < 1e-3, "{mean} vs {}", mid[0]);
    assert!(out.join("forecast.png").is_file());
    assert_eq!(metrics["horizon"], 8);
    // A trend and a season: the networks forecast, far below the no-change forecast's score.
    assert_eq!(metrics["forecast"], "networks");
    assert!(
        metrics["combined_validation_mase"]
            .as_f64()
            .unwrap()
            .is_finite()
    );

    // The config trains the best candidate's network again.
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    let chosen = &metrics["chosen"];
    assert!(
        config.contains(&format!("window = {}", chosen["window"])),
        "{config}"
    );
    assert_eq!(
        config.contains("log = true"),
        chosen["log"].as_bool().unwrap(),
        "{config}"
    );
    let trained = elman(
        dir.path(),
        &[
            "train",
            "--config",
            out.join("config.toml").to_str().unwrap(),
            "--out",
            dir.path().join("again").to_str().unwrap(),
        ],
    );
    assert!(trained.status.success(), "{}", stderr(&trained));
    assert!(dir.path().join("again/weights.safetensors").is_file());
}

/// A random walk that stops: its last 40 values are its value at step 120 (a price held, a
/// stuck sensor). The last value repeated forecasts every validation origin exactly, so no
/// network validates 10% below it, and the forecast is no change: the last value at every
/// step, its intervals from the no-change forecast's validation errors, and one `no_change`
/// column in `members.csv` in place of the networks.
#[test]
fn a_series_that_stopped_is_forecast_as_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut level = 100.0;
    let values: Vec<f64> = normals(5, 160)
        .iter()
        .enumerate()
        .map(|(t, e)| {
            if t < 120 {
                level += e;
            }
            level
        })
        .collect();
    let csv = numbered_csv(dir.path(), "held.csv", &values);
    let metrics = forecast(dir.path(), &csv, "step", 6);
    let out = dir.path().join("fc");
    assert_eq!(metrics["forecast"], "no change", "{metrics}");
    assert_eq!(metrics["networks"], 0);
    let (combined, no_change) = (
        metrics["combined_validation_mase"].as_f64().unwrap(),
        metrics["no_change_validation_mase"].as_f64().unwrap(),
    );
    assert_eq!(no_change, 0.0);
    assert!(combined > 0.0, "{combined}");
    let column = |name| csv_column(&out.join("forecast.csv"), name);
    let last = *values.last().unwrap();
    for (h, (mid, (lo, hi))) in column("predicted")
        .iter()
        .zip(column("lo80").iter().zip(column("hi80")))
        .enumerate()
    {
        assert!((mid - last).abs() < 1e-3, "step {h}: {mid} vs {last}");
        // No validation error: an interval of no width.
        assert!(
            (lo - mid).abs() < 1e-3 && (hi - mid).abs() < 1e-3,
            "step {h}: {lo} {hi}"
        );
    }
    let members = std::fs::read_to_string(out.join("members.csv")).unwrap();
    assert_eq!(members.lines().next(), Some("step,no_change"));
    assert!(out.join("forecast.png").is_file());
}

/// A series on a straight line: the drift forecast (the line through the first and the last
/// value, continued) forecasts every validation origin exactly, better than no change, so the
/// forecast is the line continued, with one `drift` column in `members.csv`.
#[test]
fn a_series_on_a_line_is_forecast_as_drift() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..60).map(|t| 50.0 + 0.5 * t as f64).collect();
    let csv = numbered_csv(dir.path(), "line.csv", &values);
    let metrics = forecast(dir.path(), &csv, "step", 6);
    let out = dir.path().join("fc");
    assert_eq!(metrics["forecast"], "drift", "{metrics}");
    assert_eq!(metrics["networks"], 0);
    assert_eq!(metrics["drift_validation_mase"].as_f64(), Some(0.0));
    assert!(metrics["no_change_validation_mase"].as_f64().unwrap() > 0.0);
    let last = *values.last().unwrap();
    for (h, mid) in csv_column(&out.join("forecast.csv"), "predicted")
        .iter()
        .enumerate()
    {
        let line = last + 0.5 * (h + 1) as f64;
        assert!((mid - line).abs() < 1e-3, "step {h}: {mid} vs {line}");
    }
    let members = std::fs::read_to_string(out.join("members.csv")).unwrap();
    assert_eq!(members.lines().next(), Some("step,drift"));
}

/// Bad input: one `error:` line naming it, exit 2, and no folder left behind.
#[test]
fn bad_input_is_one_error_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..60).map(|t| 10.0 + (t as f64 * 0.5).sin()).collect();
    let csv = numbered_csv(dir.path(), "s.csv", &values);
    let short = numbered_csv(dir.path(), "short.csv", &values[..10]);
    let gappy = dir.path().join("gappy.csv");
    let mut text = String::from("step,y\n");
    for (i, v) in values.iter().enumerate() {
        match i {
            30 => text.push_str("30,\n"),
            _ => text.push_str(&format!("{i},{v}\n")),
        }
    }
    std::fs::write(&gappy, text).unwrap();
    let gappy = gappy.to_str().unwrap().to_string();
    let dates = dir.path().join("dates.csv");
    std::fs::write(&dates, "date,y\n2000-01-01,1\n2000-02-01,2\nsoon,3\n").unwrap();
    let dates = dates.to_str().unwrap().to_string();
    let out = dir.path().join("fc");
    let out_arg = out.to_str().unwrap().to_string();
    let cases: [(Vec<&str>, &str); 7] = [
        (
            vec!["--csv", &gappy, "--target", "y", "--horizon", "6"],
            "line 32: column `y` has no value",
        ),
        (
            vec!["--csv", &csv, "--target", "sales", "--horizon", "6"],
            "sales",
        ),
        (
            vec!["--csv", &csv, "--target", "y", "--horizon", "0"],
            "--horizon must be at least 1",
        ),
        (
            vec!["--csv", &csv, "--target", "y", "--horizon", "40"],
            "too few to validate a forecast of 40 steps",
        ),
        (
            vec!["--csv", &short, "--target", "y", "--horizon", "2"],
            "too few to validate",
        ),
        (
            vec![
                "--csv",
                &dates,
                "--target",
                "y",
                "--time",
                "date",
                "--horizon",
                "1",
            ],
            "line 4",
        ),
        (
            vec![
                "--csv",
                &csv,
                "--target",
                "y",
                "--time",
                "when",
                "--horizon",
                "1",
            ],
            "when",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["forecast"];
        all.extend(args);
        all.extend(["--out", &out_arg]);
        let output = elman(dir.path(), &all);
        assert_one_line_error(&output, needle);
        assert!(!out.exists(), "{all:?} left {}", out.display());
    }
    // With `--missing interpolate` the gap is filled, and the written config says so.
    let output = elman(
        dir.path(),
        &[
            "forecast",
            "--csv",
            &gappy,
            "--target",
            "y",
            "--horizon",
            "6",
            "--missing",
            "interpolate",
            "--ensemble",
            "1",
            "--out",
            &out_arg,
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("missing = \"interpolate\""), "{config}");
}

/// A `[csv]` section of one monthly series that writes no season, no transformation and no
/// window has them chosen as `elman forecast` chooses them, with the run's own network, over
/// the rows before the held-out year; the run's `config.toml` writes what was chosen. One that
/// writes them (the seasonal test config) chooses nothing.
#[test]
fn a_csv_section_leaves_its_open_choices_to_validation() {
    let dir = tempfile::tempdir().unwrap();
    let noise = normals(5, 120);
    let values: Vec<f64> = (0..120)
        .map(|t| {
            50.0 + 0.2 * t as f64 + 5.0 * (std::f64::consts::TAU * t as f64 / 12.0).sin() + noise[t]
        })
        .collect();
    monthly_csv(dir.path(), "sales.csv", &values);
    std::fs::write(
        dir.path().join("open.toml"),
        "backend = \"flex\"\n[model]\nd_hidden = 8\nbias = true\n[csv]\npath = \"sales.csv\"\ntarget = \"y\"\ntime = \"date\"\nstride = 1\ntest_steps = 12\n[train]\nn_epochs = 5\nbatch_size = 8\noptimizer = \"adam\"\nloss = \"mse\"\nlr = 0.01\n",
    )
    .unwrap();
    let output = elman(
        dir.path(),
        &["train", "--config", "open.toml", "--out", "run"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("[csv] leaves the transformation and the window open: choosing by validation, with season 12 (calendar)"),
        "{err}"
    );
    assert!(err.contains("elman: best candidate "), "{err}");
    let written = std::fs::read_to_string(dir.path().join("run/config.toml")).unwrap();
    let settled: toml::Table = written.parse().unwrap();
    let csv = settled["csv"].as_table().unwrap();
    assert_eq!(csv["season"].as_integer(), Some(12), "{written}");
    for key in ["window", "difference", "log", "deseasonalize"] {
        assert!(csv.contains_key(key), "{key} not written: {written}");
    }
    // The chosen window is one of the candidates: two seasons, or four.
    assert!(
        [24, 48].contains(&csv["window"].as_integer().unwrap()),
        "{written}"
    );
    // The held-out year is still held out, and the run forecasts it.
    let generate = elman(dir.path(), &["generate", "--from", "run", "--out", "gen"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    assert_eq!(
        csv_column(&dir.path().join("gen/forecast.csv"), "actual").len(),
        12
    );

    // Everything written: nothing chosen.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("series.csv"), seasonal_csv()).unwrap();
    std::fs::write(other.path().join("seasonal.toml"), SEASONAL).unwrap();
    let output = elman(
        other.path(),
        &["train", "--config", "seasonal.toml", "--out", "run"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("choosing"), "{}", stderr(&output));
}
