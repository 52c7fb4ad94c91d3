"""A regularized linear member over the wide features (WideLinearRegressor, WideLinearClassifier).

Boosted trees approximate a sum of many small effects with many splits, and a network learns
them by gradient descent; a linear model over the right encoding gets such a sum in closed form.
Its errors differ from both, which is what the blender needs. The encoding is the wide part of
:class:`~blend.WideDeepRegressor` (one-hot categoricals, quantile buckets of numerics, hashed
crosses of categoricals whose interaction matters), completed with what a linear model can read
of the other columns: standardized numerics (imputed, with a missing indicator), TF-IDF of text
and generic image descriptors (from :class:`~blend.MixedFeaturizer`).

The penalty is chosen from a grid: by exact leave-one-out cross-validation for ridge
regression (one eigendecomposition serves the whole grid, see :func:`ridge_gcv`), by log loss
on a 25% holdout for logistic regression, on at most ``20,000`` rows; then the model is fitted
on every row with the chosen penalty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import eigh
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from blend.features.text import stack_few_rows
from blend.features.tree import MixedFeaturizer
from blend.features.validation import (
    FEW_ROWS,
    FrameInputMixin,
    check_class_labels,
    numeric_target,
    same_bits,
    verified_shortcut,
)
from blend.features.wide import WideEncoder
from blend.roles import resolve_roles

__all__ = ["WideLinearClassifier", "WideLinearRegressor"]

DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-4, 4, 17))
# Each logistic penalty costs a fit: a coarser grid.
DEFAULT_CLASSIFIER_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 7))
# The penalty is chosen on at most this many rows (the search costs O(n p^2)).
ALPHA_ROWS = 20_000
# Below this many cells lbfgs gets a dense matrix: it is faster on dense arrays, and this many
# cells still fit in memory.
DENSE_CELLS = 40_000_000
# Above this many features the p x p eigendecomposition costs more than iterative solvers.
MAX_GRAM_FEATURES = 6_000
_WIDE_ROLES = ("categorical", "numeric")
_DENSE_ROLES = ("numeric", "text", "image")


def ridge_gcv(
    matrix, target: np.ndarray, alphas: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray | float]:
    """Ridge regression with an intercept, the penalty chosen by exact leave-one-out error.

    One eigendecomposition of the centred Gram matrix ``X'X`` serves every penalty: with
    ``X'X = V diag(s) V'`` and ``Q = X V``, the fit for ``alpha`` is ``Q diag(1/(s+alpha)) Q'y``
    and the leave-one-out residual of row ``i`` is ``r_i / (1 - h_i)`` with the leverage
    ``h_i = 1/n + sum_j Q_ij^2 / (s_j + alpha)``. That costs two ``n x p x p`` products and
    one ``p x p`` eigendecomposition -- less than scikit-learn's ``RidgeCV``, which takes an SVD
    of a dense ``X`` -- and it works on sparse ``X`` without densifying it.

    Returns ``(alpha, coef, intercept)``: ``coef`` is ``(p,)`` or ``(p, k)`` for a 2-D target.
    """
    y = np.asarray(target, dtype=np.float64)
    n = matrix.shape[0]
    mean = np.asarray(matrix.mean(axis=0), dtype=np.float64).ravel()
    y_mean = y.mean(axis=0)
    yc = y - y_mean
    if sp.issparse(matrix):
        gram = (matrix.T @ matrix).toarray() - n * np.outer(mean, mean)
        cross = matrix.T @ yc  # = Xc' yc, since yc sums to zero
    else:
        centred = np.asarray(matrix, dtype=np.float64) - mean
        gram = centred.T @ centred
        cross = centred.T @ yc
    eigenvalues, vectors = eigh(gram)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    projected = vectors.T @ cross  # (p,) or (p, k)
    best, best_score = float(alphas[0]), np.inf
    if len(alphas) > 1:
        q = matrix @ vectors - mean @ vectors if sp.issparse(matrix) else centred @ vectors
        q_squared = q**2
        for alpha in alphas:
            shrink = 1.0 / (eigenvalues + alpha)
            fitted = q @ (projected * (shrink if y.ndim == 1 else shrink[:, None]))
            leverage = q_squared @ shrink + 1.0 / n
            keep = 1.0 - leverage
            residual = (yc - fitted) / (keep if y.ndim == 1 else keep[:, None])
            score = float(np.mean(residual**2))
            if score < best_score:
                best, best_score = float(alpha), score
    shrink = 1.0 / (eigenvalues + best)
    coef = vectors @ (projected * (shrink if y.ndim == 1 else shrink[:, None]))
    intercept = y_mean - mean @ coef
    return best, coef, intercept


def _tfidf_terms(featurizer: MixedFeaturizer) -> np.ndarray:
    """Mask of the featurizer's output columns that are TF-IDF terms of a text column."""
    names = featurizer.get_feature_names_out()
    prefixes = tuple(
        f"{column}__{kind}_"
        for column, role in featurizer.roles_.items()
        if role == "text"
        for kind in ("w", "c")
    )
    return np.array([bool(prefixes) and name.startswith(prefixes) for name in names], dtype=bool)


