"""The early-stopping rule shared by the XGBoost, LightGBM and CatBoost members.

Early stopping needs an evaluation set, which a ``Pipeline`` (or a blender that fits members on
folds) cannot pass. Each boosting member therefore splits one off inside ``fit``:

1. hold out ``validation_fraction`` of the rows (stratified by class for classifiers, when every
   class has at least two rows);
2. grow up to the maximum number of trees on the rest and stop after ``early_stopping_rounds``
   trees without improvement on the held-out rows;
3. with ``refit``, grow that many trees again on all rows, scaled by
   ``1 / (1 - validation_fraction)``: all rows carry more signal than the training share, so
   the loss keeps improving a little longer.

Below :data:`MIN_ROWS_FOR_SPLIT` rows a held-out share is too small to stop on reliably: the
member grows a fixed :data:`FALLBACK_TREES` trees (at most the maximum) on all rows instead.

:class:`EarlyStoppedBooster` carries the rule and the parameters it reads; each library's
member supplies only two calls: fit a given number of trees, and fit with early stopping on a
given evaluation set.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval

__all__ = [
    "EARLY_STOPPING_ROUNDS",
    "FALLBACK_TREES",
    "MAX_TREES",
    "MIN_ROWS_FOR_SPLIT",
    "SEED",
    "VALIDATION_FRACTION",
    "EarlyStoppedBooster",
    "Rows",
    "refit_trees",
    "validation_split",
]

# Share of the rows held out to pick the number of trees.
VALIDATION_FRACTION = 0.1
# Trees without improvement on the held-out rows before the search stops.
EARLY_STOPPING_ROUNDS = 100
# Upper limit on the number of trees: early stopping cuts it (with a small learning rate).
MAX_TREES = 4000
# Fewer rows than this: no validation split, a fixed number of trees instead.
MIN_ROWS_FOR_SPLIT = 200
FALLBACK_TREES = 300

# A seed numpy, scikit-learn and every booster accept.
SEED = [Interval(Integral, 0, 2**32 - 1, closed="both"), None]


@dataclass(frozen=True)
class Rows:
    """The training data of one fit: features, target, and optional weights and baselines."""

    X: Any
    y: np.ndarray
    weight: np.ndarray | None = None
    baseline: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Rows:
        """The same data restricted to the rows ``index``."""
        return Rows(
            _safe_indexing(self.X, index),
            self.y[index],
            None if self.weight is None else self.weight[index],
            None if self.baseline is None else self.baseline[index],
        )


def validation_split(
    n_rows: int,
    validation_fraction: float,
    random_state: int | None,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out row indices; stratified on ``labels`` (class codes) if given.

    Stratification needs at least two rows of every class; with fewer the split is plain.
    ``random_state=None`` splits with seed 0, so that an unseeded member is still
    reproducible (its booster may not be).
    """
    stratify = labels if labels is not None and np.bincount(labels).min() >= 2 else None
    train, valid = train_test_split(
        np.arange(n_rows),
        test_size=validation_fraction,
        random_state=random_state if random_state is not None else 0,
        stratify=stratify,
    )
    return train, valid


def refit_trees(best: int, validation_fraction: float) -> int:
    """Trees to grow on all rows when ``best`` was best on ``1 - validation_fraction`` of them."""
    return max(1, round(best / (1.0 - validation_fraction)))


class EarlyStoppedBooster(BaseEstimator, metaclass=ABCMeta):
    """Base of the boosting members: the early-stopping rule of this module, written once.

    Subclasses define ``__init__`` (storing at least ``validation_fraction``,
    ``early_stopping_rounds``, ``refit`` and ``random_state``), extend
    ``_parameter_constraints`` with their own parameters, and implement:

    ``_fit_trees(n_trees, rows)``
        Fit and return a model of exactly ``n_trees`` trees on ``rows`` (no early stopping).
    ``_fit_stopped(max_trees, train, valid)``
        Fit a model of at most ``max_trees`` trees on ``train``, stopping after
        ``early_stopping_rounds`` trees without improvement on ``valid``; return
        ``(model, number of trees it uses)``.

    and call :meth:`_fit_early_stopped` from ``fit``.
    """

    _parameter_constraints: ClassVar[dict] = {
        "validation_fraction": [Interval(Real, 0.0, 0.5, closed="neither")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "refit": ["boolean"],
        "random_state": SEED,
    }

    @abstractmethod
    def _fit_trees(self, n_trees: int, rows: Rows) -> Any:
        """Library hook: each booster family defines it."""

    @abstractmethod
    def _fit_stopped(self, max_trees: int, train: Rows, valid: Rows) -> tuple[Any, int]:
        """Library hook: each booster family defines it."""

    def _fit_early_stopped(self, rows: Rows, *, max_trees: int, stratify: bool) -> tuple[Any, int]:
        """Apply the rule to ``rows``; return the fitted model and its number of trees.

        ``stratify``: ``rows.y`` holds class codes ``0 .. k-1`` to stratify the split on.
        """
        n_rows = rows.X.shape[0]
        if n_rows < MIN_ROWS_FOR_SPLIT:
            trees = min(max_trees, FALLBACK_TREES)
            return self._fit_trees(trees, rows), trees
        train, valid = validation_split(
            n_rows, self.validation_fraction, self.random_state, rows.y if stratify else None
        )
        model, best = self._fit_stopped(max_trees, rows.take(train), rows.take(valid))
        if not self.refit:
            return model, best
        trees = refit_trees(best, self.validation_fraction)
        return self._fit_trees(trees, rows), trees

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags
