"""The tutorial's training in JAX, written as an expert would: the whole run, 300 epochs of online
SGD on the 20-step sine wave (6,000 updates), as one jitted program (`lax.scan` over the steps
inside a `lax.scan` over the epochs, the epoch losses kept), so that only the arithmetic is
timed, not Python.

Prints one JSON line in the schema of `cargo xtask bench`: µs per update, best of `--repeats`
after a compiling run. Runs on JAX's default device (the GPU where JAX has one, else the CPU;
`--threads` is a hint to XLA's CPU backend).
Usage: python tutorial.py [--threads N] [--repeats N]
"""
import argparse, json, resource, time

from batched import limit_threads


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    limit_threads(args.threads)
    import jax
    import jax.numpy as jnp
    import numpy as np

    epochs, seq_length, lr = 300, 20, 0.1
    t = np.linspace(2, 10, seq_length + 1)
    s = np.sin(t).astype(np.float32)
    x, y = jnp.asarray(s[:-1]), jnp.asarray(s[1:])
    key = jax.random.PRNGKey(1)
    k1, k2 = jax.random.split(key)
    w1 = 0.4 * jax.random.normal(k1, (7, 6), jnp.float32)
    w2 = 0.3 * jax.random.normal(k2, (6, 1), jnp.float32)

    def step_loss(w, context, inp, target):
        w1, w2 = w
        xh = jnp.concatenate([inp.reshape(1), context])
        context = jnp.tanh(xh @ w1)
        pred = (context @ w2)[0]
        return (pred - target) ** 2 / 2, context

    grad = jax.value_and_grad(step_loss, has_aux=True)

    def step(carry, xy):
        w, context = carry
        (loss, context), g = grad(w, context, *xy)
        w = jax.tree_util.tree_map(lambda p, d: p - lr * d, w, g)
        return (w, jax.lax.stop_gradient(context)), loss

    def epoch(w, _):
        (w, _), losses = jax.lax.scan(step, (w, jnp.zeros(6, jnp.float32)), (x, y))
        return w, losses.sum()

    @jax.jit
    def train(w):
        return jax.lax.scan(epoch, w, None, length=epochs)

    w, losses = train((w1, w2))  # compiles
    losses.block_until_ready()
    best = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        w, losses = train((w1, w2))
        losses.block_until_ready()
        best = min(best, (time.perf_counter() - started) * 1e6 / (epochs * seq_length))
    platform = jax.devices()[0].platform
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"workload": "tutorial", "backend": "jax" if platform == "cpu" else f"jax-{platform}",
                      "path": "jit-scan", "threads": args.threads, "figure": best,
                      "unit": "us/step", "peak_rss_mib": round(peak, 1),
                      "last_loss": float(losses[-1])}))


if __name__ == "__main__":
    main()
