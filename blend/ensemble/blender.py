"""The diversity-aware blender: ``BlendRegressor`` and ``BlendClassifier``.

How a fit runs
--------------
1. **Folds.** One splitter (``cv``) makes the folds every member sees. An int ``cv`` means a
   shuffled ``KFold`` (``StratifiedKFold`` for classifiers) seeded by ``random_state`` (0 when
   ``random_state`` is None, so caching and comparisons across fits see identical folds); any
   scikit-learn splitter or iterable of ``(train, test)`` works, with ``groups`` passed to it.
2. **Out-of-fold predictions.** Every ``member x fold`` pair is one joblib task, so ``n_jobs``
   runs them in parallel and ``with joblib.parallel_backend("dask"):`` runs them on a Dask
   cluster. With ``memory=`` each task's result is cached on disk, keyed on the member's
   parameters, the data and the fold: adding a member refits only that member, and an
   interrupted fit resumes where it stopped.
3. **Expensive members** (estimators whose class sets ``_blend_expensive = True``, such as the
   Keras members) are fit on only the *last* ``expensive_folds`` folds (the largest training
   windows for time-ordered splitters) and their final model is the average of those fold
   models -- never a refit. With the default ``expensive_folds=1`` that is a holdout scheme: a
   deep member costs about ``(k-1)/k`` of one full fit instead of ``k + 1`` fits, at the price
   of (a) its final model seeing ``(k-1)/k`` of the rows and (b) the blend weights being
   learned on the holdout rows only (``n/k`` rows) -- the only rows on which *every* member has
   an out-of-fold prediction. To keep (b) from making the weights noisy, they are learned in two
   stages: the cheap members' weights on every row they predict, then the share of that fixed
   cheap blend against each expensive member on the holdout rows. Member scores in
   ``leaderboard_`` are reported on the holdout rows, where all members can be compared.
   Where text or image columns widen the table, one cheap fold (CatBoost on a thousand
   sparse columns) costs about as much as the network's holdout fit; there the cheap members
   run the expensive members' folds too, plus their refit (``cheap_folds="auto"``): holdout
   blending, ``expensive_folds + 1`` fits instead of ``k + 1``, all weights learned on the
   holdout rows. On make_clothing(10000) the fit went 184 s -> 96 s at the same test RMSE
   (0.2359; the same weights to 0.005).
4. **Weights** from the OOF matrix (:mod:`blend.ensemble.weights`): ``"caruana"`` (greedy ensemble
   selection), ``"nnls"`` (simplex least squares; log loss for classifiers), ``"stacking"``
   (any scikit-learn ``final_estimator`` on the OOF predictions, optionally with the original
   features) or ``"mean"``.
5. **Pruning** (``prune=True``): a member whose OOF errors correlate above
   ``prune_threshold`` with a stronger member is dropped when a cross-validated blend without
   it is no worse than ``(1 + prune_tol)`` times the blend with it.
6. **Final models.** ``refit=True`` refits each cheap member with non-zero weight once on all
   rows (``k + 1`` fits in all, the best final model); ``refit=False`` uses the average of its
   ``k`` fold models (no extra fit, ``k`` times the predict cost). Members with zero weight are
   not kept for prediction. With one worker they are not refit either; with several
   (``n_jobs > 1``) every cheap member's refit starts with the folds, so no worker idles
   between the two stages, and the refits of members left without weight are discarded.

Faults: a member that raises, or predicts NaN/inf, in any of its tasks is dropped and reported
in ``leaderboard_`` (status ``failed`` and why) unless ``on_error="raise"``. A joblib worker
that dies is retried once task by task; a blend left without members raises a ``ValueError``
listing every member's failure.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
import warnings
import weakref
from collections.abc import Sequence
from numbers import Integral

import joblib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    clone,
)
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from blend.ensemble import diversity as _div
from blend.ensemble import fast_predict as small_batch
from blend.ensemble import weights as _w

__all__ = ["BlendClassifier", "BlendRegressor", "FoldAverage"]

_METHODS = ("caruana", "nnls", "stacking", "mean")
_CHEAP_FOLDS = ("auto", "all", "shared")
_WORKER_RESTART = "A worker stopped while some jobs were given to the executor"
# Shared (holdout) folds must hold this many rows before "auto" weights cheap members on them.
_MIN_SHARED_ROWS = 1_000
_REG_METRICS = {"rmse": "squared_error", "mse": "squared_error", "mae": "absolute_error"}
# From this many rows members predict side by side in threads (n_jobs > 1): their predict
# loops run in C and release the GIL. Measured on diamonds (10,788 rows, XGBoost + random forest
# + HistGradientBoosting): 6,300-8,400 rows/s one after another, 10,200-12,500 in two threads.
_PARALLEL_PREDICT_ROWS = 1_000
# fitted pipeline -> digest of its preprocessing steps (None: unpicklable), per process
_STEPS_DIGEST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------- member helpers


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


def _member_output(estimator, X, classification: bool, n_classes: int) -> np.ndarray:
    """A member's predictions as ``(n, d)``: outputs, or probabilities over all classes."""
    if not classification:
        pred = np.asarray(small_batch.predict(estimator, X), dtype=float)
        return pred.reshape(len(pred), -1)
    if isinstance(estimator, FoldAverage):
        return estimator.predict_proba(X)
    classes = np.asarray(estimator.classes_).astype(int)
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(small_batch.predict_proba(estimator, X), dtype=float)
        if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
            return proba
        out = np.zeros((len(proba), n_classes))
        out[:, classes] = proba
        return out
    labels = np.asarray(estimator.predict(X)).astype(int)
    out = np.zeros((len(labels), n_classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _steps_digest(estimator) -> str | None:
    """A digest of a fitted pipeline's preprocessing steps: equal digests, equal transforms."""
    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    if estimator not in _STEPS_DIGEST:
        try:
            _STEPS_DIGEST[estimator] = joblib.hash([step for _, step in estimator.steps[:-1]])
        except (pickle.PicklingError, TypeError, AttributeError):  # unpicklable: not shared
            _STEPS_DIGEST[estimator] = None
    return _STEPS_DIGEST[estimator]


def _shared_inputs(estimators, X, n_jobs) -> list[tuple[object, object]]:
    """``(model, input)`` per member, transforming ``X`` once per distinct preprocessing.

    Default members put identical featurizers (same parameters, fitted on the same rows) in
    front of several models; the featurizer is the costly part of a one-row prediction (and
    of a batch with text or images), so pipelines whose steps have equal fitted state share
    one transform and only their final models run apart.
    """
    digests = [_steps_digest(est) for est in estimators]
    shared = {g for g in digests if g is not None and digests.count(g) > 1}
    if not shared:
        return [(est, X) for est in estimators]
    first = {g: estimators[digests.index(g)] for g in shared}
    groups = list(first)
    if n_jobs is not None and len(groups) > 1:
        done = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(first[g][:-1].transform)(X) for g in groups
        )
    else:
        done = [first[g][:-1].transform(X) for g in groups]
    transformed = dict(zip(groups, done))
    return [
        (est[-1], transformed[g]) if g in shared else (est, X)
        for est, g in zip(estimators, digests)
    ]


class FoldAverage(BaseEstimator):
    """The average of already fitted fold models, used as a member's final model.

    Built by the blender when ``refit=False`` and for expensive members; it is not fitted by
    itself. ``predict_proba`` aligns each fold model's ``classes_`` (encoded class indices)
    with ``n_classes`` columns.

    Parameters
    ----------
    estimators : list of fitted estimators
        The fold models.
    n_classes : int or None
        Number of classes for classifiers; None for regressors.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(6.0).reshape(-1, 1)
    >>> a = LinearRegression().fit(X, X[:, 0])
    >>> b = LinearRegression().fit(X, 2 * X[:, 0])
    >>> FoldAverage([a, b]).predict(X[:2]).round(6).tolist()
    [0.0, 1.5]
    """

    def __init__(self, estimators: list, n_classes: int | None = None):
        self.estimators = estimators
        self.n_classes = n_classes

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self.n_classes)

    def predict(self, X):
        if self.n_classes is not None:
            return self.predict_proba(X).argmax(axis=1)
        predictions = [np.asarray(small_batch.predict(e, X), dtype=float) for e in self.estimators]
        return np.mean(predictions, axis=0)

    def predict_proba(self, X):
        return np.mean(
            [_member_output(e, X, True, self.n_classes) for e in self.estimators], axis=0
        )