class _WideLinear(FrameInputMixin, BaseEstimator):
    """Shared encoding and validation of the two linear members."""

    _task = "regression"
    _parameter_constraints: ClassVar[dict] = {
        "roles": [Mapping, None],
        # the columns and roles of each cross are checked against the data in fit
        "crosses": [StrOptions({"auto"}), list, tuple, None],
        "max_crosses": [Interval(Integral, 1, None, closed="left")],
        "numeric_buckets": [Interval(Integral, 2, None, closed="left")],
        # the values are checked in fit: positive penalties
        "alphas": ["array-like", None],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    }

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        crosses: object = "auto",
        max_crosses: int = 8,
        numeric_buckets: int = 20,
        alphas: Sequence[float] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.roles = roles
        self.crosses = crosses
        self.max_crosses = max_crosses
        self.numeric_buckets = numeric_buckets
        self.alphas = alphas
        self.random_state = random_state

    # ------------------------------------------------------------------ encoding
    def _check_alphas(self) -> np.ndarray:
        default = DEFAULT_ALPHAS if self._task == "regression" else DEFAULT_CLASSIFIER_ALPHAS
        alphas = default if self.alphas is None else self.alphas
        try:
            values = np.asarray(alphas, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            values = np.array([])
        if values.size == 0 or not np.all(values > 0):
            raise ValueError(
                f"alphas must be a non-empty list of positive penalties, got {alphas!r}. "
                "Leave it None for the default grid."
            )
        return np.unique(values)

    def _fit_encoding(self, X: pd.DataFrame, target: np.ndarray) -> sp.csr_matrix:
        roles = resolve_roles(X, self.roles)
        self.roles_ = roles
        if not any(role in _WIDE_ROLES + _DENSE_ROLES for role in roles.values()):
            raise ValueError(
                f"No column can be read by a linear model (roles: {roles}); it needs "
                "categorical, numeric, text or image columns. Pass roles= to use some."
            )
        self.wide_ = None
        blocks = []
        if any(role in _WIDE_ROLES for role in roles.values()):
            self.wide_ = WideEncoder(
                roles,
                crosses=self.crosses,
                max_crosses=self.max_crosses,
                numeric_buckets=self.numeric_buckets,
                task=self._task,
                random_state=self.random_state,
            ).fit(X, target)
            # Ids no fit row hits would only get a zero weight: drop their columns.
            self.wide_columns_ = np.flatnonzero(self.wide_.id_counts_)
            blocks.append(self._wide_block(X))
        self.dense_ = None
        dense_roles = {c: (r if r in _DENSE_ROLES else "ignore") for c, r in roles.items()}
        if any(role != "ignore" for role in dense_roles.values()):
            self.dense_ = MixedFeaturizer(
                roles=dense_roles, missing="impute", random_state=self.random_state
            )
            matrix = self.dense_.fit_transform(X)
            # Standardize so one penalty fits every column; sparse text keeps its zeros.
            self.scaler_ = StandardScaler(with_mean=not sp.issparse(matrix)).fit(matrix)
            # ...except TF-IDF terms, already on one scale (as the one-hot columns): unit
            # variance would blow a rare term up to a common term's size and let the same
            # penalty fit its noise (see _term_scale).
            terms = _tfidf_terms(self.dense_)
            self.scaler_.scale_[terms] = self._term_scale(matrix, terms)
            blocks.append(self._dense_block(matrix))
        self.feature_names_ = np.asarray(self._names(), dtype=object)
        return sp.hstack(blocks, format="csr")

    def _term_scale(self, matrix, terms: np.ndarray) -> float:
        """What the TF-IDF term columns are divided by: 1 (their own scale) for ridge.

        TF-IDF values are already on one scale, bounded as the one-hot columns are; with the
        penalty shared by every column, ridge fits them best as they are.
        """
        return 1.0

    def _wide_block(self, X: pd.DataFrame) -> sp.csr_matrix:
        # An id unseen in fit has no column: it contributes nothing (as a zero weight would).
        return self.wide_.one_hot(X)[:, self.wide_columns_]

    def _dense_block(self, matrix) -> sp.csr_matrix:
        scaler = self.scaler_
        if matrix.shape[0] <= FEW_ROWS:  # without StandardScaler's per-call checks
            scaled = verified_shortcut(
                scaler,
                lambda: _standardized(scaler, matrix),
                lambda: scaler.transform(matrix),
                same_bits,
            )
        else:
            scaled = scaler.transform(matrix)
        if sp.issparse(scaled):
            scaled.data = np.nan_to_num(scaled.data)
            return scaled.tocsr()
        return sp.csr_matrix(np.nan_to_num(scaled))

    def _names(self) -> list[str]:
        names = []
        if self.wide_ is not None:
            table = self.wide_.id_names().set_index("id")
            names += [
                f"{table.at[i, 'feature']}={table.at[i, 'level']}" for i in self.wide_columns_
            ]
        if self.dense_ is not None:
            names += list(self.dense_.get_feature_names_out())
        return names

    def _encode(self, X: object) -> sp.csr_matrix:
        X = self._check_X_predict(X)
        if len(X) <= FEW_ROWS:  # the same matrix without a sparse matrix per step
            return verified_shortcut(
                self, lambda: self._encode_few(X), lambda: self._encode_blocks(X), same_bits
            )
        return self._encode_blocks(X)

    def _encode_blocks(self, X: pd.DataFrame) -> sp.csr_matrix:
        blocks = []
        if self.wide_ is not None:
            blocks.append(self._wide_block(X))
        if self.dense_ is not None:
            blocks.append(self._dense_block(self.dense_.transform(X)))
        return sp.hstack(blocks, format="csr")

    def _encode_few(self, X: pd.DataFrame) -> sp.csr_matrix:
        """:meth:`_encode_blocks` for a few rows: the kept one-hot columns counted from the
        wide ids directly (no full one-hot matrix to slice), stacked in one constructor."""
        blocks = []
        if self.wide_ is not None:
            entries, shape = self._few_wide(X)
            blocks.append(sp.csr_matrix(entries, shape=shape))
        if self.dense_ is not None:
            blocks.append(self._dense_block(self.dense_.transform(X)))
        return stack_few_rows(blocks, dtype=None)

    def _few_wide(self, X: pd.DataFrame) -> tuple[tuple, tuple[int, int]]:
        """``((data, indices, indptr), shape)`` of the wide block of a few rows: the kept
        one-hot columns counted from the ids, each row's columns sorted."""
        ids = self.wide_.transform(X)
        column = np.full(self.wide_.n_ids_, -1, dtype=np.int64)
        column[self.wide_columns_] = np.arange(len(self.wide_columns_))
        data, indices, indptr = [], [], [0]
        for row in ids:
            hit, counts = np.unique(row, return_counts=True)  # sorted, as sum_duplicates
            kept = column[hit] >= 0
            indices.append(column[hit[kept]])
            data.append(counts[kept].astype(np.float64))
            indptr.append(indptr[-1] + int(kept.sum()))
        entries = (np.concatenate(data), np.concatenate(indices), np.asarray(indptr))
        return entries, (len(ids), len(self.wide_columns_))

    def _scores(self, X: object) -> np.ndarray:
        """The encoded rows times the coefficients (before the intercept)."""
        X = self._check_X_predict(X)
        coef = self.coef_.T
        if len(X) <= FEW_ROWS and coef.ndim == 1:  # without building the matrix
            return verified_shortcut(
                self,
                lambda: self._few_scores(X, coef),
                lambda: np.asarray(self._encode(X) @ coef),
                same_bits,
                kind="scores",
            )
        return np.asarray(self._encode(X) @ coef)

    def _few_scores(self, X: pd.DataFrame, coef: np.ndarray) -> np.ndarray:
        """:meth:`_scores` of a few rows as scipy's sparse product computes it: each row's
        entries in stored order (wide columns, then the dense block's), ``value * coef``
        in float64 added one after another to 0.0."""
        parts, offset = [], 0
        if self.wide_ is not None:
            (data, indices, indptr), shape = self._few_wide(X)
            parts.append((data, indices, indptr))
            offset = shape[1]
        if self.dense_ is not None:
            dense = self._dense_block(self.dense_.transform(X))
            parts.append((dense.data.astype(np.float64), dense.indices + offset, dense.indptr))
        out = np.empty(len(X))
        for i in range(len(X)):
            products = [np.zeros(1)]
            for data, indices, indptr in parts:
                at = slice(indptr[i], indptr[i + 1])
                products.append(data[at] * coef[indices[at]])
            out[i] = np.cumsum(np.concatenate(products))[-1]
        return out

    def _start_fit(self, X: object, y: object) -> tuple[pd.DataFrame, np.ndarray]:
        """Validate the parameters and ``X``; return the frame and the penalty grid."""
        self._validate_params()
        alphas = self._check_alphas()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        return self._check_X_fit(X), alphas

    def _alpha_rows(self, n: int) -> np.ndarray:
        """Rows the penalty is chosen on: all of them, or a seeded sample of ALPHA_ROWS."""
        if n <= ALPHA_ROWS:
            return np.arange(n)
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(n, ALPHA_ROWS, replace=False))

    def coefficients(self) -> pd.DataFrame:
        """The fitted weights by feature name, largest magnitude first.

        Returns
        -------
        pandas.DataFrame
            One row per feature (``feature`` and one ``weight`` column per output or class),
            sorted by the largest absolute weight.
        """
        check_is_fitted(self, self._fitted_attribute)
        coef = np.atleast_2d(self._coef())
        labels = (
            ["weight"]
            if coef.shape[0] == 1
            else [f"weight_{c}" for c in getattr(self, "classes_", range(coef.shape[0]))]
        )
        frame = pd.DataFrame(coef.T, columns=labels)
        frame.insert(0, "feature", self.feature_names_)
        order = np.argsort(-np.abs(coef).max(axis=0), kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # numerics are imputed (and bucketed) with a flag
        return tags


def _standardized(scaler: StandardScaler, matrix) -> np.ndarray | sp.csr_matrix:
    """``scaler.transform(matrix)`` by the same operations on a copy (float32 kept), for a few
    rows: sparse entries times ``1 / scale_``; dense ``(x - mean_) / scale_`` in ``x``'s dtype."""
    if sp.issparse(matrix):
        out = matrix.tocsr(copy=True)
        if scaler.scale_ is not None:
            out.data *= (1 / scaler.scale_).take(out.indices, mode="clip")
        return out
    out = np.array(matrix, dtype=matrix.dtype if matrix.dtype.kind == "f" else np.float64)
    if scaler.with_mean:
        out -= scaler.mean_.astype(out.dtype)
    if scaler.with_std:
        out /= scaler.scale_.astype(out.dtype)
    return out


class WideLinearRegressor(RegressorMixin, _WideLinear):
    """Ridge regression over the wide features plus standardized numerics, text and images.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides (see :func:`blend.infer_roles`).
    crosses : None, "auto" or list of tuples of column names, default="auto"
        Crossed categorical columns, hashed into 1,000 buckets each. ``"auto"`` keeps the pairs
        whose interaction is significant for the target (at most ``max_crosses``).
    max_crosses : int, default=8
        The most pairs ``"auto"`` proposes.
    numeric_buckets : int, default=20
        Quantile buckets per numeric column, next to its standardized value: the buckets let the
        linear model bend (a step function), the value keeps it smooth.
    alphas : list of float, optional
        Ridge penalties to choose from (default ``1e-4 .. 1e4``, 17 values), by exact
        leave-one-out error on at most 20,000 rows.
    random_state : int or None
        Seeds the rows the penalty is chosen on (large data) and the text SVD (none by default).

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        The weight of each encoded feature (named in ``feature_names_``).
    intercept_ : float or ndarray of shape (n_outputs,)
    feature_names_ : ndarray of str
        The name of each encoded feature (``brand=luxury``, ``brand*condition=...``).
    wide_ : WideEncoder or None
        The fitted wide encoding (``None`` without categorical and numeric columns).
    dense_ : MixedFeaturizer or None
        The fitted numeric, text and image encoding.

    Examples
    --------
    >>> from blend.members.linear import WideLinearRegressor
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> model = WideLinearRegressor(random_state=0).fit(X, y)
    >>> model.predict(X.iloc[:2]).shape
    (2,)
    """

    _task = "regression"

    def fit(self, X: object, y: object) -> WideLinearRegressor:
        """Encode ``X``, choose the penalty and fit the ridge model; returns ``self``."""
        X, alphas = self._start_fit(X, y)
        target = numeric_target(
            y, len(X), who="WideLinearRegressor", hint="Use WideLinearClassifier for labels."
        )
        matrix = self._fit_encoding(X, target)
        rows = self._alpha_rows(len(X))
        if matrix.shape[1] > MAX_GRAM_FEATURES:
            alpha, coef, intercept = self._ridge_holdout(matrix, target, rows, alphas)
        else:
            alpha, coef, intercept = ridge_gcv(matrix[rows], target[rows], alphas)
            if len(rows) < len(X):
                _, coef, intercept = ridge_gcv(matrix, target, np.array([alpha]))
        self.alpha_ = alpha
        self.coef_ = coef.T if coef.ndim == 2 else coef
        self.intercept_ = intercept
        return self

    _fitted_attribute = "coef_"

    def _ridge_holdout(self, matrix, target, rows, alphas):
        """Very wide matrices: choose the penalty on a 25% holdout with an iterative solver."""
        rng = np.random.default_rng(self.random_state)
        shuffled = rng.permutation(rows)
        cut = max(len(shuffled) * 3 // 4, 1)
        train, test = shuffled[:cut], shuffled[cut:]
        scores = []
        for alpha in alphas:
            model = Ridge(alpha=float(alpha), solver="sparse_cg").fit(matrix[train], target[train])
            scores.append(np.mean((model.predict(matrix[test]) - target[test]) ** 2))
        alpha = float(alphas[int(np.argmin(scores))])
        model = Ridge(alpha=alpha, solver="sparse_cg").fit(matrix, target)
        return alpha, model.coef_.T, model.intercept_

    def _coef(self) -> np.ndarray:
        return self.coef_

    def predict(self, X: object) -> np.ndarray:
        """Predicted values, ``(n,)`` or ``(n, n_outputs)`` for a 2-D target."""
        return self._scores(X) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class WideLinearClassifier(ClassifierMixin, _WideLinear):
    """Logistic regression over the wide features plus standardized numerics, text and images.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides (see :func:`blend.infer_roles`).
    crosses : None, "auto" or list of tuples of column names, default="auto"
        Crossed categorical columns (see :class:`WideLinearRegressor`).
    max_crosses : int, default=8
        The most pairs ``"auto"`` proposes.
    numeric_buckets : int, default=20
        Quantile buckets per numeric column, next to its standardized value.
    alphas : list of float, optional
        L2 penalties (``1 / C``) to choose from (default ``1e-2 .. 1e4``, 7 values), by log
        loss on a stratified 25% holdout of at most 20,000 rows.
    random_state : int or None
        Seeds the folds and the rows the penalty is chosen on.

    Attributes
    ----------
    classes_ : ndarray
        The class labels.
    alpha_ : float
        The chosen penalty.
    model_ : sklearn.linear_model.LogisticRegression
    feature_names_ : ndarray of str

    Examples
    --------
    >>> from blend.members.linear import WideLinearClassifier
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> clf = WideLinearClassifier(random_state=0).fit(X, y > y.median())
    >>> clf.predict_proba(X.iloc[:2]).shape
    (2, 2)
    """

    _task = "classification"

    def fit(self, X: object, y: object) -> WideLinearClassifier:
        """Encode ``X``, choose the penalty by holdout log loss and fit; returns ``self``."""
        X, alphas = self._start_fit(X, y)
        self.classes_, codes = check_class_labels(
            y, len(X), who="WideLinearClassifier", regressor="WideLinearRegressor"
        )
        matrix = self._fit_encoding(X, codes)
        rows = self._alpha_rows(len(X))
        self.alpha_ = self._choose_alpha(matrix[rows], codes[rows], alphas)
        self.model_ = self._logistic(self.alpha_).fit(matrix, codes)
        return self

    def _term_scale(self, matrix, terms: np.ndarray) -> float:
        """The terms' typical (mean non-zero) TF-IDF value: a present term reads about 1, as a
        one-hot column does.

        Left at their small TF-IDF values, the terms need large weights: lbfgs then takes many
        iterations to converge, and one penalty cannot suit both the terms and the other
        columns. Dividing by the typical value brings a present term to the one-hot scale
        without standardizing, which would blow rare terms up (see the ridge case).
        """
        values = np.abs(matrix[:, np.flatnonzero(terms)].data)  # terms come sparse
        return float(values.mean()) if values.size else 1.0

    def _logistic(self, alpha: float, warm_start: bool = False) -> LogisticRegression:
        # tol 1e-3: the penalty search and the blend need probabilities, not exact optima.
        return LogisticRegression(C=1.0 / alpha, tol=1e-3, max_iter=500, warm_start=warm_start)

    def _choose_alpha(self, matrix, codes: np.ndarray, alphas: np.ndarray) -> float:
        """The penalty with the lowest log loss on a stratified 25% holdout of ``matrix``."""
        if len(alphas) == 1 or np.bincount(codes).min() < 4:
            return float(alphas[len(alphas) // 2])  # too few rows per class to hold out
        if matrix.shape[0] * matrix.shape[1] <= DENSE_CELLS:
            matrix = matrix.toarray()  # lbfgs is faster on dense arrays
        folds = StratifiedKFold(4, shuffle=True, random_state=self.random_state)
        train, test = next(folds.split(matrix, codes))
        losses = np.zeros(len(alphas))
        model = self._logistic(alphas.max(), warm_start=True)
        for i in np.argsort(alphas)[::-1]:  # strongest penalty first: each fit warm-starts the next
            model.set_params(C=1.0 / alphas[i]).fit(matrix[train], codes[train])
            proba = np.full((len(test), len(self.classes_)), 1e-15)
            proba[:, model.classes_] = model.predict_proba(matrix[test])
            picked = np.clip(proba[np.arange(len(test)), codes[test]], 1e-15, 1.0)
            losses[i] = -np.log(picked).mean()
        return float(alphas[int(np.argmin(losses))])

    def _coef(self) -> np.ndarray:
        return self.model_.coef_

    def predict_proba(self, X: object) -> np.ndarray:
        """Class probabilities, ``(n, n_classes)`` in the order of ``classes_``."""
        matrix = self._encode(X)
        proba = np.zeros((matrix.shape[0], len(self.classes_)))
        proba[:, self.model_.classes_] = self.model_.predict_proba(matrix)
        return proba

    def predict(self, X: object) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
