"""The figures of `bench/gpu.sh` (JSON lines) side by side: per workload, elman on wgpu through
its kernels and through tensor operations (a layer workload: burn::nn's layer), PyTorch on CUDA (cuDNN) and JAX on the GPU, and how
many times PyTorch's speed elman's kernels reach (for times per update, PyTorch's time over
elman's), with the issue's targets beside them: training at least 1x cuDNN at hidden 64 (the
Elman cell 1.5x at 256; the gated layers 1x at 64 and 256),
inference at least 2x, the tutorial at least 50x PyTorch's loop. The phase lines are left out.

Where a side was measured more than once (gpu.sh's rounds), its best figure is compared and the
worst is shown beside it. Inference is compared with PyTorch's batches of 256 (the workload's)
and, where measured (`--whole`), also with PyTorch running all 1,024 waves as one batch.

Usage: python3 bench/gpu-summary.py gpu.jsonl [more.jsonl ...]
"""
import json
import sys

TARGETS = {
    "tutorial": 50.0, "batched": 1.0, "batched-inference": 2.0, "batched-256": 1.5,
    # A Burn user's layer against PyTorch's on cuDNN (#22): the gated cells level at hidden 64
    # and 256, the Elman cell 1.5x at 256.
    "layer-lstm": 1.0, "layer-gru": 1.0, "layer-lstm-256": 1.0, "layer-gru-256": 1.0,
    "layer-elman-256": 1.5,
}


def lower_is_better(unit):
    return "us" in unit or "µs" in unit


def read(paths):
    """{workload: {(backend, path): (best, worst, runs, unit)}}"""
    figures = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "workload" not in r or "figure" not in r:
                    continue
                side = (r["backend"], r["path"])
                figures.setdefault(r["workload"], {}).setdefault(side, []).append((r["figure"], r["unit"]))
    rows = {}
    for workload, sides in figures.items():
        for side, values in sides.items():
            unit = values[0][1]
            numbers = sorted(v for v, _ in values)
            if lower_is_better(unit):
                best, worst = numbers[0], numbers[-1]
            else:
                best, worst = numbers[-1], numbers[0]
            rows.setdefault(workload, {})[side] = (best, worst, len(numbers), unit)
    return rows


def ratio(kernels, other, target):
    if not kernels or not other:
        return ""
    x = other[0] / kernels[0] if lower_is_better(kernels[3]) else kernels[0] / other[0]
    text = f"{x:.2f}x"
    if target is not None:
        text += " (met)" if x >= target else " (not met)"
    return text


def fmt(v):
    if v is None:
        return ""
    best, worst, runs, unit = v
    text = f"{best:.4g} {unit}"
    if runs > 1:
        text += f" (worst of {runs}: {worst:.4g})"
    return text


def main(paths):
    rows = read(paths)
    print("| workload | elman kernels | elman tensor ops (layers: burn::nn) | PyTorch CUDA | JAX GPU | kernels / PyTorch | target |")
    print("|---|---|---|---|---|---|---|")
    for workload, sides in rows.items():
        def pick(backend, paths):
            for p in paths:
                if (backend, p) in sides:
                    return sides[(backend, p)]
            return None
        kernels = pick("wgpu", ["fused", "hand", "forward", "elman"])
        # For the layer workloads, burn::nn's layers (a recorded operation a step).
        ops = pick("wgpu", ["fused-ops", "hand-ops", "burn-nn"])
        torch = pick("pytorch-cuda", ["autograd", "forward", "loop"])
        jax = next((v for (b, p), v in sides.items() if b.startswith("jax") and not p.endswith("-whole")), None)
        target = TARGETS.get(workload)
        print(f"| {workload} | {fmt(kernels)} | {fmt(ops)} | {fmt(torch)} | {fmt(jax)} | "
              f"{ratio(kernels, torch, target)} | {'' if target is None else f'>= {target:g}x'} |")
        whole = pick("pytorch-cuda", ["forward-whole"])
        if whole:
            jax_whole = next((v for (b, p), v in sides.items() if b.startswith("jax") and p.endswith("-whole")), None)
            print(f"| {workload}, the others in one batch of 1,024 | {fmt(kernels)} | | {fmt(whole)} | "
                  f"{fmt(jax_whole)} | {ratio(kernels, whole, target)} | {'' if target is None else f'>= {target:g}x'} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python3 bench/gpu-summary.py gpu.jsonl [more.jsonl ...]")
    main(sys.argv[1:])
