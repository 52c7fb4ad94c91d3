"""What every pipeline script shares: the seeded split, metrics, quick mode and the report.

Each script calls :func:`blend.console.setup_console` first thing in ``main`` (quiet TensorFlow
start-up, off-screen plots): the scripts own their process, the library does not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import blend
from blend.report import format_leaderboard, write_report


def rmse(y_true, y_pred) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def split(X: pd.DataFrame, y: pd.Series, seed: int, test_size: float = 0.2):
    """Shuffle rows with ``numpy.random.RandomState(seed)``; the last ``test_size`` is held out."""
    order = np.random.RandomState(seed).permutation(len(X))
    cut = round((1 - test_size) * len(X))
    train, test = order[:cut], order[cut:]
    return X.iloc[train], X.iloc[test], y.iloc[train], y.iloc[test]


def shrink_for_quick_run(members, epochs: int = 25, trees: int = 150) -> None:
    """Fewer epochs and trees in place: a quick run takes the same code path, only shorter."""
    for _, member in members:
        params = member.get_params()
        for key in [k for k in params if k.endswith("epochs")]:
            member.set_params(**{key: min(params[key], epochs)})
        for key in [k for k in params if k.endswith(("n_estimators", "max_iter"))]:
            if isinstance(params[key], int):
                member.set_params(**{key: min(params[key], trees)})


def fit_blend(model, X_tr, y_tr) -> float:
    names = ", ".join(name for name, _ in model.members)
    print(f"fitting {len(model.members)} members: {names}", flush=True)
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    print(f"\nleaderboard (out-of-fold), fit in {seconds:.0f} s:")
    print(format_leaderboard(model.leaderboard_), flush=True)
    return seconds


def finish(model, out: Path, metrics: dict, y_true=None, y_pred=None) -> None:
    """Write the report files and the safe model file, then print where they are."""
    written = write_report(model, out, y_true=y_true, y_pred=y_pred, metrics=metrics)
    blend.save(model, out / "model.blend")
    files = sorted({p.name for p in written.values()} | {"model.blend"})
    print(f"\nreport in {out}: {', '.join(files)}")
    summary = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    print(json.dumps({k: round(v, 4) for k, v in summary.items()}))
