"""A time budget for a blend's fit (``time_limit=``): measure, plan, then keep a deadline.

:class:`TimeBudget` is the fit's scheduler policy as an object, used only when ``time_limit``
is set (without one the fit never touches this module):

1. **Measure.** Each member is fit on a small subsample (at most :data:`PROBE_ROWS` rows
   of the first fold's training rows, predicting held-out rows in the fold's proportion) and
   on a quarter of it first (deep members: for one and two epochs instead); the two times
   give how its cost grows with the rows (or epochs), and the time is extrapolated to its
   tasks' rows (boosters with a margin: more rows, more trees before early stopping).
   Measuring stops at :data:`PROBE_SHARE` of the limit.
2. **Plan.** Each member can run at several levels, each cheaper than the one before: all
   folds and a refit on all rows; the folds alone (fold models averaged); its last fold and
   a refit; its last fold alone (holdout). First as many members as fit are kept, cheapest
   first, each at its cheapest level (trees or epochs *shrunk* when even that does not fit);
   then each kept member moves up to the best level the time left allows. A very small limit
   still returns a usable blend (with a warning): when not even the cheapest member's last
   fold fits, the quick fallback members of a default library take over
   (:func:`~blend.members.defaults.fallback_members`), and a user's own list keeps its
   cheapest member whatever it costs.
3. **Run, then re-plan.** The first fold of every kept member runs first; the measured times
   replace the estimates and members whose remaining folds no longer fit are skipped.
4. **Deadline.** A task that would end after the deadline is not started (the member is then
   skipped: a member with folds missing is dropped, never half-used); a final refit out of time
   falls back to the member's fold models (averaged).

Every decision is recorded (``decisions``: member -> text) and ends up in ``leaderboard_``
(status ``skipped``, or the ``why`` of a kept member) and ``budget_``. When the unlimited fit
fits inside the limit, nothing is shrunk or skipped and the predictions are those of the
unlimited fit (the probes are separate fits; the tasks are the same).

Deadlines compare ``time.perf_counter()`` values across joblib's local worker processes (a
system-wide monotonic clock on Linux); on remote (Dask) workers the guard is approximate.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from sklearn.base import clone

from blend.ensemble.assemble import fold_final_models
from blend.ensemble.plan import Plan
from blend.ensemble.tasks import FitData, Task, TaskResult, fit_predict, run_task

__all__ = ["PROBE_ROWS", "TimeBudget", "run_before_deadline"]

# Rows of the subsample each member is timed on.
PROBE_ROWS = 1_000
# Share of the limit the member x fold tasks may plan to use; the rest is for the weights,
# the report and the estimates' error.
PLAN_SHARE = 0.8
# A task is not started when it would end later than this share of the limit.
DEADLINE_SHARE = 0.95
# Measuring stops (the members not yet measured are skipped) after this share of the limit.
PROBE_SHARE = 0.4
# A member's cost grows as rows ** exponent, the exponent measured on two subsamples and kept
# within these bounds (see TimeBudget._growth). Between a few hundred rows and a thousand,
# early-stopped members look steeper than they are (more rows, more rounds before the stop
# while the sample is tiny; a late stop in one small fit): measured from 1,000 rows to a fold
# (make_clothing's 6,400 rows, diamonds' 16,000), the default members grew as rows ** 0.3 to
# ** 0.9, while from 250 to 1,000 rows additive_boost and CatBoost grew as fast as the rows,
# and an exponent of 1 made additive_boost look twice as dear on a fold as it was. Boosters
# get BOOSTER_MARGIN on top, and the first folds' measured times correct the rest.
MIN_EXPONENT, MAX_EXPONENT = 0.5, 0.8
# A subsample probe growing faster than this from the quarter is timed once more (a busy
# moment is likelier than a member that slow).
RETAKE_EXPONENT = 1.25
# Boosters grow more trees on more rows before early stopping ends them.
BOOSTER_MARGIN = 1.5
# Deep members stop early; their expected epochs are at most this many times the patience.
EPOCHS_PER_PATIENCE = 4
# Smallest shrunk sizes worth fitting.
MIN_EPOCHS, MIN_TREES = 3, 50
SKIPPED = "skipped"


def run_before_deadline(guard, func, task: Task, data: FitData, on_error: str) -> TaskResult:
    """:func:`~blend.ensemble.tasks.run_task`, unless it would end after the deadline.

    ``guard`` is ``(deadline, expected_seconds)`` or None (the task always runs).
    """
    if guard is not None:
        deadline, expected = guard
        now = time.perf_counter()
        if now + expected > deadline:
            return TaskResult(
                task.key,
                error=f"{SKIPPED}: out of time (would end {now + expected - deadline:.0f} s "
                "after the deadline)",
            )
    return run_task(func, task, data, on_error)


def _prior(estimator, expensive: bool) -> int:
    """Measuring order before any measurement: linear models, other cheap members, deep."""
    steps = getattr(estimator, "steps", None)
    last = steps[-1][1] if steps else estimator
    kind = type(last).__name__.lower()
    if expensive:
        return 2
    return 0 if any(w in kind for w in ("linear", "ridge", "logistic", "lasso")) else 1


def _param_keys(estimator, suffixes: tuple[str, ...]) -> list[str]:
    params = estimator.get_params(deep=True)
    return [k for k in params if k.rsplit("__", 1)[-1] in suffixes and isinstance(params[k], int)]


def _epochs_key(estimator) -> str | None:
    keys = _param_keys(estimator, ("epochs",))
    return keys[0] if keys else None


def _trees_key(estimator) -> str | None:
    """The booster's tree limit (XGBoost's ``n_estimators``, the members' ``max_trees``)."""
    params = estimator.get_params(deep=True)
    keys = [k for k in _param_keys(estimator, ("n_estimators", "max_trees")) if params[k] >= 1000]
    return keys[0] if keys else None


