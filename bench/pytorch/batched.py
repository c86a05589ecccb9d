"""The batched workloads of `cargo xtask bench` in PyTorch: `torch.nn.RNN` (tanh, no bias, the
Elman layer) and a bias-free linear read-out, full backpropagation through time over 64-step
sine waves in batches of 256, Adam, mean squared error; then inference over the same waves.
Each figure is the best of at least 5 timed repetitions (an epoch of 1,024 waves; inference over
them), more while under 1.5 s (at most 40), after one untimed to warm up, as `elman-bench` times
its own.

Prints JSON lines in the schema of `cargo xtask bench`: sequences per second. `--device cuda`
runs it on an NVIDIA GPU, where `nn.RNN` is cuDNN's (backend `pytorch-cuda`). `--whole` also times
inference over the 1,024 waves as one batch (path `forward-whole`: one cuDNN call, where the
workload's batches of 256 take four), the strongest form of PyTorch's inference, for the
comparison with elman's, which on a card runs every wave in one launch.
Usage: python batched.py [--hidden 64] [--threads N] [--device cpu|cuda] [--whole]
"""
import argparse, json, math, resource, time

import torch


def waves(n_series=1024, seq_len=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = 0.5 + 0.5 * torch.rand(n_series, 1, generator=g)
    w = 0.1 + 0.4 * torch.rand(n_series, 1, generator=g)
    phase = 2 * math.pi * torch.rand(n_series, 1, generator=g)
    t = torch.arange(seq_len + 1, dtype=torch.float32).unsqueeze(0)
    s = a * torch.sin(w * t + phase) + 0.01 * torch.randn(n_series, seq_len + 1, generator=g)
    return s[:, :-1].unsqueeze(-1), s[:, 1:].unsqueeze(-1)


def best_time(work, least=5, budget=1.5, most=40):
    """The shortest of repeated timed runs of `work`, after one untimed to warm up."""
    work()
    best, started = float("inf"), time.perf_counter()
    for repeat in range(most):
        if repeat >= least and time.perf_counter() - started > budget:
            break
        t = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--whole", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x, y = (t.to(args.device) for t in waves())
    rnn = torch.nn.RNN(1, args.hidden, nonlinearity="tanh", bias=False, batch_first=True).to(args.device)
    out = torch.nn.Linear(args.hidden, 1, bias=False).to(args.device)
    params = list(rnn.parameters()) + list(out.parameters())
    optim = torch.optim.Adam(params, lr=1e-3)
    batch = 256

    def epoch():
        for i in range(0, x.shape[0], batch):
            h, _ = rnn(x[i:i + batch])
            loss = torch.nn.functional.mse_loss(out(h), y[i:i + batch])
            optim.zero_grad()
            loss.backward()
            optim.step()
        return loss.item()

    @torch.no_grad()
    def infer(size=batch):
        total = torch.zeros((), device=args.device)
        for i in range(0, x.shape[0], size):
            total += ((out(rnn(x[i:i + size])[0]) - y[i:i + size]) ** 2).mean()
        return total.item()  # one sync point, as elman's evaluate

    train = x.shape[0] / best_time(epoch)
    whole = x.shape[0] / best_time(lambda: infer(x.shape[0])) if args.whole else None
    infer = x.shape[0] / best_time(infer)
    name = "batched" if args.hidden == 64 else f"batched-{args.hidden}"
    backend = "pytorch" if args.device == "cpu" else "pytorch-cuda"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [(name, "autograd", train, "train seq/s"), (f"{name}-inference", "forward", infer, "seq/s")]
    if whole is not None:
        lines.append((f"{name}-inference", "forward-whole", whole, "seq/s"))
    for workload, path, figure, unit in lines:
        print(json.dumps({"workload": workload, "backend": backend, "path": path,
                          "threads": args.threads, "figure": figure, "unit": unit,
                          "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
