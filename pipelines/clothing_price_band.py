"""Classify clothing listings into price bands from metadata, text and photos: the classifier job.

The clothing market's log price is cut into three equally frequent bands (``budget``,
``mid``, ``premium``, string labels); the default classification library
(``blend.default_members(..., task="classification")``, see the table in
``blend/members/defaults.py``) is blended on out-of-fold probabilities minimizing log loss.
Writes ``leaderboard.csv``, ``metrics.json`` (accuracy, log loss, per-member scores), the
error-correlation heat map, the cross-entropy decomposition and the safe model file
``model.blend``.

Usage::

    python pipelines/clothing_price_band.py            # 6,000 listings
    python pipelines/clothing_price_band.py --quick    # less data, fewer trees and epochs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _common import finish, fit_blend, shrink_for_quick_run, split
from sklearn.metrics import accuracy_score, log_loss

import blend
from blend.console import setup_console
from blend.datasets import make_clothing

BANDS = ["budget", "mid", "premium"]


def _set_metrics(model, X_te, y_te, coverage: float = 0.9) -> dict:
    """Held-out coverage and mean size of the conformal prediction sets."""
    sets = model.predict_set(X_te, coverage)
    idx = np.searchsorted(model.classes_, np.asarray(y_te))
    return {
        "set_90_coverage": float(np.mean(sets[np.arange(len(idx)), idx])),
        "set_90_mean_size": float(np.mean(sets.sum(axis=1))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=None, help="listings (default 6000)")
    parser.add_argument("--quick", action="store_true", help="a short run on less data")
    parser.add_argument("--out", default="reports/clothing_bands", help="report folder")
    parser.add_argument("--cv", type=int, default=5, help="out-of-fold folds")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    setup_console()  # before anything imports Keras
    n_samples = args.n_samples or (1500 if args.quick else 6000)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, log_price, _ = make_clothing(n_samples, random_state=args.random_state)
    band = pd.Series(pd.qcut(log_price, 3, labels=BANDS).astype(str), name="band")
    X_tr, X_te, y_tr, y_te = split(X, band, args.random_state)
    print(f"{n_samples} listings; bands: {band.value_counts().to_dict()}")

    members = blend.default_members(
        X_tr, y_tr, task="classification", random_state=args.random_state
    )
    if args.quick:
        shrink_for_quick_run(members)
    model = blend.BlendClassifier(
        members=members, cv=args.cv, random_state=args.random_state, verbose=1
    )
    fit_seconds = fit_blend(model, X_tr, y_tr)
    proba = model.predict_proba(X_te)
    labels = model.classes_[np.argmax(proba, axis=1)]
    # Members are fitted on the blender's class codes 0..k-1: map their predictions back.
    member_scores = {
        name: {
            "accuracy": accuracy_score(y_te, model.classes_[np.asarray(m.predict(X_te), int)]),
            "log_loss": log_loss(y_te, m.predict_proba(X_te), labels=model.classes_),
        }
        for name, m in model.members_
    }
    metrics = {
        "n_samples": n_samples,
        "test_accuracy": accuracy_score(y_te, labels),
        "test_log_loss": log_loss(y_te, proba, labels=model.classes_),
        "member_test_scores": member_scores,
        "weights": model.weights_,
        "fit_seconds": fit_seconds,
        "temperature": model.temperature_,
        **_set_metrics(model, X_te, y_te),
    }
    print("\nheld-out scores:")
    for name, score in member_scores.items():
        print(f"  {name:<16s} accuracy {score['accuracy']:.3f}  log loss {score['log_loss']:.4f}")
    print(
        f"  {'BLEND':<16s} accuracy {metrics['test_accuracy']:.3f}  "
        f"log loss {metrics['test_log_loss']:.4f}"
    )
    finish(model, out, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