@dataclass
class Estimate:
    """What one member is expected to cost: seconds per fold task and for its final fit."""

    fold: float
    final: float
    n_folds: int
    refit: bool
    epochs_key: str | None = None
    per_epoch: float = 0.0  # deep members: seconds per epoch of a fold task
    epochs: int = 0

    @property
    def total(self) -> float:
        return self.fold * self.n_folds + (self.final if self.refit else 0.0)


def _levels(e: Estimate) -> list[tuple[str, Estimate]]:
    """How a member can run, best first, each cheaper than the one before:
    ``(decision, estimate)``; the decision is empty for the member as planned.

    All folds and a refit on all rows; the folds alone (fold models averaged); the last fold
    and a refit; the last fold alone (its model kept).
    """
    options = [("", e)]
    if e.refit:
        kept = "fold models averaged" if e.n_folds > 1 else "its fold model kept"
        options.append((f"no refit on all rows; {kept}", replace(e, refit=False)))
    if e.n_folds > 1:
        holdout = f"holdout (last fold only) instead of {e.n_folds} folds"
        if e.refit:
            options.append((f"{holdout}, then a refit on all rows", replace(e, n_folds=1)))
        options.append(
            (f"{holdout}; its fold model kept (no refit)", replace(e, n_folds=1, refit=False))
        )
    options.sort(key=lambda o: -o[1].total)  # stable: ties keep the better option first
    return options


