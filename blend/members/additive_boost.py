"""A linear model over the tabular and text columns plus boosted trees over the image columns.

``AdditiveBoostRegressor`` fits ``y = linear(metadata, text) + trees(image descriptors)`` by
backfitting: each part is fitted to what the other leaves.

Why split by modality: in a listing, what the photos show (a pattern, wear, a stain) mostly adds
to the price whatever the brand or the text says. A booster over *every* column spends its
splits and its noise on the sum of many small metadata and word effects, which a ridge model
gets in closed form; a linear model reads image descriptors badly, because what matters in a
photo (a stain) is a threshold on a descriptor, not a slope. Here each part reads what it reads
best, and the trees, with only the image descriptors to choose from, fit the image effects with
less noise -- and in a fraction of the time of a booster over every column.

Backfitting, in three steps:

1. the linear part is fitted on ``y`` without the image columns;
2. the trees are fitted to its residual, out of fold (``cv`` folds) -- an in-sample tree
   prediction would have absorbed part of the noise;
3. the linear part is refitted on ``y`` minus the out-of-fold tree prediction (the image effects
   no longer count as noise to it, so its penalty and weights are fitted to the rest), and the
   trees are refitted on all rows to the residual of that linear part.

The trees are scikit-learn's HistGradientBoosting: the member needs no optional booster, and a
few hundred dense descriptors are what its histograms and early stopping handle quickly.

What it cannot model: interactions *between* an image and the other columns (a stain costing
more on a luxury coat). The blender weighs it against members that can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, column_or_1d

from blend.features.tree import MixedFeaturizer
from blend.features.validation import FrameInputMixin, check_target, numeric_target
from blend.members.linear import WideLinearRegressor
from blend.roles import ROLES, resolve_roles

__all__ = ["AdditiveBoostRegressor"]


class AdditiveBoostRegressor(RegressorMixin, FrameInputMixin, BaseEstimator):
    """Ridge over the tabular and text columns plus boosted trees over the image columns.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides (see :func:`blend.infer_roles`).
    tree_roles : sequence of str, default=("image",)
        The roles the trees read (as :class:`~blend.MixedFeaturizer` descriptors); the crossed
        linear model (:class:`~blend.members.linear.WideLinearRegressor`)
        reads every other used column.
    learning_rate : float, default=0.05
        The trees' step size; their number is chosen by early stopping on an internal 10% split
        (at most 1,000).
    cv : int, default=5
        Folds of the out-of-fold tree prediction the linear part is refitted on (at least 2).
    random_state : int or None
        Seeds the folds and the trees.

    Attributes
    ----------
    linear_ : WideLinearRegressor or DummyRegressor
        The linear part, fitted on the target minus the out-of-fold tree prediction (the mean
        when every used column goes to the trees).
    features_ : MixedFeaturizer
        The tree matrix (the descriptors of the ``tree_roles`` columns).
    trees_ : sklearn.ensemble.HistGradientBoostingRegressor
        The trees, fitted on all rows to the residual of ``linear_``.
    tree_columns_, linear_columns_ : list of str
        The columns each part reads.

    Examples
    --------
    >>> from blend.members.additive_boost import AdditiveBoostRegressor
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> model = AdditiveBoostRegressor(random_state=0).fit(X, y)
    >>> model.predict(X.iloc[:2]).shape
    (2,)
    >>> model.tree_columns_
    ['photo_front', 'photo_back']
    """

    _fitted_attribute = "trees_"
    _parameter_constraints: ClassVar[dict] = {
        "roles": [Mapping, None],
        # the names are checked in fit: roles other than "ignore"
        "tree_roles": [str, list, tuple],
        "learning_rate": [Interval(Real, 0.0, 1.0, closed="right")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    }

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        tree_roles: Sequence[str] = ("image",),
        learning_rate: float = 0.05,
        cv: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.roles = roles
        self.tree_roles = tree_roles
        self.learning_rate = learning_rate
        self.cv = cv
        self.random_state = random_state

    def _check_params(self) -> tuple[str, ...]:
        """Validate the parameters; return ``tree_roles`` as a tuple."""
        self._validate_params()
        tree_roles = (self.tree_roles,) if isinstance(self.tree_roles, str) else self.tree_roles
        tree_roles = tuple(tree_roles)
        unknown = [r for r in tree_roles if r not in ROLES or r == "ignore"]
        if not tree_roles or unknown:
            raise ValueError(
                f"tree_roles must name one or more of {[r for r in ROLES if r != 'ignore']}, "
                f"got {self.tree_roles!r}."
            )
        return tree_roles

    def _trees(self) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            learning_rate=float(self.learning_rate),
            max_iter=1000,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            random_state=self.random_state,
        )

    def fit(self, X: object, y: object) -> AdditiveBoostRegressor:
        """Backfit the linear part and the trees (see the module notes); returns ``self``."""
        tree_roles = self._check_params()
        if y is None:
            raise ValueError(
                "AdditiveBoostRegressor requires y to be passed, but the target y is None."
            )
        X = self._check_X_fit(X)
        target = check_target(y)
        if target.ndim == 2 and target.shape[1] == 1:
            target = column_or_1d(target, warn=True)  # a column vector: warn, as sklearn does
        if target.ndim != 1:
            raise ValueError(
                f"AdditiveBoostRegressor needs a 1-D numeric target, got shape {target.shape}."
            )
        target = numeric_target(
            target,
            len(X),
            who="AdditiveBoostRegressor",
            hint="Unknown label type for a regressor: encode labels as numbers, or use a "
            "classifier.",
        )
        roles = resolve_roles(X, self.roles)
        self.roles_ = roles
        self.tree_columns_ = [c for c, r in roles.items() if r in tree_roles]
        self.linear_columns_ = [
            c for c, r in roles.items() if r != "ignore" and r not in tree_roles
        ]
        if not self.tree_columns_:
            raise ValueError(
                f"AdditiveBoostRegressor found no column for its trees: tree_roles={tree_roles} "
                f"matched none (roles: {roles}). Pass tree_roles= naming a role present, or "
                "use WideLinearRegressor for a linear model alone."
            )
        if len(X) < 2 * self.cv:
            raise ValueError(
                f"AdditiveBoostRegressor needs at least {2 * self.cv} rows for cv={self.cv}, "
                f"got n_samples={len(X)}."
            )
        linear_roles = {c: (r if c in self.linear_columns_ else "ignore") for c, r in roles.items()}
        tree_roles_map = {c: (r if c in self.tree_columns_ else "ignore") for c, r in roles.items()}
        self.features_ = MixedFeaturizer(
            roles=tree_roles_map, sparse_output=False, random_state=self.random_state
        )
        matrix = self.features_.fit_transform(X)

        def linear() -> WideLinearRegressor | DummyRegressor:
            if not self.linear_columns_:  # every used column goes to the trees
                return DummyRegressor(strategy="mean")
            return WideLinearRegressor(roles=linear_roles, random_state=self.random_state)

        first = linear().fit(X, target)
        folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        out_of_fold = cross_val_predict(self._trees(), matrix, target - first.predict(X), cv=folds)
        self.linear_ = linear().fit(X, target - out_of_fold)
        self.trees_ = self._trees().fit(matrix, target - self.linear_.predict(X))
        return self

    def _parts(self, X: object, predict=None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        check_is_fitted(self, "trees_")
        frame = self._check_X_predict(X)
        linear = np.asarray(self.linear_.predict(frame), dtype=np.float64)
        matrix = self.features_.transform(frame)
        trees = self.trees_.predict(matrix) if predict is None else predict(self.trees_, matrix)
        return frame, linear, trees

    def predict(self, X: object) -> np.ndarray:
        """The linear part's prediction plus the trees'."""
        _, linear, trees = self._parts(X)
        return linear + trees

    def _predict_composed(self, X: object, predict) -> np.ndarray:
        """:meth:`predict` with ``predict(model, matrix)`` asking the trees (the blender's
        small-batch path passes its own, which answers a few rows from packed trees)."""
        _, linear, trees = self._parts(X, predict)
        return linear + trees

    def parts(self, X: object) -> pd.DataFrame:
        """Each part's contribution per row: columns ``linear`` and ``trees`` (they sum to
        :meth:`predict`)."""
        frame, linear, trees = self._parts(X)
        return pd.DataFrame({"linear": linear, "trees": trees}, index=frame.index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
