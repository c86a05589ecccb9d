//! `cargo xtask bench`: the benchmark suite in release mode, its results as JSON lines and a
//! Markdown table, side by side with PyTorch (`--compare`) and with an earlier build (`--check`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One result line, as `elman-bench` and the PyTorch scripts print it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measurement {
    pub workload: String,
    pub backend: String,
    pub path: String,
    pub threads: u64,
    pub figure: f64,
    pub unit: String,
    pub peak_rss_mib: f64,
}

impl Measurement {
    /// Parses a result line; `None` for other lines.
    pub fn parse(line: &str) -> Option<Self> {
        serde_json::from_str(line.trim()).ok()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a measurement is plain JSON")
    }

    /// Whether a larger figure is better (throughput) or worse (time per step).
    fn higher_is_better(&self) -> bool {
        self.unit.ends_with("/s")
    }

    /// How many times better than `other` (above 1: this one is faster).
    fn speedup_over(&self, other: &Measurement) -> f64 {
        if self.higher_is_better() {
            self.figure / other.figure
        } else {
            other.figure / self.figure
        }
    }
}

struct Options {
    compare: bool,
    check: Option<String>,
    threads: u64,
    args: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        compare: false,
        check: None,
        threads: 1,
        args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--compare" => options.compare = true,
            "--check" => {
                let rev = std::fs::read_to_string("bench/BASELINE")
                    .map_err(|e| format!("cannot read bench/BASELINE: {e}"))?;
                options.check = Some(rev.trim().to_string());
            }
            "--check-rev" => {
                options.check = Some(
                    args.next()
                        .ok_or("--check-rev needs a git revision")?
                        .clone(),
                )
            }
            "--threads" => {
                options.threads = args
                    .next()
                    .and_then(|t| t.parse().ok())
                    .ok_or("--threads needs a number")?
            }
            "--backends" | "--workloads" => {
                options.args.push(arg.clone());
                options
                    .args
                    .push(args.next().ok_or(format!("{arg} needs a value"))?.clone());
            }
            other => return Err(format!("unknown option `{other}` for bench")),
        }
    }
    Ok(options)
}

fn target_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string()))
}

/// Builds `elman-bench` in release mode from the workspace at `root` and copies the binary to
/// `target/bench/elman-bench-{name}`, which it returns: with one shared target folder the next
/// build (the baseline's) would otherwise replace it under the same name.
fn build(root: &Path, name: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!(
        "$ cargo build --release -p elman-bench   (in {})",
        root.display()
    );
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "elman-bench"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building elman-bench in {} failed", root.display()));
    }
    let target = if target_dir().is_absolute() {
        target_dir()
    } else {
        root.join(target_dir())
    };
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let copy = dir.join(format!("elman-bench-{name}"));
    std::fs::copy(target.join("release").join("elman-bench"), &copy)
        .map_err(|e| format!("cannot copy the bench binary to {}: {e}", copy.display()))?;
    Ok(copy)
}

