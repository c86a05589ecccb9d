#!/usr/bin/env bash
# Packs what a call on a GPU machine needs, built here (release, wgpu; see README "Speed"):
# `elman-bench`, the `elman` binary, and the test binaries of elman-model and elman-train (the
# kernels' tests, run on the card by `bench/gpu-call.sh`), stripped, into one tar.xz with the
# folder they were built in (`build-root`).
#
#   bench/gpu-pack.sh out.tar.xz
#
# Uses CARGO_TARGET_DIR when set (the release profile's build is reused).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/gpu-pack.sh out.tar.xz}
case $out in /*) ;; *) out=$PWD/$out ;; esac
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p elman-bench -p elman-cli
tests=$(cargo test --release -p elman-model -p elman-train --no-run 2>&1 | tee /dev/stderr |
  sed -n 's/.*Executable .*(\(.*\)).*/\1/p')
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$target/release/elman-bench" "$target/release/elman" "$dir/"
for t in $tests; do
  case $(basename "$t") in
    elman_model-*) cp "$t" "$dir/elman_model_tests" ;;
    elman_train-*) cp "$t" "$dir/elman_train_tests" ;;
    tutorial_parity-*) cp "$t" "$dir/tutorial_parity" ;;
  esac
done
strip "$dir"/*
# The parity test reads its fixture from the folder it was built in: gpu-call.sh puts it there.
pwd >"$dir/build-root"
tar cJf "$out" -C "$dir" .
ls -la "$out"
