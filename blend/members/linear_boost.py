"""Boosted trees on top of the crossed linear model: LinearBoostRegressor and LinearBoostClassifier.

The crossed linear member (:mod:`blend.members.linear`)
gets additive effects and known interactions in
closed form; boosted trees get thresholds and higher-order interactions. Here CatBoost starts
from the linear model's prediction (its *baseline*) and its trees fit only what the linear model
leaves: the trees no longer spend splits approximating a sum of many small effects. The result
errs unlike both parts, and unlike CatBoost over every column, so the blender gains a member
that is strong *and* different.

The linear model's in-sample prediction is the baseline. It is slightly optimistic (the ridge
penalty keeps that small); cross-fitting it would cost one more linear fit per fold without
making the hybrid better.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from blend.features.tree import featurizer_for
from blend.members.gbm import CatBoostMemberClassifier, CatBoostMemberRegressor
from blend.members.linear import WideLinearClassifier, WideLinearRegressor

__all__ = ["LinearBoostClassifier", "LinearBoostRegressor"]


class _LinearBoost(BaseEstimator):
    """Shared fit: the linear model, then CatBoost on the tree matrix from its baseline."""

    _linear_class: type = WideLinearRegressor
    _booster_class: type = CatBoostMemberRegressor
    # CatBoost's options, the roles and the crosses are checked by the parts they go to.
    _parameter_constraints: ClassVar[dict] = {
        "roles": [Mapping, None],
        "params": [dict, None],
        "crosses": [StrOptions({"auto"}), list, tuple, None],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    }

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        params: dict | None = None,
        crosses: object = "auto",
        random_state: int | None = None,
    ) -> None:
        self.roles = roles
        self.params = params
        self.crosses = crosses
        self.random_state = random_state

    def _fit_parts(self, X: object, y: object) -> None:
        self._validate_params()
        self.linear_ = self._linear_class(
            roles=self.roles, crosses=self.crosses, random_state=self.random_state
        ).fit(X, y)
        frame = self.linear_._check_X_predict(X)  # arrays become the frame the linear part saw
        # Early-stopped trees, not refitted on all rows (as the CatBoost member).
        booster = self._booster_class(self.params, refit=False, random_state=self.random_state)
        self.features_ = featurizer_for(booster, self.linear_.roles_)
        matrix = self.features_.fit_transform(frame)
        self.booster_ = booster.fit(matrix, np.asarray(y), baseline=self._baseline(frame))
        self.n_features_in_ = self.linear_.n_features_in_
        if hasattr(self.linear_, "feature_names_in_"):
            self.feature_names_in_ = self.linear_.feature_names_in_

    def _margins(self, X: object) -> np.ndarray:
        """The linear baseline plus the trees' raw sum, per row (and class)."""
        check_is_fitted(self, "booster_")
        frame = self.linear_._check_X_predict(X)
        return self._baseline(frame) + self.booster_.raw_margin(self.features_.transform(frame))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class LinearBoostRegressor(RegressorMixin, _LinearBoost):
    """CatBoost regression that starts from the crossed linear model's prediction.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides (see :func:`blend.infer_roles`).
    params : dict, optional
        CatBoost options over the member defaults (learning rate 0.08, depth 6).
    crosses : None, "auto" or list of tuples, default="auto"
        The linear model's crosses (see :class:`~blend.members.linear.WideLinearRegressor`).
    random_state : int or None
        Seeds both parts.

    Attributes
    ----------
    linear_ : WideLinearRegressor
        The baseline model.
    booster_ : CatBoostMemberRegressor
        The trees fitted on the baseline's residual structure (early-stopped).
    features_ : MixedFeaturizer
        The tree matrix (sparse TF-IDF text, NaN kept; see
        :func:`blend.features.tree.featurizer_for`).

    Examples
    --------
    >>> from blend.members.linear_boost import LinearBoostRegressor
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> LinearBoostRegressor(random_state=0).fit(X, y).predict(X.iloc[:2]).shape
    (2,)
    """

    def fit(self, X: object, y: object) -> LinearBoostRegressor:
        """Fit the linear model, then the trees from its prediction; returns ``self``."""
        self._fit_parts(X, y)
        return self

    def _baseline(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.linear_.predict(frame), dtype=np.float64)

    def predict(self, X: object) -> np.ndarray:
        """The linear prediction plus the trees' correction."""
        return self._margins(X)


class LinearBoostClassifier(ClassifierMixin, _LinearBoost):
    """CatBoost classification that starts from the crossed logistic model's log-odds.

    Parameters
    ----------
    roles : dict, optional
    params : dict, optional
        CatBoost options over the member defaults.
    crosses : None, "auto" or list of tuples, default="auto"
    random_state : int or None

    Attributes
    ----------
    classes_ : ndarray
    linear_ : WideLinearClassifier
    booster_ : CatBoostMemberClassifier
    features_ : MixedFeaturizer

    Examples
    --------
    >>> from blend.members.linear_boost import LinearBoostClassifier
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> clf = LinearBoostClassifier(random_state=0).fit(X, y > y.median())
    >>> clf.predict_proba(X.iloc[:2]).shape
    (2, 2)
    """

    _linear_class = WideLinearClassifier
    _booster_class = CatBoostMemberClassifier

    def fit(self, X: object, y: object) -> LinearBoostClassifier:
        """Fit the logistic model, then the trees from its log-odds; returns ``self``."""
        self._fit_parts(X, y)
        self.classes_ = self.linear_.classes_
        return self

    def _baseline(self, frame: pd.DataFrame) -> np.ndarray:
        # log-odds of class 1 for two classes, one score per class (softmax logits) otherwise
        scores = self.linear_.model_.decision_function(self.linear_._encode(frame))
        return np.asarray(scores, dtype=np.float64)

    def predict_proba(self, X: object) -> np.ndarray:
        """Class probabilities from the summed log-odds, in the order of ``classes_``."""
        margin = self._margins(X)
        if margin.ndim == 1:
            positive = 1.0 / (1.0 + np.exp(-margin))
            return np.column_stack([1.0 - positive, positive])
        margin = margin - margin.max(axis=1, keepdims=True)
        exp = np.exp(margin)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X: object) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
