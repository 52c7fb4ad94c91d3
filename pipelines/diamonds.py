"""Price real diamonds (ggplot2's ``diamonds``) with the default blend: the tabular job.

Loads the shipped data, takes the reference split (rows shuffled with
``numpy.random.RandomState(0)``, first 80% train, last 20% test, target ``log(price)``), fits
the default member library and blends it, then writes the report folder (``leaderboard.csv``,
``metrics.json``, error-correlation heat map, ambiguity bar chart, predicted vs true) and the
safe model file ``model.blend``.

Usage::

    python pipelines/diamonds.py            # all 53,940 rows
    python pipelines/diamonds.py --quick    # a 6,000-row sample with fewer trees and epochs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from _common import finish, fit_blend, rmse, shrink_for_quick_run, split

import blend
from blend.console import setup_console
from blend.datasets import load_diamonds


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run on a sample")
    parser.add_argument("--out", default="reports/diamonds", help="report folder")
    parser.add_argument("--cv", type=int, default=5, help="out-of-fold folds")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    setup_console()  # before anything imports Keras
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_diamonds(log_price=True)
    X_tr, X_te, y_tr, y_te = split(X, y, args.random_state)
    if args.quick:
        X_tr, y_tr = X_tr.iloc[:4800], y_tr.iloc[:4800]
        X_te, y_te = X_te.iloc[:1200], y_te.iloc[:1200]
    print(f"diamonds: {len(X_tr)} train rows, {len(X_te)} test rows, target log(price)")

    members = blend.default_members(X_tr, y_tr, random_state=args.random_state)
    if args.quick:
        shrink_for_quick_run(members)
    model = blend.BlendRegressor(
        members=members, cv=args.cv, random_state=args.random_state, verbose=1
    )
    fit_seconds = fit_blend(model, X_tr, y_tr)
    y_pred = model.predict(X_te)
    member_rmse = {name: rmse(y_te, m.predict(X_te)) for name, m in model.members_}
    metrics = {
        "train_rows": len(X_tr),
        "test_rmse": rmse(y_te, y_pred),
        "member_test_rmse": member_rmse,
        "weights": model.weights_,
        "fit_seconds": fit_seconds,
        **_interval_metrics(model, X_te, y_te),
    }
    print("\nheld-out RMSE on log price:")
    for name, score in sorted(member_rmse.items(), key=lambda kv: kv[1]):
        print(f"  {name:<16s} {score:.4f}")
    print(f"  {'BLEND':<16s} {metrics['test_rmse']:.4f}")
    finish(model, out, metrics, y_true=y_te, y_pred=y_pred)
    return 0


if __name__ == "__main__":
    sys.exit(main())