/// Runs a bench program on the first `threads` cores and collects its result lines.
///
/// Each side is pinned (`taskset`), because a thread count alone does not bound what a runtime
/// uses: JAX asked for one thread was seen at 1.6 cores here.
fn run(program: &Path, args: &[String], threads: u64) -> Result<Vec<Measurement>, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let cpus =
        (threads >= 1 && threads <= cores && has_taskset()).then(|| format!("0-{}", threads - 1));
    let mut command = match &cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.args(["-c", cpus]).arg(program);
            command
        }
        None => {
            eprintln!("bench: not pinned to {threads} core(s) (taskset missing, or too few cores)");
            Command::new(program)
        }
    };
    let prefix = cpus.map(|cpus| format!("taskset -c {cpus} "));
    println!(
        "$ {}{} {}",
        prefix.unwrap_or_default(),
        program.display(),
        args.join(" ")
    );
    let output = command
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !output.status.success() {
        return Err(format!("{} failed ({})", program.display(), output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(Measurement::parse)
        .collect())
}

/// Whether util-linux's `taskset` is here.
fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The workloads `--workloads` names (empty: the default set).
fn workloads(args: &[String]) -> Vec<String> {
    args.windows(2)
        .filter(|pair| pair[0] == "--workloads")
        .flat_map(|pair| pair[1].split(',').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// A comparison's sittings, in order, each elman's side and then the peers': every `layer-*`
/// workload alone, so that its sides run a minute or two apart rather than all of elman's
/// before all of the peers' (this machine's speed drifts by up to 12% in an hour); the other
/// workloads together, whose peers' scripts run together. Asked for none: one sitting of all.
fn sittings(asked: &[String]) -> Vec<Vec<String>> {
    let (layers, others): (Vec<String>, Vec<String>) =
        asked.iter().cloned().partition(|w| w.starts_with("layer-"));
    let mut sittings: Vec<Vec<String>> = layers.into_iter().map(|w| vec![w]).collect();
    if !others.is_empty() || sittings.is_empty() {
        sittings.push(others);
    }
    sittings
}

/// `args` with `--workloads` set to `asked` (left out where `asked` is empty: every workload).
fn with_workloads(args: &[String], asked: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--workloads" {
            args.next();
        } else {
            out.push(arg.clone());
        }
    }
    if !asked.is_empty() {
        out.extend(["--workloads".to_string(), asked.join(",")]);
    }
    out
}

/// The peers here: the folders of PyTorch's and JAX's scripts, each where a Python with it is
/// (asked once for a whole comparison; where one is missing, how to install it is said once).
fn present_peers() -> Vec<&'static str> {
    [("torch", "bench/pytorch"), ("jax", "bench/jax")]
        .into_iter()
        .filter(|(module, folder)| {
            let present = Command::new("python3")
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|o| o.status.success());
            if !present {
                eprintln!(
                    "bench: no python3 with {module} here: `pip install -r {folder}/requirements.txt` to compare"
                );
            }
            present
        })
        .map(|(_, folder)| folder)
        .collect()
}

/// The peers' side of the comparison, for each folder of [`present_peers`]: for the `layer-*`
/// workloads, their layers (`layers.py`), and the default workloads' scripts.
fn peers(cores: u64, asked: &[String], folders: &[&str]) -> Result<Vec<Measurement>, String> {
    let threads = cores.to_string();
    let mut results = Vec::new();
    let layers: Vec<&str> = asked
        .iter()
        .filter_map(|w| w.strip_prefix("layer-"))
        .collect();
    // The default workloads' scripts, unless only layer workloads were asked for.
    let defaults = asked.is_empty() || asked.iter().any(|w| !w.starts_with("layer-"));
    for folder in folders {
        let mut scripts: Vec<Vec<String>> = Vec::new();
        for layer in &layers {
            // `lstm` at hidden 64, `lstm-256` at 256.
            let (cell, hidden) = layer.split_once('-').unwrap_or((layer, "64"));
            scripts.push(vec![
                format!("{folder}/layers.py"),
                "--cell".into(),
                cell.to_string(),
                "--hidden".into(),
                hidden.to_string(),
                "--threads".into(),
                threads.clone(),
            ]);
        }
        if defaults {
            scripts.extend(default_scripts(folder, &threads));
        }
        for script in scripts {
            results.extend(run(Path::new("python3"), &script, cores)?);
        }
    }
    Ok(results)
}

/// A peer's scripts for the default workloads: the tutorial, then batched at hidden 64 and 256.
fn default_scripts(folder: &str, threads: &str) -> [Vec<String>; 3] {
    let threads = threads.to_string();
    [
        vec![
            format!("{folder}/tutorial.py"),
            "--threads".into(),
            threads.clone(),
        ],
        vec![
            format!("{folder}/batched.py"),
            "--threads".into(),
            threads.clone(),
        ],
        vec![
            format!("{folder}/batched.py"),
            "--threads".into(),
            threads.clone(),
            "--hidden".into(),
            "256".into(),
        ],
    ]
}

