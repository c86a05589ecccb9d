//! The invariants ARCHITECTURE.md states, checked as ordinary tests (as rust-analyzer's tidy
//! tests do): each one fails with the file and line that breaks it.

use std::path::{Path, PathBuf};

/// The workspace's root, from the `CARGO_MANIFEST_DIR` that `cargo test` sets when it runs the
/// tests (the folder baked in at compile time is the fallback): the target folder is shared, and
/// a test binary built from another checkout of the same sources (CI's clone) would otherwise
/// check that checkout's files, or a folder that is gone.
fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The code of a source file outside its tests: the lines before `#[cfg(test)]`, none of a
/// file that is itself a test module.
fn code(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.to_string_lossy();
    if name.ends_with("/tests.rs") || name.ends_with("/testing.rs") || name.contains("/tests/") {
        return Vec::new();
    }
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(i, line)| (i + 1, line.to_string()))
        .collect()
}

/// The places in `crates` whose code (tests aside) holds one of `needles`.
fn find(crates: &[&str], needles: &[&str], except: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for krate in crates {
        for path in rust_files(&root().join("crates").join(krate).join("src")) {
            let shown = path.strip_prefix(root()).unwrap().display().to_string();
            if except.contains(&shown.as_str()) {
                continue;
            }
            for (line, text) in code(&path) {
                if let Some(needle) = needles.iter().find(|n| text.contains(**n)) {
                    found.push(format!("{shown}:{line}: {needle}"));
                }
            }
        }
    }
    found
}

/// `elman-model`, `elman-data` and `elman-train` do no IO and print nothing: they open no
/// file, socket or standard stream and write nothing (`elman-data` reads the text a caller
/// hands it as a `std::io::Read`).
#[test]
fn the_libraries_do_no_io() {
    let found = find(
        &["elman-model", "elman-data", "elman-train"],
        &[
            "std::fs",
            "std::io::Write",
            "std::io::BufRead",
            "io::stdin",
            "io::stdout",
            "io::stderr",
            "std::net",
            "File::",
            "println!",
            "eprintln!",
            "print!(",
        ],
        &[],
    );
    assert!(found.is_empty(), "IO in a library: {found:#?}");
}

/// `unsafe` stays in two files of `kernel/window/`: the call of `gemm`'s kernels on checked
/// views (`flex_products.rs`) and a window's output read only where written
/// (`flex_output.rs`); the workspace denies `unsafe_code` everywhere else.
#[test]
fn unsafe_code_stays_in_one_place() {
    let found = find(
        &[
            "elman-model",
            "elman-data",
            "elman-train",
            "elman-cli",
            "elman-bench",
        ],
        &["unsafe_code", "unsafe "],
        &[
            "crates/elman-model/src/kernel/window/flex_products.rs",
            "crates/elman-model/src/kernel/window/flex_output.rs",
        ],
    );
    assert!(
        found.is_empty(),
        "unsafe code outside flex_products.rs and flex_output.rs: {found:#?}"
    );
}

/// Only `elman-cli` knows backend names; `elman-model`'s kernels (`kernel.rs`, where they run,
/// `kernel/placement.rs`, and the layer's operations, `kernel/window.rs`,
/// `kernel/window/order.rs` and `kernel/window/input_rows.rs`), written for the backends they
/// name, name them.
#[test]
fn only_the_cli_names_backends() {
    let found = find(
        &["elman-model", "elman-data", "elman-train", "elman-bench"],
        &[
            "Device::flex(",
            "Device::ndarray(",
            "Device::wgpu(",
            "Device::cuda(",
            "\"ndarray\"",
            "\"wgpu\"",
        ],
        // The custom operations, each written for the backends it names.
        &[
            "crates/elman-model/src/kernel.rs",
            "crates/elman-model/src/kernel/placement.rs",
            "crates/elman-model/src/kernel/window.rs",
            "crates/elman-model/src/kernel/window/order.rs",
            "crates/elman-model/src/kernel/window/input_rows.rs",
        ],
    );
    assert!(
        found.is_empty(),
        "a backend named outside elman-cli: {found:#?}"
    );
}

/// The dependencies the invariants promise: `elman-data` knows no model, and only `elman-cli`
/// parses TOML or turns on Burn's backends.
#[test]
fn the_dependencies_point_one_way() {
    let manifest = |krate: &str| {
        std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap()
    };
    let dependencies = |krate: &str| {
        let text = manifest(krate);
        let start = text.find("[dependencies]").expect("a [dependencies] table");
        let rest = &text[start + 1..];
        let end = rest.find("\n[").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    };
    assert!(!dependencies("elman-data").contains("elman-model"));
    for krate in ["elman-model", "elman-data", "elman-train"] {
        let deps = dependencies(krate);
        assert!(!deps.contains("toml"), "{krate} parses TOML");
        for backend in ["\"flex\"", "\"ndarray\"", "\"wgpu\"", "\"cuda\""] {
            assert!(!deps.contains(backend), "{krate} turns on {backend}");
        }
    }
}

/// One job per file: no source file over 500 lines, counting its tests.
#[test]
fn no_source_file_is_too_long() {
    let mut long = Vec::new();
    for dir in ["crates", "xtask"] {
        for path in rust_files(&root().join(dir)) {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            if lines > 500 {
                long.push(format!("{}: {lines} lines", path.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these files by job: {long:#?}");
}

/// Every file is written through the one atomic writer: no other code of `elman-cli` or the
/// bench writes files.
#[test]
fn one_writer_writes_every_file() {
    let found = find(
        &["elman-cli", "elman-bench"],
        &["fs::write(", "File::create(", "BitMapBackend::new("],
        &["crates/elman-cli/src/atomic.rs"],
    );
    assert!(
        found.is_empty(),
        "a file written around atomic::write: {found:#?}"
    );
}

/// The fixtures' README points at the script that made them, and the script is here.
#[test]
fn the_fixtures_script_is_in_the_repository() {
    let readme = std::fs::read_to_string(root().join("tests/fixtures/README.md")).unwrap();
    assert!(readme.contains("make_reference.py"));
    assert!(root().join("tests/fixtures/make_reference.py").is_file());
}