def _fit_predict(estimator, X, y, train, test, classification, n_classes, keep_model):
    """One task: fit a clone on ``train`` rows, predict ``test`` rows (None: no predictions).

    Module-level so joblib can pickle it to workers and ``joblib.Memory`` can cache it.
    """
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
        pred = _member_output(model, _safe_indexing(X, test), classification, n_classes)
        predict_seconds = time.perf_counter() - start
    return {
        "pred": pred,
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": fit_cpu_seconds,
        "predict_seconds": predict_seconds,
        "model": model if keep_model else None,
    }


def _run_task(func, key, args, on_error):
    """Run one (cached) task and turn its failure into a report unless ``on_error='raise'``."""
    name, fold = key
    cached = False
    if hasattr(func, "check_call_in_cache"):
        cached = func.check_call_in_cache(*args)
    try:
        out = dict(func(*args))
    except Exception as exc:
        if on_error == "raise":
            raise
        kind = type(exc).__name__ if isinstance(exc, (TypeError, ValueError)) else None
        return {"key": key, "error": f"{type(exc).__name__}: {exc}", "kind": kind, "cached": False}
    pred = out["pred"]
    if pred is not None and not np.all(np.isfinite(pred)):
        bad = int(np.sum(~np.isfinite(pred).all(axis=1)))
        msg = f"predicted NaN or infinity for {bad} of {len(pred)} rows"
        if on_error == "raise":
            where = "the final fit" if fold is None else f"fold {fold}"
            raise ValueError(f"Member {name!r} {msg} ({where}).")
        return {"key": key, "error": msg, "cached": cached}
    out.update(key=key, error=None, cached=cached)
    return out


def _log_row(res: dict, stage: str) -> dict:
    return {
        "member": res["key"][0],
        "fold": res["key"][1],
        "stage": stage,
        "fit_seconds": res.get("fit_seconds", np.nan),
        "fit_cpu_seconds": res.get("fit_cpu_seconds", np.nan),
        "predict_seconds": res.get("predict_seconds", np.nan),
        "cached": res["cached"],
        "error": res["error"],
    }


def _is_worker_death(exc: BaseException) -> bool:
    names = {"TerminatedWorkerError", "BrokenProcessPool", "KilledWorker"}
    return type(exc).__name__ in names


# --------------------------------------------------------------------------------- the blender


