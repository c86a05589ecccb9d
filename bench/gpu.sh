#!/usr/bin/env bash
# Speed on a machine with an NVIDIA GPU, given a release build of `elman-bench` made elsewhere
# (`cargo build --release -p elman-bench`, or the copy `cargo xtask bench` leaves in
# `<target>/bench/elman-bench-current`): `elman`'s workloads on wgpu (Vulkan on the NVIDIA card;
# the tutorial through the GPU kernel and through tensor operations, batched training through
# the recurrence kernels and through tensor operations), then PyTorch on CUDA (`nn.RNN` is
# cuDNN's) and JAX on the GPU, one JSON line per figure on stdout, in one run of a few minutes.
#
#   bench/gpu.sh path/to/elman-bench > gpu.jsonl
#
# Needs a Vulkan loader (libvulkan1) and the NVIDIA Vulkan driver; python3 with torch (CUDA) for
# the PyTorch side and jax (CUDA) for the JAX side, each left out with a note when missing.
set -uo pipefail
cd "$(dirname "$0")/.."
bench=${1:?usage: bench/gpu.sh path/to/elman-bench}
# The NVIDIA Vulkan driver where the machine keeps it outside the loader's search path.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >&2 || true

timed() { # a step with its own limit, so that one hung side does not take the run
  local limit=$1; shift
  echo "gpu.sh: $*" >&2
  timeout "$limit" "$@" || echo "gpu.sh: failed or timed out ($?): $*" >&2
}

for workload in tutorial batched batched-256; do
  case $workload in
    tutorial) paths="fused fused-ops" ;;
    *) paths="hand hand-ops" ;;
  esac
  for path in $paths; do
    timed 120 "$bench" --one "$workload" wgpu "$path" 1
  done
done

# A Burn user's model on the card: ElmanLayer's one-operation window (the recurrence kernels
# under Burn's autodiff) against burn::nn's layers, each a recorded operation a step.
# The LSTM's and the GRU's windows run their own kernels (`kernel/cube/gated.rs`).
for workload in layer-elman layer-lstm layer-gru layer-elman-256 layer-lstm-256 layer-gru-256; do
  for path in elman burn-nn; do
    timed 120 "$bench" --one "$workload" wgpu "$path" 1
  done
done

# Where one batched window's time goes, phase by phase (one JSON line each).
for hidden in 64 256; do
  timed 60 "$bench" --phases wgpu "$hidden"
done

if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  timed 120 python3 bench/pytorch/tutorial.py --device cuda
  timed 60 python3 bench/pytorch/batched.py --device cuda --whole
  timed 60 python3 bench/pytorch/batched.py --device cuda --hidden 256 --whole
  for cell in elman lstm gru; do
    for hidden in 64 256; do
      timed 60 python3 bench/pytorch/layers.py --cell $cell --hidden $hidden --device cuda
    done
  done
else
  echo "gpu.sh: no torch with CUDA: the PyTorch side is left out" >&2
fi
if python3 -c 'import jax; assert jax.devices()[0].platform == "gpu"' 2>/dev/null; then
  timed 60 python3 bench/jax/tutorial.py
  timed 60 python3 bench/jax/batched.py --whole
  timed 60 python3 bench/jax/batched.py --hidden 256 --whole
  for cell in elman lstm gru; do
    for hidden in 64 256; do
      timed 60 python3 bench/jax/layers.py --cell $cell --hidden $hidden
    done
  done
else
  echo "gpu.sh: no jax with a GPU: the JAX side is left out" >&2
fi

# Two more rounds of the hidden-64 batched workload, elman and PyTorch CUDA in turn: on an H100
# PyTorch's figures varied up to 2.5x from one run to the next (bench/results), so each side's
# best over three rounds is what bench/gpu-summary.py compares. Each line says its round.
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  for round in 2 3; do
    timed 120 "$bench" --one batched wgpu hand 1 | sed "s/^{/{\"round\": $round, /"
    timed 60 python3 bench/pytorch/batched.py --device cuda --whole | sed "s/^{/{\"round\": $round, /"
  done
fi
