#!/usr/bin/env bash
# One call on a machine with an NVIDIA GPU, given the tar.xz of `bench/gpu-pack.sh`: the
# kernels' tests on the card, `bench/gpu.sh` (elman on wgpu beside PyTorch CUDA and JAX), then
# the host's CPU pinned to 1 and 2 cores (elman on flex beside PyTorch and JAX), each a JSON
# line, with `bench/gpu-summary.py`'s table of the GPU side against the issue's targets in the
# log; about 4 minutes on an H100 machine.
#
#   bench/gpu-call.sh pack.tar.xz OUT_DIR
#
# Writes OUT_DIR/log.txt, gpu.jsonl and cpu.jsonl. The NVIDIA Vulkan driver is looked for where
# `bench/gpu.sh` looks; a folder of Debian packages of the Vulkan loader, where the machine has
# none, can be named in VULKAN_DEBS (each is unpacked into /, then ldconfig).
set -uo pipefail
cd "$(dirname "$0")/.."
pack=${1:?usage: bench/gpu-call.sh pack.tar.xz OUT_DIR}
out=${2:?usage: bench/gpu-call.sh pack.tar.xz OUT_DIR}
mkdir -p "$out"
log=$out/log.txt
exec 2> >(tee -a "$log" >&2)
say() { echo "=== $* ($(date +%T))" | tee -a "$log"; }
if [ -n "${VULKAN_DEBS:-}" ]; then
  for f in "$VULKAN_DEBS"/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
bin=$(mktemp -d)
tar xJf "$pack" -C "$bin" || { echo "gpu-call.sh: cannot unpack $pack" >&2; exit 1; }
# The parity test reads its fixture from the folder it was built in.
root=$(cat "$bin/build-root" 2>/dev/null || true)
if [ -n "$root" ] && [ ! -d "$root/tests/fixtures" ]; then
  mkdir -p "$root/tests" && cp -r tests/fixtures "$root/tests/"
fi
say machine
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"
lscpu | grep -E "Model name" | tee -a "$log"
say "tests on the card"
for t in elman_model_tests elman_train_tests tutorial_parity; do
  [ -x "$bin/$t" ] && timeout 150 "$bin/$t" 2>&1 | grep -v "^test .* ok$" | grep -v XDG | tail -30 | tee -a "$log"
done
say "GPU bench"
bench/gpu.sh "$bin/elman-bench" 2>&1 >"$out/gpu.jsonl" | grep -v XDG | tee -a "$log"
say "GPU summary"
python3 bench/gpu-summary.py "$out/gpu.jsonl" 2>&1 | tee -a "$log"
say "CPU bench, 1 and 2 cores"
for n in 1 2; do
  cpus=$(seq -s, 0 $((n - 1)))
  for w in tutorial batched batched-256; do
    [ $w = tutorial ] && path=fused || path=hand
    [ $w = tutorial ] && [ $n = 2 ] && continue
    RAYON_NUM_THREADS=$n timeout 60 taskset -c "$cpus" "$bin/elman-bench" --one $w flex $path $n >>"$out/cpu.jsonl"
  done
  if [ $n = 1 ]; then
    timeout 60 taskset -c 0 python3 bench/pytorch/tutorial.py --threads 1 >>"$out/cpu.jsonl"
    JAX_PLATFORMS=cpu timeout 60 taskset -c 0 python3 bench/jax/tutorial.py --threads 1 2>/dev/null >>"$out/cpu.jsonl"
  fi
  for h in 64 256; do
    timeout 60 taskset -c "$cpus" python3 bench/pytorch/batched.py --threads $n --hidden $h >>"$out/cpu.jsonl"
    JAX_PLATFORMS=cpu timeout 60 taskset -c "$cpus" python3 bench/jax/batched.py --threads $n --hidden $h 2>/dev/null >>"$out/cpu.jsonl"
  done
done
say done
rm -rf "$bin"
