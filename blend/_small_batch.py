"""Fast predictions for a few rows from scikit-learn forests (the blender's one-row path).

``RandomForestRegressor.predict`` dispatches its trees through a joblib thread pool on every
call: ~18 ms for one row with 200 trees, where asking each tree directly costs under 1 ms.
For small batches of clean numeric input the blender asks the trees itself, exactly as the
forest would (same float32 input, same float64 accumulation in the same order); anything
else (sparse input, NaN/inf, subclasses, multi-output classifiers) takes the estimator's own
``predict``.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

__all__ = ["SMALL_BATCH", "predict", "predict_proba"]

SMALL_BATCH = 256  # rows; beyond this the thread pool pays for itself
_REGRESSORS = (RandomForestRegressor, ExtraTreesRegressor)
_CLASSIFIERS = (RandomForestClassifier, ExtraTreesClassifier)


def predict(estimator, X) -> np.ndarray:
    """``estimator.predict(X)``, computed tree by tree for small batches of forests."""
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
    if not hasattr(X, "shape") or len(X.shape) != 2 or X.shape[0] > SMALL_BATCH:
        return None
    forest = estimator
    steps = getattr(estimator, "steps", None)
    if steps:  # a Pipeline ending in a forest: transform with the steps before it
        forest = steps[-1][1]
        if type(forest) not in kinds or not hasattr(forest, "estimators_"):
            return None
        X = estimator[:-1].transform(X)
    elif type(forest) not in kinds or not hasattr(forest, "estimators_"):
        return None  # subclasses may override predict: theirs runs
    names = getattr(forest, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if (names is None) != (columns is None) or (names is not None and list(columns) != list(names)):
        return None  # the estimator's own checks (and warnings) apply
    if hasattr(X, "toarray") or getattr(X, "ndim", 2) != 2 or X.shape[1] != forest.n_features_in_:
        return None
    try:
        rows = np.ascontiguousarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(rows).all():
        return None
    return forest, rows
