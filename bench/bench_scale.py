"""Benchmark rows the area scripts do not cover: speed-ups, latency, memory, cold start, claims.

Every row is a ratio of two measurements taken in the same run (the numerator and its
baseline), so the ratios stay meaningful on a loaded machine; absolute numbers are context.
Each function returns a list of row dicts (see :func:`row`); ``python -m bench`` collects them
into one table. Run one section alone with::

    .venv/bin/python -m bench.bench_scale coldstart
    .venv/bin/python -m bench.bench_scale diamonds --quick
"""

from __future__ import annotations

import os

# OpenMP members spin on a loaded 2-core machine; one thread per member (as in bench_blend)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def row(name: str, value, baseline, ratio, target: str = "", ok=None, note: str = "") -> dict:
    """One table row: ``value`` of ours vs ``baseline``, their ``ratio`` and the target."""
    return {
        "row": name,
        "ours": value,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        "note": note,
    }


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)))


def _best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


# ------------------------------------------------------------------------------- cold start
def coldstart(repeat: int = 3) -> list[dict]:
    """``python -c "import blend"`` in fresh processes vs ``python -c "pass"``."""
    probe = (
        "import time, sys; t = time.perf_counter(); import blend; "
        "dt = time.perf_counter() - t; "
        "print(dt, 'tensorflow' in sys.modules, 'keras' in sys.modules, 'xgboost' in sys.modules)"
    )

    def run(code: str) -> tuple[float, str]:
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
        return time.perf_counter() - start, out

    bare = min(run("pass")[0] for _ in range(repeat))
    runs = [run(probe) for _ in range(repeat)]
    total = min(t for t, _ in runs)
    fields = runs[0][1].split()
    inside = min(float(out.split()[0]) for _, out in runs)
    heavy = [m for m, flag in zip(("tensorflow", "keras", "xgboost"), fields[1:]) if flag == "True"]
    return [
        row(
            "cold start: `import blend` (s, in-process)",
            round(inside, 3),
            None,
            None,
            "<= 1 s, no TensorFlow",
            inside <= 1.0 and not heavy,
            f"process {total:.2f} s vs bare interpreter {bare:.2f} s; "
            f"heavy modules imported: {heavy or 'none'}",
        )
    ]


# ------------------------------------------------------------------------- diamonds: trees
def _scaled_tree_members(scale: float) -> list:
    from bench.bench_blend import tree_members

    members = tree_members(n_jobs=1)
    sizes = {"xgboost": "n_estimators", "random_forest": "n_estimators", "hist_gb": "max_iter"}
    for name, est in members:
        key = sizes[name]
        est.set_params(**{key: max(10, int(est.get_params()[key] * scale))})
    return members


