//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in order: formatting, clippy with warnings denied (also on
//!   `elman-model` and `elman-train` without a backend feature), the whole
//!   test suite, the docs with warnings denied, a smoke run of the binary on each backend, and
//!   the Burn user's example (`elman-model`'s `burn_layer`) on flex and wgpu.
//!   First it makes sure the `wgpu` tests have a Vulkan driver to run on. Last it runs
//!   `examples`.
//! - `bench`: the benchmark suite (see `bench.rs`).
//! - `examples`: trains `configs/sines.toml`, `configs/co2.toml` and `configs/memory.toml` (with
//!   both cells), forecasts the held-out CO2
//!   year and backtests it from 20 origins, and checks the results the README reports: a
//!   validation MSE below 1e-3 on the waves, and a CO2 forecast and backtest better than the
//!   seasonal-naive baseline.

mod bench;
#[cfg(test)]
mod tidy;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("examples") => examples(),
        Some("bench") => bench::bench(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

const HELP: &str = "usage: cargo xtask <task>

tasks:
  ci        fmt check, clippy -D warnings, tests, docs, smoke runs on ndarray and wgpu,
            the burn_layer example on flex and wgpu, examples
  examples  train configs/sines.toml, co2.toml and memory.toml and check the README's results
  bench     the benchmark suite in release mode (target/bench/results.jsonl and results.md)
              --compare          also run bench/pytorch/ (needs python3 with torch) and show ratios
              --check            also build the last release (bench/BASELINE) and fail if a
                                 workload is more than 20% slower in a side-by-side run
              --check-rev REV    the same against another git revision
              --threads N        threads for both sides (default 1)
              --backends a,b     --workloads a,b   a subset";

fn ci() -> Result<(), String> {
    ensure_system()?;
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The libraries build without a backend feature too (elman-model's stand-in `kernel`).
    cargo(
        &[
            "clippy",
            "-p",
            "elman-model",
            "-p",
            "elman-train",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    let (passed, failed) = cargo_test(&["test", "--workspace"])?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Smoke runs: the user's commands, shortened, into a scratch folder.
    let scratch = std::env::temp_dir().join(format!("elman-smoke-{}", std::process::id()));
    for backend in ["ndarray", "wgpu"] {
        let out = scratch.join(backend);
        cargo(
            &[
                "run",
                "-p",
                "elman-cli",
                "--",
                "--backend",
                backend,
                "--epochs",
                "30",
                "--out",
                out.to_str().ok_or("temporary folder is not UTF-8")?,
            ],
            &[],
        )?;
        for file in [
            "losses.csv",
            "predictions.csv",
            "predictions.png",
            "weights.safetensors",
        ] {
            if !out.join(file).is_file() {
                return Err(format!("smoke run on {backend} wrote no {file}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    burn_layer_example()?;
    examples()?;
    println!("xtask ci: all checks passed");
    // One closing line with the totals of every test binary, for whoever reads the log last.
    println!("ci: {passed} passed, {failed} failed");
    Ok(())
}

/// The Burn user's example (`crates/elman-model/examples/burn_layer.rs`: an elman layer under a
/// `burn::nn::Linear` head, trained with Burn's Adam; it checks its gradients against the
/// step-by-step reference and that its loss falls) on a CPU and a GPU backend. Built with the
/// workspace's features (as `cargo test --workspace` builds it), so Burn is not built again.
fn burn_layer_example() -> Result<(), String> {
    cargo(&["build", "--workspace", "--examples"], &[])?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    let example = std::path::Path::new(&target).join("debug/examples/burn_layer");
    for backend in ["flex", "wgpu"] {
        println!("$ {} {backend}", example.display());
        let status = Command::new(&example)
            .arg(backend)
            .status()
            .map_err(|err| format!("cannot run {}: {err}", example.display()))?;
        if !status.success() {
            return Err(format!(
                "the burn_layer example failed on {backend} ({status})"
            ));
        }
    }
    Ok(())
}

/// Runs `cargo test ...` like [`cargo`], echoing its output, and adds up the `test result:`
/// lines of every test binary into (passed, failed).
fn cargo_test(args: &[&str]) -> Result<(usize, usize), String> {
    use std::io::BufRead;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("$ cargo {}", args.join(" "));
    let mut child = Command::new(cargo)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().expect("piped stdout");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(|err| format!("cannot read cargo's output: {err}"))?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, " passed");
            failed += count(rest, " failed");
        }
    }
    let status = child
        .wait()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if status.success() {
        Ok((passed, failed))
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// The number before `label` in a summary such as `ok. 15 passed; 0 failed; ...`.
fn count(summary: &str, label: &str) -> usize {
    summary
        .split(';')
        .find_map(|part| part.trim().strip_suffix(label))
        .and_then(|n| n.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Runs `cargo <args>`, printing the command first.
fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let shown: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(std::iter::once("cargo".to_string()))
        .chain(args.iter().map(|a| a.to_string()))
        .collect();
    println!("$ {}", shown.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", shown.join(" ")))
    }
}

/// Runs the README's examples into `<target>/examples` and checks their metrics.
fn examples() -> Result<(), String> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    let dir = std::path::Path::new(&target).join("examples");
    let _ = std::fs::remove_dir_all(&dir);
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let mut all = vec!["run", "-p", "elman-cli", "--"];
        all.extend_from_slice(args);
        cargo(&all, &[])
    };
    run(&[
        "train",
        "--config",
        "configs/sines.toml",
        "--out",
        &path("sines"),
    ])?;
    run(&[
        "train",
        "--config",
        "configs/co2.toml",
        "--out",
        &path("co2"),
    ])?;
    run(&[
        "generate",
        "--from",
        &path("co2"),
        "--out",
        &path("co2-forecast"),
    ])?;

    run(&[
        "backtest",
        "--from",
        &path("co2"),
        "--origins",
        "20",
        "--out",
        &path("co2-backtest"),
    ])?;

    // The memory lesson: the LSTM holds the marked value, the Elman cell does not.
    for (cell, name) in [("lstm", "memory-lstm"), ("elman", "memory-elman")] {
        run(&[
            "train",
            "--config",
            "configs/memory.toml",
            "--cell",
            cell,
            "--out",
            &path(name),
        ])?;
    }
    let lstm = metric(&dir.join("memory-lstm/metrics.json"), "valid_mse")?;
    let elman = metric(&dir.join("memory-elman/metrics.json"), "valid_mse")?;
    println!("examples: memory valid_mse lstm {lstm:.3} vs elman {elman:.3}");
    if lstm.is_nan() || elman.is_nan() || lstm >= 0.1 || elman <= 0.2 {
        return Err(format!(
            "memory: the LSTM's validation MSE {lstm} is not below 0.1 or the Elman cell's {elman} not above 0.2"
        ));
    }

    let sines = metric(&dir.join("sines/metrics.json"), "valid_mse")?;
    let forecast = metric(&dir.join("co2-forecast/metrics.json"), "forecast_mse")?;
    let baseline = metric(&dir.join("co2-forecast/metrics.json"), "baseline_mse")?;
    println!("examples: sines valid_mse {sines:.3e} (needs < 1e-3)");
    println!(
        "examples: co2 forecast_mse {forecast:.3} vs seasonal-naive baseline_mse {baseline:.3}"
    );
    let backtest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("co2-backtest/metrics.json"))
            .map_err(|e| format!("cannot read the backtest's metrics: {e}"))?,
    )
    .map_err(|e| format!("the backtest's metrics are not JSON: {e}"))?;
    let mase = |name: &str| backtest[name]["mase"].as_f64().unwrap_or(f64::NAN);
    let (model, seasonal) = (mase("model"), mase("seasonal_naive"));
    println!("examples: co2 backtest MASE {model:.3} vs seasonal-naive {seasonal:.3}");
    if model.is_nan() || model >= seasonal {
        return Err(format!(
            "co2 backtest: MASE {model} is not below the seasonal-naive baseline's {seasonal}"
        ));
    }
    if sines.is_nan() || sines >= 1e-3 {
        return Err(format!("sines: validation MSE {sines} is not below 1e-3"));
    }
    if forecast.is_nan() || forecast >= baseline {
        return Err(format!(
            "co2: forecast MSE {forecast} is not below the baseline's {baseline}"
        ));
    }
    Ok(())
}

/// The number under `key` in the JSON object of the file `path` (a metrics file).
fn metric(path: &std::path::Path, key: &str) -> Result<f64, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| format!("{} is not JSON: {err}", path.display()))?;
    let field = value
        .get(key)
        .ok_or_else(|| format!("{} has no {key}", path.display()))?;
    field
        .as_f64()
        .ok_or_else(|| format!("{}: {key} is not a number", path.display()))
}

/// What the tests need from the system, and the Debian packages that give it: the `wgpu`
/// tests run for real, so they need a Vulkan driver (with no GPU, Mesa's software one); the
/// browser test needs Chromium and chromedriver.
const SYSTEM: [Requirement; 2] = [
    (
        "a Vulkan driver (the wgpu tests)",
        has_vulkan_driver,
        &["mesa-vulkan-drivers", "libvulkan1"],
    ),
    (
        "Chromium and chromedriver (the browser test)",
        has_chromium,
        &["chromium", "chromium-driver"],
    ),
];

/// What is needed, whether it is there, and the packages that install it.
type Requirement = (&'static str, fn() -> bool, &'static [&'static str]);

fn has_vulkan_driver() -> bool {
    !cfg!(target_os = "linux")
        || ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
            .iter()
            .any(|dir| std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()))
}

fn has_chromium() -> bool {
    ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .all(|path| std::path::Path::new(path).is_file())
}

/// Installs what [`SYSTEM`] lists and is missing, where this process may (root, with apt-get);
/// elsewhere says what to install and goes on: the tests that need it then fail saying the same.
fn ensure_system() -> Result<(), String> {
    let missing: Vec<_> = SYSTEM.iter().filter(|(_, present, _)| !present()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let apt = std::path::Path::new("/usr/bin/apt-get").exists();
    if !(root && apt) {
        for (what, _, packages) in &missing {
            eprintln!(
                "warning: {what} is missing: `sudo apt-get install {}`",
                packages.join(" ")
            );
        }
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .flat_map(|(_, _, packages)| packages.iter().copied())
        .collect();
    let install: Vec<&str> = ["install", "-y", "-q"]
        .into_iter()
        .chain(packages)
        .collect();
    for args in [&["update", "-q"][..], &install[..]] {
        println!("$ apt-get {}", args.join(" "));
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|err| format!("cannot run apt-get: {err}"))?;
        if !status.success() {
            return Err(format!("`apt-get {}` failed ({status})", args.join(" ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn metrics_are_read_by_key() {
        let dir = std::env::temp_dir().join(format!("xtask-metric-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.json");
        std::fs::write(&path, "{\n  \"a_mse\": 1.5e-4,\n  \"b\": 2\n}\n").unwrap();
        assert_eq!(super::metric(&path, "a_mse").unwrap(), 1.5e-4);
        assert_eq!(super::metric(&path, "b").unwrap(), 2.0);
        assert!(super::metric(&path, "c").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn counts_come_from_cargo_test_summaries() {
        let summary =
            "ok. 15 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.09s";
        assert_eq!(count(summary, " passed"), 15);
        assert_eq!(count(summary, " failed"), 2);
        assert_eq!(count("FAILED. 3 passed; 1 failed;", " passed"), 3);
        assert_eq!(count("nothing here", " passed"), 0);
    }
}
