"""Running a blend's tasks: joblib workers, progress, and workers that die.

:class:`Scheduler` runs a list of :class:`~blend.ensemble.tasks.Task` through joblib (the
active backend applies, e.g. Dask) and returns their results in task order. A worker that dies
(out of memory, a crashing extension) takes its pending tasks with it: the remaining tasks are
then retried one at a time, so the member that kills its worker again is identified and
reported instead of failing the whole fit.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable

from joblib import Parallel, delayed

from blend.ensemble.tasks import FitData, Fitted, Task, TaskResult, run_task

__all__ = ["Scheduler"]

_WORKER_RESTART = "A worker stopped while some jobs were given to the executor"
_WORKER_DEATHS = {"TerminatedWorkerError", "BrokenProcessPool", "KilledWorker"}


def _is_worker_death(exc: BaseException) -> bool:
    return type(exc).__name__ in _WORKER_DEATHS


class Scheduler:
    """Runs tasks of one fit through joblib, in order, with a retry for dead workers.

    Parameters
    ----------
    func : callable
        The task function (:func:`~blend.ensemble.tasks.fit_predict`, possibly cached).
    data : FitData
        The rows and target every task reads.
    n_jobs : int or None
        joblib workers.
    on_error : {"warn", "raise", "ignore"}
        "raise" lets a task's exception (or a second worker death) propagate.
    verbose : int
        Print one progress line per finished task to stderr.
    """

    def __init__(
        self,
        func: Callable[..., Fitted],
        data: FitData,
        *,
        n_jobs: int | None,
        on_error: str,
        verbose: int = 0,
    ):
        self.func = func
        self.data = data
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose
        # a TimeBudget (blend.ensemble.budget) under time_limit: tasks past its deadline skip
        self.budget = None

    def run(self, tasks: list[Task], stage: str) -> list[TaskResult]:
        """Results of ``tasks``, in their order; ``stage`` labels the progress lines."""
        if not tasks:
            return []
        start = time.perf_counter()
        calls = [delayed(run_task)(self.func, t, self.data, self.on_error) for t in tasks]
        if self.budget is not None:
            from blend.ensemble.budget import run_before_deadline

            calls = [
                delayed(run_before_deadline)(
                    self.budget.guard(t), self.func, t, self.data, self.on_error
                )
                for t in tasks
            ]
        results: list[TaskResult] = []
        try:
            with warnings.catch_warnings():
                # loky restarts a worker whose memory grew by 300 MB since its first task (its
                # leak guard; TensorFlow and deep forests grow that much by design) and warns
                # from its manager thread. The tasks go on in the new worker: not news.
                warnings.filterwarnings("ignore", message=_WORKER_RESTART, category=UserWarning)
                for res in Parallel(n_jobs=self.n_jobs, return_as="generator")(calls):
                    results.append(res)
                    self._progress(stage, len(results), len(tasks), res, start)
        except Exception as exc:
            if not _is_worker_death(exc):
                raise
            done = len(results)
            for res in self._retry_one_by_one(tasks[done:], calls[done:]):
                results.append(res)
                self._progress(stage, len(results), len(tasks), res, start)
        return results

    def _retry_one_by_one(self, tasks: list[Task], calls: list):
        """Run the rest one task at a time; a member that kills its worker again is failed
        and its other tasks are not run."""
        dead: dict[str, str] = {}
        for task, call in zip(tasks, calls):
            if task.member not in dead:
                try:
                    yield Parallel(n_jobs=2)([call])[0]
                    continue
                except Exception as again:
                    if not _is_worker_death(again) or self.on_error == "raise":
                        raise
                    first = str(again).strip().splitlines()[0]
                    dead[task.member] = f"worker died (fold {task.fold}): {first}"
            yield TaskResult(task.key, error=dead[task.member])

    def _progress(self, stage: str, done: int, total: int, res: TaskResult, start: float) -> None:
        if not self.verbose:
            return
        what = "all rows" if res.fold is None else f"fold {res.fold}"
        status = f"FAILED ({res.error})" if res.error else "cached" if res.cached else ""
        width = 20
        bar = "#" * int(width * done / total) + "." * (width - int(width * done / total))
        print(
            f"[blend {stage}] [{bar}] {done}/{total} {res.member} {what} {status} "
            f"{time.perf_counter() - start:.1f}s",
            file=sys.stderr,
            flush=True,
        )
