"""Wide & Deep benchmark: joint model against its wide and deep parts, and on diamonds.

1. ``make_clothing`` (price has a brand x condition interaction; text and photos carry effects
   only the deep part can see), held-out 20%: the joint model, its wide part alone
   (``deep=None``) and its deep part alone (``wide=False``), with the same epoch budget and
   the same seed. The joint RMSE should be below both parts'.
2. Diamonds (log price, rows shuffled with ``RandomState(0).permutation``, first 80% train):
   the joint model next to the deep member (``KerasGraphRegressor``) and the tree member
   (early-stopped XGBoost from ``blend.default_members``).

Run: ``.venv/bin/python bench/bench_wide_deep.py [--rows 6000] [--seeds 0 1 2] [--epochs N]
[--no-photos] [--ftrl] [--zeros-init] [--ema-ablation] [--skip-diamonds]``. Several seeds
give paired ratios and their mean: a single seed's difference between joint and deep-only is
within seed-to-seed noise. Every model trains with the estimators' defaults (up to 200 epochs,
early stopping with patience 10) unless ``--epochs`` caps them; ``--no-photos`` drops the photo
columns to save CPU time; ``--zeros-init`` also trains the joint model from the plain
start (``wide_init="zeros"``) instead of the default exact wide solution; ``--ema-ablation``
also trains the joint model and the deep-only model (and, on diamonds, the deep member) without
the moving average of their weights (``optimizer__use_ema=False``), to measure what it brings.
Times are wall-clock seconds on whatever machine runs it (shared CPUs inflate them); the
ratios compare models measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from blend import KerasGraphRegressor, WideDeepRegressor, make_tree_pipeline
from blend.datasets import load_diamonds, make_clothing
from blend.members.xgboost import EarlyStoppedXGBRegressor

LABELS = {"wide": "wide-only", "deep": "deep-only", "zeros": "zeros-init joint"}
NO_EMA = {"optimizer__use_ema": False}


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def run(name: str, model, X_train, y_train, X_test, y_test) -> dict:
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    score = rmse(model.predict(X_test), y_test)
    epochs = len(model.history_["loss"]) if hasattr(model, "history_") else None
    print(f"  {name:<22} RMSE {score:.4f}   fit {seconds:6.1f} s   epochs run {epochs}", flush=True)
    return {"rmse": score, "seconds": seconds, "model": model}


def clothing(rows: int, epochs: int | None, seeds: list[int], photos: bool, ftrl: bool,
             zeros_init: bool, ema_ablation: bool) -> None:  # fmt: skip
    """Joint vs its parts on make_clothing, once per seed (data and model seeds), paired."""
    ratios = {"wide": [], "deep": []}
    if zeros_init:
        ratios["zeros"] = []
    averaging = {"joint": [], "deep": []}  # with / without the weight average, paired
    for seed in seeds:
        X, y, noise = make_clothing(rows, random_state=seed)
        if not photos:  # convnets on the photos dominate CPU time; metadata and text remain
            X = X.drop(columns=["photo_front", "photo_back"])
        cut = int(rows * 0.8)
        parts = (X.iloc[:cut], y[:cut], X.iloc[cut:], y[cut:])
        print(f"make_clothing({rows}, random_state={seed}): train {cut}, test {rows - cut}, "
              f"noise floor {noise}, columns {list(X.columns)}")  # fmt: skip
        common = {"random_state": seed, "crosses": "auto"}
        if epochs:
            common["epochs"] = epochs
        results = {
            "joint": run("wide & deep (joint)", WideDeepRegressor(**common), *parts),
            "wide": run("wide only (deep=None)", WideDeepRegressor(deep=None, **common), *parts),
            "deep": run("deep only (wide=False)", WideDeepRegressor(wide=False, **common), *parts),
        }
        if ftrl:
            results["ftrl"] = run(
                "joint, FTRL wide", WideDeepRegressor(wide_optimizer="ftrl", **common), *parts
            )
        if zeros_init:
            results["zeros"] = run(
                "joint, zeros init", WideDeepRegressor(wide_init="zeros", **common), *parts
            )
        if ema_ablation:
            results["joint_raw"] = run(
                "joint, no averaging", WideDeepRegressor(**common, **NO_EMA), *parts
            )
            results["deep_raw"] = run(
                "deep only, no averaging", WideDeepRegressor(wide=False, **common, **NO_EMA), *parts
            )
            for name in averaging:
                averaging[name].append(results[name]["rmse"] / results[f"{name}_raw"]["rmse"])
            ratio = results["joint_raw"]["rmse"] / results["deep_raw"]["rmse"]
            print(f"  without averaging: joint / deep-only RMSE ratio {ratio:.3f}")
        joint = results["joint"]
        print(f"  crosses found: {joint['model'].encoder_.wide.crosses_}")
        print("  top wide features:")
        print(joint["model"].wide_importance().head(6).to_string(index=False))
        for part in ratios:
            ratio = joint["rmse"] / results[part]["rmse"]
            ratios[part].append(ratio)
            print(f"  joint / {LABELS[part]} RMSE ratio: {ratio:.3f}")
    for name, values in averaging.items():
        if values:
            each = ", ".join(f"{v:.3f}" for v in values)
            print(f"clothing: {name} with / without averaging, mean {np.mean(values):.3f} ({each})")
    if len(seeds) > 1:
        for part, values in ratios.items():
            each = ", ".join(f"{v:.3f}" for v in values)
            print(
                f"clothing, {len(seeds)} seeds: joint / {LABELS[part]} RMSE ratio mean "
                f"{np.mean(values):.3f} (each: {each})"
            )


def diamonds(epochs: int | None, seed: int, ema_ablation: bool) -> None:
    X, y = load_diamonds(log_price=True)
    order = np.random.RandomState(0).permutation(len(X))
    cut = int(len(X) * 0.8)
    train, test = order[:cut], order[cut:]
    parts = (X.iloc[train], y[train], X.iloc[test], y[test])
    print(f"diamonds (log price): train {len(train)}, test {len(test)}")
    options = {"random_state": seed}
    if epochs:
        options["epochs"] = epochs
    results = {
        "xgboost": run(
            "xgboost (tree member)",
            make_tree_pipeline(EarlyStoppedXGBRegressor(random_state=seed)),
            *parts,
        ),
        "deep": run("keras graph (deep)", KerasGraphRegressor(**options), *parts),
        "joint": run("wide & deep (joint)", WideDeepRegressor(**options), *parts),
    }
    if ema_ablation:
        for name, model in (("deep", KerasGraphRegressor), ("joint", WideDeepRegressor)):
            raw = run(f"{name}, no averaging", model(**options, **NO_EMA), *parts)
            ratio = results[name]["rmse"] / raw["rmse"]
            print(f"  {name} with / without averaging RMSE ratio: {ratio:.3f}")
    print(f"  crosses found: {results['joint']['model'].encoder_.wide.crosses_}")
    for other in ("deep", "xgboost"):
        ratio = results["joint"]["rmse"] / results[other]["rmse"]
        print(f"  joint / {other} RMSE ratio: {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument(
        "--epochs", type=int, default=None, help="epoch cap (default: the estimators' own)"
    )
    parser.add_argument("--seed", type=int, default=0, help="model seed on diamonds")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="clothing data and model seeds"
    )
    parser.add_argument("--skip-diamonds", action="store_true")
    parser.add_argument("--skip-clothing", action="store_true")
    parser.add_argument("--no-photos", action="store_true", help="drop the photo columns (fast)")
    parser.add_argument("--ftrl", action="store_true", help="also the joint model with FTRL")
    parser.add_argument(
        "--zeros-init", action="store_true", help='also the joint model with wide_init="zeros"'
    )
    parser.add_argument(
        "--ema-ablation",
        action="store_true",
        help="also train without the moving average of the weights (optimizer__use_ema=False)",
    )
    args = parser.parse_args()
    if not args.skip_clothing:
        clothing(
            args.rows,
            args.epochs,
            args.seeds,
            not args.no_photos,
            args.ftrl,
            args.zeros_init,
            args.ema_ablation,
        )
    if not args.skip_diamonds:
        diamonds(args.epochs, args.seed, args.ema_ablation)


if __name__ == "__main__":
    main()
