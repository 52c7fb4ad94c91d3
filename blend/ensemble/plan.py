"""Which member x fold tasks a blend's fit runs, and in which order.

- Cheap members fit every fold; expensive members (``_blend_expensive = True``, such as the
  Keras members) fit only the last ``expensive_folds`` folds -- the largest training windows
  for time-ordered splitters -- and so do the cheap members under holdout blending
  (``cheap_folds_ == "shared"``).
- A member's final fit on all rows (``refit``, ``expensive_refit``) waits for the weights when
  one worker runs the tasks (a member left without weight is never refit); with several
  workers it starts with the folds, so no worker idles between the two stages. An expensive
  member's final fit does not depend on the weights, so it always starts with the folds.
- Longest tasks first: an expensive member's fold queued behind every tree fold would start
  last and run alone while the other workers idle; a final fit reads every row, so it comes
  before the folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from blend.ensemble.tasks import Task

__all__ = ["MIN_SHARED_ROWS", "Plan", "holdout_blending", "is_expensive", "plan_tasks"]

# Shared (holdout) folds must hold this many rows before "auto" weights cheap members on them.
MIN_SHARED_ROWS = 1_000


def is_expensive(estimator: object) -> bool:
    """Whether ``estimator`` (or the last step of a pipeline) sets ``_blend_expensive``."""
    if getattr(estimator, "_blend_expensive", False):
        return True
    steps = getattr(estimator, "steps", None)
    if steps:
        return is_expensive(steps[-1][1])
    for attr in ("regressor", "estimator"):  # TransformedTargetRegressor, wrappers
        inner = getattr(estimator, attr, None)
        if inner is not None and inner is not estimator and is_expensive(inner):
            return True
    return False


@dataclass(frozen=True)
class Plan:
    """The tasks to run first (ordered), and how each member gets its final model.

    ``final_fit[name]``: the member's final model is a fit on all rows (else the average of
    its fold models); those final fits that are not among ``tasks`` wait for the weights.
    ``shared``: the cheap members run only the expensive members' folds (holdout blending).
    """

    tasks: tuple[Task, ...]
    final_fit: dict[str, bool]
    expensive: dict[str, bool]
    estimators: dict[str, object]
    shared: bool

    def final_fit_task(self, name: str) -> Task:
        """The fit of member ``name`` on all rows (its final model)."""
        return _final_fit(name, self.estimators[name], self.expensive[name])


def _final_fit(name: str, estimator: object, expensive: bool) -> Task:
    return Task(name, estimator, None, None, None, keep_model=True, expensive=expensive)


def _member_folds(n_folds: int, holdout: bool, expensive_folds: int | None) -> range:
    """The folds a member fits: all of them, or the last ``expensive_folds`` (holdout)."""
    if holdout and expensive_folds is not None:
        return range(max(n_folds - expensive_folds, 0), n_folds)
    return range(n_folds)


def _longest_first(tasks: list[Task]) -> list[Task]:
    """Expensive members' tasks first, final fits before folds; stable otherwise."""
    return sorted(tasks, key=lambda t: (not t.expensive, not t.is_final_fit))


def holdout_blending(
    X: object,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    cheap_folds: str,
    expensive_folds: int | None,
    any_expensive: bool,
) -> bool:
    """Whether cheap members run only the expensive members' folds (holdout blending).

    ``"auto"`` shares them when an expensive member is present, text or image columns widen
    the table (there one cheap fold costs about as much as the network's holdout fit, so the
    cheap members' folds would dominate the fit) and the shared folds hold at least
    ``MIN_SHARED_ROWS`` rows to weight on. On tabular data the cheap members are cheap and
    their every-row weights are steadier, so they keep all folds.
    """
    if cheap_folds == "all" or expensive_folds is None or not any_expensive:
        return False
    if cheap_folds == "shared":
        return True
    shared_rows = sum(len(test) for _, test in splits[-expensive_folds:])
    if shared_rows < MIN_SHARED_ROWS or not isinstance(X, pd.DataFrame):
        return False
    from blend.roles import has_unstructured, resolve_roles

    try:
        roles = resolve_roles(X, None)
    except (TypeError, ValueError):  # the members read the frame their own way
        return False
    return has_unstructured(roles)


def plan_tasks(
    X: object,
    members: list[tuple[str, object]],
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    cheap_folds: str,
    expensive_folds: int | None,
    refit: bool,
    expensive_refit: bool,
    eager: bool,
) -> Plan:
    """Plan a fit's tasks; ``eager``: final fits of cheap members start with the folds."""
    expensive = {name: is_expensive(est) for name, est in members}
    shared = holdout_blending(
        X,
        splits,
        cheap_folds=cheap_folds,
        expensive_folds=expensive_folds,
        any_expensive=any(expensive.values()),
    )
    # fold models are kept when they become the final model (no refit, expensive members)
    keep = {name: not refit or expensive[name] for name, _ in members}
    tasks = [
        Task(name, est, f, *splits[f], keep_model=keep[name], expensive=expensive[name])
        for name, est in members
        for f in _member_folds(len(splits), expensive[name] or shared, expensive_folds)
    ]
    final_fit = {name: expensive_refit if expensive[name] else bool(refit) for name, _ in members}
    now = {name for name, _ in members if final_fit[name] and (eager or expensive[name])}
    tasks += [_final_fit(name, est, expensive[name]) for name, est in members if name in now]
    return Plan(
        tasks=tuple(_longest_first(tasks)),
        final_fit=final_fit,
        expensive=expensive,
        estimators=dict(members),
        shared=shared,
    )
