//! Many series in one file, one network: long and wide forms, per-series outputs, and the
//! errors of a panel's settings.

use crate::util::*;

/// Three seasonal series of different levels and sizes, `(name, value at t)`, 120 months each.
fn value(series: usize, t: usize) -> f64 {
    let (level, size) = [(10.0, 1.0), (100.0, 8.0), (-5.0, 0.5)][series];
    level + 0.05 * size * t as f64 + size * (std::f64::consts::TAU * t as f64 / 12.0).sin()
}

const NAMES: [&str; 3] = ["north", "south", "west"];

/// The series in long form (`id,month,value`, series after series) and in wide form
/// (`month,north,south,west`).
fn files() -> (String, String) {
    let month = |t: usize| format!("{}-{:02}-01", 2000 + t / 12, 1 + t % 12);
    let mut long = String::from("id,month,value\n");
    for (s, name) in NAMES.iter().enumerate() {
        for t in 0..120 {
            long.push_str(&format!("{name},{},{}\n", month(t), value(s, t)));
        }
    }
    let mut wide = String::from("month,north,south,west\n");
    for t in 0..120 {
        wide.push_str(&format!(
            "{},{},{},{}\n",
            month(t),
            value(0, t),
            value(1, t),
            value(2, t)
        ));
    }
    (long, wide)
}

fn config(csv: &str) -> String {
    SEASONAL
        .replace("path = \"series.csv\"\ntarget = \"y\"\n", csv)
        .replace("missing = \"interpolate\"\n", "time = \"month\"\n")
}

