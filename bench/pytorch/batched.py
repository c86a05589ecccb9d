"""The batched workloads of `cargo xtask bench` in PyTorch: `torch.nn.RNN` (tanh, no bias, the
Elman layer) and a bias-free linear read-out, full backpropagation through time over 64-step
sine waves in batches of 256, Adam, mean squared error; then inference over the same waves.

Prints JSON lines in the schema of `cargo xtask bench`: sequences per second. `--device cuda`
runs it on an NVIDIA GPU, where `nn.RNN` is cuDNN's (backend `pytorch-cuda`).
Usage: python batched.py [--hidden 64] [--threads N] [--device cpu|cuda]
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
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

    epoch()  # warm-up
    started = time.perf_counter()
    for _ in range(args.epochs):
        epoch()
    train = args.epochs * x.shape[0] / (time.perf_counter() - started)
    with torch.no_grad():
        started = time.perf_counter()
        for i in range(0, x.shape[0], batch):
            _ = ((out(rnn(x[i:i + batch])[0]) - y[i:i + batch]) ** 2).mean().item()
        infer = x.shape[0] / (time.perf_counter() - started)
    name = "batched" if args.hidden == 64 else f"batched-{args.hidden}"
    backend = "pytorch" if args.device == "cpu" else "pytorch-cuda"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for workload, path, figure, unit in [(name, "autograd", train, "train seq/s"),
                                         (f"{name}-inference", "forward", infer, "seq/s")]:
        print(json.dumps({"workload": workload, "backend": backend, "path": path,
                          "threads": args.threads, "figure": figure, "unit": unit,
                          "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