@dataclass
class TimeBudget:
    """The time budget of one fit (see the module docstring)."""

    time_limit: float
    start: float
    n_jobs: int | None = None
    verbose: int = 0
    decisions: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    estimates: dict[str, Estimate] = field(default_factory=dict)
    essential: str | None = None
    probe_seconds: float = 0.0
    n_rows: int = 0
    expensive: dict[str, bool] = field(default_factory=dict)
    holdout: set[str] = field(default_factory=set)
    # members planned without their refit, refit after all when the first folds leave time
    optional: set[str] = field(default_factory=set)
    planned_folds: dict[str, int] = field(default_factory=dict)

    @property
    def workers(self) -> float:
        """Effective parallel speed-up of the joblib workers (members are threaded too)."""
        n = effective_n_jobs(self.n_jobs)
        return 1.0 if n <= 1 else 0.75 * n

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        return self.time_limit - self.elapsed()

    @property
    def deadline(self) -> float:
        return self.start + DEADLINE_SHARE * self.time_limit

    # -- 1. measure ------------------------------------------------------------------------
    def _probe(self, est, data: FitData, train, test, epochs: int | None) -> float:
        """Seconds to fit ``est`` on ``train`` rows and predict ``test`` rows."""
        model = clone(est)
        if epochs is not None:
            model.set_params(**{_epochs_key(model): epochs})
        start = time.perf_counter()
        fit_predict(model, data.X, data.y, train, test, data.classification, data.n_outputs, False)
        return time.perf_counter() - start

    def _growth(
        self, est, data: FitData, sub, sub_test, scale: float, whole: bool = False
    ) -> tuple[float, float]:
        """``(seconds, exponent)``: one fit and predict on the subsample takes ``seconds``, and
        on ``scale`` times its rows about ``seconds * scale ** exponent``.

        Timed on the subsample and, when the tasks are much larger, on a quarter of it too: a
        member's cost grows slower than its rows while fixed costs (vocabularies, thread
        start-up, early-stopping rounds) weigh in, so a straight line through two small fits
        over-estimates large ones. The exponent is kept within [:data:`MIN_EXPONENT`,
        :data:`MAX_EXPONENT`], so timing noise cannot make a member look free or explode.
        """
        if scale <= 2:
            return self._probe(est, data, sub, sub_test, None), 1.0
        # a quarter, not a half: the wider the spread, the less timing noise moves the exponent;
        # and first: one-time costs (imports, caches) land there, not in the fit that is scaled
        small = self._probe(est, data, sub[::4], sub_test[::4], None)
        ratio = len(sub) / len(sub[::4])
        late = self.elapsed() + small * ratio**MIN_EXPONENT > PROBE_SHARE * self.time_limit
        if late and not whole:
            # the subsample would end past the measuring share: the quarter is extrapolated
            # with the slowest growth (optimistic: the member may still join, its first
            # fold's measured time then re-plans the rest and the deadline guards it)
            return small * ratio**MIN_EXPONENT, MIN_EXPONENT
        seconds = self._probe(est, data, sub, sub_test, None)

        def growth(seconds: float) -> float:
            return float(np.log(max(seconds, 1e-9) / max(small, 1e-9)) / np.log(ratio))

        if growth(seconds) > RETAKE_EXPONENT:
            # faster than the rows is rare, a busy moment is not: one slow measurement would
            # decide the member's fate, so the subsample is timed once more
            seconds = min(seconds, self._probe(est, data, sub, sub_test, None))
        return seconds, float(np.clip(growth(seconds), MIN_EXPONENT, MAX_EXPONENT))

    def estimate(self, name, est, data: FitData, splits, *, n_folds, refit, expensive, whole=False):
        """Fit ``est`` on a subsample and extrapolate to its tasks (None when it fails);
        ``whole``: measured on the whole subsample even past the measuring share."""
        train, test = splits[-1] if expensive else splits[0]
        rng = np.random.RandomState(0)
        m = min(len(train), PROBE_ROWS)
        sub = np.sort(rng.choice(train, m, replace=False))
        # the held-out rows in the fold's proportion: fit and predict then grow alike with
        # the scale (a fixed 1,000 predicted rows made the predict part look 4x dearer)
        n_test = min(len(test), max(1, round(len(test) * m / max(len(train), 1))))
        sub_test = np.sort(rng.choice(test, n_test, replace=False))
        scale, n_rows = len(train) / m, len(data.y)
        start = time.perf_counter()
        key = _epochs_key(est) if expensive else None
        try:
            if key is None:
                seconds, exponent = self._growth(est, data, sub, sub_test, scale, whole)
                margin = BOOSTER_MARGIN if _trees_key(est) and scale > 1 else 1.0
                fold = seconds * scale**exponent * margin
                final = seconds * (n_rows / m) ** exponent * margin
                result = Estimate(fold, final, n_folds, refit)
            else:
                one = self._probe(est, data, sub, sub_test, 1)
                two = self._probe(est, data, sub, sub_test, 2)
                per_epoch = max(two - one, 0.05 * one) * scale
                fixed = max(one - per_epoch / scale, 0.0)
                params = est.get_params(deep=True)
                patience = next((v for k, v in params.items() if k.endswith("patience")), 10)
                epochs = int(params[key])
                expected = min(epochs, EPOCHS_PER_PATIENCE * max(int(patience), 1) + 10)
                fold = fixed + per_epoch * expected
                final = fixed + per_epoch * expected * n_rows / len(train)
                result = Estimate(fold, final, n_folds, refit, key, per_epoch, epochs)
        except Exception as exc:  # the member's own fit reports it properly
            result = None
            self.decisions[name] = f"could not be timed ({type(exc).__name__}); kept as it is"
        finally:
            self.probe_seconds += time.perf_counter() - start
        return result

    # -- 2. plan ---------------------------------------------------------------------------
    def select(
        self, members, data: FitData, splits, plan_of, fallback=()
    ) -> list[tuple[str, object]]:
        """The members to run (some shrunk); the others are recorded in ``skipped``.

        ``plan_of(members)`` plans the tasks of a member list (to read folds and final fits).
        ``fallback`` (quick members, see :func:`~blend.members.defaults.fallback_members`)
        replaces the members when not even the cheapest one's last fold fits the limit;
        without it the cheapest member is kept whatever it costs.
        """
        full = plan_of(members)
        self.n_rows = len(data.y)
        self.expensive = dict(full.expensive)
        ests: dict[str, Estimate | None] = {}
        probe_seconds: list[float] = []
        # likely-cheap members are measured first: the cheapest must be among those measured
        for name, est in sorted(members, key=lambda m: _prior(m[1], full.expensive[m[0]])):
            n_folds = sum(1 for t in full.tasks if t.member == name and not t.is_final_fit)
            # A measurement is not started when it would likely end past PROBE_SHARE of the
            # limit, or leave too little time for the members measured so far at their
            # cheapest: it would take about as long as the longest so far (a deep member's,
            # two fits of a network, twice that), and the member could not join anyway.
            longest = max(probe_seconds, default=0.0) * (2 if full.expensive[name] else 1)
            reserve = sum(_levels(e)[-1][1].total for e in ests.values() if e)
            planned = self.elapsed() + longest + reserve / self.workers
            late = self.elapsed() + longest > PROBE_SHARE * self.time_limit
            if ests and (late or planned > PLAN_SHARE * self.time_limit):
                self.skipped[name] = (
                    f"{SKIPPED}: no time left to measure it in a {self.time_limit:g} s budget"
                )
                continue
            before = self.probe_seconds
            ests[name] = self.estimate(
                name,
                est,
                data,
                splits,
                n_folds=n_folds,
                refit=full.final_fit[name],
                expensive=full.expensive[name],
            )
            probe_seconds.append(self.probe_seconds - before)
        timed = [(n, e) for n, e in members if n in ests]
        order = sorted(timed, key=lambda m: ests[m[0]].total if ests[m[0]] else 0.0)
        available = (PLAN_SHARE * self.time_limit - self.elapsed()) * self.workers
        kept = self._allot(order, ests, available, force=not fallback)
        if not kept and fallback:
            cheapest = next((n for n, _ in order if ests[n]), None)
            order, kept = self._fall_back(list(fallback), data, splits, plan_of, ests, cheapest)
            members = [*members, *fallback]
        self.essential = order[0][0] if order else None
        return [(n, kept[n]) for n, _ in members if n in kept]

    def _fall_back(self, fallback, data: FitData, splits, plan_of, ests: dict, cheapest):
        """``(order, kept)`` of the quick fallback members, measured and planned as the others
        (the cheapest kept whatever it costs)."""
        full = plan_of(fallback)
        self.expensive.update(full.expensive)
        for name, est in fallback:
            n_folds = sum(1 for t in full.tasks if t.member == name and not t.is_final_fit)
            ests[name] = self.estimate(
                name, est, data, splits, n_folds=n_folds, refit=full.final_fit[name],
                expensive=full.expensive[name], whole=True,
            )  # fmt: skip
        order = sorted(fallback, key=lambda m: ests[m[0]].total if ests[m[0]] else 0.0)
        available = (PLAN_SHARE * self.time_limit - self.elapsed()) * self.workers
        kept = self._allot(order, ests, available, force=True, warn=False)
        detail = (
            f" (the cheapest, {cheapest}, would need about {ests[cheapest].total:.0f} s)"
            if cheapest
            else ""
        )
        why = f"fallback: no member of the library fits a {self.time_limit:g} s budget{detail}"
        for name in kept:
            note = self.decisions.get(name)
            self.decisions[name] = f"{why}; {note}" if note else why
        warnings.warn(
            f"time_limit={self.time_limit:g} s is too small for the members of the library"
            f"{detail}: fitting the quick fallback members {list(kept)} instead.",
            UserWarning,
            stacklevel=5,
        )
        return order, kept

    def _allot(
        self, order, ests: dict, available: float, force: bool, warn: bool = True
    ) -> dict[str, object]:
        """The members kept, each at the best of its :func:`_levels` the budget allows.

        First as many members as fit, cheapest first, each at its cheapest level (its last
        fold only, no refit; trees or epochs shrunk when even that does not fit): a member
        more adds more to a blend than a refit or more folds for another. Then, cheapest
        first, each kept member moves up to the best level the time left allows. With
        ``force``, the cheapest member is kept even when it does not fit (with a warning
        unless not ``warn``).
        """
        kept: dict[str, object] = {}
        estimators = dict(order)
        chosen: dict[str, tuple[str, Estimate, object]] = {}
        for name, est in order:
            e = ests[name]
            if e is None:
                kept[name] = est
                continue
            spare = available - sum(c[1].total for c in chosen.values())
            cheapest = (*_levels(e)[-1], est)
            if cheapest[1].total > spare:
                cheapest = self._shrink(est, cheapest[1], spare) or cheapest
            if cheapest[1].total <= spare or (force and not chosen):
                chosen[name] = cheapest
            else:
                self.skipped[name] = (
                    f"{SKIPPED}: would need {e.total:.0f} s of a {self.time_limit:g} s budget"
                )
        for name in list(chosen):
            spare = available - sum(c[1].total for c in chosen.values())
            for label, option in _levels(ests[name]):
                if option.total - chosen[name][1].total <= spare:
                    if option.total >= chosen[name][1].total:
                        chosen[name] = (label, option, estimators[name])
                    break
        first = next(iter(chosen), None)
        for name, (label, e, est) in chosen.items():
            kept[name] = est
            self.estimates[name] = e
            self.planned_folds[name] = ests[name].n_folds
            if e.n_folds == 1 and ests[name].n_folds > 1:
                self.holdout.add(name)
            if label:
                need = ests[name].total
                self.decisions[name] = (
                    f"{label} (would need {need:.0f} s of a {self.time_limit:g} s budget)"
                )
            if name == first and e.total > available:
                left = max(available, 0.0) / self.workers
                self.decisions[name] = (
                    f"kept although it needs about {e.total:.1f} s with {left:.1f} s of the "
                    f"{self.time_limit:g} s budget left: the cheapest member"
                    + (f"; {label}" if label else "")
                )
                if warn:
                    warnings.warn(
                        f"time_limit={self.time_limit:g} s is too small for any member "
                        f"(measuring them took {self.probe_seconds:.1f} s): keeping only the "
                        f"cheapest, {name!r} (about {e.total:.1f} s).",
                        UserWarning,
                        stacklevel=5,
                    )
        return kept

    def _shrink(self, est, e: Estimate, available: float):
        """``(label, estimate, estimator)`` with fewer epochs (deep members) or a smaller tree
        limit (boosters) to fit ``available`` seconds; None when that is not worth fitting."""
        if e.epochs_key is not None and e.per_epoch > 0:
            fixed = e.fold - e.per_epoch * min(e.epochs, EPOCHS_PER_PATIENCE * 10 + 10)
            epochs = int((available / e.n_folds - fixed) / e.per_epoch)
            if epochs >= MIN_EPOCHS and epochs < e.epochs:
                shrunk = replace(e, fold=fixed + e.per_epoch * epochs)
                return self._shrunk(est, shrunk, e.epochs_key, e.epochs, epochs)
            return None
        key = _trees_key(est)
        if key is None or e.total <= 0:
            return None
        trees = int(est.get_params(deep=True)[key])
        share = available / e.total
        new = int(trees * share)
        if new < MIN_TREES:
            return None
        shrunk = replace(e, fold=e.fold * share, final=e.final * share)
        return self._shrunk(est, shrunk, key, trees, new)

    @staticmethod
    def _shrunk(est, e: Estimate, key, old, new):
        what = key.rsplit("__", 1)[-1]
        note = f"shrunk: {what} {old} -> {new}" + (
            "; holdout (last fold only), no refit" if e.n_folds == 1 else ""
        )
        return note, e, clone(est).set_params(**{key: new})

    def schedule(self, plan: Plan) -> Plan:
        """The plan under the budget: fold models kept (a fallback for every refit), the final
        fits of members whose refit was dropped removed, holdout members on their last fold."""
        final_fit, expensive = dict(plan.final_fit), dict(plan.expensive)
        for name, e in self.estimates.items():
            if not e.refit and final_fit[name] and not plan.expensive[name]:
                self.optional.add(name)  # run decides, on the first folds' measured times
        # Each member runs the folds its estimate counted, its last ones: holdout members one;
        # and a member timed inside the full library's plan (where the deep members' holdout
        # set the folds) keeps that count when the members kept would plan more folds.
        folds: dict[str, list[int]] = {}
        for t in plan.tasks:
            if not t.is_final_fit:
                folds.setdefault(t.member, []).append(t.fold)
        keep = {}
        for name, member_folds in folds.items():
            e = self.estimates.get(name)
            n = 1 if name in self.holdout else (e.n_folds if e is not None else len(member_folds))
            if n < len(member_folds):
                keep[name] = set(sorted(member_folds)[-n:])
                # weighted on the holdout rows, like an expensive member; refit when planned
                expensive[name] = True
        tasks = tuple(
            replace(t, keep_model=True)
            for t in plan.tasks
            if not (t.is_final_fit and not final_fit[t.member])
            and (t.is_final_fit or t.member not in keep or t.fold in keep[t.member])
        )
        return replace(plan, tasks=tasks, final_fit=final_fit, expensive=expensive)

    # -- 3. run ----------------------------------------------------------------------------
    def guard(self, task: Task):
        """``(deadline, expected seconds)`` for ``task``; None for the cheapest member's
        planned tasks."""
        e = self.estimates.get(task.member)
        expected = 0.0 if e is None else (e.final if task.is_final_fit else e.fold)
        if task.is_final_fit and task.member in self.optional:
            return (self.deadline, expected)  # a refit the plan left out: only when it fits
        if task.member == self.essential:
            return None
        return (self.deadline, expected / 2)  # half: a task that may still end in time starts

    def run(self, scheduler, plan: Plan) -> list[TaskResult]:
        """The plan's tasks: every member's first fold, a re-plan on measured times, the rest."""
        first, seen = [], set()
        for t in plan.tasks:
            if not t.is_final_fit and t.member not in seen:
                seen.add(t.member)
                first.append(t)
        # the cheapest member's planned tasks always run: they start with the first folds, so
        # no worker idles while those are measured
        along = [
            t
            for t in plan.tasks
            if t not in first
            and t.member == self.essential
            and not (t.is_final_fit and t.member in self.optional)
        ]
        rest = [t for t in plan.tasks if t not in first and t not in along]
        ran = scheduler.run(first + along, "out-of-fold")
        results, along_results = ran[: len(first)], ran[len(first) :]
        measured = {r.member: r.fit_time + r.predict_time for r in results if r.ok}
        left = (self.deadline - time.perf_counter()) * self.workers
        needs, refits = {}, {}
        for t in rest:
            m = measured.get(t.member)
            if m is None:
                continue
            ref = len(first_of(first, t.member).train)
            rows = self.n_rows if t.is_final_fit else len(t.train)
            cost = m * rows / max(ref, 1)
            if t.is_final_fit and t.member in self.optional:
                refits[t.member] = cost
            else:
                needs[t.member] = needs.get(t.member, 0.0) + cost
            e = self.estimates.get(t.member)
            if e is not None:  # the guards read the measured times from now on
                e.fold = m
                e.final = m * self.n_rows / max(ref, 1)
        drop, why = set(), {}
        for name in sorted(needs, key=needs.get):
            if name == self.essential or needs[name] <= left:
                left -= needs[name]
                continue
            drop.add(name)
            why[name] = (
                f"{SKIPPED}: its first fold took {measured[name]:.0f} s; the rest would need "
                f"{needs[name]:.0f} s of the {max(left, 0) / self.workers:.0f} s left"
            )
            # a member with all its folds done loses only its refit (fold_fallback)
            if any(not t.is_final_fit for t in rest if t.member == name):
                self.decisions[name] = why[name]
        # the refits the plan left out, cheapest first, while the measured times leave room
        for name in sorted(refits, key=refits.get):
            if name not in drop and refits[name] <= left:
                left -= refits[name]
                self.optional.discard(name)
                self._refit_after_all(name)
        run = [
            t
            for t in rest
            if t.member not in drop and not (t.is_final_fit and t.member in self.optional)
        ]
        done = dict(zip([id(t) for t in run], scheduler.run(run, "out-of-fold")))
        out = []
        for t in rest:
            if id(t) in done:
                out.append(done[id(t)])
            elif t.member in why:
                out.append(TaskResult(t.key, error=why[t.member]))
            else:  # an optional refit without room: the fold models stay (fold_fallback)
                out.append(TaskResult(t.key, error=f"{SKIPPED}: no time left for a refit"))
        return results + along_results + out

    def _refit_after_all(self, name: str) -> None:
        """Record that ``name`` is refit on all rows although the plan left that out."""
        if name in self.holdout:
            self.decisions[name] = (
                f"holdout (last fold only) instead of {self.planned_folds[name]} folds, then a "
                "refit on all rows (the first folds left time for it)"
            )
        else:
            self.decisions.pop(name, None)

    # -- 4. finish ---------------------------------------------------------------------------
    def fold_fallback(self, models: dict, errors: dict, plan: Plan, stats, n_classes) -> dict:
        """Members whose final fit was skipped (out of time) predict with their fold models;
        returns the remaining errors. ``models`` is updated in place."""
        late = [n for n, why in errors.items() if why.startswith(f"final fit: {SKIPPED}")]
        if not late:
            return errors
        fallback = replace(plan, final_fit={**plan.final_fit, **dict.fromkeys(late, False)})
        models.update(fold_final_models(late, fallback, stats, n_classes))
        for name in late:
            if name not in self.optional:  # those keep the plan's decision
                self.decisions[name] = "refit on all rows out of time; fold models averaged"
        return {k: v for k, v in errors.items() if k not in late}

    def annotate(self, board: pd.DataFrame) -> pd.DataFrame:
        """``leaderboard_`` with the budget's decisions: status ``skipped`` and why."""
        board = board.copy()
        for i, row in board.iterrows():
            why = str(row["why"])
            if f"{SKIPPED}: " in why:
                board.loc[i, "status"] = SKIPPED
            note = self.decisions.get(row["member"])
            if note and note not in why:
                board.loc[i, "why"] = f"{note}; {why}" if why else note
        extra = [
            {
                "member": name,
                "weight": 0.0,
                "fit_seconds": 0.0,
                "predict_seconds": 0.0,
                "n_fits": 0,
                "cached_fits": 0,
                "expensive": bool(self.expensive.get(name, False)),
                "status": SKIPPED,
                "why": why,
            }
            for name, why in self.skipped.items()
        ]
        if extra:
            board = pd.concat([board, pd.DataFrame.from_records(extra)], ignore_index=True)
        return board

    def summary(self) -> dict:
        """Plain values for ``budget_`` (saved with the model)."""
        return {
            "time_limit": float(self.time_limit),
            "elapsed_seconds": round(self.elapsed(), 3),
            "probe_seconds": round(self.probe_seconds, 3),
            "decisions": {k: v for k, v in {**self.decisions, **self.skipped}.items() if v},
        }


def first_of(first: list[Task], member: str) -> Task:
    return next(t for t in first if t.member == member)
