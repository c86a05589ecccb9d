"""The `layer-*` workloads of `cargo xtask bench` in JAX, as an expert would write them: a
recurrent layer with biases (tanh RNN, LSTM or GRU, PyTorch's gate layout) and a linear head,
the recurrence a `lax.scan` over the 64 steps, full backpropagation through time by `jax.grad`,
Adam written out (PyTorch's defaults), mean squared error of the next point; the 1,024 sine
waves put in batches of 256 once, and a whole epoch one jitted `lax.scan` over the batches (no
Python slicing per batch). Training sequences per second, the best of at least 5 timed epochs
after one untimed that compiles, as `elman-bench` times its own (`layers.rs`); then the same
model's inference over the waves, one jitted `lax.scan` over the batches summing their losses
(workload `layer-*-inference`).

Prints two JSON lines in the schema of `cargo xtask bench`.
Usage: python layers.py --cell elman|lstm|gru [--hidden 64] [--threads N]
"""
import argparse, json, math, resource

from batched import best_time, limit_threads, waves


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cell", required=True, choices=["elman", "lstm", "gru"])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    limit_threads(args.threads)
    import jax
    import jax.numpy as jnp

    n, steps, h, batch = 1024, 64, args.hidden, 256
    s = waves(n, steps)
    # [batches, T, B, 1]: time-major batches, ready for the scans.
    shaped = lambda v: jnp.asarray(v.reshape(n // batch, batch, steps, 1).swapaxes(1, 2))
    x, y = shaped(s[:, :-1]), shaped(s[:, 1:])
    gates = {"elman": 1, "lstm": 4, "gru": 3}[args.cell]
    keys = jax.random.split(jax.random.PRNGKey(1), 6)
    scale = 1 / math.sqrt(h)
    uniform = lambda k, shape: jax.random.uniform(k, shape, jnp.float32, -scale, scale)
    params = {
        "w_ih": uniform(keys[0], (1, gates * h)),
        "w_hh": uniform(keys[1], (h, gates * h)),
        "b_ih": uniform(keys[2], (gates * h,)),
        "b_hh": uniform(keys[3], (gates * h,)),
        "w_out": uniform(keys[4], (h, 1)),
        "b_out": uniform(keys[5], (1,)),
    }

    def step(p, carry, proj_t):
        if args.cell == "elman":
            state = jnp.tanh(proj_t + carry @ p["w_hh"] + p["b_hh"])
            return state, state
        if args.cell == "lstm":
            hid, mem = carry
            i, f, g, o = jnp.split(proj_t + hid @ p["w_hh"] + p["b_hh"], 4, axis=-1)
            mem = jax.nn.sigmoid(f) * mem + jax.nn.sigmoid(i) * jnp.tanh(g)
            hid = jax.nn.sigmoid(o) * jnp.tanh(mem)
            return (hid, mem), hid
        r_x, z_x, n_x = jnp.split(proj_t, 3, axis=-1)
        r_h, z_h, n_h = jnp.split(carry @ p["w_hh"] + p["b_hh"], 3, axis=-1)
        r, z = jax.nn.sigmoid(r_x + r_h), jax.nn.sigmoid(z_x + z_h)
        cand = jnp.tanh(n_x + r * n_h)
        state = (1 - z) * cand + z * carry
        return state, state

    def loss(p, xb, yb):
        proj = xb @ p["w_ih"] + p["b_ih"]  # [T, B, gates·H]
        zeros = jnp.zeros((xb.shape[1], h), jnp.float32)
        init = (zeros, zeros) if args.cell == "lstm" else zeros
        _, states = jax.lax.scan(lambda c, v: step(p, c, v), init, proj)
        return jnp.mean((states @ p["w_out"] + p["b_out"] - yb) ** 2)

    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3
    tree = jax.tree_util.tree_map

    def update(carry, batch_xy):
        p, m, v, k = carry
        value, g = jax.value_and_grad(loss)(p, *batch_xy)
        k = k + 1
        m = tree(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = tree(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** k, 1 - b2 ** k
        p = tree(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
        return (p, m, v, k), value

    @jax.jit
    def epoch_of(carry):
        return jax.lax.scan(update, carry, (x, y))

    zeros = tree(jnp.zeros_like, params)
    state = [(params, zeros, zeros, jnp.float32(0))]

    def epoch():
        carry, values = epoch_of(state[0])
        values.block_until_ready()
        state[0] = carry

    @jax.jit
    def infer_all(p):
        return jax.lax.scan(lambda total, xy: (total + loss(p, *xy), None), jnp.float32(0), (x, y))[0]

    train = n / best_time(epoch)
    infer = n / best_time(lambda: infer_all(state[0][0]).block_until_ready())
    platform = jax.devices()[0].platform
    name = f"layer-{args.cell}" + ("" if h == 64 else f"-{h}")
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for workload, figure, unit in [(name, train, "train seq/s"), (f"{name}-inference", infer, "seq/s")]:
        print(json.dumps({
            "workload": workload,
            "backend": "jax" if platform == "cpu" else f"jax-{platform}",
            "path": "jit-scan",
            "threads": args.threads,
            "figure": figure,
            "unit": unit,
            "peak_rss_mib": peak,
        }))


if __name__ == "__main__":
    main()