def diamonds(rows: int | None, scale: float, with_n_jobs: bool = True) -> list[dict]:
    """Rows 1, 2 (trees), 3, 5, 7 (diamonds): blend vs StackingRegressor on the same members."""
    from sklearn.ensemble import StackingRegressor
    from sklearn.model_selection import KFold

    from bench.bench_blend import diamonds_split, numeric
    from blend import BlendRegressor

    Xtr, ytr, Xte, yte = diamonds_split(rows)
    A, B, y = numeric(Xtr), numeric(Xte), ytr.to_numpy()
    folds = KFold(5, shuffle=True, random_state=0)
    out = []
    note = f"diamonds {len(A)} train rows, member size x{scale}"

    stack = StackingRegressor(_scaled_tree_members(scale), cv=folds)
    start = time.perf_counter()
    stack.fit(A, y)
    stack_fit = time.perf_counter() - start

    # warm-up: start the loky worker pool and import the members there, so the timed fits
    # compare work, not process start-up (a persistent cost paid once per session)
    BlendRegressor(_scaled_tree_members(0.02), cv=folds, n_jobs=2).fit(A[:400], y[:400])

    blends, fits = {}, {}
    for refit in (False, True):
        blend = BlendRegressor(_scaled_tree_members(scale), cv=folds, refit=refit, n_jobs=2)
        start = time.perf_counter()
        blends[refit] = blend.fit(A, y)
        fits[refit] = time.perf_counter() - start
    for refit in (False, True):
        ratio = fits[refit] / stack_fit
        out.append(
            row(
                f"1. blend fit (refit={refit}, n_jobs=2) / StackingRegressor fit",
                round(fits[refit], 1),
                round(stack_fit, 1),
                round(ratio, 3),
                "<= 0.6",
                ratio <= 0.6,
                note + " (seconds)",
            )
        )
    if with_n_jobs:
        serial = BlendRegressor(_scaled_tree_members(scale), cv=folds, refit=False, n_jobs=1)
        start = time.perf_counter()
        serial.fit(A, y)
        one = time.perf_counter() - start
        speedup = one / fits[False]
        out.append(
            row(
                "5. blend fit speed-up n_jobs=2 vs n_jobs=1 (refit=False)",
                round(fits[False], 1),
                round(one, 1),
                round(speedup, 3),
                ">= 1.6",
                speedup >= 1.6,
                note + f"; {os.cpu_count()} cores, shared (see load)",
            )
        )

    blend = blends[True]
    reps = 50
    ours_ms = _median_ms(lambda: blend.predict(B[:1]), reps)
    stack_ms = _median_ms(lambda: stack.predict(B[:1]), reps)
    out.append(
        row(
            "2a. one-row predict: blend / StackingRegressor (ms)",
            round(ours_ms, 2),
            round(stack_ms, 2),
            round(ours_ms / stack_ms, 3),
            "blend <= 10 ms",
            ours_ms <= 10,
            f"median of {reps}",
        )
    )
    t_ours = _best_of(lambda: blend.predict(B), 3)
    t_stack = _best_of(lambda: stack.predict(B), 3)
    out.append(
        row(
            "3. batch predict throughput: blend / StackingRegressor (rows/s)",
            round(len(B) / t_ours),
            round(len(B) / t_stack),
            round(t_stack / t_ours, 3),
            ">= 1 (higher is better)",
            t_stack / t_ours >= 1,
            f"{len(B)} rows, best of 3",
        )
    )

    scores = {f"member {n}": _rmse(e.predict(B), yte) for n, e in stack.named_estimators_.items()}
    best = min(scores.values())
    scores["StackingRegressor"] = _rmse(stack.predict(B), yte)
    scores["blend (refit=True)"] = _rmse(blend.predict(B), yte)
    scores["blend (refit=False)"] = _rmse(blends[False].predict(B), yte)
    for name, value in scores.items():
        out.append(
            row(
                f"7. diamonds test RMSE: {name} / best single member",
                round(value, 4),
                round(best, 4),
                round(value / best, 3),
                "blend < 1" if name.startswith("blend") else "",
                (value < best) if name.startswith("blend") else None,
                "log price; AutoGluon not installed" if name == "StackingRegressor" else "",
            )
        )
    return out


