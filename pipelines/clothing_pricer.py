"""Price second-hand clothing from metadata, descriptions and photos: the main blend job.

Generates the synthetic clothing market (``blend.datasets.make_clothing``), holds out 20%,
fits the default member library (``blend.default_members``; which members a table gets is the
table in ``blend/members/defaults.py``) and blends it on out-of-fold predictions, then writes a
report folder:

- ``leaderboard.csv`` and ``metrics.json`` (held-out RMSE of the blend and of each member,
  the noise floor, fit time);
- ``error_correlation.png`` (member error correlations), ``ambiguity.png`` (average member
  error, ambiguity, ensemble error), ``predicted_vs_true.png``;
- ``ablation.png``/``ablation.csv``: how much metadata, text and photos each add, measured with
  one model (XGBoost on the tree featurizer) fitted on each subset of modalities;
- ``model.blend``: the fitted blend as a safe model file (``blend.load``).

Usage::

    python pipelines/clothing_pricer.py            # defaults: 3000 listings, 3 folds
    python pipelines/clothing_pricer.py --quick    # less data, fewer trees and epochs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import finish, fit_blend, rmse, shrink_for_quick_run, split

import blend
from blend.console import setup_console
from blend.datasets import make_clothing
from blend.report import plot_ablation

MODALITIES = {
    "metadata": ("numeric", "categorical"),
    "text": ("text",),
    "photos": ("image",),
}


def ablation_model(roles: dict, seed: int, max_trees: int | None = None):
    """The one model the ablation fits on every subset: XGBoost behind the tree featurizer.

    The same model kind and settings for every subset (those of the default XGBoost member on
    wide matrices), so a difference in RMSE is what the added modality brings, not a different
    learner; early stopping picks the number of trees per subset, so a wider matrix is not
    penalized by a tree count tuned for a narrower one. Boosted trees read every role (TF-IDF
    words, image descriptors) and fit in seconds, so the ablation does not refit the blend.
    """
    from xgboost import XGBRegressor

    from blend.members.xgboost import EarlyStoppedXGBRegressor, default_xgb_params

    params = default_xgb_params(wide=True)
    if max_trees is not None:
        params["n_estimators"] = min(params["n_estimators"], max_trees)
    booster = EarlyStoppedXGBRegressor(XGBRegressor(**params), random_state=seed)
    return blend.make_tree_pipeline(booster, roles=roles)


def modality_ablation(X_tr, y_tr, X_te, y_te, roles, seed: int, max_trees=None) -> pd.Series:
    """Held-out RMSE of :func:`ablation_model` fitted on each subset of modalities."""
    variants = {
        "metadata only": ["metadata"],
        "metadata + text": ["metadata", "text"],
        "metadata + photos": ["metadata", "photos"],
        "all modalities": ["metadata", "text", "photos"],
    }
    scores = {}
    for label, parts in variants.items():
        wanted = {r for part in parts for r in MODALITIES[part]}
        columns = [c for c, r in roles.items() if r in wanted]
        model = ablation_model({c: roles[c] for c in columns}, seed, max_trees)
        model.fit(X_tr[columns], y_tr)
        scores[label] = rmse(y_te, model.predict(X_te[columns]))
        print(f"  {label:<20s} RMSE {scores[label]:.4f}", flush=True)
    return pd.Series(scores, name="rmse")


def _interval_metrics(model, X_te, y_te, coverage: float = 0.9) -> dict:
    """Held-out coverage and mean width of the conformal intervals (each score)."""
    y = np.asarray(y_te, dtype=float)
    out = {}
    for method in ("adaptive", "absolute", "normalized"):
        lower, upper = model.predict_interval(X_te, coverage, method=method)
        out[f"interval_{method}_90_coverage"] = float(np.mean((y >= lower) & (y <= upper)))
        out[f"interval_{method}_90_mean_width"] = float(np.mean(upper - lower))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n-samples", type=int, default=None, help="listings (default 3000)")
    parser.add_argument("--quick", action="store_true", help="a short run on less data")
    parser.add_argument("--out", default="reports/clothing", help="report folder")
    parser.add_argument("--cv", type=int, default=3, help="out-of-fold folds")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--no-ablation", action="store_true", help="skip the modality ablation")
    args = parser.parse_args(argv)
    setup_console()  # before anything imports Keras
    n_samples = args.n_samples or (1500 if args.quick else 3000)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    X, y, floor = make_clothing(n_samples, random_state=args.random_state)
    X_tr, X_te, y_tr, y_te = split(X, y, args.random_state)
    roles = blend.infer_roles(X_tr)
    print(f"{n_samples} listings, noise floor (best possible RMSE) {floor:.3f}")
    print("roles:", ", ".join(f"{c}={r}" for c, r in roles.items()), flush=True)

    members = blend.default_members(X_tr, y_tr, roles=roles, random_state=args.random_state)
    if args.quick:
        shrink_for_quick_run(members)
    model = blend.BlendRegressor(
        members=members, cv=args.cv, random_state=args.random_state, verbose=1
    )
    fit_seconds = fit_blend(model, X_tr, y_tr)

    y_pred = model.predict(X_te)
    test_rmse = rmse(y_te, y_pred)
    member_rmse = {name: rmse(y_te, member.predict(X_te)) for name, member in model.members_}
    print("\nheld-out RMSE (members with non-zero weight):")
    for name, score in sorted(member_rmse.items(), key=lambda kv: kv[1]):
        print(f"  {name:<16s} {score:.4f}  ({score / floor:.2f}x floor)")
    print(f"  {'BLEND':<16s} {test_rmse:.4f}  ({test_rmse / floor:.2f}x floor)")

    metrics = {
        "n_samples": n_samples,
        "noise_floor": floor,
        "test_rmse": test_rmse,
        "test_rmse_over_floor": test_rmse / floor,
        "member_test_rmse": member_rmse,
        "weights": model.weights_,
        "fit_seconds": fit_seconds,
        **_interval_metrics(model, X_te, y_te),
    }
    if not args.no_ablation:
        print("\nmodality ablation (XGBoost on each subset, held-out RMSE):", flush=True)
        max_trees = 300 if args.quick else None
        ablation = modality_ablation(X_tr, y_tr, X_te, y_te, roles, args.random_state, max_trees)
        ablation.to_csv(out / "ablation.csv", header=True)
        plot_ablation(
            ablation,
            out / "ablation.png",
            baseline="all modalities",
            title="What each modality adds (held-out RMSE, lower is better)",
        )
        metrics["ablation_rmse"] = ablation.to_dict()
    metrics["total_seconds"] = time.perf_counter() - start
    finish(model, out, metrics, y_true=y_te, y_pred=y_pred)
    return 0


if __name__ == "__main__":
    sys.exit(main())
