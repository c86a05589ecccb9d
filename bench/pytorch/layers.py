"""The `layer-*` workloads of `cargo xtask bench` in PyTorch: a recurrent layer (`torch.nn.RNN`
with tanh, `torch.nn.LSTM` or `torch.nn.GRU`, with biases, as `elman-bench`'s layers have) and a
linear head, full backpropagation through time over 1,024 sine waves of 64 steps in batches of
256, Adam, mean squared error of the next point: training sequences per second, the best of at
least 5 timed epochs after one to warm up, as `elman-bench` times its own (`layers.rs`); then
the same model's inference over the waves under `torch.no_grad()` (workload `layer-*-inference`).

Prints two JSON lines in the schema of `cargo xtask bench`.
Usage: python layers.py --cell elman|lstm|gru [--hidden 64] [--threads N] [--device cpu|cuda]
"""
import argparse, json, resource

import torch

from batched import best_time, waves


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cell", required=True, choices=["elman", "lstm", "gru"])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x, y = (t.to(args.device) for t in waves())
    layer = {
        "elman": lambda: torch.nn.RNN(1, args.hidden, nonlinearity="tanh", batch_first=True),
        "lstm": lambda: torch.nn.LSTM(1, args.hidden, batch_first=True),
        "gru": lambda: torch.nn.GRU(1, args.hidden, batch_first=True),
    }[args.cell]().to(args.device)
    head = torch.nn.Linear(args.hidden, 1).to(args.device)
    optim = torch.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=1e-3)
    batch = 256

    def epoch():
        for i in range(0, x.shape[0], batch):
            h, _ = layer(x[i:i + batch])
            loss = torch.nn.functional.mse_loss(head(h), y[i:i + batch])
            optim.zero_grad()
            loss.backward()
            optim.step()
        return loss.item()

    @torch.no_grad()
    def infer():
        total = torch.zeros((), device=args.device)
        for i in range(0, x.shape[0], batch):
            h, _ = layer(x[i:i + batch])
            total += torch.nn.functional.mse_loss(head(h), y[i:i + batch])
        return total.item()  # one sync point, as elman-bench reads its total once

    train = x.shape[0] / best_time(epoch)
    infer = x.shape[0] / best_time(infer)
    name = f"layer-{args.cell}" + ("" if args.hidden == 64 else f"-{args.hidden}")
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for workload, path, figure, unit in [(name, "autograd", train, "train seq/s"),
                                         (f"{name}-inference", "forward", infer, "seq/s")]:
        print(json.dumps({
            "workload": workload,
            "backend": "pytorch" if args.device == "cpu" else "pytorch-cuda",
            "path": path,
            "threads": args.threads,
            "figure": figure,
            "unit": unit,
            "peak_rss_mib": peak,
        }))


if __name__ == "__main__":
    main()
