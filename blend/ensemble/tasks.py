"""One unit of a blend's fit: a member fit on some rows and asked about others.

A :class:`Task` says what to fit (a member on a fold's training rows, or on every row for its
final model); :func:`run_task` runs it and returns a :class:`TaskResult` (predictions,
timings, the model when it is kept, or why it failed). The fit itself is
:func:`fit_predict`, module-level so joblib can pickle it to workers and ``joblib.Memory``
can cache it: its arguments (the member's parameters, the data, the fold's rows) are the
cache key, so adding a member refits only that member and an interrupted fit resumes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from blend.ensemble.outputs import member_output

__all__ = ["FitData", "Fitted", "Task", "TaskResult", "fit_predict", "run_task", "task_function"]

TaskKey = tuple[str, "int | None"]


@dataclass(frozen=True)
class Task:
    """Fit ``estimator`` (a clone) for member ``member`` and predict its held-out rows.

    ``fold`` is the index of the split, or None for a final fit on all rows (``train`` and
    ``test`` are then None: nothing is predicted). ``keep_model`` returns the fitted model
    (fold models that become the final model, and final fits).
    """

    member: str
    estimator: object
    fold: int | None
    train: np.ndarray | None
    test: np.ndarray | None
    keep_model: bool
    expensive: bool = False

    @property
    def key(self) -> TaskKey:
        return (self.member, self.fold)

    @property
    def is_final_fit(self) -> bool:
        return self.fold is None


@dataclass(frozen=True)
class FitData:
    """What every task of one fit shares: the rows, the members' target, the output shape."""

    X: object
    y: np.ndarray
    classification: bool
    n_outputs: int


@dataclass(frozen=True)
class Fitted:
    """What :func:`fit_predict` returns (and ``joblib.Memory`` stores)."""

    pred: np.ndarray | None
    fit_seconds: float
    fit_cpu_seconds: float
    predict_seconds: float
    model: object


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one task: predictions and timings, or ``error`` (and its kind)."""

    key: TaskKey
    pred: np.ndarray | None = None
    fit_seconds: float = np.nan
    fit_cpu_seconds: float = np.nan
    predict_seconds: float = np.nan
    model: object = None
    cached: bool = False
    error: str | None = None
    error_kind: str | None = None

    @property
    def member(self) -> str:
        return self.key[0]

    @property
    def fold(self) -> int | None:
        return self.key[1]

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def fit_time(self) -> float:
        """Wall seconds of the fit, 0 when it failed (failures report no timings)."""
        return self.fit_seconds if self.ok else 0.0

    @property
    def predict_time(self) -> float:
        return self.predict_seconds if self.ok else 0.0

    def log_row(self, stage: str) -> dict:
        """One row of ``task_log_``."""
        return {
            "member": self.member,
            "fold": self.fold,
            "stage": stage,
            "fit_seconds": self.fit_seconds,
            "fit_cpu_seconds": self.fit_cpu_seconds,
            "predict_seconds": self.predict_seconds,
            "cached": self.cached,
            "error": self.error,
        }


def fit_predict(estimator, X, y, train, test, classification, n_classes, keep_model) -> Fitted:
    """Fit a clone on ``train`` rows (None: all), predict ``test`` rows (None: no predictions)."""
    model = clone(estimator)
    X_train = X if train is None else _safe_indexing(X, train)
    y_train = y if train is None else y[train]
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    fit_cpu_seconds = time.process_time() - cpu_start  # robust to other load on the machine
    pred, predict_seconds = None, 0.0
    if test is not None:
        start = time.perf_counter()
        pred = member_output(model, _safe_indexing(X, test), classification, n_classes)
        predict_seconds = time.perf_counter() - start
    kept = model if keep_model else None
    return Fitted(pred, fit_seconds, fit_cpu_seconds, predict_seconds, kept)


def task_function(memory) -> Callable[..., Fitted]:
    """:func:`fit_predict`, cached in ``memory`` (a path or a ``joblib.Memory``) when given."""
    if memory is None:
        return fit_predict
    if isinstance(memory, str) or hasattr(memory, "__fspath__"):
        memory = joblib.Memory(os.fspath(memory), verbose=0)
    return memory.cache(fit_predict) if memory.location is not None else fit_predict


def run_task(func: Callable[..., Fitted], task: Task, data: FitData, on_error: str) -> TaskResult:
    """Run one (cached) task; its failure becomes a report unless ``on_error='raise'``.

    Module-level so joblib can pickle it to workers. Predictions with NaN or infinity count
    as a failure: one bad member must not poison the blend.
    """
    args = (
        task.estimator,
        data.X,
        data.y,
        task.train,
        task.test,
        data.classification,
        data.n_outputs,
        task.keep_model,
    )
    cached = hasattr(func, "check_call_in_cache") and bool(func.check_call_in_cache(*args))
    try:
        out = func(*args)
    except Exception as exc:
        if on_error == "raise":
            raise
        kind = type(exc).__name__ if isinstance(exc, (TypeError, ValueError)) else None
        return TaskResult(task.key, error=f"{type(exc).__name__}: {exc}", error_kind=kind)
    pred = out.pred
    if pred is not None and not np.all(np.isfinite(pred)):
        bad = int(np.sum(~np.isfinite(pred).all(axis=1)))
        msg = f"predicted NaN or infinity for {bad} of {len(pred)} rows"
        if on_error == "raise":
            where = "the final fit" if task.is_final_fit else f"fold {task.fold}"
            raise ValueError(f"Member {task.member!r} {msg} ({where}).")
        return TaskResult(task.key, cached=cached, error=msg)
    return TaskResult(
        task.key,
        pred=pred,
        fit_seconds=out.fit_seconds,
        fit_cpu_seconds=out.fit_cpu_seconds,
        predict_seconds=out.predict_seconds,
        model=out.model,
        cached=cached,
    )
