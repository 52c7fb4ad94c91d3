"""Benchmark prediction intervals, prediction sets and calibration (issue 24, part 1).

Every number is measured in the same run over the same splits: 80/20 splits over 5 seeds
(``RandomState(seed).permutation``), a few cheap members from ``blend.default_members``
(XGBoost, extra trees, the linear member; capped tree counts), ``BlendRegressor(method="nnls")``.

Rows
----
For each regression table -- the heteroscedastic synthetic table (noise scale grows with one
feature), the diamonds sample (log price, the acceptance table), scikit-learn's bundled
diabetes table (a third real table, so the default is not tuned to one) and the diamonds
sample in dollars (no log) -- the held-out coverage of the 90% interval, mean over seeds, for
the adaptive, normalized and absolute scores (target 88-92%), and the mean widths of the
adaptive and the normalized interval as ratios to the absolute one (target <= 0.9). MAPIE's
CV+ on the same data and members when ``mapie`` is importable (skipped otherwise). Diamonds
price band (4 classes): held-out log loss calibrated / uncalibrated (target <= 1) and 90% set
coverage (LAC score, target 88-92%) with the mean set size.

Usage::

    .venv/bin/python -m bench.bench_uncertainty            # 6,000 diamonds rows, 5 seeds
    .venv/bin/python -m bench.bench_uncertainty --quick    # 2,000 rows, 2 seeds
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import re
import time

import numpy as np
import pandas as pd

import blend
from blend.datasets import load_diamonds

CHEAP = ("xgboost", "extra_trees", "linear")


def heteroscedastic(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``y = f(x) + eps * (0.2 + |x0|^2)``: the noise scale depends on ``x0``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(-2, 2, size=(n, 5)), columns=[f"x{i}" for i in range(5)])
    f = np.sin(2 * X.x0) + X.x1**2 + 0.5 * X.x2 * X.x3
    y = f + rng.normal(size=n) * (0.2 + X.x0.abs() ** 2)
    return X, pd.Series(y, name="y")


def diamonds(rows: int) -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_diamonds(log_price=True)
    take = np.random.RandomState(12345).permutation(len(X))[:rows]
    return X.iloc[take].reset_index(drop=True), y.iloc[take].reset_index(drop=True)


def cheap_members(X, y, task: str, seed: int, trees: int = 200):
    members = [
        (name, est)
        for name, est in blend.default_members(X, y, task=task, random_state=seed)
        if name in CHEAP
    ]
    for _, est in members:
        params = est.get_params()
        for key in [k for k in params if k.endswith("n_estimators")]:
            if isinstance(params[key], int):
                est.set_params(**{key: min(params[key], trees)})
    return members


def _split(n: int, seed: int):
    order = np.random.RandomState(seed).permutation(n)
    cut = round(0.8 * n)
    return order[:cut], order[cut:]


METHODS = ("adaptive", "normalized", "absolute")


def regression_rows(name: str, X, y, seeds, coverage: float = 0.9) -> list[dict]:
    cover = {m: [] for m in METHODS}
    width = {m: [] for m in METHODS}
    mapie, fit_s, interval_s, mix = [], [], [], []
    for seed in seeds:
        tr, te = _split(len(X), seed)
        Xtr, Xte, ytr, yte = X.iloc[tr], X.iloc[te], y.iloc[tr].to_numpy(), y.iloc[te].to_numpy()
        members = cheap_members(Xtr, ytr, "regression", seed)
        start = time.perf_counter()
        model = blend.BlendRegressor(members, method="nnls", random_state=seed).fit(Xtr, ytr)
        fit_s.append(time.perf_counter() - start)
        mix.append(float(model.residual_scale_.mix_[0]))
        for method in METHODS:
            start = time.perf_counter()
            lo, hi = model.predict_interval(Xte, coverage, method=method)
            if method == "adaptive":
                interval_s.append(time.perf_counter() - start)
            cover[method].append(float(np.mean((yte >= lo) & (yte <= hi))))
            width[method].append(float(np.mean(hi - lo)))
        mapie.append(_mapie_cv_plus(members, Xtr, ytr, Xte, yte, coverage, seed))
    mean_cover = {m: float(np.mean(cover[m])) for m in METHODS}
    rows = [
        {
            "row": f"{name}: 90% interval coverage, adaptive / normalized / absolute "
            "(target 0.88-0.92)",
            "ours": round(mean_cover["adaptive"], 4),
            "baseline": round(mean_cover["absolute"], 4),
            "ratio": None,
            "target": all(0.88 <= c <= 0.92 for c in mean_cover.values()),
            "detail": f"normalized {mean_cover['normalized']:.4f}; per seed "
            + "; ".join(f"{m} " + ", ".join(f"{c:.3f}" for c in cover[m]) for m in METHODS),
        },
    ]
    for method in ("adaptive", "normalized"):
        ratio = float(np.mean(width[method]) / np.mean(width["absolute"]))
        per_seed = ", ".join(f"{a / b:.3f}" for a, b in zip(width[method], width["absolute"]))
        rows.append(
            {
                "row": f"{name}: mean width {method} / absolute (target <= 0.90)",
                "ours": round(float(np.mean(width[method])), 4),
                "baseline": round(float(np.mean(width["absolute"])), 4),
                "ratio": round(ratio, 3),
                "target": ratio <= 0.9,
                "detail": (
                    f"per seed {per_seed}"
                    + (
                        f"; shrinkage lam {', '.join(f'{v:.2f}' for v in mix)}; blend fit "
                        f"{np.mean(fit_s):.1f} s, adaptive predict_interval "
                        f"{np.mean(interval_s):.3f} s per seed"
                        if method == "adaptive"
                        else ""
                    )
                ),
            }
        )
    if all(m is not None for m in mapie):
        cov = float(np.mean([m[0] for m in mapie]))
        wid = float(np.mean([m[1] for m in mapie]))
        rows.append(
            {
                "row": f"{name}: MAPIE CV+ (same members averaged, 5 folds): width ours "
                "(adaptive) / MAPIE",
                "ours": round(float(np.mean(width["adaptive"])), 4),
                "baseline": round(wid, 4),
                "ratio": round(float(np.mean(width["adaptive"])) / wid, 3),
                "target": None,
                "detail": f"MAPIE coverage {cov:.4f}, ours {mean_cover['adaptive']:.4f}",
            }
        )
    return rows


def _mapie_cv_plus(members, Xtr, ytr, Xte, yte, coverage, seed):
    """MAPIE's CV+ around a mean of the same members (None without mapie)."""
    try:
        import mapie  # noqa: F401
    except ImportError:
        return None
    from sklearn.ensemble import VotingRegressor
    from sklearn.model_selection import KFold

    try:  # mapie >= 1.0
        from mapie.regression import CrossConformalRegressor

        est = CrossConformalRegressor(
            VotingRegressor(members),
            confidence_level=coverage,
            cv=KFold(5, shuffle=True, random_state=seed),
            method="plus",
        )
        est.fit_conformalize(Xtr, ytr)
        _, bounds = est.predict_interval(Xte)
    except ImportError:
        from mapie.regression import MapieRegressor

        est = MapieRegressor(
            VotingRegressor(members), cv=KFold(5, shuffle=True, random_state=seed), method="plus"
        )
        est.fit(Xtr, ytr)
        _, bounds = est.predict(Xte, alpha=1 - coverage)
    lo, hi = bounds[:, 0, 0], bounds[:, 1, 0]
    return float(np.mean((yte >= lo) & (yte <= hi))), float(np.mean(hi - lo))