/// The Markdown table of `results`, with each one's speed-up over PyTorch where it ran.
pub fn table(results: &[Measurement]) -> String {
    let reference: BTreeMap<&str, &Measurement> = results
        .iter()
        .filter(|r| r.backend == "pytorch")
        .map(|r| (r.workload.as_str(), r))
        .collect();
    let mut md = String::from(
        "| workload | backend | path | threads | result | peak RSS | vs PyTorch |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let ratio = match reference.get(r.workload.as_str()) {
            Some(p) if r.backend != "pytorch" => format!("{:.2}x", r.speedup_over(p)),
            _ => String::new(),
        };
        let figure = if r.figure >= 100.0 {
            format!("{:.0}", r.figure)
        } else {
            format!("{:.2}", r.figure)
        };
        writeln!(
            md,
            "| {} | {} | {} | {} | {figure} {} | {:.1} MiB | {ratio} |",
            r.workload, r.backend, r.path, r.threads, r.unit, r.peak_rss_mib
        )
        .expect("writing to a String");
    }
    md
}

/// `cargo xtask bench [--compare] [--check | --check-rev REV] [--threads N] [--backends ..] [--workloads ..]`
pub fn bench(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let mut bench_args = options.args.clone();
    bench_args.extend(["--threads".to_string(), options.threads.to_string()]);
    let ours = build(Path::new("."), "current")?;

    let asked = workloads(&options.args);
    let sittings = if options.compare {
        sittings(&asked)
    } else {
        vec![asked]
    };
    let folders = if options.compare {
        present_peers()
    } else {
        Vec::new()
    };
    let (mut results, mut theirs) = (Vec::new(), Vec::new());
    for asked in &sittings {
        results.extend(run(
            &ours,
            &with_workloads(&bench_args, asked),
            options.threads,
        )?);
        theirs.extend(peers(options.threads, asked, &folders)?);
    }

    // Side by side with an earlier build: both binaries, alternately, best of two each.
    let mut baseline = Vec::new();
    if let Some(rev) = &options.check {
        let src = target_dir().join("bench").join("baseline-src");
        let _ = Command::new("git")
            .args(["worktree", "remove", "--force"])
            .arg(&src)
            .status();
        let status = Command::new("git")
            .args(["worktree", "add", "--detach"])
            .arg(&src)
            .arg(rev)
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !status.success() {
            return Err(format!("cannot check out {rev}"));
        }
        let theirs = build(&src.canonicalize().map_err(|e| e.to_string())?, "baseline");
        // The worktree was only needed for the build.
        let _ = Command::new("git")
            .args(["worktree", "remove", "--force"])
            .arg(&src)
            .status();
        let theirs = theirs?;
        baseline = run(&theirs, &bench_args, options.threads)?;
        let again = run(&ours, &bench_args, options.threads)?;
        let more = run(&theirs, &bench_args, options.threads)?;
        results = best_of(results, again);
        baseline = best_of(baseline, more);
    }
    results.extend(theirs);

    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let jsonl: String = results.iter().map(|r| r.to_json() + "\n").collect();
    std::fs::write(dir.join("results.jsonl"), jsonl).map_err(|e| e.to_string())?;
    let md = table(&results);
    std::fs::write(dir.join("results.md"), &md).map_err(|e| e.to_string())?;
    println!("\n{md}");
    println!(
        "bench: wrote {} and results.md",
        dir.join("results.jsonl").display()
    );

    if options.check.is_some() {
        let mut slower = Vec::new();
        for r in &results {
            let Some(b) = baseline
                .iter()
                .find(|b| (&b.workload, &b.backend, &b.path) == (&r.workload, &r.backend, &r.path))
            else {
                continue;
            };
            let speedup = r.speedup_over(b);
            println!(
                "check: {} on {} ({}): {:.2}x the baseline's speed",
                r.workload, r.backend, r.path, speedup
            );
            if speedup < 1.0 / 1.2 {
                slower.push(format!("{} on {} ({})", r.workload, r.backend, r.path));
            }
        }
        if !slower.is_empty() {
            return Err(format!(
                "more than 20% slower than the baseline: {}",
                slower.join(", ")
            ));
        }
    }
    Ok(())
}

/// For each result of `a`, the better of it and its twin in `b`.
fn best_of(a: Vec<Measurement>, b: Vec<Measurement>) -> Vec<Measurement> {
    a.into_iter()
        .map(|r| {
            let twin = b
                .iter()
                .find(|t| (&t.workload, &t.backend, &t.path) == (&r.workload, &r.backend, &r.path));
            match twin {
                Some(t) if t.speedup_over(&r) > 1.0 => t.clone(),
                _ => r,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
