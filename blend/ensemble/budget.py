"""A time budget for a blend's fit (``time_limit=``): measure, plan, then keep a deadline.

:class:`TimeBudget` is the fit's scheduler policy as an object, used only when ``time_limit``
is set (without one the fit never touches this module):

1. **Measure.** Each member is fit on a small subsample (at most :data:`PROBE_ROWS` rows
   of the first fold's training rows) and on half of it (deep members: for one and two epochs
   instead), which separates its fixed cost from the cost that grows with the rows (or
   epochs); the time is extrapolated to its tasks' rows (boosters with a margin: more rows,
   more trees before early stopping).
2. **Plan.** Cheapest member first, each member is kept while the projected total (divided by
   the effective workers) fits the budget; one that does not fit is first *shrunk* -- its
   refit on all rows dropped (its fold models are averaged), then fewer epochs (deep members)
   or a smaller tree limit (boosters) -- and otherwise *skipped*. The cheapest member is always
   kept, so a very small limit still returns a usable blend (with a warning).
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
PROBE_SHARE = 0.3
# A member's cost per training row is taken as at least this share of its average rate on
# the subsample (the rest may be a fixed cost; see TimeBudget._row_costs).
MIN_ROW_SHARE = 0.5
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

    def _row_costs(self, est, data: FitData, sub, sub_test, scale: float):
        """``(fixed seconds, seconds per training row)`` of one fit and predict.

        Timed on the subsample and, when the tasks are much larger, on half of it too: the
        difference separates a fixed cost (vocabularies, thread start-up, early-stopping
        rounds) from the cost that grows with the rows. The slope is kept within
        [:data:`MIN_ROW_SHARE`, 2] times the average rate, so timing noise cannot make a
        member look free or explode.
        """
        seconds = self._probe(est, data, sub, sub_test, None)
        average = seconds / len(sub)
        if scale <= 2:
            return 0.0, average
        half = self._probe(est, data, sub[::2], sub_test[::2], None)
        slope = (seconds - half) / (len(sub) - len(sub[::2]))
        slope = min(max(slope, MIN_ROW_SHARE * average), 2 * average)
        return max(seconds - slope * len(sub), 0.0), slope

    def estimate(self, name, est, data: FitData, splits, *, n_folds, refit, expensive):
        """Fit ``est`` on a subsample and extrapolate to its tasks (None when it fails)."""
        train, test = splits[-1] if expensive else splits[0]
        rng = np.random.RandomState(0)
        m = min(len(train), PROBE_ROWS)
        sub = np.sort(rng.choice(train, m, replace=False))
        sub_test = np.sort(rng.choice(test, min(len(test), PROBE_ROWS), replace=False))
        scale, n_rows = len(train) / m, len(data.y)
        start = time.perf_counter()
        key = _epochs_key(est) if expensive else None
        try:
            if key is None:
                fixed, per_row = self._row_costs(est, data, sub, sub_test, scale)
                margin = BOOSTER_MARGIN if _trees_key(est) else 1.0
                fold = fixed + per_row * len(train) * margin
                final = fixed + per_row * n_rows * margin
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
    def select(self, members, data: FitData, splits, plan_of) -> list[tuple[str, object]]:
        """The members to run (some shrunk); the others are recorded in ``skipped``.

        ``plan_of(members)`` plans the tasks of a member list (to read folds and final fits).
        """
        full = plan_of(members)
        self.n_rows = len(data.y)
        self.expensive = dict(full.expensive)
        ests: dict[str, Estimate | None] = {}
        # likely-cheap members are measured first: the cheapest must be among those measured
        for name, est in sorted(members, key=lambda m: _prior(m[1], full.expensive[m[0]])):
            n_folds = sum(1 for t in full.tasks if t.member == name and not t.is_final_fit)
            if ests and self.elapsed() > PROBE_SHARE * self.time_limit:
                self.skipped[name] = (
                    f"{SKIPPED}: no time left to measure it in a {self.time_limit:g} s budget"
                )
                continue
            ests[name] = self.estimate(
                name,
                est,
                data,
                splits,
                n_folds=n_folds,
                refit=full.final_fit[name],
                expensive=full.expensive[name],
            )
        timed = [(n, e) for n, e in members if n in ests]
        order = sorted(timed, key=lambda m: ests[m[0]].total if ests[m[0]] else 0.0)
        available = (PLAN_SHARE * self.time_limit - self.elapsed()) * self.workers
        kept: dict[str, object] = {}
        for name, est in order:
            e = ests[name]
            if e is None:
                kept[name] = est
                continue
            fitted = self._fit_in(name, est, e, available, first=not kept)
            if fitted is None:
                continue
            kept[name] = fitted
            self.estimates[name] = e
            available -= e.total
        self.essential = order[0][0] if order else None
        return [(n, kept[n]) for n, _ in members if n in kept]

    def _fit_in(self, name, est, e: Estimate, available: float, first: bool):
        """``est`` as it fits in ``available`` seconds (shrunk), or None (skipped)."""
        need = e.total
        if need <= available:
            return est
        budget = f"a {self.time_limit:g} s budget"
        if e.refit and e.fold * e.n_folds <= available:
            e.refit = False
            self.decisions[name] = (
                f"no refit on all rows (would need {need:.0f} s of {budget}); fold models averaged"
            )
            return est
        if e.refit:
            self.decisions[name] = "no refit on all rows; fold models averaged"
        e.refit = False
        shrunk = self._shrink(est, e, available)
        if shrunk is not None:
            self.decisions[name] = shrunk[1] + (
                f"; {self.decisions[name]}" if name in self.decisions else ""
            )
            return shrunk[0]
        if e.n_folds > 1 and (e.fold <= available or first):
            # holdout instead of CV: its last fold only, weighted like an expensive member
            self.holdout.add(name)
            self.decisions[name] = (
                f"holdout (last fold only) instead of {e.n_folds} folds: would need {need:.0f} s "
                f"of {budget}"
            )
            e.n_folds = 1
            if e.fold <= available:
                return est
        if first:
            self.decisions[name] = (
                f"kept although it needs about {need:.0f} s of {budget}: the cheapest member"
            )
            warnings.warn(
                f"time_limit={self.time_limit:g} s is too small for any member (measuring "
                f"them took {self.probe_seconds:.1f} s): keeping only the cheapest, {name!r} "
                f"(about {need:.1f} s).",
                UserWarning,
                stacklevel=5,
            )
            return est
        self.skipped[name] = f"{SKIPPED}: would need {need:.0f} s of {budget}"
        return None

    def _shrink(self, est, e: Estimate, available: float):
        """Fewer epochs (deep) or a smaller tree limit (boosters) to fit ``available``."""
        if e.epochs_key is not None and e.per_epoch > 0:
            fixed = e.fold - e.per_epoch * min(e.epochs, EPOCHS_PER_PATIENCE * 10 + 10)
            epochs = int((available / e.n_folds - fixed) / e.per_epoch)
            if epochs >= MIN_EPOCHS and epochs < e.epochs:
                need = e.total
                e.fold = fixed + e.per_epoch * epochs
                return self._shrunk(est, e.epochs_key, e.epochs, epochs, need)
            return None
        key = _trees_key(est)
        if key is None:
            return None
        trees = int(est.get_params(deep=True)[key])
        share = available / e.total
        new = int(trees * share)
        if new < MIN_TREES:
            return None
        need = e.total
        e.fold *= share
        e.final *= share
        return self._shrunk(est, key, trees, new, need)

    def _shrunk(self, est, key, old, new, need):
        what = key.rsplit("__", 1)[-1]
        note = (
            f"shrunk: {what} {old} -> {new} (would need {need:.0f} s of a "
            f"{self.time_limit:g} s budget)"
        )
        return clone(est).set_params(**{key: new}), note

    def schedule(self, plan: Plan) -> Plan:
        """The plan under the budget: fold models kept (a fallback for every refit) and the
        final fits of members whose refit was dropped removed."""
        final_fit, expensive = dict(plan.final_fit), dict(plan.expensive)
        for name, e in self.estimates.items():
            if not e.refit and not plan.expensive[name]:
                final_fit[name] = False
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
                final_fit[name], expensive[name] = False, True
        tasks = tuple(
            replace(t, keep_model=True)
            for t in plan.tasks
            if not (t.is_final_fit and not final_fit[t.member])
            and (t.member not in keep or t.fold in keep[t.member])
        )
        return replace(plan, tasks=tasks, final_fit=final_fit, expensive=expensive)

    # -- 3. run ----------------------------------------------------------------------------
    def guard(self, task: Task):
        """``(deadline, expected seconds)`` for ``task``; None for the cheapest member."""
        if task.member == self.essential:
            return None
        e = self.estimates.get(task.member)
        expected = 0.0 if e is None else (e.final if task.is_final_fit else e.fold)
        return (self.deadline, expected / 2)  # half: a task that may still end in time starts

    def run(self, scheduler, plan: Plan) -> list[TaskResult]:
        """The plan's tasks: every member's first fold, a re-plan on measured times, the rest."""
        first, seen = [], set()
        for t in plan.tasks:
            if not t.is_final_fit and t.member not in seen:
                seen.add(t.member)
                first.append(t)
        rest = [t for t in plan.tasks if t not in first]
        results = scheduler.run(first, "out-of-fold")
        measured = {r.member: r.fit_time + r.predict_time for r in results if r.ok}
        left = (self.deadline - time.perf_counter()) * self.workers
        needs = {}
        for t in rest:
            m = measured.get(t.member)
            if m is None:
                continue
            ref = len(first_of(first, t.member).train)
            rows = self.n_rows if t.is_final_fit else len(t.train)
            cost = m * rows / max(ref, 1)
            needs[t.member] = needs.get(t.member, 0.0) + cost
            e = self.estimates.get(t.member)
            if e is not None:
                e.fold = m
        drop = set()
        for name in sorted(needs, key=needs.get):
            if name == self.essential or needs[name] <= left:
                left -= needs[name]
                continue
            drop.add(name)
            self.decisions[name] = (
                f"{SKIPPED}: its first fold took {measured[name]:.0f} s; the rest would need "
                f"{needs[name]:.0f} s of the {max(left, 0) / self.workers:.0f} s left"
            )
        run = [t for t in rest if t.member not in drop]
        done = dict(zip([id(t) for t in run], scheduler.run(run, "out-of-fold")))
        out = []
        for t in rest:
            out.append(done.get(id(t)) or TaskResult(t.key, error=self.decisions[t.member]))
        return results + out

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
