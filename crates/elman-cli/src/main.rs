//! The `elman` command: parses the command line, runs it, and turns any error into one
//! `error:` line and exit code 2.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc keeps the arrays training frees for the next batch (the C library's allocator gave
/// their pages back to the system, and faulting them in again took up to a third of a layer's
/// training: `bench/results/cpu-2026-12-07-layers.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match elman_cli::Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` print and succeed.
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {}", one_line(&err.to_string()));
            return ExitCode::from(2);
        }
    };
    match elman_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// clap's message on one line: its lines joined, without the usage and the pointer to `--help`.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("Usage:")
                && !line.starts_with("For more information")
        })
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join(" ")
}