class _BaseBlend(_BaseComposition):
    """Shared machinery of :class:`BlendRegressor` and :class:`BlendClassifier`."""

    _classification = False

    def __init__(
        self,
        members: Sequence[tuple[str, object]] | None = None,
        *,
        method: str = "caruana",
        cv=5,
        refit: bool = True,
        metric=None,
        ensemble_size: int = 50,
        n_init: int = 3,
        n_bags: int = 1,
        final_estimator=None,
        passthrough: bool = False,
        prune: bool = False,
        prune_threshold: float = 0.9,
        prune_tol: float = 0.005,
        expensive_folds: int | None = 1,
        cheap_folds: str = "auto",
        expensive_refit: bool = False,
        memory=None,
        n_jobs: int | None = None,
        verbose: int = 0,
        on_error: str = "warn",
        random_state=None,
    ):
        self.members = members
        self.method = method
        self.cv = cv
        self.refit = refit
        self.metric = metric
        self.ensemble_size = ensemble_size
        self.n_init = n_init
        self.n_bags = n_bags
        self.final_estimator = final_estimator
        self.passthrough = passthrough
        self.prune = prune
        self.prune_threshold = prune_threshold
        self.prune_tol = prune_tol
        self.expensive_folds = expensive_folds
        self.cheap_folds = cheap_folds
        self.expensive_refit = expensive_refit
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.on_error = on_error
        self.random_state = random_state

    # nested parameters: ``members__xgb__max_depth`` works in GridSearchCV
    def get_params(self, deep: bool = True) -> dict:
        return self._get_params("members", deep=deep)

    def set_params(self, **params):
        self._set_params("members", **params)
        return self

    # -- validation ------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}; got {self.method!r}.")
        if self.on_error not in ("warn", "raise", "ignore"):
            raise ValueError(
                f"on_error must be 'warn', 'raise' or 'ignore'; got {self.on_error!r}."
            )
        if self.expensive_folds is not None and (
            not isinstance(self.expensive_folds, Integral) or self.expensive_folds < 1
        ):
            raise ValueError(
                f"expensive_folds must be a positive int or None; got {self.expensive_folds!r}."
            )
        if self.cheap_folds not in _CHEAP_FOLDS:
            raise ValueError(
                f"cheap_folds must be one of {_CHEAP_FOLDS}; got {self.cheap_folds!r}."
            )
        if not 0 < self.prune_threshold <= 1:
            raise ValueError(f"prune_threshold must be in (0, 1]; got {self.prune_threshold!r}.")

    def _metric(self):
        if self._classification:
            if self.metric not in (None, "log_loss") and not callable(self.metric):
                raise ValueError(
                    f"BlendClassifier blends probabilities by log loss; metric={self.metric!r} "
                    "is not supported (use None, 'log_loss' or a callable on probabilities)."
                )
            return self.metric if callable(self.metric) else "log_loss"
        if self.metric is None:
            return "squared_error"
        if callable(self.metric):
            return self.metric
        if self.metric in _REG_METRICS:
            return _REG_METRICS[self.metric]
        raise ValueError(f"metric must be one of {sorted(_REG_METRICS)} or a callable.")

    def _resolve_members(self, X, y) -> list[tuple[str, object]]:
        members = self.members
        if members is None:
            from blend.members.defaults import default_members

            task = "classification" if self._classification else "regression"
            members = default_members(X, y, task=task, roles=None, random_state=self.random_state)
        members = list(members)
        if not members:
            raise ValueError("members is empty; pass a list of (name, estimator) pairs or None.")
        names = []
        for item in members:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(
                    f"Each member must be a (name, estimator) tuple; got {item!r}. "
                    "Example: members=[('ridge', Ridge()), ('forest', RandomForestRegressor())]."
                )
            if not hasattr(item[1], "fit"):
                raise TypeError(f"Member {item[0]!r} has no fit method; got {item[1]!r}.")
            names.append(item[0])
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Member names must be unique; repeated: {dupes}.")
        bad = [n for n in names if "__" in n]
        if bad:
            raise ValueError(f"Member names must not contain '__' (used by set_params): {bad}.")
        return members

    def _splits(self, X, y, groups) -> list[tuple[np.ndarray, np.ndarray]]:
        cv = self.cv
        if isinstance(cv, Integral):
            if cv < 2:
                raise ValueError(f"cv must be at least 2 folds; got {cv}.")
            seed = self.random_state
            if not isinstance(seed, Integral):
                seed = 0 if seed is None else check_random_state(seed).randint(2**31 - 1)
            kind = StratifiedKFold if self._classification else KFold
            if self._classification:
                least = int(np.bincount(y).min())
                if least < cv:
                    raise ValueError(
                        f"The least populated class has only {least} rows, fewer than cv={cv} "
                        "folds; pass a smaller cv or more data."
                    )
            splitter = kind(n_splits=cv, shuffle=True, random_state=seed)
        else:
            splitter = check_cv(cv, y, classifier=self._classification)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups=groups)]

    # -- fit -------------------------------------------------------------------------------
    def _fit(self, X, y_members, y_weights, groups):
        self._check_params()
        metric = self._metric()
        classification = self._classification
        n_outputs = self._n_outputs
        n_rows = len(y_members)
        members = self._resolve_members(X, y_members)
        splits = self._splits(X, y_members, groups)
        n_folds = len(splits)
        expensive = [is_expensive(est) for _, est in members]
        keep_models = not self.refit
        shared = self._cheap_share(X, splits, expensive)
        self.cheap_folds_ = "shared" if shared else "all"

        memory = joblib.Memory(None, verbose=0) if self.memory is None else self.memory
        if isinstance(memory, str) or hasattr(memory, "__fspath__"):
            memory = joblib.Memory(os.fspath(memory), verbose=0)
        func = memory.cache(_fit_predict) if memory.location is not None else _fit_predict

        tasks, keys = [], []
        for m, (name, est) in enumerate(members):
            folds = range(n_folds)
            if (expensive[m] or shared) and self.expensive_folds is not None:
                folds = range(max(n_folds - self.expensive_folds, 0), n_folds)
            for f in folds:
                train, test = splits[f]
                args = (
                    est,
                    X,
                    y_members,
                    train,
                    test,
                    classification,
                    n_outputs,
                    keep_models or expensive[m],
                )
                keys.append((name, f))
                tasks.append(args)
        # With several workers the final refits start with the folds: run as a second stage,
        # its few long fits leave workers idle (the last fold's stragglers, then one refit
        # alone). A refit whose member ends with weight 0 is then wasted and discarded.
        # Expensive members refit (expensive_refit=True) start with the folds too: their
        # final fit does not depend on the weights, and it is the longest task.
        eager = self.refit and effective_n_jobs(self.n_jobs) > 1
        # which members get a final fit on all rows (the others keep their fold models)
        final_fit = [self.expensive_refit if costly else bool(self.refit) for costly in expensive]
        for m, (name, est) in enumerate(members):
            if final_fit[m] and (eager or expensive[m]):
                keys.append((name, None))
                tasks.append((est, X, y_members, None, None, classification, n_outputs, True))
        # Longest tasks first: an expensive (deep) member's fold, queued behind every tree
        # fold, would start last and run alone while the other workers idle; a refit reads
        # every row, so it comes before the folds.
        dear = {name for (name, _), costly in zip(members, expensive) if costly}
        order = sorted(
            range(len(keys)), key=lambda i: (keys[i][0] not in dear, keys[i][1] is not None)
        )
        keys, tasks = [keys[i] for i in order], [tasks[i] for i in order]
        results = self._run(func, keys, tasks, "out-of-fold")
        early_refits = {k[0]: res for k, res in zip(keys, results) if k[1] is None}
        keys = [k for k in keys if k[1] is not None]
        results = [res for res in results if res["key"][1] is not None]
        log = [_log_row(res, "out-of-fold") for res in results]
        log += [_log_row(res, "refit") for res in early_refits.values()]

        # assemble per-member OOF predictions (averaged where a row is predicted twice)
        by_name = {name: [] for name, _ in members}
        for key, res in zip(keys, results):
            by_name[key[0]].append(res)
        errors = {}
        oof = np.full((n_rows, len(members), n_outputs), np.nan)
        info = {}
        for m, (name, _) in enumerate(members):
            res = by_name[name]
            failed = [r for r in res if r["error"]]
            info[name] = {
                "fit_seconds": sum(r.get("fit_seconds", 0.0) for r in res if not r["error"]),
                "predict_seconds": sum(
                    r.get("predict_seconds", 0.0) for r in res if not r["error"]
                ),
                "n_fits": sum(1 for r in res if not r["cached"]),
                "cached_fits": sum(1 for r in res if r["cached"]),
                "fold_models": [r.get("model") for r in res if not r["error"]],
            }
            if failed:
                errors[name] = f"fold {failed[0]['key'][1]}: {failed[0]['error']}"
                continue
            total = np.zeros((n_rows, n_outputs))
            count = np.zeros(n_rows)
            for key, r in zip([r["key"] for r in res], res):
                test = splits[key[1]][1]
                np.add.at(total, test, r["pred"])
                np.add.at(count, test, 1)
            covered = count > 0
            oof[covered, m, :] = total[covered] / count[covered, None]

        ok = [m for m, (name, _) in enumerate(members) if name not in errors]
        self._report_failures(errors)
        if not ok:
            # bad input fails every member the same way: keep its exception type
            kinds = {r.get("kind") for r in results if r["error"]}
            kind = TypeError if kinds == {"TypeError"} else ValueError
            raise kind(
                "Every member failed, so there is nothing to blend: "
                + "; ".join(f"{k}: {v}" for k, v in errors.items())
            )
        rows = np.flatnonzero(np.all(np.isfinite(oof[:, ok, :]), axis=(1, 2)))
        if len(rows) == 0:
            raise ValueError(
                "No row has an out-of-fold prediction from every member; use a splitter whose "
                "test folds overlap the expensive members' folds."
            )
        P = oof[rows][:, ok, :]
        y_rows = y_weights[rows]
        own = _w.member_losses(P, y_rows, metric)

        # pruning, then weights on the kept members
        kept_local, pruned = list(range(len(ok))), {}
        if self.prune and len(ok) > 1:
            kept_local, pruned = self._prune(P, y_rows, metric, own, [members[m][0] for m in ok])
        Pk = P[:, kept_local, :]
        weights_local = np.zeros(len(ok))
        final_estimator = None
        if self.method == "stacking":
            final_estimator = self._fit_stacker(X, Pk, y_rows, rows)
            weights_local[kept_local] = 1.0 / len(kept_local)
        else:
            weights_local[kept_local] = self._staged_weights(
                oof, [ok[i] for i in kept_local], expensive, y_weights, rows, metric
            )

        # final models: refit cheap members with weight (stacking: all kept) on all rows
        active_local = [i for i in kept_local if weights_local[i] > 0 or final_estimator]
        final_models, refit_keys, refit_tasks = {}, [], []
        for i in active_local:
            m = ok[i]
            name, est = members[m]
            if final_fit[m]:
                refit_keys.append((name, None))
                refit_tasks.append((est, X, y_members, None, None, classification, n_outputs, True))
            else:
                models = info[name]["fold_models"]
                final_models[name] = (
                    models[0]
                    if len(models) == 1
                    else FoldAverage(models, n_outputs if classification else None)
                )
        pending = [(k, t) for k, t in zip(refit_keys, refit_tasks) if k[0] not in early_refits]
        ran = self._run(func, [k for k, _ in pending], [t for _, t in pending], "refit")
        log += [_log_row(res, "refit") for res in ran]
        by_name = {**early_refits, **{k[0]: res for (k, _), res in zip(pending, ran)}}
        done = [by_name[name] for name, _ in refit_keys]
        wasted = [res for name, res in early_refits.items() if (name, None) not in refit_keys]
        for res in wasted:  # fits that ran, for members left without weight
            info[res["key"][0]]["n_fits"] += 0 if res["cached"] else 1
            info[res["key"][0]]["fit_seconds"] += res.get("fit_seconds", 0.0)
        for key, res in zip(refit_keys, done):
            name = key[0]
            info[name]["fit_seconds"] += res.get("fit_seconds", 0.0) if not res["error"] else 0
            info[name]["n_fits"] += 0 if res["cached"] else 1
            info[name]["cached_fits"] += 1 if res["cached"] else 0
            if res["error"]:
                errors[name] = f"final fit: {res['error']}"
            else:
                final_models[name] = res["model"]
        late = [i for i in active_local if members[ok[i]][0] in errors]
        if late:
            self._report_failures({members[ok[i]][0]: errors[members[ok[i]][0]] for i in late})
            active_local = [i for i in active_local if i not in late]
            kept_local = [i for i in kept_local if i not in late]
            if not active_local:
                raise ValueError(
                    "Every member with weight failed its final fit: "
                    + "; ".join(f"{k}: {v}" for k, v in errors.items())
                )
            weights_local[late] = 0.0
            if final_estimator is not None:
                final_estimator = self._fit_stacker(X, P[:, kept_local, :], y_rows, rows)
                weights_local[kept_local] = 1.0 / len(kept_local)
            elif self.method == "mean":
                weights_local[kept_local] = 1.0 / len(kept_local)
            weights_local /= weights_local.sum()

        # fitted state: plain attributes only (persistence walks them)
        names_ok = [members[m][0] for m in ok]
        self.members_ = [(names_ok[i], final_models[names_ok[i]]) for i in active_local]
        self._member_weights = np.array([weights_local[i] for i in active_local])
        self.final_estimator_ = final_estimator
        self.weights_ = {names_ok[i]: float(weights_local[i]) for i in range(len(ok))}
        self.oof_predictions_ = oof
        self.oof_rows_ = rows
        self.member_names_ = [name for name, _ in members]
        self.splits_ = [(tr, te) for tr, te in splits]
        self.ensemble_oof_loss_ = (
            _w.ensemble_loss(P, y_rows, weights_local, metric) if final_estimator is None else None
        )
        self.diversity_ = self._diversity(P, y_rows, weights_local, own, names_ok)
        self.task_log_ = pd.DataFrame.from_records(log)
        self.leaderboard_ = self._leaderboard(
            members, expensive, errors, pruned, own, names_ok, weights_local, kept_local, info
        )
        return self

    def _run(self, func, keys, tasks, stage):
        """Run tasks through joblib; a dead worker gets its tasks retried one at a time."""
        if not tasks:
            return []
        start = time.perf_counter()
        calls = [delayed(_run_task)(func, k, a, self.on_error) for k, a in zip(keys, tasks)]
        results: list = []
        try:
            with warnings.catch_warnings():
                # loky restarts a worker whose memory grew by 300 MB since its first task (its
                # leak guard; TensorFlow and deep forests grow that much by design) and warns
                # from its manager thread. The tasks go on in the new worker: not news.
                warnings.filterwarnings("ignore", message=_WORKER_RESTART, category=UserWarning)
                gen = Parallel(n_jobs=self.n_jobs, return_as="generator")(calls)
                for res in gen:
                    results.append(res)
                    self._progress(stage, len(results), len(tasks), res, start)
        except Exception as exc:
            if not _is_worker_death(exc):
                raise
            # retry the rest one task at a time, so a member that kills its worker again is
            # identified; its other tasks are then not run
            dead = {}
            for k, call in zip(keys[len(results) :], calls[len(results) :]):
                if k[0] in dead:
                    res = {"key": k, "error": dead[k[0]], "cached": False}
                else:
                    try:
                        res = Parallel(n_jobs=2)([call])[0]
                    except Exception as again:
                        if not _is_worker_death(again) or self.on_error == "raise":
                            raise
                        first = str(again).strip().splitlines()[0]
                        dead[k[0]] = f"worker died (fold {k[1]}): {first}"
                        res = {"key": k, "error": dead[k[0]], "cached": False}
                results.append(res)
                self._progress(stage, len(results), len(tasks), res, start)
        return results

    def _progress(self, stage, done, total, res, start):
        if not self.verbose:
            return
        name, fold = res["key"]
        what = "all rows" if fold is None else f"fold {fold}"
        status = f"FAILED ({res['error']})" if res["error"] else "cached" if res["cached"] else ""
        width = 20
        bar = "#" * int(width * done / total) + "." * (width - int(width * done / total))
        print(
            f"[blend {stage}] [{bar}] {done}/{total} {name} {what} {status} "
            f"{time.perf_counter() - start:.1f}s",
            file=sys.stderr,
            flush=True,
        )

    def _report_failures(self, errors: dict) -> None:
        if errors and self.on_error == "warn":
            for name, why in errors.items():
                warnings.warn(
                    f"Member {name!r} failed and was dropped from the blend: {why}",
                    UserWarning,
                    stacklevel=4,
                )

    def _cheap_share(self, X, splits, expensive) -> bool:
        """Whether cheap members run only the expensive members' folds (holdout blending).

        ``"auto"`` shares them when an expensive member is present, text or image columns
        widen the table (there one cheap fold costs about as much as the network's holdout
        fit: on make_clothing(10000) CatBoost's and LinearBoost's six fits each took 80% of
        the blend's task time) and the shared folds hold at least ``_MIN_SHARED_ROWS`` rows
        to weight on. On tabular data the cheap members are cheap and their every-row weights
        are steadier (see :meth:`_staged_weights`), so they keep all folds.
        """
        if self.cheap_folds == "all" or self.expensive_folds is None or not any(expensive):
            return False
        if self.cheap_folds == "shared":
            return True
        shared_rows = sum(len(test) for _, test in splits[-self.expensive_folds :])
        if shared_rows < _MIN_SHARED_ROWS or not isinstance(X, pd.DataFrame):
            return False
        from blend.roles import has_unstructured, resolve_roles

        try:
            roles = resolve_roles(X, None)
        except (TypeError, ValueError):  # the members read the frame their own way
            return False
        return has_unstructured(roles)

    def _staged_weights(self, oof, kept, expensive, y, rows, metric) -> np.ndarray:
        """Weights for the kept members (indices into ``oof``), in two stages when it pays.

        Expensive members have out-of-fold predictions on their holdout folds only, so a
        one-shot weighting sees just those ``n/k`` rows -- and weights five members on one
        fold swing with that fold's luck (diamonds: test RMSE 0.0843-0.0852 across the five
        possible holdout folds). The cheap members are therefore weighted among themselves on
        every row they predict, and only the mix of that fixed cheap blend with the expensive
        members is learned on the shared holdout rows (0.0845-0.0846 on the same five folds).
        """
        P = oof[rows][:, kept, :]
        cheap = [j for j, m in enumerate(kept) if not expensive[m]]
        dear = [j for j, m in enumerate(kept) if expensive[m]]
        if self.method == "mean" or not cheap or not dear:
            return self._weights(P, y[rows], metric)
        cheap_members = [kept[j] for j in cheap]
        every = np.flatnonzero(np.all(np.isfinite(oof[:, cheap_members, :]), axis=(1, 2)))
        if len(every) <= len(rows):  # the cheap members see no extra rows
            return self._weights(P, y[rows], metric)
        cheap_w = (
            np.ones(1)
            if len(cheap) == 1
            else self._weights(oof[every][:, cheap_members, :], y[every], metric)
        )
        cheap_blend = _w.blend_predictions(P[:, cheap, :], cheap_w)
        mixed = np.concatenate([cheap_blend[:, None, :], P[:, dear, :]], axis=1)
        mix_w = self._weights(mixed, y[rows], metric)
        weights = np.zeros(len(kept))
        weights[cheap] = mix_w[0] * cheap_w
        weights[dear] = mix_w[1:]
        return weights / weights.sum()

    def _weights(self, P, y, metric) -> np.ndarray:
        if self.method == "mean":
            return _w.mean_weights(P.shape[1])
        if self.method == "nnls":
            if metric == "squared_error":
                return _w.nnls_weights(P, y)
            if metric == "log_loss":
                return _w.log_loss_weights(P, y)
            warnings.warn(
                "method='nnls' minimizes squared error (log loss for classifiers); the chosen "
                "metric is used by 'caruana' only.",
                UserWarning,
                stacklevel=4,
            )
            return _w.nnls_weights(P, y)
        return _w.caruana_weights(
            P,
            y,
            metric=metric,
            ensemble_size=self.ensemble_size,
            n_init=self.n_init,
            n_bags=self.n_bags,
            random_state=self.random_state if self.random_state is not None else 0,
        )

    def _cv_blend_loss(self, P, y, metric) -> float:
        """Loss of weights learned on one half of the rows, scored on the other (both ways)."""
        if self.method in ("mean",):
            return _w.ensemble_loss(P, y, _w.mean_weights(P.shape[1]), metric)
        order = np.random.RandomState(0).permutation(len(y))
        halves = (order[: len(y) // 2], order[len(y) // 2 :])
        losses = []
        for a, b in (halves, halves[::-1]):
            if len(a) == 0 or len(b) == 0:
                return _w.ensemble_loss(P, y, self._weights(P, y, metric), metric)
            w = (
                self._weights(P[a], y[a], metric)
                if self.method != "stacking"
                else (
                    _w.nnls_weights(P[a], y[a])
                    if metric != "log_loss"
                    else _w.log_loss_weights(P[a], y[a])
                )
            )
            losses.append(_w.ensemble_loss(P[b], y[b], w, metric) * len(b))
        return float(sum(losses) / len(y))

    def _prune(self, P, y, metric, own, names):
        proba = self._classification
        corr = _div.error_correlation(P, y, proba=proba)
        order = list(np.argsort(own, kind="stable"))  # strongest first
        kept = list(order)
        pruned = {}
        for j in order[::-1]:  # weakest first
            stronger = [i for i in kept if i != j and order.index(i) < order.index(j)]
            if not stronger:
                continue
            i = max(stronger, key=lambda s: corr[j, s])
            if corr[j, i] <= self.prune_threshold:
                continue
            with_j = self._cv_blend_loss(P[:, kept, :], y, metric)
            without = [k for k in kept if k != j]
            without_j = self._cv_blend_loss(P[:, without, :], y, metric)
            if without_j <= with_j * (1 + self.prune_tol):
                kept = without
                pruned[names[j]] = (
                    f"OOF errors correlate {corr[j, i]:.3f} with stronger member {names[i]!r}; "
                    f"cross-validated blend loss without it {without_j:.6g} vs {with_j:.6g} with it"
                )
        return sorted(kept), pruned

    def _stack_input(self, X, features, rows=None):
        if not self.passthrough:
            return features
        Xr = X if rows is None else _safe_indexing(X, rows)
        cols = [f"blend_{i}" for i in range(features.shape[1])]
        if isinstance(Xr, pd.DataFrame):
            meta = pd.DataFrame(features, columns=cols, index=Xr.index)
            return pd.concat([Xr, meta], axis=1)
        return np.hstack([np.asarray(Xr, dtype=float), features])

    def _fit_stacker(self, X, P, y, rows):
        features = _w.stacking_features(P, classification=self._classification)
        est = self.final_estimator
        if est is None:
            est = LogisticRegression(max_iter=1000) if self._classification else RidgeCV()
        model = clone(est)
        target = y if self._classification or y.shape[1] > 1 else y[:, 0]
        model.fit(self._stack_input(X, features, rows), target)
        return model

    def _diversity(self, P, y, weights, own, names) -> dict:
        w = weights if self.method != "stacking" else _w.mean_weights(len(names))
        w = w / w.sum()
        proba = self._classification
        corr = _div.error_correlation(P, y, proba=proba)
        out = {
            "member_loss": dict(zip(names, map(float, own))),
            "error_correlation": pd.DataFrame(corr, index=names, columns=names),
            "weights": dict(zip(names, map(float, w))),
        }
        if not proba:
            out["ambiguity"] = _div.ambiguity_decomposition(P, y, w).summary()
        else:
            out["cross_entropy"] = _div.cross_entropy_decomposition(P, y, w).summary()
            out["blend_log_loss"] = _w.ensemble_loss(P, y, w, "log_loss")
            pair = _div.pairwise_measures(_div.correct_matrix(P, y))
            for key, value in pair.items():
                out[key] = pd.DataFrame(value, index=names, columns=names)
        return out

    def _leaderboard(
        self, members, expensive, errors, pruned, own, names_ok, weights, kept_local, info
    ) -> pd.DataFrame:
        score_of = dict(zip(names_ok, own))
        weight_of = dict(zip(names_ok, weights))
        metric = self._metric()
        label = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
        if label == "squared_error":
            label = "rmse"
        records = []
        for m, (name, _) in enumerate(members):
            score = score_of.get(name, np.nan)
            if label == "rmse":
                score = float(np.sqrt(score))
            if name in errors:
                status, why = "failed", errors[name]
            elif name in pruned:
                status, why = "pruned", pruned[name]
            else:
                status = "kept"
                why = "" if weight_of.get(name, 0) > 0 else "not selected (weight 0)"
            records.append(
                {
                    "member": name,
                    f"oof_{label}": score,
                    "weight": float(weight_of.get(name, 0.0)) if name not in errors else 0.0,
                    "fit_seconds": info[name]["fit_seconds"],
                    "predict_seconds": info[name]["predict_seconds"],
                    "n_fits": info[name]["n_fits"],
                    "cached_fits": info[name]["cached_fits"],
                    "expensive": bool(expensive[m]),
                    "status": status,
                    "why": why,
                }
            )
        board = pd.DataFrame.from_records(records)
        return board.sort_values(f"oof_{label}", kind="stable", na_position="last").reset_index(
            drop=True
        )

    # -- predict ---------------------------------------------------------------------------
    def _check_X(self, X):
        check_is_fitted(self, "members_")
        if isinstance(X, pd.DataFrame):
            if self._columns is not None:
                missing = [c for c in self._columns if c not in X.columns]
                if missing:
                    raise ValueError(
                        f"Column(s) {missing} were seen when the blend was fitted but are "
                        "missing now. Pass a DataFrame with the same columns as in fit."
                    )
            return X
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        if X.ndim == 1:
            raise ValueError(
                "Expected a 2D array, got a 1D array instead. Reshape your data with "
                "X.reshape(1, -1) for a single row or X.reshape(-1, 1) for a single feature."
            )
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1] if X.ndim == 2 else X.shape} features, but "
                f"{type(self).__name__} is expecting {self.n_features_in_} features as input."
            )
        return X

    def _blend_outputs(self, X) -> np.ndarray:
        """Weighted member outputs ``(n, d)`` (or the stacker's input features)."""
        classification = self._classification
        d = self._n_outputs
        if self.final_estimator_ is not None:
            outs = self._member_outputs(X, self.members_)
            features = _w.stacking_features(np.stack(outs, axis=1), classification=classification)
            return self._stack_input(X, features)
        total = None
        for w, out in zip(
            self._member_weights,
            self._member_outputs(X, self.members_),
        ):
            total = w * out if total is None else total + w * out
        return total.reshape(-1, d)

    def _member_outputs(self, X, members):
        d, classification = self._n_outputs, self._classification
        parallel = (
            len(members) > 1 and self.n_jobs not in (None, 1) and len(X) >= _PARALLEL_PREDICT_ROWS
        )
        inputs = _shared_inputs([est for _, est in members], X, self.n_jobs if parallel else None)
        if parallel:
            return Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(_member_output)(est, Z, classification, d) for est, Z in inputs
            )
        return [_member_output(est, Z, classification, d) for est, Z in inputs]

    def _record_input(self, X):
        if isinstance(X, pd.DataFrame):
            self._columns = list(X.columns)
            self.n_features_in_ = X.shape[1]
            if all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            return X
        if isinstance(X, pd.Series):
            X = X.to_frame()
            return self._record_input(X)
        from sklearn.utils.validation import check_array

        X = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=2)
        self._columns = None
        self.n_features_in_ = X.shape[1]
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = False
        return tags