def classification_rows(X, y_price, seeds, coverage: float = 0.9) -> list[dict]:
    """Diamonds price band: the quartile of log price, as four classes."""
    edges = np.quantile(y_price, [0.25, 0.5, 0.75])
    labels = np.array(["low", "mid_low", "mid_high", "high"])[np.searchsorted(edges, y_price)]
    y = pd.Series(labels)
    loss_cal, loss_raw, cover, size, temps = [], [], [], [], []
    for seed in seeds:
        tr, te = _split(len(X), seed)
        Xtr, Xte, ytr, yte = X.iloc[tr], X.iloc[te], y.iloc[tr], y.iloc[te].to_numpy()
        members = cheap_members(Xtr, ytr, "classification", seed)
        model = blend.BlendClassifier(members, method="nnls", random_state=seed).fit(Xtr, ytr)
        idx = np.searchsorted(model.classes_, yte)
        proba = model.predict_proba(Xte)
        raw = model._blend_outputs(model._check_X(Xte))  # before the temperature
        eps = 1e-15
        loss_cal.append(float(-np.mean(np.log(np.clip(proba[np.arange(len(idx)), idx], eps, 1)))))
        loss_raw.append(float(-np.mean(np.log(np.clip(raw[np.arange(len(idx)), idx], eps, 1)))))
        sets = model.predict_set(Xte, coverage)
        cover.append(float(np.mean(sets[np.arange(len(idx)), idx])))
        size.append(float(np.mean(sets.sum(axis=1))))
        temps.append(model.temperature_)
    ratio = float(np.mean(loss_cal) / np.mean(loss_raw))
    return [
        {
            "row": "diamonds price band: held-out log loss calibrated / uncalibrated (target <= 1)",
            "ours": round(float(np.mean(loss_cal)), 4),
            "baseline": round(float(np.mean(loss_raw)), 4),
            "ratio": round(ratio, 4),
            "target": ratio <= 1.0,
            "detail": "temperatures " + ", ".join(f"{t:.3f}" for t in temps),
        },
        {
            "row": "diamonds price band: 90% set coverage (target 0.88-0.92), mean set size",
            "ours": round(float(np.mean(cover)), 4),
            "baseline": round(float(np.mean(size)), 3),
            "ratio": None,
            "target": 0.88 <= np.mean(cover) <= 0.92,
            "detail": "per seed " + ", ".join(f"{c:.3f}" for c in cover),
        },
    ]


