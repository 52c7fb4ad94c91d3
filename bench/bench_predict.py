"""One-row and 1,000-row predict of the default blend against its members' own predict times.

Every ratio compares timings taken in the same run on the same rows, so it holds under load.

Usage::

    .venv/bin/python -m bench.bench_predict                 # diamonds (5,000 rows) and clothing
    .venv/bin/python -m bench.bench_predict --load /tmp/x   # reuse blends saved by an earlier run

For each data set: ``BlendRegressor(random_state=0)`` with the default members, fitted on a
diamonds sample or ``make_clothing(2000)``; the median of 50 one-row ``predict`` calls (after
one warm-up call), and of 5 calls on 1,000 rows, for the blend and for the sum of its members'
own ``predict`` on the same rows (one-row timings: the middle of three such rounds, each
listed in the row's note); the same for the ``"fast"`` preset; and whether one-row
predictions equal the batch path's bit for bit. ``python -m bench --only predict`` runs it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import blend
from bench.bench_scale import row
from blend.datasets import load_diamonds, make_clothing

# Rounds of the one-row timing (the middle round's median is the row's value).
ROUNDS = 3


def _median_ms(call, rows: list, repeats: int) -> float:
    call(rows[0])  # warm-up
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        call(rows[i % len(rows)])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _rounds_ms(call, rows: list, repeats: int, rounds: int = ROUNDS) -> tuple[float, list]:
    """The middle of ``rounds`` rounds' medians (and the rounds): on a shared machine one
    round of a few milliseconds' calls can land in a busy moment."""
    found = [_median_ms(call, rows, repeats) for _ in range(rounds)]
    return float(np.median(found)), found


def _data(name: str):
    if name == "diamonds":
        X, y = load_diamonds(log_price=True)
        order = np.random.RandomState(0).permutation(len(X))
        return X.iloc[order[:5000]], y.iloc[order[:5000]], X.iloc[order[5000:6000]]
    X, y, _ = make_clothing(3000, random_state=0)
    return X.iloc[:2000], y.iloc[:2000], X.iloc[2000:3000]


def _bitwise(model, test: pd.DataFrame, n: int = 50) -> bool:
    """One-row predictions equal the batch path's, bit for bit."""
    batch = model.predict(test.iloc[:n])
    alone = np.concatenate([model.predict(test.iloc[[i]]) for i in range(n)])
    return bool(np.array_equal(alone, batch))


def _rows(name: str, model, test: pd.DataFrame, label: str, target_ms: float) -> list[dict]:
    one = [test.iloc[[i]] for i in range(50)]
    blend_one, rounds = _rounds_ms(model.predict, one, 50)
    members_one = sum(_rounds_ms(est.predict, one, 50)[0] for _, est in model.members_)
    blend_big = _median_ms(model.predict, [test], 5)
    members_big = sum(_median_ms(est.predict, [test], 5) for _, est in model.members_)
    names = ", ".join(n for n, _ in model.members_)
    same = _bitwise(model, test)
    return [
        row(
            f"predict {name} {label}: one row, blend / sum of members' own (ms)",
            round(blend_one, 2),
            round(members_one, 2),
            blend_one / members_one,
            f"blend <= {target_ms:g} ms",
            blend_one <= target_ms and same,
            f"median of 50 calls after a warm-up, the middle of {ROUNDS} rounds "
            f"({', '.join(f'{r:.2f}' for r in rounds)} ms); members {names}; one-row == "
            f"batch bitwise: {same}",
        ),
        row(
            f"predict {name} {label}: 1,000 rows, blend / sum of members' own (ms)",
            round(blend_big, 1),
            round(members_big, 1),
            blend_big / members_big,
            "",
            None,
            "median of 5 calls",
        ),
    ]


def predict_rows(folder: str | None = None, data=("diamonds", "clothing")) -> list[dict]:
    """Rows for ``python -m bench``: the default blend (5 ms target) and the fast preset (2 ms)."""
    rows = []
    for name in data:
        X, y, test = _data(name)
        for preset, target in (("default", 5.0), ("fast", 2.0)):
            path = Path(folder) / f"{name}-{preset}.blend" if folder else None
            if path is not None and path.exists():
                model = blend.load(path)
            else:
                model = blend.BlendRegressor(presets=preset, random_state=0).fit(X, y)
                if path is not None:
                    blend.save(model, path)
            rows += _rows(name, model, test, f"{preset} preset", target)
    return rows


def main() -> None:
    from bench.suite import markdown_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", help="folder of saved blends (written there when absent)")
    parser.add_argument("data", nargs="*", default=["diamonds", "clothing"])
    args = parser.parse_args()
    print(markdown_table(predict_rows(args.load, args.data)))


if __name__ == "__main__":
    main()
