"""The figures of `bench/gpu.sh` (JSON lines) side by side: per workload, elman on wgpu through
its kernels and through tensor operations, PyTorch on CUDA (cuDNN) and JAX on the GPU, and how
many times PyTorch's speed elman's kernels reach (for times per update, PyTorch's time over
elman's), with the issue's targets beside them: training at least 1x cuDNN at hidden 64,
inference at least 2x, the tutorial at least 50x PyTorch's loop. The phase lines are left out.

Usage: python3 bench/gpu-summary.py gpu.jsonl [more.jsonl ...]
"""
import json
import sys

TARGETS = {"tutorial": 50.0, "batched": 1.0, "batched-inference": 2.0}


def main(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                r = json.loads(line)
                if "workload" not in r or "figure" not in r:
                    continue
                side = (r["backend"], r["path"])
                rows.setdefault(r["workload"], {})[side] = (r["figure"], r["unit"])
    print("| workload | elman kernels | elman tensor ops | PyTorch CUDA | JAX GPU | kernels / PyTorch | target |")
    print("|---|---|---|---|---|---|---|")
    for workload, sides in rows.items():
        def pick(backend, paths):
            for p in paths:
                if (backend, p) in sides:
                    return sides[(backend, p)]
            return None
        kernels = pick("wgpu", ["fused", "hand", "forward"])
        ops = pick("wgpu", ["fused-ops", "hand-ops"])
        torch = pick("pytorch-cuda", ["autograd", "forward", "loop"])
        jax = next((v for (b, _), v in sides.items() if b.startswith("jax")), None)
        ratio = ""
        if kernels and torch:
            lower_is_better = "us" in kernels[1] or "µs" in kernels[1]
            x = torch[0] / kernels[0] if lower_is_better else kernels[0] / torch[0]
            ratio = f"{x:.2f}x"
            target = TARGETS.get(workload)
            if target is not None:
                ratio += " (met)" if x >= target else " (not met)"
        fmt = lambda v: "" if v is None else f"{v[0]:.4g} {v[1]}"
        target = TARGETS.get(workload)
        print(f"| {workload} | {fmt(kernels)} | {fmt(ops)} | {fmt(torch)} | {fmt(jax)} | {ratio} | "
              f"{'' if target is None else f'>= {target:g}x'} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python3 bench/gpu-summary.py gpu.jsonl [more.jsonl ...]")
    main(sys.argv[1:])
