"""XGBoost with early stopping on an internal validation split, as a plain estimator.

Early stopping needs an evaluation set, which a ``Pipeline`` (or a blender that fits members
on folds) cannot pass. These wrappers split one off inside ``fit``, find the number of trees
where validation loss stops improving, and then (by default) refit on all rows with that many
trees, scaled up a little for the extra data.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

__all__ = ["EarlyStoppedXGBClassifier", "EarlyStoppedXGBRegressor", "default_xgb_params"]

# Fewer rows than this: no validation split, a fixed number of trees instead.
_MIN_ROWS_FOR_SPLIT = 200
_FALLBACK_TREES = 300


def default_xgb_params(wide: bool = False) -> dict:
    """XGBoost settings that hold up across tables.

    A small learning rate with many trees (cut by early stopping), moderately deep trees, and
    row and column subsampling. ``wide=True`` is for matrices with hundreds of text and image
    features, where each tree costs far more: a larger step, coarser histograms and half of
    the columns per tree keep the fit time reasonable at little cost in accuracy.
    """
    params = {
        "n_estimators": 4000,
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


class _EarlyStopped(BaseEstimator):
    def __init__(
        self,
        estimator: BaseEstimator | None = None,
        *,
        validation_fraction: float = 0.1,
        early_stopping_rounds: int = 100,
        refit: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.random_state = random_state

    def _default(self) -> BaseEstimator:  # pragma: no cover - overridden
        raise NotImplementedError(f"{type(self).__name__} must define _default.")

    def _check_params(self) -> None:
        if not 0.0 < self.validation_fraction < 0.5:
            raise ValueError(
                f"validation_fraction must be in (0, 0.5), got {self.validation_fraction!r}."
            )
        rounds = self.early_stopping_rounds
        if not isinstance(rounds, (int, np.integer)) or rounds < 1:
            raise ValueError(f"early_stopping_rounds must be a positive integer, got {rounds!r}.")

    def _fit(self, X, y: np.ndarray, sample_weight, stratify: bool):
        self._check_params()
        base = clone(self._default() if self.estimator is None else self.estimator)
        if self.random_state is not None:
            base.set_params(random_state=self.random_state)
        n = X.shape[0]
        max_trees = base.get_params()["n_estimators"] or _FALLBACK_TREES
        if n < _MIN_ROWS_FOR_SPLIT:
            self.best_n_estimators_ = min(max_trees, _FALLBACK_TREES)
            self.estimator_ = base.set_params(
                n_estimators=self.best_n_estimators_, early_stopping_rounds=None
            )
            self.estimator_.fit(X, y, sample_weight=sample_weight, verbose=False)
            return self
        labels = y if stratify and np.bincount(y).min() >= 2 else None
        train, valid = train_test_split(
            np.arange(n),
            test_size=self.validation_fraction,
            random_state=self.random_state if self.random_state is not None else 0,
            stratify=labels,
        )
        weight = None if sample_weight is None else np.asarray(sample_weight)
        searcher = clone(base).set_params(early_stopping_rounds=self.early_stopping_rounds)
        searcher.fit(
            _safe_indexing(X, train),
            y[train],
            sample_weight=None if weight is None else weight[train],
            eval_set=[(_safe_indexing(X, valid), y[valid])],
            sample_weight_eval_set=None if weight is None else [weight[valid]],
            verbose=False,
        )
        best = int(searcher.best_iteration) + 1
        if not self.refit:
            self.best_n_estimators_ = best
            self.estimator_ = searcher
            return self
        # All rows carry more signal than 1 - validation_fraction of them: grow a few more trees.
        self.best_n_estimators_ = max(1, round(best / (1.0 - self.validation_fraction)))
        self.estimator_ = base.set_params(
            n_estimators=self.best_n_estimators_, early_stopping_rounds=None
        )
        self.estimator_.fit(X, y, sample_weight=weight, verbose=False)
        return self

    def _booster_predict(self, X, method: str):
        check_is_fitted(self, "estimator_")
        # An early-stopped booster predicts with its best iteration by default.
        return getattr(self.estimator_, method)(X)

    @property
    def n_features_in_(self) -> int:
        check_is_fitted(self, "estimator_")
        return self.estimator_.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags


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
