"""The tutorial's training loop as published ("Introduction to Recurrent Neural Networks in
PyTorch"), timed: 300 epochs of online SGD on the 20-step sine wave, 6,000 updates.

Prints one JSON line in the schema of `cargo xtask bench`: µs per update, best of `--repeats`.
`--device cuda` runs the same loop on an NVIDIA GPU (backend `pytorch-cuda`).
Usage: python tutorial.py [--threads N] [--repeats N] [--device cpu|cuda]
"""
import argparse, json, resource, time

import numpy as np
import torch


def run(device):
    torch.manual_seed(1)
    input_size, hidden_size, output_size = 7, 6, 1
    epochs, seq_length, lr = 300, 20, 0.1
    data_time_steps = np.linspace(2, 10, seq_length + 1)
    data = np.sin(data_time_steps).reshape(seq_length + 1, 1)
    x = torch.tensor(data[:-1], dtype=torch.float32, device=device)
    y = torch.tensor(data[1:], dtype=torch.float32, device=device)
    w1 = torch.empty(input_size, hidden_size).normal_(0.0, 0.4).to(device).requires_grad_(True)
    w2 = torch.empty(hidden_size, output_size).normal_(0.0, 0.3).to(device).requires_grad_(True)

    def forward(inp, context_state, w1, w2):
        xh = torch.cat((inp, context_state), 1)
        context_state = torch.tanh(xh.mm(w1))
        out = context_state.mm(w2)
        return out, context_state

    started = time.perf_counter()
    for i in range(epochs):
        total_loss = 0
        context_state = torch.zeros((1, hidden_size), device=device)
        for j in range(x.size(0)):
            inp = x[j:(j + 1)]
            target = y[j:(j + 1)]
            pred, context_state = forward(inp, context_state, w1, w2)
            loss = (pred - target).pow(2).sum() / 2
            total_loss += loss
            loss.backward()
            w1.data -= lr * w1.grad.data
            w2.data -= lr * w2.grad.data
            w1.grad.data.zero_()
            w2.grad.data.zero_()
            context_state = context_state.detach()
        if i % 10 == 0:
            _ = total_loss.item()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) * 1e6 / (epochs * seq_length)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    best = min(run(args.device) for _ in range(args.repeats))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = "pytorch" if args.device == "cpu" else "pytorch-cuda"
    print(json.dumps({"workload": "tutorial", "backend": backend, "path": "autograd",
                      "threads": args.threads, "figure": best, "unit": "us/step",
                      "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
