"""Benchmark ``explain``: cost per tree member and additivity on diamonds.

A blend of the default XGBoost member (early-stopped, through ``make_tree_pipeline``), a
random forest pipeline and the wide linear member is fit on diamonds (log price); then 1,000
held-out rows are explained. Rows are ratios against one ``predict`` of the same rows,
measured in the same run, so they hold under machine load.

Usage::

    .venv/bin/python bench/bench_explain.py
    .venv/bin/python bench/bench_explain.py --train 5000 --rows 1000 --seed 0

Rows
----
explain / predict
    Seconds of ``model.explain(rows)`` over seconds of ``model.predict(rows)``.
member seconds
    ``explain_member`` per member on the rows (target: under 1 s per tree member), and its
    ratio to that member's own predict.
additivity
    Largest ``|baseline + contributions - predict|`` over the rows (float32 boosters round
    their own predict to about 1e-7 relative).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor

from blend import BlendRegressor, make_tree_pipeline
from blend.datasets import load_diamonds
from blend.ensemble.explain import explain_member
from blend.ensemble.outputs import member_output
from blend.members.linear import WideLinearRegressor
from blend.members.xgboost import EarlyStoppedXGBRegressor


def _best_of(fn, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(train: int = 5000, rows: int = 1000, seed: int = 0) -> list[dict]:
    X, y = load_diamonds(log_price=True)
    order = np.random.default_rng(seed).permutation(len(X))
    fit_rows, explain_rows = order[:train], order[train : train + rows]
    members = [
        ("xgb", make_tree_pipeline(EarlyStoppedXGBRegressor(random_state=seed))),
        (
            "forest",
            make_tree_pipeline(
                RandomForestRegressor(n_estimators=100, min_samples_leaf=3, random_state=seed)
            ),
        ),
        ("linear", WideLinearRegressor(random_state=seed)),
    ]
    model = BlendRegressor(members, cv=3, method="nnls", random_state=seed)
    model.fit(X.iloc[fit_rows], y.iloc[fit_rows])
    Xe = X.iloc[explain_rows]
    columns = [str(c) for c in X.columns]
    predict_s = _best_of(lambda: model.predict(Xe))
    explain_s = _best_of(lambda: model.explain(Xe))
    parts = model.explain(Xe)
    total = parts.drop(columns=["gap", "prediction"]).sum(axis=1).to_numpy()
    out = [
        {
            "row": "explain / predict (blend)",
            "value": explain_s / predict_s,
            "detail": f"{explain_s:.3f} s vs {predict_s:.3f} s, {rows} rows",
        },
        {
            "row": "additivity: max abs(baseline + sum - predict)",
            "value": float(np.abs(total - model.predict(Xe)).max()),
            "detail": f"weights {model.weights_}",
        },
    ]
    saabas_s = _best_of(lambda: model.explain(Xe, trees="saabas"))
    out.append(
        {
            "row": "explain(trees='saabas') / predict (blend)",
            "value": saabas_s / predict_s,
            "detail": f"{saabas_s:.3f} s vs {predict_s:.3f} s",
        }
    )
    fitted = dict(model.members_)
    for name, member in members:  # a member left without weight is fit here, to time it too
        if name not in fitted:
            fitted[name] = clone(member).fit(X.iloc[fit_rows], y.iloc[fit_rows])
    for name, est in fitted.items():
        own = _best_of(lambda est=est: member_output(est, Xe, False, 1))
        for trees in ("shap", "saabas"):
            att = explain_member(est, Xe, columns, classification=False, n_outputs=1, trees=trees)
            seconds = _best_of(
                lambda est=est, trees=trees: explain_member(
                    est, Xe, columns, classification=False, n_outputs=1, trees=trees
                )
            )
            out.append(
                {
                    "row": f"member {name} (trees={trees!r}): explain seconds",
                    "value": seconds,
                    "detail": f"{att.method}; {seconds / own:.1f}x its predict ({own:.3f} s)",
                }
            )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("| row | value | detail |\n|---|---|---|")
    for row in run(args.train, args.rows, args.seed):
        print(f"| {row['row']} | {row['value']:.4g} | {row['detail']} |")


if __name__ == "__main__":
    main()
