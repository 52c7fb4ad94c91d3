"""Fast predictions for a few rows from scikit-learn tree ensembles (the blender's one-row path).

``RandomForestRegressor.predict`` dispatches its trees through a joblib thread pool on every
call: ~18 ms for one row with 200 trees, where asking each tree directly costs under 1 ms.
For small batches of clean numeric input the blender asks the trees itself, exactly as the
forest would (same float32 input, same float64 accumulation in the same order); anything
else (sparse input, NaN/inf, subclasses, multi-output classifiers) takes the estimator's own
``predict``.

Boosters (``HistGradientBoosting*``, ``XGBRegressor`` and our early-stopped XGBoost, alone or
ending a pipeline) answer a handful of rows from their trees packed into flat arrays
(:mod:`blend._packed_trees`). The packing reads internals, so the first use on each fitted
model is checked against the model's own output, bit for bit; a mismatch or a missing
attribute (another library version, categorical splits) disables the fast path for that model,
which then predicts as usual.
"""

from __future__ import annotations

import weakref

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from . import _packed_trees as packed_trees
from ._boosting import EarlyStoppedXGBRegressor

__all__ = ["SMALL_BATCH", "predict", "predict_proba"]

SMALL_BATCH = 256  # rows; beyond this the thread pool pays for itself
# packed boosters walk every tree at once: ~0.6 ms per row for 600 trees, where scikit-learn's
# per-tree loop costs ~8 ms + 0.03 ms per row; beyond a few rows the libraries' own predict wins
BOOSTED_SMALL_BATCH = 8
_REGRESSORS = (RandomForestRegressor, ExtraTreesRegressor)
_CLASSIFIERS = (RandomForestClassifier, ExtraTreesClassifier)


def predict(estimator, X) -> np.ndarray:
    """``estimator.predict(X)``, computed tree by tree for small batches of forests."""
    boosted = _boosted_predict(estimator, X, proba=False)
    if boosted is not None:
        return boosted
    found = _forest_input(estimator, X, _REGRESSORS)
    if found is None:
        return estimator.predict(X)
    forest, rows = found
    single = forest.n_outputs_ == 1
    total = np.zeros(len(rows) if single else (len(rows), forest.n_outputs_))
    for tree in forest.estimators_:
        # DecisionTreeRegressor.predict(rows, check_input=False) without its per-tree checks
        values = tree.tree_.predict(rows)
        total += values[:, 0] if single else values[:, :, 0]
    total /= len(forest.estimators_)
    return total


def predict_proba(estimator, X) -> np.ndarray:
    """``estimator.predict_proba(X)``, computed tree by tree for small batches of forests."""
    boosted = _boosted_predict(estimator, X, proba=True)
    if boosted is not None:
        return boosted
    found = _forest_input(estimator, X, _CLASSIFIERS)
    if found is None or found[0].n_outputs_ != 1:
        return estimator.predict_proba(X)
    forest, rows = found
    total = np.zeros((len(rows), len(forest.classes_)))
    for tree in forest.estimators_:
        total += tree.predict_proba(rows, check_input=False)
    total /= len(forest.estimators_)
    return total


def _forest_input(estimator, X, kinds) -> tuple[object, np.ndarray] | None:
    """``(forest, float32 rows)`` when the fast path applies, else ``None``."""
    found = _final_input(estimator, X, kinds, "estimators_", SMALL_BATCH, np.float32)
    if found is None or not np.isfinite(found[1]).all():
        return None
    return found