# ------------------------------------------------------------------------ clothing quality
def clothing_quality(n: int, epochs: int) -> list[dict]:
    """Row 7 (make_clothing): members, blend, StackingRegressor, best single model."""
    from sklearn.ensemble import (
        HistGradientBoostingRegressor,
        RandomForestRegressor,
        StackingRegressor,
    )
    from sklearn.model_selection import KFold
    from xgboost import XGBRegressor

    from blend import BlendRegressor, KerasGraphRegressor, make_tree_pipeline
    from blend.datasets import make_clothing

    X, y, floor = make_clothing(n, random_state=0)
    perm = np.random.RandomState(0).permutation(n)
    cut = int(0.8 * n)
    Xtr, ytr, Xte, yte = (
        X.iloc[perm[:cut]],
        y.iloc[perm[:cut]],
        X.iloc[perm[cut:]],
        y.iloc[perm[cut:]],
    )
    trees = [
        ("xgboost", make_tree_pipeline(XGBRegressor(n_estimators=300, learning_rate=0.05,
                                                    max_depth=6, n_jobs=1, random_state=0))),
        ("random_forest", make_tree_pipeline(RandomForestRegressor(n_estimators=100, n_jobs=1,
                                                                   random_state=0))),
        ("hist_gb", make_tree_pipeline(HistGradientBoostingRegressor(random_state=0))),
    ]  # fmt: skip
    deep = ("deep", KerasGraphRegressor(epochs=epochs, random_state=0))
    folds = KFold(5, shuffle=True, random_state=0)
    stack = StackingRegressor(trees, cv=folds).fit(Xtr, ytr)
    blend = BlendRegressor([*trees, deep], cv=folds, n_jobs=2, random_state=0).fit(Xtr, ytr)
    scores = {f"member {k}": _rmse(e.predict(Xte), yte) for k, e in stack.named_estimators_.items()}
    final = dict(blend.members_)
    if "deep" in final:  # an expensive member: its final model is the holdout fold model
        scores["member deep (fold model)"] = _rmse(final["deep"].predict(Xte), yte)
    best = min(scores.values())
    scores["StackingRegressor (trees)"] = _rmse(stack.predict(Xte), yte)
    scores["blend (trees + deep)"] = _rmse(blend.predict(Xte), yte)
    weights = {k: round(v, 2) for k, v in blend.weights_.items()}
    out = []
    for name, value in scores.items():
        is_blend = name.startswith("blend")
        out.append(
            row(
                f"7. clothing test RMSE: {name} / best single member",
                round(value, 4),
                round(best, 4),
                round(value / best, 3),
                "blend < 1" if is_blend else "",
                (value < best) if is_blend else None,
                f"n={n}, noise floor {floor:.3f}; weights {weights}" if is_blend else "",
            )
        )
    return out


# --------------------------------------------------------------- deep latency and overhead
def deep_latency(n: int, repeat: int, blend_ms: float | None = None) -> list[dict]:
    """Row 2: the deep member's compiled one-row predict vs Keras ``model.predict``."""
    from bench.bench_deep import bench_predict

    res = bench_predict(n=n, repeat=repeat)
    out = [
        row(
            "2b. one-row predict: KerasGraphRegressor.predict / keras model.predict (ms)",
            round(res["one_row_ms"], 2),
            round(res["model_predict_ms"], 1),
            round(res["one_row_ms"] / res["model_predict_ms"], 4),
            "<= 0.1",
            res["one_row_ms"] / res["model_predict_ms"] <= 0.1,
            f"make_clothing({n}), all modalities, median",
        )
    ]
    if blend_ms is not None:
        out.append(
            row(
                "2c. one-row predict: tree blend / keras model.predict (ms)",
                round(blend_ms, 2),
                round(res["model_predict_ms"], 1),
                round(blend_ms / res["model_predict_ms"], 4),
                "",
                None,
                "blend from row 2a",
            )
        )
    return out


def deep_overhead(n: int, epochs: int, rounds: int) -> list[dict]:
    """Row 4: KerasGraphRegressor.fit vs a hand-written Keras fit of the same graph."""
    from bench.bench_deep import bench_overhead

    ratio = bench_overhead(n=n, epochs=epochs, rounds=rounds)
    return [
        row(
            "4. KerasGraphRegressor.fit / hand-written Keras fit (same graph, arrays)",
            None,
            None,
            round(ratio, 3),
            "<= 1.10",
            ratio <= 1.10,
            f"make_clothing({n}), {epochs} epochs, best of {rounds}",
        )
    ]


