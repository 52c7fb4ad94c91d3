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


def _best_of(fn, repeats: int = 3, clock=time.perf_counter) -> float:
    best = np.inf
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def _cold() -> None:
    """Forget every booster's TreeSHAP tables, so a timing includes building them."""
    from blend.ensemble import tree_shap

    tree_shap._CACHE.clear()


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
    explain_s = _best_of(lambda: (_cold(), model.explain(Xe)))  # tables built every time
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
                lambda est=est, trees=trees: (
                    _cold(),
                    explain_member(
                        est, Xe, columns, classification=False, n_outputs=1, trees=trees
                    ),
                )
            )
            out.append(
                {
                    "row": f"member {name} (trees={trees!r}): explain seconds",
                    "value": seconds,
                    "detail": f"{att.method}; {seconds / own:.1f}x its predict ({own:.3f} s)",
                }
            )
    out += _xgb_rows(fitted["xgb"], Xe, columns)
    return out


def _xgb_rows(est, Xe, columns) -> list[dict]:
    """Exact TreeSHAP of the XGBoost member: the leaf tables (first call, with their build, and
    again) against XGBoost's own ``pred_contribs`` on the same matrix, in the same run."""
    import xgboost

    from blend.ensemble import tree_shap
    from blend.ensemble.explain import _split_pipeline, _xgb_model

    preprocess, model = _split_pipeline(est)
    xgb = _xgb_model(model)
    Z = preprocess.transform(Xe)
    booster, iterations = xgb.get_booster(), xgb._get_iteration_range(None)

    def first_call():
        _cold()
        explain_member(est, Xe, columns, classification=False, n_outputs=1)

    first_s = _best_of(first_call)
    first_cpu = _best_of(first_call, clock=time.process_time)  # this process's CPU seconds
    build_s = _best_of(lambda: tree_shap._build(booster, iterations, Z.shape[1]))

    def own():
        data = xgboost.DMatrix(Z, missing=np.nan)
        booster.predict(data, pred_contribs=True, iteration_range=iterations)

    own_s = _best_of(own)
    own_cpu = _best_of(own, clock=time.process_time)  # summed over XGBoost's threads
    tables = tree_shap.tree_tables(booster, iterations, Z.shape[1])
    ours = tables.contributions(Z)
    theirs = booster.predict(
        xgboost.DMatrix(Z, missing=np.nan), pred_contribs=True, iteration_range=iterations
    )
    warm_s = _best_of(lambda: tables.contributions(Z))
    n_leaves = tables.n_leaves
    return [
        {
            "row": "member xgb: exact TreeSHAP, first call (tables built) / XGBoost pred_contribs",
            "value": first_s / own_s,
            "seconds": (first_s, own_s),
            "detail": f"{first_s:.3f} s vs {own_s:.3f} s (XGBoost's own exact TreeSHAP, same "
            f"rows); CPU seconds {first_cpu:.3f} vs {own_cpu:.3f}; table build {build_s:.3f} s "
            f"for {n_leaves} leaves",
        },
        {
            "row": "member xgb: exact TreeSHAP, tables built / XGBoost pred_contribs",
            "value": warm_s / own_s,
            "detail": f"{warm_s:.3f} s vs {own_s:.3f} s, {len(Xe)} rows",
        },
        {
            "row": "member xgb: max abs(table TreeSHAP - XGBoost pred_contribs)",
            "value": float(np.abs(ours - theirs[:, :-1]).max()),
            "detail": "XGBoost accumulates in float32, the tables in float64",
        },
    ]


def suite_rows(quick: bool = False) -> list[dict]:
    """The rows ``python -m bench`` prints (section "explain"): the target row first."""
    rows = {r["row"]: r for r in run(2000 if quick else 5000, 1000)}
    first = rows["member xgb: exact TreeSHAP, first call (tables built) / XGBoost pred_contribs"]
    seconds, xgboost_seconds = first["seconds"]
    ratio = rows["explain / predict (blend)"]
    return [
        {
            "row": "explain: exact TreeSHAP, default XGBoost member, 1,000 diamonds rows "
            "(tables built in the call); baseline XGBoost's own pred_contribs",
            "ours": round(seconds, 3),
            "baseline": round(xgboost_seconds, 3),
            "ratio": round(seconds / xgboost_seconds, 3),
            "target": "< 1 s",
            "ok": seconds < 1.0,
            "note": first["detail"],
        },
        {
            "row": "explain / predict, whole blend (xgb + forest + linear)",
            "ours": round(ratio["value"], 2),
            "baseline": None,
            "ratio": None,
            "target": "",
            "ok": None,
            "note": ratio["detail"],
        },
        {
            "row": "explain: additivity, max abs(baseline + sum - predict)",
            "ours": float(f"{rows['additivity: max abs(baseline + sum - predict)']['value']:.3g}"),
            "baseline": None,
            "ratio": None,
            "target": "float32 predict rounding",
            "ok": None,
            "note": "XGBoost predicts in float32; the attributions are float64",
        },
    ]


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