/// The long and the wide form of the same three series train the same network (the same
/// losses, bit for bit); the files hold every series under its name, the metrics each series'
/// own; a forecast covers each series' held-out year, a backtest pools every series' origins.
#[test]
fn long_and_wide_forms_train_one_network_over_all_series() {
    let dir = tempfile::tempdir().unwrap();
    let (long, wide) = files();
    std::fs::write(dir.path().join("long.csv"), long).unwrap();
    std::fs::write(dir.path().join("wide.csv"), wide).unwrap();
    let long_config = config("path = \"long.csv\"\nseries = \"id\"\ntarget = \"value\"\n");
    let wide_config = config("path = \"wide.csv\"\ntargets = [\"north\", \"south\", \"west\"]\n");
    std::fs::write(dir.path().join("long.toml"), long_config).unwrap();
    std::fs::write(dir.path().join("wide.toml"), wide_config).unwrap();
    for form in ["long", "wide"] {
        let config = format!("{form}.toml");
        let train = elman(dir.path(), &["train", "--config", &config, "--out", form]);
        assert!(train.status.success(), "{}", stderr(&train));
    }
    let losses = |form: &str| std::fs::read(dir.path().join(form).join("losses.csv")).unwrap();
    assert_eq!(losses("long"), losses("wide"));

    // Every series' one-step predictions, from February 2001 (after the 12 rows the
    // differencing uses) to the last month before the held-out year.
    let predictions = std::fs::read_to_string(dir.path().join("long/predictions.csv")).unwrap();
    let mut lines = predictions.lines();
    assert_eq!(lines.next(), Some("series,month,actual,predicted"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3 * 95);
    for (s, name) in NAMES.iter().enumerate() {
        let first = &rows[s * 95];
        assert_eq!((first[0], first[1]), (*name, "2001-02-01"));
        let actual: f64 = first[2].parse().unwrap();
        assert!((actual - value(s, 13)).abs() < 1e-3 * (1.0 + actual.abs()));
    }
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("long/metrics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(metrics["series_count"], 3);
    for name in NAMES {
        let mse = metrics["series"][name]["valid_mse_original_units"].as_f64();
        assert!(mse.is_some_and(f64::is_finite), "{metrics}");
    }

    let generate = elman(dir.path(), &["generate", "--from", "long", "--out", "gen"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    let forecast = std::fs::read_to_string(dir.path().join("gen/forecast.csv")).unwrap();
    let rows: Vec<&str> = forecast.lines().skip(1).collect();
    assert_eq!(rows.len(), 3 * 12);
    assert!(rows[12].starts_with("south,2009-01-01,"), "{}", rows[12]);
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("gen/metrics.json")).unwrap(),
    )
    .unwrap();
    // The seasonal-naive baseline of each series misses its year's trend: 0.6 times its size
    // at every step, so its MSE is that squared, and the mean over the series is by hand.
    let baseline: Vec<f64> = NAMES
        .iter()
        .map(|n| metrics["series"][n]["baseline_mse"].as_f64().unwrap())
        .collect();
    for (b, size) in baseline.iter().zip([1.0, 8.0, 0.5]) {
        assert!((b - (0.6f64 * size).powi(2)).abs() < 1e-2 * b, "{b}");
    }
    let mean = baseline.iter().sum::<f64>() / 3.0;
    assert!((metrics["baseline_mse"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert!((metrics["baseline_mase_median"].as_f64().unwrap() - 1.0).abs() < 0.01);
    // A chart per series, two to a row: 2 x 2 places of 600 x 420 pixels for three series.
    for picture in ["gen/forecast.png", "long/predictions.png"] {
        let png = std::fs::read(dir.path().join(picture)).unwrap();
        let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!((size(16), size(20)), (1200, 840), "{picture}");
    }

    let backtest = elman(
        dir.path(),
        &[
            "backtest",
            "--from",
            "wide",
            "--origins",
            "4",
            "--horizon",
            "6",
            "--out",
            "bt",
        ],
    );
    assert!(backtest.status.success(), "{}", stderr(&backtest));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bt/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        (metrics["origins"].as_u64(), metrics["series"].as_u64()),
        (Some(12), Some(3))
    );
    assert!((metrics["seasonal_naive"]["mase"].as_f64().unwrap() - 1.0).abs() < 0.02);
}

/// A panel's settings and data, wrong: each one `error:` line and exit 2.
#[test]
fn panel_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (long, _) = files();
    std::fs::write(dir.path().join("long.csv"), &long).unwrap();
    let cases = [
        (
            "path = \"long.csv\"\nseries = \"site\"\ntarget = \"value\"\n",
            "no column `site` (the header has: id, month, value)",
        ),
        (
            "path = \"long.csv\"\nseries = \"id\"\ntargets = [\"value\"]\n",
            "csv.series (many series in long form) and csv.targets (in wide form) exclude each other",
        ),
        (
            "path = \"long.csv\"\nseries = \"id\"\ntarget = \"value\"\ninputs = [\"value\"]\n",
            "csv.inputs is for one series",
        ),
        (
            "path = \"short.csv\"\nseries = \"id\"\ntarget = \"value\"\n",
            "series `west`: the training part has",
        ),
    ];
    // `west` cut to three years: 24 rows after differencing, 12 held out, too few to train a
    // window of 24 on.
    let short: String = long
        .lines()
        .filter(|l| !l.starts_with("west,") || l[5..9].parse::<u32>().unwrap() < 2003)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("short.csv"), short).unwrap();
    for (csv, needle) in cases {
        std::fs::write(dir.path().join("bad.toml"), config(csv)).unwrap();
        let output = elman(dir.path(), &["train", "--config", "bad.toml"]);
        assert_one_line_error(&output, needle);
    }
}

/// Six series: `predictions.csv` holds the four the pictures show unless
/// `predictions = "all"` asks for every one; the metrics hold all six either way.
#[test]
fn a_panel_writes_the_shown_series_predictions_unless_asked_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = String::from("id,month,value\n");
    for s in 0..6 {
        for t in 0..120 {
            let month = format!("{}-{:02}-01", 2000 + t / 12, 1 + t % 12);
            long.push_str(&format!("s{s},{month},{}\n", value(s % 3, t) + s as f64));
        }
    }
    std::fs::write(dir.path().join("long.csv"), long).unwrap();
    let csv = "path = \"long.csv\"\nseries = \"id\"\ntarget = \"value\"\n";
    std::fs::write(dir.path().join("shown.toml"), config(csv)).unwrap();
    std::fs::write(
        dir.path().join("all.toml"),
        config(&format!("{csv}predictions = \"all\"\n")),
    )
    .unwrap();
    for (name, want) in [("shown", 4), ("all", 6)] {
        let config = format!("{name}.toml");
        let train = elman(dir.path(), &["train", "--config", &config, "--out", name]);
        assert!(train.status.success(), "{}", stderr(&train));
        let text = std::fs::read_to_string(dir.path().join(name).join("predictions.csv")).unwrap();
        let ids: std::collections::BTreeSet<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(ids.len(), want, "{name}: {ids:?}");
        let metrics: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(name).join("metrics.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(metrics["series"].as_object().unwrap().len(), 6, "{name}");
    }
}

/// A panel whose memory estimate does not fit what the run may take (`ELMAN_MEMORY`, here half a
/// megabyte) is refused with the figure before anything is read or written: no folder is made.
/// A limit that is not a number is one error naming it.
#[test]
fn a_panel_that_does_not_fit_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = String::from("id,month,value\n");
    for s in 0..30 {
        for t in 0..1000 {
            long.push_str(&format!("s{s},{t},{}\n", value(s % 3, t)));
        }
    }
    std::fs::write(dir.path().join("long.csv"), long).unwrap();
    let csv = "path = \"long.csv\"\nseries = \"id\"\ntarget = \"value\"\n";
    std::fs::write(dir.path().join("big.toml"), config(csv)).unwrap();
    let run = |limit: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_elman"))
            .args(["train", "--config", "big.toml", "--out", "run"])
            .env("ELMAN_MEMORY", limit)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let refused = run("500000");
    assert_one_line_error(&refused, "long.csv: about ");
    assert!(
        stderr(&refused).contains("more than the 488.3 KiB available"),
        "{}",
        stderr(&refused)
    );
    assert!(!dir.path().join("run").exists());
    assert_one_line_error(
        &run("a lot"),
        "ELMAN_MEMORY must be a number of bytes, got `a lot`",
    );
    let taken = run("1000000000");
    assert!(taken.status.success(), "{}", stderr(&taken));
}