def _final_input(estimator, X, kinds, fitted: str, limit: int, dtype):
    """``(final estimator, rows as a dense C array)`` for a small batch, else ``None``."""
    if not hasattr(X, "shape") or len(X.shape) != 2 or X.shape[0] > limit:
        return None
    final = estimator
    steps = getattr(estimator, "steps", None)
    if steps:  # a Pipeline ending in a tree model: transform with the steps before it
        final = steps[-1][1]
        if type(final) not in kinds or not hasattr(final, fitted):
            return None
        X = estimator[:-1].transform(X)
    elif type(final) not in kinds or not hasattr(final, fitted):
        return None  # subclasses may override predict: theirs runs
    names = getattr(final, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if (names is None) != (columns is None) or (names is not None and list(columns) != list(names)):
        return None  # the estimator's own checks (and warnings) apply
    if hasattr(X, "toarray") or getattr(X, "ndim", 2) != 2 or X.shape[1] != final.n_features_in_:
        return None
    try:
        rows = np.ascontiguousarray(X, dtype=dtype)
    except (TypeError, ValueError):
        return None
    return final, rows


# ------------------------------------------------------------------- boosters, packed
_PACKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> packed | False
_PACK_ERRORS = (AttributeError, KeyError, ValueError, TypeError, IndexError)


def _booster(final) -> tuple[str, object] | None:
    """``(kind, model)`` for a booster whose trees can be packed, else ``None``."""
    if type(final) in (EarlyStoppedXGBRegressor,):
        final = getattr(final, "estimator_", None)
    if type(final) in (HistGradientBoostingRegressor, HistGradientBoostingClassifier):
        return ("hgb", final) if hasattr(final, "_predictors") else None
    kind = type(final)
    if kind.__name__ == "XGBRegressor" and kind.__module__.startswith("xgboost"):
        return ("xgb", final) if hasattr(final, "_Booster") else None
    return None


def _boosted_predict(estimator, X, proba: bool) -> np.ndarray | None:
    """Small-batch output of a boosted model from its packed trees, or ``None``."""
    if not hasattr(X, "shape") or len(X.shape) != 2 or X.shape[0] > BOOSTED_SMALL_BATCH:
        return None
    steps = getattr(estimator, "steps", None)
    found = _booster(steps[-1][1] if steps else estimator)
    if found is None:
        return None
    kind, model = found
    if proba != hasattr(model, "classes_"):
        return None
    if steps:
        X = estimator[:-1].transform(X)
    rows = _booster_rows(kind, model, X)
    packed = _PACKED.get(model)
    if rows is None or packed is False:
        return None
    first = packed is None
    try:
        if first:
            packed = _PACKERS[kind](model)
        fast = _packed_output(kind, packed, model, rows, proba)
    except _PACK_ERRORS:
        _PACKED[model] = False
        return None
    if first:  # the packing must reproduce the model's own output exactly, or is not used
        own = np.asarray(model.predict_proba(X) if proba else model.predict(X))
        same = fast.shape == own.shape and np.array_equal(fast, own, equal_nan=True)
        _PACKED[model] = packed if same else False
        return own
    return fast


_PACKERS = {
    "xgb": lambda model: packed_trees.pack_xgboost(model),
    "hgb": lambda model: packed_trees.pack_hist_gradient_boosting(model),
}  # looked up at call time, so tests can substitute a packer


def _booster_rows(kind: str, model, X) -> np.ndarray | None:
    """The rows as the booster reads them (XGBoost: float32, absent sparse entries missing)."""
    names = getattr(model, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if (names is None) != (columns is None) or (names is not None and list(columns) != list(names)):
        return None  # the model's own checks (and warnings) apply
    if getattr(X, "ndim", 2) != 2 or X.shape[1] != model.n_features_in_:
        return None
    try:
        if kind == "hgb":
            return None if hasattr(X, "toarray") else np.ascontiguousarray(X, dtype=np.float64)
        if not np.isnan(model.missing):
            return None  # another missing-value marker: XGBoost's own predict handles it
        if hasattr(X, "tocsr"):  # absent entries of a sparse matrix are missing to XGBoost
            X = X.tocsr()
            dense = np.full(X.shape, np.nan, dtype=np.float32)
            dense[np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), X.indices] = X.data
            return dense
        return np.ascontiguousarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        return None


def _packed_output(kind: str, packed, model, rows: np.ndarray, proba: bool) -> np.ndarray:
    raw = packed.raw(rows)
    if kind == "xgb":
        return raw.ravel()  # identity objectives only (see pack_xgboost)
    if proba:
        return model._loss.predict_proba(raw)
    return model._loss.link.inverse(raw.ravel())
