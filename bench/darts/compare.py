"""elman against darts' RNNModel on the project's real series, as a new user of each would run
them: sizes, epochs, batch, learning rate and the held-out span taken from our configs
(`configs/co2.toml`, `configs/sunspots.toml`), five seeds each side, the held-out span forecast
in closed loop and scored by MASE (the mean absolute error over the in-sample MAE of the
seasonal-naive forecast, `elman`'s definition), with each side's wall time on the CPU and peak
resident memory (elman's: its largest process; darts': this Python process, which holds it).

elman runs as its users run it (`elman train`, then `elman generate`, its own scaling and, for
CO2, its differencing); darts runs `RNNModel` on the series scaled by its `Scaler`, its
`input_chunk_length` our window and `training_length` twice that, as darts' own examples train it.

Prints one JSON line per run, then the medians per series, side and cell:

    python3 bench/darts/compare.py --elman target/release/elman [--seeds 5] [--models RNN,LSTM]
        [--cell elman|lstm|gru] [--bias]

Needs `pip install -r bench/darts/requirements.txt` (darts with PyTorch).
"""
import argparse, json, math, os, re, resource, statistics, subprocess, sys, tempfile, time, tomllib

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def settings(name):
    """The config's settings that both sides share."""
    path = os.path.join(ROOT, "configs", f"{name}.toml")
    with open(path, "rb") as f:
        config = tomllib.load(f)
    csv, model, train = config["csv"], config["model"], config["train"]
    return {
        "config": path,
        "file": os.path.normpath(os.path.join(os.path.dirname(path), csv["path"])),
        "target": csv["target"],
        "window": csv["window"],
        "test_steps": csv["test_steps"],
        "season": csv.get("season", 0),
        "hidden": model["d_hidden"],
        "epochs": train["n_epochs"],
        "lr": train["lr"],
        "batch": train["batch_size"],
    }


def series_values(s):
    """The target column, gaps filled linearly (as `missing = "interpolate"` does)."""
    frame = pd.read_csv(s["file"])
    return frame[s["target"]].astype(float).interpolate(limit_area="inside").to_numpy()


def mase(truth, predicted, history, season):
    m = max(season, 1)
    scale = np.mean(np.abs(history[m:] - history[:-m]))
    return float(np.mean(np.abs(np.asarray(truth) - np.asarray(predicted))) / scale)


