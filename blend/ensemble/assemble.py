"""From task results to what a blend is made of.

- :func:`assemble_oof`: the out-of-fold matrix ``(n_rows, n_members, n_outputs)`` (NaN where a
  member has no prediction for a row; averaged where a row is predicted twice), the members
  that failed a fold and why, each member's fits and seconds, and the ``task_log_`` rows;
- :func:`weighting_rows`: the rows on which every surviving member has a prediction;
- :func:`fold_final_models` and :func:`collect_final_fits`: each selected member's final
  model, from its fold models or from its fit on all rows -- including final fits started
  with the folds for members the weights then left out, which are counted and discarded;
- :func:`leaderboard`: one row per member for ``leaderboard_``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from blend.ensemble.outputs import FoldAverage
from blend.ensemble.plan import Plan
from blend.ensemble.tasks import TaskResult

__all__ = [
    "MemberStats",
    "OutOfFold",
    "assemble_oof",
    "collect_final_fits",
    "fold_final_models",
    "leaderboard",
    "weighting_rows",
]


@dataclass
class MemberStats:
    """What one member's tasks cost: seconds, fits run and taken from the cache."""

    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    n_fits: int = 0
    cached_fits: int = 0
    fold_models: list = field(default_factory=list)

    @classmethod
    def of_folds(cls, results: list[TaskResult]) -> MemberStats:
        return cls(
            fit_seconds=sum(r.fit_seconds for r in results if r.ok),
            predict_seconds=sum(r.predict_seconds for r in results if r.ok),
            n_fits=sum(1 for r in results if not r.cached),
            cached_fits=sum(1 for r in results if r.cached),
            fold_models=[r.model for r in results if r.ok],
        )

    def add_final_fit(self, res: TaskResult, *, used: bool = True) -> None:
        """Count a fit on all rows (``used=False``: a discarded one, not a cached fit)."""
        self.fit_seconds += res.fit_time
        self.n_fits += 0 if res.cached else 1
        if used:
            self.cached_fits += 1 if res.cached else 0


@dataclass(frozen=True)
class OutOfFold:
    """The out-of-fold stage of a fit, assembled from its task results."""

    predictions: np.ndarray
    errors: dict[str, str]
    error_kinds: frozenset
    stats: dict[str, MemberStats]
    final_fits: dict[str, TaskResult]
    log: list[dict]

    def surviving(self, names: list[str]) -> list[int]:
        """Indices of the members without a failure; raises when none is left."""
        ok = [m for m, name in enumerate(names) if name not in self.errors]
        if not ok:
            # bad input fails every member the same way: keep its exception type
            kind = TypeError if self.error_kinds == {"TypeError"} else ValueError
            raise kind(
                "Every member failed, so there is nothing to blend: "
                + "; ".join(f"{k}: {v}" for k, v in self.errors.items())
            )
        return ok


def _average_folds(results: list[TaskResult], splits, n_rows: int, n_outputs: int) -> np.ndarray:
    """A member's fold predictions on the rows they cover (NaN elsewhere), averaged."""
    total = np.zeros((n_rows, n_outputs))
    count = np.zeros(n_rows)
    for r in results:
        test = splits[r.fold][1]
        np.add.at(total, test, r.pred)
        np.add.at(count, test, 1)
    out = np.full((n_rows, n_outputs), np.nan)
    covered = count > 0
    out[covered] = total[covered] / count[covered, None]
    return out


def assemble_oof(
    names: list[str],
    results: list[TaskResult],
    splits: list[tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    n_outputs: int,
) -> OutOfFold:
    """The out-of-fold matrix and per-member reports from the first stage's results."""
    final_fits = {r.member: r for r in results if r.fold is None}
    folds = [r for r in results if r.fold is not None]
    by_name: dict[str, list[TaskResult]] = {name: [] for name in names}
    for r in folds:
        by_name[r.member].append(r)
    oof = np.full((n_rows, len(names), n_outputs), np.nan)
    errors, stats = {}, {}
    for m, name in enumerate(names):
        stats[name] = MemberStats.of_folds(by_name[name])
        failed = [r for r in by_name[name] if r.error]
        if failed:
            errors[name] = f"fold {failed[0].fold}: {failed[0].error}"
        else:
            oof[:, m, :] = _average_folds(by_name[name], splits, n_rows, n_outputs)
    return OutOfFold(
        predictions=oof,
        errors=errors,
        error_kinds=frozenset(r.error_kind for r in folds if r.error),
        stats=stats,
        final_fits=final_fits,
        log=[r.log_row("out-of-fold") for r in folds]
        + [r.log_row("refit") for r in final_fits.values()],
    )


def weighting_rows(oof: np.ndarray, ok: list[int]) -> np.ndarray:
    """Rows on which every member in ``ok`` has an out-of-fold prediction."""
    rows = np.flatnonzero(np.all(np.isfinite(oof[:, ok, :]), axis=(1, 2)))
    if len(rows) == 0:
        raise ValueError(
            "No row has an out-of-fold prediction from every member; use a splitter whose "
            "test folds overlap the expensive members' folds."
        )
    return rows


def fold_final_models(
    names: list[str], plan: Plan, stats: dict[str, MemberStats], n_classes: int | None
) -> dict[str, object]:
    """Final models of the members without a final fit: their fold model(s), averaged."""
    models = {}
    for name in names:
        if plan.final_fit[name]:
            continue
        fold_models = stats[name].fold_models
        models[name] = (
            fold_models[0] if len(fold_models) == 1 else FoldAverage(fold_models, n_classes)
        )
    return models


def collect_final_fits(
    names: list[str],
    early: dict[str, TaskResult],
    late: list[TaskResult],
    stats: dict[str, MemberStats],
) -> tuple[dict[str, object], dict[str, str]]:
    """Final models (and failures) of ``names`` from their fits on all rows.

    ``early`` are the final fits started with the folds (some for members the weights then
    left out: counted, then discarded), ``late`` those run after the weights.
    """
    by_name = {**early, **{r.member: r for r in late}}
    for name, res in early.items():
        if name not in names:
            stats[name].add_final_fit(res, used=False)
    models, errors = {}, {}
    for name in names:
        res = by_name[name]
        stats[name].add_final_fit(res)
        if res.error:
            errors[name] = f"final fit: {res.error}"
        else:
            models[name] = res.model
    return models, errors


def leaderboard(
    names: list[str],
    expensive: dict[str, bool],
    errors: dict[str, str],
    pruned: dict[str, str],
    scores: dict[str, float],
    weights: dict[str, float],
    stats: dict[str, MemberStats],
    label: str,
) -> pd.DataFrame:
    """One row per member, best out-of-fold score first (failed members last)."""
    records = []
    for name in names:
        score = scores.get(name, np.nan)
        if label == "rmse":
            score = float(np.sqrt(score))
        if name in errors:
            status, why = "failed", errors[name]
        elif name in pruned:
            status, why = "pruned", pruned[name]
        else:
            status = "kept"
            why = "" if weights.get(name, 0) > 0 else "not selected (weight 0)"
        records.append(
            {
                "member": name,
                f"oof_{label}": score,
                "weight": float(weights.get(name, 0.0)) if name not in errors else 0.0,
                "fit_seconds": stats[name].fit_seconds,
                "predict_seconds": stats[name].predict_seconds,
                "n_fits": stats[name].n_fits,
                "cached_fits": stats[name].cached_fits,
                "expensive": bool(expensive[name]),
                "status": status,
                "why": why,
            }
        )
    board = pd.DataFrame.from_records(records)
    return board.sort_values(f"oof_{label}", kind="stable", na_position="last").reset_index(
        drop=True
    )