class BlendRegressor(RegressorMixin, _BaseBlend):
    """Diversity-aware blend of regressors, weighted on out-of-fold predictions.

    Every member is scored on identical folds; weights are learned on the out-of-fold (OOF)
    matrix by greedy ensemble selection (default), simplex least squares, stacking or a plain
    mean; redundant members can be pruned; the fit reports each member in ``leaderboard_`` and
    the ensemble's diversity in ``diversity_``. See the module docstring for the fold scheme,
    the treatment of expensive (deep) members, caching and faults.

    Parameters
    ----------
    members : list of (str, estimator) or None, default=None
        The base models. None builds :func:`blend.default_members` from the data.
    method : {"caruana", "nnls", "stacking", "mean"}, default="caruana"
        How the OOF matrix becomes a blend.
    cv : int, splitter or iterable, default=5
        Folds shared by every member. Time-ordered (``TimeSeriesSplit``) and group splitters
        work: weights are learned on the rows that have OOF predictions.
    refit : bool, default=True
        True: refit each selected cheap member on all rows (best final model, one extra fit
        per member; with ``n_jobs > 1`` the refits run alongside the folds, before the weights
        are known, and a member that ends with weight 0 wastes its refit). False: the final
        model is the average of its fold models (no extra fit, ``cv`` times slower to
        predict).
    metric : {"rmse", "mae"} or callable, default=None (RMSE)
        Loss minimized by the weights and reported per member; a callable is
        ``metric(y_true, y_pred) -> float``, lower is better.
    ensemble_size, n_init, n_bags : int
        Caruana selection: picks in the climb, best members to start from, bagged climbs.
    final_estimator : estimator, default=None
        For ``method="stacking"``; ``RidgeCV()`` when None.
    passthrough : bool, default=False
        For stacking: also give the final estimator the original features.
    prune : bool, default=False
        Drop members redundant with a stronger one (see ``prune_threshold``, ``prune_tol``).
    prune_threshold : float, default=0.9
        Error correlation above which a weaker member is a pruning candidate.
    prune_tol : float, default=0.005
        A candidate is pruned when the cross-validated blend loss without it is at most
        ``1 + prune_tol`` times the loss with it.
    expensive_folds : int or None, default=1
        Folds fit by expensive members (``_blend_expensive = True``); None treats them like
        the others.
    cheap_folds : {"auto", "all", "shared"}, default="auto"
        Folds fit by the other (cheap) members when an expensive member is present. "all":
        every fold, so the cheap members are weighted among themselves on every row. "shared":
        only the expensive members' folds (holdout blending): ``expensive_folds`` fits plus
        the refit instead of ``cv + 1``, with every weight learned on the holdout rows. "auto":
        "shared" when text or image columns widen the table (there a cheap fold costs about
        as much as the network's holdout fit) and the holdout holds at least 1,000 rows,
        else "all". The choice made is ``cheap_folds_``.
    expensive_refit : bool, default=False
        Also fit each expensive member once on all rows, alongside the folds (it is the
        longest task, so it starts first), and predict with that model instead of its fold
        models; the weights are still learned on the fold models' holdout predictions. One
        more fit of each expensive member for a final model that sees every row: on
        make_clothing(10000) the network member went 0.2528 -> 0.2458 and the blend 0.2359
        -> 0.2338 (1.169x the noise floor), with the fit 96 s -> 150 s (3.1x one fit of the
        network instead of 2.1x).
    memory : str, path or joblib.Memory, default=None
        Cache of every member x fold result (resumable, incremental fits).
    n_jobs : int, default=None
        joblib workers for member x fold tasks; the active joblib backend (e.g. Dask) applies.
    verbose : int, default=0
        Print a progress bar over member x fold tasks to stderr.
    on_error : {"warn", "raise", "ignore"}, default="warn"
        What a failing member does: dropped with a warning, raise, or dropped silently.
        Failures are always listed in ``leaderboard_``.
    random_state : int, RandomState or None
        Seeds the folds (int ``cv``), the default members and bagged selection.

    Attributes
    ----------
    members_ : list of (str, estimator)
        Final models of the members with non-zero weight (all kept members for stacking).
    weights_ : dict
        Member name -> weight (0 for pruned or unselected members; stacking: equal weights).
    leaderboard_ : DataFrame
        member, OOF score, weight, fit/predict seconds, fits run and cached, status, why.
    diversity_ : dict
        Member OOF losses, error correlations and the ambiguity decomposition.
    oof_predictions_ : ndarray of shape (n_rows, n_members, n_outputs)
        Every member's OOF predictions (NaN where a row has none).
    oof_rows_ : ndarray
        Rows on which weights were learned (where every member has an OOF prediction).
    cheap_folds_ : {"all", "shared"}
        The folds the cheap members ran (see ``cheap_folds``).
    task_log_ : DataFrame
        One row per member x fold (and refit) task: wall and CPU fit seconds, predict
        seconds, whether it came from the cache, and its error.
    final_estimator_ : estimator or None
        The fitted stacker for ``method="stacking"``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from blend import BlendRegressor
    >>> X, y = make_regression(200, 5, noise=1.0, random_state=0)
    >>> blend = BlendRegressor(
    ...     [("ridge", Ridge()), ("tree", DecisionTreeRegressor(random_state=0))], random_state=0
    ... ).fit(X, y)
    >>> blend.predict(X[:2]).shape
    (2,)
    >>> sorted(blend.weights_)
    ['ridge', 'tree']
    """

    def fit(self, X, y, groups=None):
        """Fit every member on shared folds, learn the weights, build the final models.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        groups : array-like of shape (n_samples,), optional
            Group labels for group splitters.

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._record_input(X)
        y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if y_arr.dtype.kind not in "fiub":
            try:
                y_arr = y_arr.astype(float)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"BlendRegressor needs a numeric target; got dtype {y_arr.dtype}. "
                    "Use BlendClassifier for class labels."
                ) from exc
        y_arr = y_arr.astype(float)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr[:, 0]
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}.")
        if not np.all(np.isfinite(y_arr)):
            raise ValueError("y contains NaN or infinity; drop or fill those rows before fitting.")
        self._single_output = y_arr.ndim == 1
        y2 = y_arr.reshape(len(y_arr), -1)
        self._n_outputs = y2.shape[1]
        # members see the user's target shape; the weights see (n, n_outputs)
        return self._fit(X, y_arr, y2, groups)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Blend the members' predictions.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        X = self._check_X(X)
        out = self._blend_outputs(X)
        if self.final_estimator_ is not None:
            out = np.asarray(self.final_estimator_.predict(out), dtype=float)
            return out if not self._single_output else out.reshape(-1)
        return out[:, 0] if self._single_output else out


class BlendClassifier(ClassifierMixin, _BaseBlend):
    """Diversity-aware blend of classifiers: class probabilities weighted by log loss.

    Members are fit on the encoded labels ``0 .. n_classes - 1`` (so XGBoost accepts string
    labels too); their probabilities are aligned to ``classes_`` even when a fold misses a
    class. Folds are stratified for an int ``cv``. Members without ``predict_proba`` contribute
    one-hot votes. ``diversity_`` adds the cross-entropy decomposition and the Kuncheva--Whitaker
    pairwise measures (Q statistic, disagreement, double fault). Parameters and attributes are
    those of :class:`BlendRegressor` (``metric`` is the log loss; the default stacker is
    ``LogisticRegression``), plus ``classes_``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from blend import BlendClassifier
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> labels = ["no", "yes"]
    >>> clf = BlendClassifier(
    ...     [("lr", LogisticRegression()), ("nb", GaussianNB())], random_state=0
    ... ).fit(X, [labels[i] for i in y])
    >>> clf.classes_.tolist(), clf.predict_proba(X[:3]).shape
    (['no', 'yes'], (3, 2))
    """

    _classification = True

    def fit(self, X, y, groups=None):
        """Fit every member on shared stratified folds and learn the probability weights.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (strings, ints, ...).
        groups : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._record_input(X)
        y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; using y.ravel().",
                DataConversionWarning,
                stacklevel=2,
            )
            y_arr = y_arr[:, 0]
        if y_arr.ndim != 1:
            raise ValueError(
                "BlendClassifier supports one target column; got shape "
                f"{y_arr.shape}. Fit one blend per target."
            )
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}.")
        if pd.isna(pd.Series(y_arr)).any():
            raise ValueError("y contains missing labels; drop those rows before fitting.")
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(y_arr)
        encoder = LabelEncoder().fit(y_arr)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has a single class ({self.classes_[0]!r}); a classifier needs at least two."
            )
        self._single_output = True
        self._n_outputs = len(self.classes_)
        y_enc = encoder.transform(y_arr)
        return self._fit(X, y_enc, y_enc, groups)

    def predict_proba(self, X) -> np.ndarray:
        """Blended class probabilities, columns in the order of ``classes_``."""
        X = self._check_X(X)
        out = self._blend_outputs(X)
        if self.final_estimator_ is not None:
            proba = self.final_estimator_.predict_proba(out)
            full = np.zeros((len(proba), len(self.classes_)))
            full[:, np.asarray(self.final_estimator_.classes_).astype(int)] = proba
            return full
        return out

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # checks that the blend is fitted
        return self.classes_[np.argmax(proba, axis=1)]
