"""The batched workloads of `cargo xtask bench` in JAX, as an expert would write them: the Elman
layer (tanh, no bias) and a bias-free read-out as a `lax.scan` over the 64 steps, full
backpropagation through time by `jax.grad`, Adam written out (PyTorch's defaults), the whole
update of one batch of 256 jitted; then inference over the same 1,024 sine waves, jitted.
Each figure is the best of at least 5 timed repetitions (an epoch; inference over the waves),
more while under 1.5 s (at most 40), after one untimed that compiles, as `elman-bench` times its
own.

Prints JSON lines in the schema of `cargo xtask bench`: sequences per second. Runs on JAX's
default device (the GPU where JAX has one, else the CPU). `--whole` also times inference over the
1,024 waves as one batch (path `jit-scan-whole`).
Usage: python batched.py [--hidden 64] [--threads N] [--whole]
"""
import argparse, json, math, os, resource, time


def best_time(work, least=5, budget=1.5, most=40):
    """The shortest of repeated timed runs of `work`, after one untimed that compiles."""
    work()
    best, started = float("inf"), time.perf_counter()
    for repeat in range(most):
        if repeat >= least and time.perf_counter() - started > budget:
            break
        t = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t)
    return best


def limit_threads(threads):
    """XLA's CPU threads, set before JAX is imported: one unless asked for more."""
    os.environ.setdefault(
        "XLA_FLAGS",
        f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}",
    )


def waves(n, steps):
    """`n` noisy sine waves of `steps + 1` points as float32 `[n, steps + 1]`, the same draw
    (seed 0) for every JAX script."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = 0.5 + 0.5 * rng.random((n, 1))
    w = 0.1 + 0.4 * rng.random((n, 1))
    phase = 2 * math.pi * rng.random((n, 1))
    t = np.arange(steps + 1)[None, :]
    return (a * np.sin(w * t + phase) + 0.01 * rng.standard_normal((n, steps + 1))).astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--whole", action="store_true")
    args = parser.parse_args()
    limit_threads(args.threads)
    import jax
    import jax.numpy as jnp

    n, steps, h, batch = 1024, 64, args.hidden, 256
    s = waves(n, steps)
    x, y = jnp.asarray(s[:, :-1, None]), jnp.asarray(s[:, 1:, None])
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(1), 3)
    scale = 1 / math.sqrt(h)
    params = {
        "w_ih": jax.random.uniform(k1, (1, h), jnp.float32, -scale, scale),
        "w_hh": jax.random.uniform(k2, (h, h), jnp.float32, -scale, scale),
        "w_out": jax.random.uniform(k3, (h, 1), jnp.float32, -scale, scale),
    }

    def forward(p, xb):
        proj = jnp.swapaxes(xb, 0, 1) @ p["w_ih"]  # [T, B, H]

        def cell(state, proj_t):
            state = jnp.tanh(proj_t + state @ p["w_hh"])
            return state, state

        _, states = jax.lax.scan(cell, jnp.zeros((xb.shape[0], h), jnp.float32), proj)
        return jnp.swapaxes(states @ p["w_out"], 0, 1)

    def loss(p, xb, yb):
        return jnp.mean((forward(p, xb) - yb) ** 2)

    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3

    @jax.jit
    def update(p, m, v, k, xb, yb):
        value, g = jax.value_and_grad(loss)(p, xb, yb)
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** k, 1 - b2 ** k
        p = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
        return p, m, v, value

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = [params, zeros, zeros, 0]

    def epoch():
        p, m, v, k = state
        for i in range(0, n, batch):
            k += 1
            p, m, v, value = update(p, m, v, k, x[i:i + batch], y[i:i + batch])
        value.block_until_ready()
        state[:] = [p, m, v, k]

    train = n / best_time(epoch)

    infer_batch = jax.jit(loss)

    def infer():
        total = 0.0
        for i in range(0, n, batch):
            total = total + infer_batch(state[0], x[i:i + batch], y[i:i + batch])
        total.block_until_ready()

    whole = n / best_time(lambda: infer_batch(state[0], x, y).block_until_ready()) if args.whole else None
    infer = n / best_time(infer)

    platform = jax.devices()[0].platform
    backend = "jax" if platform == "cpu" else f"jax-{platform}"
    name = "batched" if h == 64 else f"batched-{h}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [(name, "jit-scan", train, "train seq/s"), (f"{name}-inference", "jit-scan", infer, "seq/s")]
    if whole is not None:
        lines.append((f"{name}-inference", "jit-scan-whole", whole, "seq/s"))
    for workload, path, figure, unit in lines:
        print(json.dumps({"workload": workload, "backend": backend, "path": path,
                          "threads": args.threads, "figure": figure, "unit": unit,
                          "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
