//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in order: formatting, clippy with warnings denied, the whole
//!   test suite, the docs with warnings denied, and a smoke run of the binary on each backend.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
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
  ci    fmt check, clippy -D warnings, tests, docs, smoke runs on ndarray and wgpu";

fn ci() -> Result<(), String> {
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
    cargo(&["test", "--workspace"], &[])?;
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
    println!("xtask ci: all checks passed");
    Ok(())
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