def backend_overhead(n: int, epochs: int, rounds: int, backend: str = "jax") -> list[dict]:
    """Row 4 on another Keras backend, in a fresh process (a process runs one backend)."""
    code = (
        "import json; from bench.bench_deep import bench_overhead; "
        f"print(json.dumps(bench_overhead(n={n}, epochs={epochs}, rounds={rounds}, "
        "as_dict=True)))"
    )
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    rate = stats["samples_per_s"]
    return [
        row(
            f"4j. KerasGraphRegressor.fit / hand-written fit, {backend} backend (samples/s)",
            round(rate["estimator"]),
            round(rate["hand-written"]),
            round(rate["estimator"] / rate["hand-written"], 3),
            ">= 0.90",
            stats["cpu_ratio"] <= 1 / 0.9,
            f"make_clothing({n}), {epochs} epochs, best of {rounds}; ok judged on CPU time "
            f"({stats['cpu_ratio']:.3f}x the hand-written fit's), the wall ratio shown moves "
            "with the load",
        )
    ]


# ------------------------------------------------------------------- image streaming memory
def _peak_rss_mib() -> float:
    """This process's peak resident memory (MiB) since it started its program.

    Linux keeps ``getrusage().ru_maxrss`` across ``exec``, so a child started from a big
    parent reports the parent's peak; ``VmHWM`` belongs to the new address space.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # other systems: ru_maxrss (bytes on macOS, KiB elsewhere)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _memory_child(data: str, epochs: int) -> None:
    """In a fresh process: train on a pickled frame, print RSS before fit and peak RSS (MiB)."""
    import psutil

    from blend import KerasGraphRegressor

    with open(data, "rb") as handle:
        X, y = pickle.load(handle)
    import keras  # noqa: F401  (import TensorFlow before the "before fit" reading)

    before = psutil.Process().memory_info().rss / 2**20
    KerasGraphRegressor(epochs=epochs, batch_size=64, validation_fraction=0.0, random_state=0).fit(
        X, y
    )
    peak = _peak_rss_mib()
    print(json.dumps({"before_mib": before, "peak_mib": peak}))


def _make_frame(n: int, folder: Path, paths: bool, out: Path) -> None:
    from blend.datasets import make_clothing

    X, y, _ = make_clothing(n, random_state=0, image_dir=folder if paths else None)
    with open(out, "wb") as handle:
        pickle.dump((X, y), handle)


def streaming_memory(n: int, factor: int = 4, epochs: int = 1) -> list[dict]:
    """Row 6: peak RSS of training at 1x and ``factor``x rows, from PNG paths and from arrays."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for paths in (True, False):
            for rows in (n, factor * n):
                frame = Path(tmp) / f"frame_{paths}_{rows}.pkl"
                _make_frame(rows, Path(tmp) / f"png_{rows}", paths, frame)
                cmd = [sys.executable, "-m", "bench.bench_scale", "_memory", str(frame),
                       "--epochs", str(epochs)]  # fmt: skip
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                if proc.returncode:
                    raise RuntimeError(f"memory child failed: {proc.stderr[-2000:]}")
                results[paths, rows] = json.loads(proc.stdout.strip().splitlines()[-1])
    out = []
    for paths, label in ((True, "PNG paths (streamed)"), (False, "in-memory arrays")):
        small, big = results[paths, n], results[paths, factor * n]
        ratio = big["peak_mib"] / small["peak_mib"]
        growth_small = small["peak_mib"] - small["before_mib"]
        growth_big = big["peak_mib"] - big["before_mib"]
        out.append(
            row(
                f"6. peak RSS training from {label}: {factor}x rows / 1x rows (MiB)",
                round(big["peak_mib"]),
                round(small["peak_mib"]),
                round(ratio, 3),
                "<= 1.3" if paths else "(reference)",
                (ratio <= 1.3) if paths else None,
                f"{n} vs {factor * n} rows, {epochs} epoch; growth during fit "
                f"{growth_small:.0f} -> {growth_big:.0f} MiB (includes the frame's cells)",
            )
        )
    return out


