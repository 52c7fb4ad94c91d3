"""One-row and 1,000-row predict of the default blend against its members' own predict times.

Every ratio compares timings taken in the same run on the same rows, so it holds under load.

Usage::

    .venv/bin/python bench/bench_predict.py                 # diamonds (5,000 rows) and clothing
    .venv/bin/python bench/bench_predict.py --load /tmp/x   # reuse blends saved by an earlier run

For each data set: ``BlendRegressor(random_state=0)`` with the default members, fitted on a
diamonds sample or ``make_clothing(2000)``; the median of 50 one-row ``predict`` calls (after
one warm-up call), and of 5 calls on 1,000 rows, for the blend and for the sum of its members'
own ``predict`` on the same rows; then the same for the blend without its deep members.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import blend
from blend.datasets import load_diamonds, make_clothing

DEEP = ("deep", "wide_deep")


def _median_ms(call, rows: list, repeats: int) -> float:
    call(rows[0])  # warm-up
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        call(rows[i % len(rows)])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _data(name: str):
    if name == "diamonds":
        X, y = load_diamonds(log_price=True)
        order = np.random.RandomState(0).permutation(len(X))
        return X.iloc[order[:5000]], y.iloc[order[:5000]], X.iloc[order[5000:6000]]
    X, y, _ = make_clothing(3000, random_state=0)
    return X.iloc[:2000], y.iloc[:2000], X.iloc[2000:3000]


def _report(name: str, model, test: pd.DataFrame, label: str) -> None:
    one = [test.iloc[[i]] for i in range(50)]
    blend_one = _median_ms(model.predict, one, 50)
    members_one = sum(_median_ms(est.predict, one, 50) for _, est in model.members_)
    blend_big = _median_ms(model.predict, [test], 5)
    members_big = sum(_median_ms(est.predict, [test], 5) for _, est in model.members_)
    names = ", ".join(n for n, _ in model.members_)
    print(
        f"| {name} {label} ({names}) | {blend_one:.2f} ms | {members_one:.2f} ms "
        f"| {blend_one / members_one:.2f}x | {blend_big:.0f} ms | {members_big:.0f} ms "
        f"| {blend_big / members_big:.2f}x |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", help="folder of saved blends (written there when absent)")
    parser.add_argument("data", nargs="*", default=["diamonds", "clothing"])
    args = parser.parse_args()
    print("| blend | one row | members' own | ratio | 1,000 rows | members' own | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in args.data:
        X, y, test = _data(name)
        path = Path(args.load) / f"{name}.blend" if args.load else None
        if path is not None and path.exists():
            model = blend.load(path)
        else:
            model = blend.BlendRegressor(random_state=0).fit(X, y)
            if path is not None:
                blend.save(model, path)
        _report(name, model, test, "default")
        keep = [i for i, (n, _) in enumerate(model.members_) if n not in DEEP]
        if len(keep) < len(model.members_) and keep:
            cheap = model  # the same blend, its deep members left out (weights renormalised)
            weights = np.asarray(model._member_weights)[keep]
            cheap.members_ = [model.members_[i] for i in keep]
            cheap._member_weights = weights / weights.sum()
            _report(name, cheap, test, "without deep members")


if __name__ == "__main__":
    main()
