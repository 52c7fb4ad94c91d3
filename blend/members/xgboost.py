"""XGBoost with early stopping on an internal validation split, as a plain estimator.

Early stopping needs an evaluation set, which a ``Pipeline`` (or a blender that fits members
on folds) cannot pass. These wrappers split one off inside ``fit``, find the number of trees
where validation loss stops improving, and then (by default) refit on all rows with that many
trees, scaled up a little for the extra data. The rule is shared with the LightGBM and CatBoost
members: see :mod:`blend.members.early_stopping`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from blend.members.early_stopping import (
    EARLY_STOPPING_ROUNDS,
    FALLBACK_TREES,
    MAX_TREES,
    VALIDATION_FRACTION,
    EarlyStoppedBooster,
    Rows,
)

__all__ = ["EarlyStoppedXGBClassifier", "EarlyStoppedXGBRegressor", "default_xgb_params"]


def default_xgb_params(wide: bool = False) -> dict:
    """XGBoost settings that hold up across tables.

    A small learning rate with many trees (cut by early stopping), moderately deep trees, and
    row and column subsampling. ``wide=True`` is for matrices with hundreds of text and image
    features, where each tree costs far more: a larger step, coarser histograms and half of
    the columns per tree keep the fit time reasonable at little cost in accuracy.
    """
    params = {
        "n_estimators": MAX_TREES,
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "tree_method": "hist",
        "max_bin": 256,
    }
    if wide:
        params.update(learning_rate=0.1, max_bin=64, colsample_bytree=0.5)
    return params


class _EarlyStopped(EarlyStoppedBooster):
    """The XGBoost side of the shared early-stopping rule (:mod:`.early_stopping`)."""

    _parameter_constraints: ClassVar[dict] = {
        **EarlyStoppedBooster._parameter_constraints,
        "estimator": [HasMethods(["fit", "get_params", "set_params"]), None],
    }

    def __init__(
        self,
        estimator: BaseEstimator | None = None,
        *,
        validation_fraction: float = VALIDATION_FRACTION,
        early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        refit: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.random_state = random_state

    @abstractmethod
    def _default(self) -> BaseEstimator:
        """Library hook: each booster family defines it."""

    def _booster(self) -> BaseEstimator:
        """A fresh, unfitted copy of the booster to tune, seeded by ``random_state``."""
        base = clone(self._default() if self.estimator is None else self.estimator)
        if self.random_state is not None:
            base.set_params(random_state=self.random_state)
        return base

    def _fit_trees(self, n_trees: int, rows: Rows) -> BaseEstimator:
        model = self._booster().set_params(n_estimators=n_trees, early_stopping_rounds=None)
        return model.fit(rows.X, rows.y, sample_weight=rows.weight, verbose=False)

    def _fit_stopped(self, max_trees: int, train: Rows, valid: Rows) -> tuple[BaseEstimator, int]:
        # The booster's own n_estimators is the limit (max_trees is derived from it).
        model = self._booster().set_params(early_stopping_rounds=self.early_stopping_rounds)
        model.fit(
            train.X,
            train.y,
            sample_weight=train.weight,
            eval_set=[(valid.X, valid.y)],
            sample_weight_eval_set=None if valid.weight is None else [valid.weight],
            verbose=False,
        )
        return model, int(model.best_iteration) + 1

    def _fit(self, X, y: np.ndarray, sample_weight, stratify: bool):
        self._validate_params()
        max_trees = self._booster().get_params()["n_estimators"] or FALLBACK_TREES
        weight = None if sample_weight is None else np.asarray(sample_weight)
        self.estimator_, self.best_n_estimators_ = self._fit_early_stopped(
            Rows(X, y, weight), max_trees=max_trees, stratify=stratify
        )
        return self

    def _booster_predict(self, X, method: str):
        check_is_fitted(self, "estimator_")
        # An early-stopped booster predicts with its best iteration by default.
        return getattr(self.estimator_, method)(X)

    @property
    def n_features_in_(self) -> int:
        check_is_fitted(self, "estimator_")
        return self.estimator_.n_features_in_


class EarlyStoppedXGBRegressor(RegressorMixin, _EarlyStopped):
    """An ``XGBRegressor`` whose number of trees is chosen by early stopping inside ``fit``.

    Parameters
    ----------
    estimator : XGBRegressor, optional
        The booster to tune (its ``n_estimators`` is the upper limit). Default: an
        ``XGBRegressor`` with :func:`default_xgb_params`.
    validation_fraction : float, default=0.1
        Share of the rows held out to pick the number of trees.
    early_stopping_rounds : int, default=100
        Stop after this many trees without improvement on the held-out rows.
    refit : bool, default=True
        Refit on all rows with the chosen number of trees (scaled by
        ``1 / (1 - validation_fraction)``); ``False`` keeps the early-stopped model.
    random_state : int or None
        Seeds the split and the booster.

    Attributes
    ----------
    estimator_ : XGBRegressor
        The fitted booster.
    best_n_estimators_ : int
        Number of trees it uses.

    Examples
    --------
    >>> import numpy as np
    >>> from blend.members.xgboost import EarlyStoppedXGBRegressor
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); y = X[:, 0] * 2
    >>> model = EarlyStoppedXGBRegressor(random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    def _default(self) -> BaseEstimator:
        from xgboost import XGBRegressor

        return XGBRegressor(**default_xgb_params())

    def fit(self, X, y, sample_weight=None) -> EarlyStoppedXGBRegressor:
        """Pick the number of trees on a held-out split, then fit."""
        return self._fit(X, np.asarray(y, dtype=np.float64), sample_weight, stratify=False)

    def predict(self, X) -> np.ndarray:
        """Predicted values."""
        return self._booster_predict(X, "predict")


class EarlyStoppedXGBClassifier(ClassifierMixin, _EarlyStopped):
    """An ``XGBClassifier`` whose number of trees is chosen by early stopping inside ``fit``.

    Labels may be any values (strings included); they are encoded for XGBoost and decoded
    in ``predict``. The held-out split is stratified. Parameters are those of
    :class:`EarlyStoppedXGBRegressor`, with an ``XGBClassifier`` as ``estimator``.

    Examples
    --------
    >>> import numpy as np
    >>> from blend.members.xgboost import EarlyStoppedXGBClassifier
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); y = np.where(X[:, 0] > 0, "a", "b")
    >>> EarlyStoppedXGBClassifier(random_state=0).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def _default(self) -> BaseEstimator:
        from xgboost import XGBClassifier

        return XGBClassifier(**default_xgb_params())

    def fit(self, X, y, sample_weight=None) -> EarlyStoppedXGBClassifier:
        """Encode the labels, pick the number of trees on a stratified split, then fit."""
        self._encoder = LabelEncoder().fit(np.asarray(y))
        self.classes_ = self._encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"The target has a single class ({self.classes_[0]!r}); a classifier needs "
                "at least two."
            )
        codes = self._encoder.transform(np.asarray(y))
        return self._fit(X, codes, sample_weight, stratify=True)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._booster_predict(X, "predict_proba")

    def predict(self, X) -> np.ndarray:
        """Most probable class labels."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