# -------------------------------------------------------------------- architecture claims
def _deep_trunk_graph(specs, *, residual: bool, depth: int = 8, units: int = 64):
    """The shared input branches, then ``depth`` dense blocks: residual+BN or plain."""
    import keras
    from keras import layers

    from blend.members.deep.blocks import dense_block
    from blend.members.deep.branches import build_body

    inputs, x = build_body(specs, "auto", depth=0, units=units)
    for i in range(depth):
        if residual:
            y = dense_block(x, units, batch_norm=True, name=f"deep{i}a")
            y = layers.Dense(units, use_bias=False, name=f"deep{i}b")(y)
            y = layers.BatchNormalization(name=f"deep{i}bn")(y)
            x = layers.Activation("relu", name=f"deep{i}out")(
                layers.Add(name=f"deep{i}add")([x, y])
            )
        else:
            x = dense_block(x, units, name=f"deep{i}a")
            x = dense_block(x, units, name=f"deep{i}b")
    return keras.Model(inputs, layers.Dense(1, name="output")(x))


def architecture(n: int, epochs: int) -> list[dict]:
    """Row 8: separable vs regular convolutions; residual+BN vs plain deep trunk."""
    from functools import partial

    from blend import KerasGraphRegressor
    from blend.datasets import make_clothing

    X, y, floor = make_clothing(n, random_state=0)
    perm = np.random.RandomState(0).permutation(n)
    cut = int(0.8 * n)
    Xtr, Xte = X.iloc[perm[:cut]], X.iloc[perm[cut:]]
    mean, std = float(y.iloc[perm[:cut]].mean()), float(y.iloc[perm[:cut]].std())
    ytr = (y.iloc[perm[:cut]] - mean) / std  # custom graphs have no target rescaling
    yte = y.iloc[perm[cut:]]

    def train(**params):
        est = KerasGraphRegressor(epochs=epochs, random_state=0, **params)
        start = time.perf_counter()
        est.fit(Xtr, ytr)
        seconds = time.perf_counter() - start
        hist = est.history_
        n_epochs = len(hist["loss"])
        best_epoch = int(np.argmin(hist.get("val_loss", hist["loss"]))) + 1
        return {
            "rmse": _rmse(est.predict(Xte) * std + mean, yte),
            "params": est.model_.count_params(),
            "epoch_s": seconds / n_epochs,
            "best_epoch": best_epoch,
        }

    sep = train(model__image="separable")
    conv = train(model__image="resnet")
    res = train(graph=partial(_deep_trunk_graph, residual=True))
    plain = train(graph=partial(_deep_trunk_graph, residual=False))
    note = f"make_clothing({n}), up to {epochs} epochs, early stopping; floor {floor:.3f}"

    def pair(name, key, a, b, target, ok, digits=4, text=""):
        ratio = round(a[key] / b[key], 3)
        return row(name, round(a[key], digits), round(b[key], digits), ratio, target, ok, text)

    return [
        pair("8a. model params: separable / regular conv images", "params", sep, conv, "< 1",
             sep["params"] < conv["params"], text=note),
        pair("8a. test RMSE: separable / regular conv", "rmse", sep, conv, "<= 1.02",
             sep["rmse"] <= 1.02 * conv["rmse"]),
        pair("8a. fit s/epoch (incl. compile): separable / regular conv", "epoch_s", sep, conv,
             "< 1", sep["epoch_s"] < conv["epoch_s"], digits=2),
        pair("8b. test RMSE: 8-block trunk residual+BN / plain", "rmse", res, plain, "< 1",
             res["rmse"] < plain["rmse"], text=note),
        pair("8b. epochs to best validation loss: residual+BN / plain", "best_epoch", res, plain,
             "<= 1", res["best_epoch"] <= plain["best_epoch"]),
    ]  # fmt: skip


SECTIONS = ("coldstart", "diamonds", "clothing", "deep", "memory", "architecture")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=[*SECTIONS, "_memory"])
    parser.add_argument("data", nargs="?", help="(internal) pickled frame for _memory")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.section == "_memory":
        _memory_child(args.data, args.epochs)
        return
    from bench.suite import run_sections

    run_sections([args.section], quick=args.quick, write=False)


if __name__ == "__main__":
    main()