def with_cell(s, cell, bias, work):
    """A copy of the config in `work` with `[model] cell` and `bias` set (the data's path made
    absolute): the config to train."""
    with open(s["config"]) as f:
        text = f.read()
    # The config's own `cell` and `bias`, if any, give way to the ones asked for.
    text = re.sub(r"(?m)^(cell|bias) = .*\n", "", text)
    text = text.replace("[model]\n", f"[model]\ncell = \"{cell}\"\nbias = {str(bias).lower()}\n", 1)
    text = text.replace('path = "../data/', f'path = "{os.path.join(ROOT, "data")}/')
    path = os.path.join(work, "config.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def peak_mib(who):
    """The peak resident memory so far of this process (`RUSAGE_SELF`), in MiB (Linux reports
    KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def ours(elman, config, seed, work):
    """`elman train` and `elman generate` on `config`: (MASE, seasonal-naive MASE, seconds,
    peak resident MiB of the larger of the two processes, measured by GNU time: a child of this
    Python process would report the parent's memory as its own; MSE, seasonal-naive MSE)."""
    run, gen = os.path.join(work, f"run{seed}"), os.path.join(work, f"gen{seed}")
    rss_file = os.path.join(work, "rss")
    timed = os.path.exists("/usr/bin/time")
    peak = 0.0
    started = time.perf_counter()
    for args in (["train", "--config", config, "--seed", str(seed), "--out", run],
                 ["generate", "--from", run, "--out", gen]):
        command = [elman, *args]
        if timed:
            command = ["/usr/bin/time", "-f", "%M", "-o", rss_file, *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if timed:
            with open(rss_file) as f:
                peak = max(peak, float(f.read().split()[-1]) / 1024)
    seconds = time.perf_counter() - started
    with open(os.path.join(gen, "metrics.json")) as f:
        metrics = json.load(f)
    return (metrics["forecast_mase"], metrics["baseline_mase"], seconds, peak,
            metrics["forecast_mse"], metrics["baseline_mse"])


def darts_side(kind, s, values, seed):
    """darts' RNNModel of cell `kind` on the same split: (MASE, seconds, MSE)."""
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import RNNModel

    history, truth = values[: -s["test_steps"]], values[-s["test_steps"]:]
    started = time.perf_counter()
    scaler = Scaler()
    train = scaler.fit_transform(TimeSeries.from_values(history.astype(np.float32)))
    model = RNNModel(
        model=kind,
        input_chunk_length=s["window"],
        # darts' own examples train on twice the input chunk: its strongest ordinary form
        # (with `window + 1` it trained on one target step per sequence).
        training_length=2 * s["window"],
        hidden_dim=s["hidden"],
        n_rnn_layers=1,
        batch_size=s["batch"],
        n_epochs=s["epochs"],
        optimizer_kwargs={"lr": s["lr"]},
        random_state=seed,
        pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                           "enable_model_summary": False, "logger": False},
    )
    model.fit(train, verbose=False)
    predicted = scaler.inverse_transform(model.predict(s["test_steps"], verbose=False))
    seconds = time.perf_counter() - started
    values = predicted.values().ravel()
    mse = float(np.mean((truth - values) ** 2))
    return mase(truth, values, history, s["season"]), seconds, mse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elman", required=True, help="the elman binary (a release build)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--series", default="co2,sunspots")
    parser.add_argument("--models", default="RNN,LSTM", help="darts' cells to run")
    parser.add_argument("--cell", default="elman", help="our cell: elman, lstm or gru")
    parser.add_argument("--bias", action="store_true", help="our network with biases")
    args = parser.parse_args()
    results = []
    for name in args.series.split(","):
        s = settings(name)
        values = series_values(s)
        ours_cell = args.cell + ("+bias" if args.bias else "")
        with tempfile.TemporaryDirectory() as work:
            config = with_cell(s, args.cell, args.bias, work)
            for seed in range(1, args.seeds + 1):
                score, naive, seconds, rss, mse, naive_mse = ours(args.elman, config, seed, work)
                for side, cell, value, err in (("elman", ours_cell, score, mse),
                                               ("seasonal-naive", "-", naive, naive_mse)):
                    line = {"series": name, "side": side, "cell": cell, "seed": seed,
                            "mase": value, "mse": err,
                            "seconds": seconds if side == "elman" else 0.0,
                            "peak_rss_mib": rss if side == "elman" else 0.0}
                    results.append(line)
                    print(json.dumps(line), flush=True)
        for kind in [k for k in args.models.split(",") if k]:
            for seed in range(1, args.seeds + 1):
                score, seconds, mse = darts_side(kind, s, values, seed)
                line = {"series": name, "side": "darts", "cell": kind, "seed": seed,
                        "mase": score, "mse": mse, "seconds": seconds,
                        "peak_rss_mib": peak_mib(resource.RUSAGE_SELF)}
                results.append(line)
                print(json.dumps(line), flush=True)
    print("\n| series | side | cell | median MASE | median MSE | median seconds | peak RSS MiB |",
          file=sys.stderr)
    print("|---|---|---|---|---|---|---|", file=sys.stderr)
    keys = sorted({(r["series"], r["side"], r["cell"]) for r in results})
    for series, side, cell in keys:
        rows = [r for r in results if (r["series"], r["side"], r["cell"]) == (series, side, cell)]
        m = statistics.median(r["mase"] for r in rows)
        e = statistics.median(r["mse"] for r in rows)
        t = statistics.median(r["seconds"] for r in rows)
        rss = max(r["peak_rss_mib"] for r in rows)
        print(f"| {series} | {side} | {cell} | {m:.3f} | {e:.1f} | {t:.2f} | {rss:.0f} |",
              file=sys.stderr)


if __name__ == "__main__":
    main()