def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    """scikit-learn's bundled diabetes table (442 rows, 10 features; no download)."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


def uncertainty(rows: int = 6000, n_seeds: int = 5) -> list[dict]:
    """Every row of this benchmark (used by ``bench.suite``)."""
    seeds = list(range(n_seeds))
    out = regression_rows("heteroscedastic synthetic", *heteroscedastic(rows), seeds)
    Xd, yd = diamonds(rows)
    out += regression_rows("diamonds", Xd, yd, seeds)
    out += regression_rows("diabetes (sklearn, 442 rows)", *diabetes(), seeds)
    out += regression_rows("diamonds, price in dollars (not log)", Xd, np.exp(yd), seeds)
    out += classification_rows(Xd, yd.to_numpy(), seeds)
    return [_suite_row(r) for r in out]


def _suite_row(r: dict) -> dict:
    """The suite's columns: row, ours, baseline, ratio, target (text), ok, note."""
    found = re.search(r"\(target ([^)]*)\)", r["row"])
    target = found.group(1) if found else ""
    return {
        "row": r["row"],
        "ours": r["ours"],
        "baseline": r["baseline"],
        "ratio": r["ratio"],
        "target": target,
        "ok": r["target"],
        "note": r["detail"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 2 seeds")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    args = parser.parse_args(argv)
    rows = args.rows or (2000 if args.quick else 6000)
    seeds = args.seeds or (2 if args.quick else 5)
    start = time.perf_counter()
    table = pd.DataFrame(uncertainty(rows, seeds))
    with pd.option_context("display.max_colwidth", 200, "display.width", 250):
        print(table.to_string(index=False))
    print(f"\n{rows} rows, {seeds} seeds, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
