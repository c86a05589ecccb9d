#!/usr/bin/env bash
# The user's commands on a machine with a GPU, given the tar.xz of `bench/gpu-pack.sh`: the
# tutorial and the README's examples (sines, CO2 with its forecast and backtest, the memory
# lesson's two cells) as `cargo xtask examples` runs them, each on `--backend wgpu` and on
# `--backend flex`, with its wall time and its metrics.json, one JSON line each. Shows that what
# a user types works on the card and gives what it gives on the CPU.
#
#   bench/gpu-cli.sh pack.tar.xz OUT_DIR
#
# Writes OUT_DIR/cli.jsonl (one line per command: example, backend, seconds, exit status, the
# metrics) and OUT_DIR/<backend>-<example>.log (what it printed); the runs' own folders stay on
# the machine (a device call brings back only so many files).
set -uo pipefail
cd "$(dirname "$0")/.."
pack=${1:?usage: bench/gpu-cli.sh pack.tar.xz OUT_DIR}
out=${2:?usage: bench/gpu-cli.sh pack.tar.xz OUT_DIR}
mkdir -p "$out"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
bin=$(mktemp -d)
runs=$(mktemp -d)
trap 'rm -rf "$bin" "$runs"' EXIT
tar xJf "$pack" -C "$bin" ./elman || { echo "gpu-cli.sh: cannot unpack $pack" >&2; exit 1; }

# One command: its wall time, exit status and metrics as a JSON line.
step() {
  local example=$1 backend=$2; shift 2
  local dir=$runs/$backend/$example started ended rc
  started=$(date +%s.%N)
  timeout 180 "$bin/elman" "$@" --backend "$backend" --out "$dir" >"$out/$backend-$example.log" 2>&1
  rc=$?
  ended=$(date +%s.%N)
  python3 - "$example" "$backend" "$started" "$ended" "$rc" "$dir/metrics.json" <<'EOF'
import json, sys
example, backend, started, ended, rc, metrics = sys.argv[1:]
line = {"example": example, "backend": backend, "seconds": round(float(ended) - float(started), 3),
        "rc": int(rc)}
try:
    with open(metrics) as f:
        m = json.load(f)
    line.update({k: v for k, v in m.items() if isinstance(v, (int, float, str))})
except (OSError, ValueError):
    pass
print(json.dumps(line))
EOF
}

for backend in wgpu flex; do
  step tutorial $backend train
  step sines $backend train --config configs/sines.toml
  step co2 $backend train --config configs/co2.toml
  step co2-forecast $backend generate --from "$runs/$backend/co2"
  step co2-backtest $backend backtest --from "$runs/$backend/co2" --origins 20
  step memory-lstm $backend train --config configs/memory.toml --cell lstm
  step memory-elman $backend train --config configs/memory.toml --cell elman
done | tee "$out/cli.jsonl"
