"""The diversity-aware blender: ``BlendRegressor`` and ``BlendClassifier``.

How a fit runs
--------------
1. **Folds.** One splitter (``cv``) makes the folds every member sees. An int ``cv`` means a
   shuffled ``KFold`` (``StratifiedKFold`` for classifiers) seeded by ``random_state`` (0 when
   ``random_state`` is None, so caching and comparisons across fits see identical folds); any
   scikit-learn splitter or iterable of ``(train, test)`` works, with ``groups`` passed to it.
2. **Out-of-fold predictions.** Every ``member x fold`` pair is one joblib task
   (:mod:`blend.ensemble.tasks`, planned by :mod:`blend.ensemble.plan`, run by
   :mod:`blend.ensemble.execute`), so ``n_jobs`` runs them in parallel and
   ``with joblib.parallel_backend("dask"):`` runs them on a Dask cluster. With ``memory=``
   each task's result is cached on disk, keyed on the member's parameters, the data and the
   fold: adding a member refits only that member, and an interrupted fit resumes where it
   stopped. :mod:`blend.ensemble.assemble` turns the results into the OOF matrix.
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
   holdout rows.
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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import (
    ClassifierMixin,
    RegressorMixin,
    clone,
)
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from blend.ensemble import diversity as _div
from blend.ensemble import weights as _w
from blend.ensemble.assemble import (
    OutOfFold,
    assemble_oof,
    collect_final_fits,
    fold_final_models,
    leaderboard,
    weighting_rows,
)
from blend.ensemble.execute import Scheduler
from blend.ensemble.explain import ExplainMixin
from blend.ensemble.outputs import FoldAverage, member_output, shared_inputs
from blend.ensemble.plan import Plan, is_expensive, plan_tasks
from blend.ensemble.tasks import FitData, task_function
from blend.ensemble.uncertainty import CalibrationMixin, IntervalMixin
from blend.features.validation import shared_work

__all__ = ["BlendClassifier", "BlendRegressor", "FoldAverage", "is_expensive"]

_REG_METRICS = {"rmse": "squared_error", "mse": "squared_error", "mae": "absolute_error"}
# From this many rows members predict side by side in threads (n_jobs > 1): their predict
# loops run in C and release the GIL, so threads overlap them.
_PARALLEL_PREDICT_ROWS = 1_000


@dataclass
class _Blend:
    """The weighting stage of one fit (local to ``fit``; never stored on the estimator).

    Indices are positions among ``names``, the members that survived the out-of-fold stage.
    """

    names: list[str]
    rows: np.ndarray  # rows the weights are learned on
    P: np.ndarray  # OOF predictions on those rows, (len(rows), len(names), n_outputs)
    y: np.ndarray
    own: np.ndarray  # each member's loss on those rows
    kept: list[int]  # not pruned
    pruned: dict[str, str]
    weights: np.ndarray
    stacker: object | None

    @property
    def active(self) -> list[int]:
        """Members the blend predicts with: weight above 0 (stacking: every kept member)."""
        return [i for i in self.kept if self.weights[i] > 0 or self.stacker is not None]


# --------------------------------------------------------------------------------- the blender


class _BaseBlend(ExplainMixin, _BaseComposition):
    """Shared machinery of :class:`BlendRegressor` and :class:`BlendClassifier`."""

    _classification = False

    # Every __init__ parameter, declared once: ``fit`` validates them (``_validate_params``)
    # and the CLI reads the allowed values from here. ``metric`` is narrowed by each subclass.
    _parameter_constraints: ClassVar[dict] = {
        "members": [list, tuple, None],
        "method": [StrOptions({"caruana", "nnls", "stacking", "mean"})],
        "cv": ["cv_object"],
        "refit": ["boolean"],
        "metric": [callable, None],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 0, None, closed="left")],
        "n_bags": [Interval(Integral, 1, None, closed="left")],
        "final_estimator": [None, HasMethods(["fit"])],
        "passthrough": ["boolean"],
        "prune": ["boolean"],
        "prune_threshold": [Interval(Real, 0, 1, closed="right")],
        "prune_tol": [Interval(Real, 0, None, closed="left")],
        "expensive_folds": [Interval(Integral, 1, None, closed="left"), None],
        "cheap_folds": [StrOptions({"auto", "all", "shared"})],
        "expensive_refit": ["boolean"],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "on_error": [StrOptions({"warn", "raise", "ignore"})],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "presets": [StrOptions({"fast", "default", "best"}), None],
        "calibrate": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
    }

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
        time_limit: float | None = None,
        presets: str | None = None,
        calibrate: str | bool = "auto",
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
        self.time_limit = time_limit
        self.presets = presets
        self.calibrate = calibrate
        self.random_state = random_state

    # nested parameters: ``members__xgb__max_depth`` works in GridSearchCV
    def get_params(self, deep: bool = True) -> dict:
        return self._get_params("members", deep=deep)

    def set_params(self, **params):
        self._set_params("members", **params)
        return self

    def _metric(self):
        """The loss the weights minimize, as :mod:`blend.ensemble.weights` names it."""
        if self._classification:
            return self.metric if callable(self.metric) else "log_loss"
        if self.metric is None:
            return "squared_error"
        if callable(self.metric):
            return self.metric
        return _REG_METRICS[self.metric]

    def _resolve_members(self, X, y) -> list[tuple[str, object]]:
        members = self.members
        if members is None:
            from blend.members.defaults import default_members

            task = "classification" if self._classification else "regression"
            if self.presets in (None, "default"):
                members = default_members(
                    X, y, task=task, roles=None, random_state=self.random_state
                )
            else:
                from blend.ensemble.presets import preset_members

                members = preset_members(
                    self.presets, X, y, task=task, roles=None, random_state=self.random_state
                )
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

    def _fallback_members(self, X, y) -> list[tuple[str, object]]:
        """Quick members for a time limit the library does not fit (none for the user's own
        members: those are kept as given, the cheapest whatever it costs)."""
        if self.members is not None:
            return []
        from blend.members.defaults import fallback_members

        task = "classification" if self._classification else "regression"
        return fallback_members(X, y, task=task, random_state=self.random_state)

    def _setting(self, name: str):
        """A blend parameter as this fit uses it: the preset's value where it sets one."""
        return getattr(self, "_preset_overrides", {}).get(name, getattr(self, name))

    def _splits(self, X, y, groups) -> list[tuple[np.ndarray, np.ndarray]]:
        cv = self._setting("cv")
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
        """Plan the member x fold tasks, run them, assemble the OOF matrix, weight, finish."""
        from blend.ensemble.presets import preset_settings

        # What the preset changes, read through _setting: the parameters stay as the user
        # passed them (get_params, clone), during the fit too.
        self._preset_overrides = preset_settings(self, len(y_members))
        if self.time_limit is not None or self.presets not in (None, "default"):
            return self._fit_budgeted(X, y_members, y_weights, groups)
        return self._fit_members(X, y_members, y_weights, groups, None)

    def _fit_budgeted(self, X, y_members, y_weights, groups):
        """``_fit`` under a preset (:mod:`blend.ensemble.presets`) and/or a time limit
        (:mod:`blend.ensemble.budget`)."""
        import time

        from blend.ensemble.budget import TimeBudget

        start = time.perf_counter()
        budget = None
        if self.time_limit is not None:
            budget = TimeBudget(float(self.time_limit), start, self.n_jobs, self.verbose)
        self._fit_members(X, y_members, y_weights, groups, budget)
        self.budget_ = {
            "presets": self.presets or "default",
            "preset_settings": dict(self._preset_overrides),
            "time_limit": None,
            "elapsed_seconds": round(time.perf_counter() - start, 3),
        }
        if budget is not None:
            self.budget_.update(budget.summary())
            self.leaderboard_ = budget.annotate(self.leaderboard_)
        return self

    def _fit_members(self, X, y_members, y_weights, groups, budget):
        """``_fit``'s stages; ``budget`` (a :class:`~blend.ensemble.budget.TimeBudget` or
        None) measures the members, keeps those that fit and guards the deadline."""
        members = self._resolve_members(X, y_members)
        splits = self._splits(X, y_members, groups)
        scheduler = self._scheduler(X, y_members)
        if budget is not None:
            members = budget.select(
                members,
                scheduler.data,
                splits,
                lambda kept: self._plan(X, kept, splits),
                self._fallback_members(X, y_members),
            )
        names = [name for name, _ in members]
        plan = self._plan(X, members, splits)
        if budget is None:
            results = scheduler.run(list(plan.tasks), "out-of-fold")
        else:
            plan = budget.schedule(plan)
            scheduler.budget = budget
            results = budget.run(scheduler, plan)
        oof = assemble_oof(names, results, splits, len(y_members), self._n_outputs)
        self._report_failures(oof.errors)
        blend = self._learn_blend(X, y_weights, oof, plan, names)
        final_models, errors, log = self._final_models(blend, oof, plan, scheduler)
        self._drop_late_failures(X, blend, errors)
        self._set_fitted_state(blend, final_models, oof, names, splits)
        self._set_reports(blend, oof, plan, errors, log)
        # intervals / temperature (ensemble.uncertainty); past the limit, the adaptive scale
        # does not featurize the frame again
        self._set_uncertainty(blend, X, budget is None or budget.remaining() > 0)
        return self

    def _plan(self, X, members, splits) -> Plan:
        """Which tasks run first, in which order; records ``cheap_folds_``."""
        plan = plan_tasks(
            X,
            members,
            splits,
            cheap_folds=self.cheap_folds,
            expensive_folds=self._setting("expensive_folds"),
            refit=self.refit,
            expensive_refit=self._setting("expensive_refit"),
            # with several workers the final refits start with the folds: run as a second
            # stage, their few long fits would leave the other workers idle
            eager=self.refit and effective_n_jobs(self.n_jobs) > 1,
        )
        self.cheap_folds_ = "shared" if plan.shared else "all"
        return plan

    def _scheduler(self, X, y_members) -> Scheduler:
        data = FitData(X, y_members, self._classification, self._n_outputs)
        return Scheduler(
            task_function(self.memory),
            data,
            n_jobs=self.n_jobs,
            on_error=self.on_error,
            verbose=self.verbose,
        )

    def _learn_blend(self, X, y_weights, oof: OutOfFold, plan: Plan, names) -> _Blend:
        """Prune, then weight the members that survived, on the rows they all predict."""
        metric = self._metric()
        ok = oof.surviving(names)
        rows = weighting_rows(oof.predictions, ok)
        P = oof.predictions[rows][:, ok, :]
        y_rows = y_weights[rows]
        names_ok = [names[m] for m in ok]
        own = _w.member_losses(P, y_rows, metric)
        kept, pruned = list(range(len(ok))), {}
        if self.prune and len(ok) > 1:
            kept, pruned = self._prune(P, y_rows, metric, own, names_ok)
        weights = np.zeros(len(ok))
        stacker = None
        if self.method == "stacking":
            stacker = self._fit_stacker(X, P[:, kept, :], y_rows, rows)
            weights[kept] = 1.0 / len(kept)
        else:
            expensive = [plan.expensive[name] for name in names]
            weights[kept] = self._staged_weights(
                oof.predictions, [ok[i] for i in kept], expensive, y_weights, rows, metric
            )
        return _Blend(names_ok, rows, P, y_rows, own, kept, pruned, weights, stacker)

    def _final_models(self, blend: _Blend, oof: OutOfFold, plan: Plan, scheduler: Scheduler):
        """Final model of every member the blend predicts with, and final-fit failures.

        Members with a final fit (``plan.final_fit``) use it: started with the folds, or run
        now; the others average their fold models. Returns ``(models, errors, log rows)``,
        ``errors`` holding every failure so far.
        """
        active = [blend.names[i] for i in blend.active]
        n_classes = self._n_outputs if self._classification else None
        models = fold_final_models(active, plan, oof.stats, n_classes)
        refit = [name for name in active if plan.final_fit[name]]
        pending = [plan.final_fit_task(name) for name in refit if name not in oof.final_fits]
        ran = scheduler.run(pending, "refit")
        fitted, errors = collect_final_fits(refit, oof.final_fits, ran, oof.stats)
        models.update(fitted)
        if scheduler.budget is not None:  # refits out of time: their fold models instead
            errors = scheduler.budget.fold_fallback(models, errors, plan, oof.stats, n_classes)
        log = [res.log_row("refit") for res in ran]
        return models, {**oof.errors, **errors}, log

    def _drop_late_failures(self, X, blend: _Blend, errors: dict) -> None:
        """Members whose final fit failed leave the blend; the others' weights are rescaled."""
        late = [i for i in blend.active if blend.names[i] in errors]
        if not late:
            return
        self._report_failures({blend.names[i]: errors[blend.names[i]] for i in late})
        if not [i for i in blend.active if i not in late]:
            raise ValueError(
                "Every member with weight failed its final fit: "
                + "; ".join(f"{k}: {v}" for k, v in errors.items())
            )
        blend.kept = [i for i in blend.kept if i not in late]
        weights = blend.weights
        weights[late] = 0.0
        if blend.stacker is not None:
            blend.stacker = self._fit_stacker(X, blend.P[:, blend.kept, :], blend.y, blend.rows)
            weights[blend.kept] = 1.0 / len(blend.kept)
        elif self.method == "mean":
            weights[blend.kept] = 1.0 / len(blend.kept)
        weights /= weights.sum()

    def _set_fitted_state(self, blend: _Blend, final_models, oof: OutOfFold, names, splits):
        """Fitted attributes: plain values only (persistence walks them)."""
        metric = self._metric()
        active = blend.active
        self.members_ = [(blend.names[i], final_models[blend.names[i]]) for i in active]
        self._member_weights = np.array([blend.weights[i] for i in active])
        self.final_estimator_ = blend.stacker
        self.weights_ = {name: float(w) for name, w in zip(blend.names, blend.weights)}
        self.oof_predictions_ = oof.predictions
        self.oof_rows_ = blend.rows
        self.member_names_ = list(names)
        self.splits_ = [(tr, te) for tr, te in splits]
        self.ensemble_oof_loss_ = (
            _w.ensemble_loss(blend.P, blend.y, blend.weights, metric)
            if blend.stacker is None
            else None
        )
        self.diversity_ = self._diversity(blend.P, blend.y, blend.weights, blend.own, blend.names)

    def _set_reports(self, blend: _Blend, oof: OutOfFold, plan: Plan, errors, log) -> None:
        """``task_log_`` (every task) and ``leaderboard_`` (every member)."""
        self.task_log_ = pd.DataFrame.from_records(oof.log + log)
        self.leaderboard_ = leaderboard(
            list(plan.estimators),
            plan.expensive,
            errors,
            blend.pruned,
            dict(zip(blend.names, blend.own)),
            dict(zip(blend.names, blend.weights)),
            oof.stats,
            self._label(),
        )

    def _label(self) -> str:
        """The metric's name in ``leaderboard_`` (``oof_<label>``)."""
        metric = self._metric()
        label = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
        return "rmse" if label == "squared_error" else label

    def _report_failures(self, errors: dict) -> None:
        if errors and self.on_error == "warn":
            for name, why in errors.items():
                if "skipped: " in why:  # a time limit's decision (leaderboard_, budget_)
                    continue
                warnings.warn(
                    f"Member {name!r} failed and was dropped from the blend: {why}",
                    UserWarning,
                    stacklevel=4,
                )

    def _staged_weights(self, oof, kept, expensive, y, rows, metric) -> np.ndarray:
        """Weights for the kept members (indices into ``oof``), in two stages when it pays.

        Expensive members have out-of-fold predictions on their holdout folds only, so a
        one-shot weighting sees just those ``n/k`` rows -- and weights of several members
        learned on one fold swing with that fold's luck. The cheap members are therefore
        weighted among themselves on every row they predict, and only the mix of that fixed
        cheap blend with the expensive members is learned on the shared holdout rows.
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
            n_bags=self._setting("n_bags"),
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
        with shared_work():  # featurizers fitted alike transform the rows once
            jobs = self.n_jobs if parallel else None
            inputs = shared_inputs([est for _, est in members], X, jobs)
            if parallel:
                return Parallel(n_jobs=self.n_jobs, prefer="threads")(
                    delayed(member_output)(est, Z, classification, d) for est, Z in inputs
                )
            return [member_output(est, Z, classification, d) for est, Z in inputs]

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


class BlendRegressor(IntervalMixin, RegressorMixin, _BaseBlend):
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
    metric : {"rmse", "mse", "mae"}, callable or None, default=None (RMSE)
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
        more fit of each expensive member (its longest task) for a final model that sees every
        row instead of ``(k-1)/k`` of them.
    memory : str, path or joblib.Memory, default=None
        Cache of every member x fold result (resumable, incremental fits).
    n_jobs : int or None, default=None
        joblib workers for member x fold tasks; the active joblib backend (e.g. Dask) applies.
    verbose : int, default=0
        Print a progress bar over member x fold tasks to stderr.
    on_error : {"warn", "raise", "ignore"}, default="warn"
        What a failing member does: dropped with a warning, raise, or dropped silently.
        Failures are always listed in ``leaderboard_``.
    calibrate : {"auto", True, False}, default="auto"
        BlendClassifier only (no effect on a regressor): temperature scaling of
        ``predict_proba``, fit on the OOF probabilities. "auto" keeps it only when it lowers
        the cross-validated log loss on the OOF rows (else ``temperature_ = 1``); True always
        fits it; False never.
    time_limit : float or None, default=None
        Seconds the fit may take (:mod:`blend.ensemble.budget`): members are timed on a
        subsample and kept cheapest-first; those that do not fit are shrunk (no refit, fewer
        epochs or trees, holdout) or skipped, and tasks that would end past the deadline are
        not started. Decisions are in ``leaderboard_`` and ``budget_``; the cheapest member
        always stays. None: no budget (the fit never looks at the clock).
    presets : {"fast", "default", "best"} or None, default=None
        Named settings (:data:`blend.ensemble.presets.PRESETS`): the default members with or
        without deep members, and blend parameters left at their default. None is "default".
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
    budget_ : dict
        Only with ``time_limit`` or ``presets``: the preset and the settings it set, the
        limit, elapsed and measuring seconds, and every member's budget decision.
    calibration_scores_ : dict or None
        Sorted conformal scores of the OOF rows (``oof_rows_``): "adaptive", "normalized"
        and "absolute", each ``(n_rows, n_outputs)``; ``predict_interval`` takes their
        quantile for any coverage. None for stacking. The classifier's holds "lac" and "aps".
    disagreement_floor_ : ndarray of shape (n_outputs,)
        Added to the members' disagreement in the normalized score.
    residual_scale_ : ResidualScale or None
        The adaptive score's cross-fitted scale of the blend's error (fit on ``oof_rows_``).
    temperature_ : float
        BlendClassifier: the temperature of ``predict_proba`` (1: uncalibrated).
    uncertainty_ : dict
        Calibration rows, OOF widths of the 90% intervals (classifier: temperature and log
        losses), or why there is no calibration.

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

    _parameter_constraints: ClassVar[dict] = {
        **_BaseBlend._parameter_constraints,
        "metric": [StrOptions(set(_REG_METRICS)), callable, None],
    }

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
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._record_input(X)
        _refuse_mixed_heads(y)
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


def _refuse_mixed_heads(y) -> None:
    """A DataFrame target with label columns: say what the blenders do not support."""
    if not isinstance(y, pd.DataFrame) or y.shape[1] < 2:
        return
    labels = [c for c in y.columns if not pd.api.types.is_numeric_dtype(y[c])]
    labels += [c for c in y.columns if pd.api.types.is_bool_dtype(y[c]) and c not in labels]
    if labels:
        raise ValueError(
            f"y mixes regression and classification targets (label columns: {labels}). "
            "BlendRegressor blends numeric outputs only and BlendClassifier one label column; "
            "a target with heads of different kinds (such as age, income band and gender) is "
            "not supported by the blenders. Fit KerasMultiTaskEstimator for one network with "
            "a head per column, or one blend per column."
        )


class BlendClassifier(CalibrationMixin, ClassifierMixin, _BaseBlend):
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
    _parameter_constraints: ClassVar[dict] = {
        **_BaseBlend._parameter_constraints,
        "metric": [StrOptions({"log_loss"}), callable, None],
    }

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
        self._validate_params()
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
                f"{y_arr.shape}. Several classification targets, or a mix of classification "
                "and regression targets, are not blended: fit one blend per target, or "
                "KerasMultiTaskEstimator for one network with a head per target."
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
        """Blended class probabilities, columns in the order of ``classes_``.

        Temperature-scaled by ``temperature_`` (1, i.e. unchanged, unless ``calibrate`` chose
        otherwise; see :mod:`blend.ensemble.uncertainty`).
        """
        X = self._check_X(X)
        out = self._blend_outputs(X)
        if self.final_estimator_ is not None:
            proba = self.final_estimator_.predict_proba(out)
            full = np.zeros((len(proba), len(self.classes_)))
            full[:, np.asarray(self.final_estimator_.classes_).astype(int)] = proba
            return full
        return self._calibrated(out)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # checks that the blend is fitted
        return self.classes_[np.argmax(proba, axis=1)]
