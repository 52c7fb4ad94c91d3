"""Fast predictions for a few rows from scikit-learn tree ensembles (the blender's one-row path).

``RandomForestRegressor.predict`` dispatches its trees through a joblib thread pool on every
call: ~18 ms for one row with 200 trees, where asking each tree directly costs under 1 ms.
For small batches of clean numeric input the blender asks the trees itself, exactly as the
forest would (same float32 input, same float64 accumulation in the same order); anything
else (sparse input, NaN/inf, subclasses, multi-output classifiers) takes the estimator's own
``predict``.

``HistGradientBoosting*.predict`` walks its trees one Python call per tree (~8 ms for one row
with 600 trees). For a handful of rows all trees are walked at once on flat arrays packed
from the fitted predictors (~0.6 ms), summed in the same order. The packing reads private
attributes, so the first use on each fitted model is checked against the model's own output,
bit for bit; a mismatch or a missing attribute (another scikit-learn version, categorical
splits) disables the fast path for that model, which then predicts as usual.
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

__all__ = ["SMALL_BATCH", "predict", "predict_proba"]

SMALL_BATCH = 256  # rows; beyond this the thread pool pays for itself
# all trees walked at once cost ~0.6 ms per row for 600 trees; sklearn's loop ~8 ms + 0.03 ms/row
HGB_SMALL_BATCH = 8
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


# --------------------------------------------------------------- HistGradientBoosting, packed
_HGB = (HistGradientBoostingRegressor, HistGradientBoostingClassifier)
_PACKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> packed | False


class _PackedBoosting:
    """All trees of a fitted HistGradientBoosting model as flat arrays, one forest per output.

    Leaves point to themselves with an infinite threshold, so every tree can be walked the
    same number of steps (the deepest leaf's depth) with no per-tree bookkeeping.
    """

    def __init__(self, model) -> None:
        if model._preprocessor is not None:  # categorical features: bitset splits
            raise ValueError("categorical splits are not packed")
        self.baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
        self.forests = []
        for k in range(model.n_trees_per_iteration_):
            nodes = [iteration[k].nodes for iteration in model._predictors]
            if any(n["is_categorical"].any() for n in nodes):
                raise ValueError("categorical splits are not packed")
            sizes = np.array([len(n) for n in nodes])
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            flat = np.concatenate(nodes)
            offset = np.repeat(starts, sizes)
            leaf = flat["is_leaf"].astype(bool)
            ids = np.arange(len(flat))
            left = np.where(leaf, ids, flat["left"].astype(np.intp) + offset)
            right = np.where(leaf, ids, flat["right"].astype(np.intp) + offset)
            self.forests.append(
                {
                    "roots": starts.astype(np.intp),
                    "children": np.stack([left, right], axis=1),
                    "feature": np.where(leaf, 0, flat["feature_idx"]).astype(np.intp),
                    "threshold": np.where(leaf, np.inf, flat["num_threshold"]),
                    "missing_left": np.where(leaf, 0, flat["missing_go_to_left"]).astype(bool),
                    "value": flat["value"].astype(np.float64),
                    "depth": int(flat["depth"].max()),
                }
            )

    def raw_predict(self, rows: np.ndarray) -> np.ndarray:
        """Baseline plus the leaf values, added tree after tree as scikit-learn adds them."""
        n = len(rows)
        flat = rows.ravel()
        base = (np.arange(n) * rows.shape[1])[:, None]
        has_nan = bool(np.isnan(flat).any())
        raw = np.empty((n, len(self.forests)))
        for k, forest in enumerate(self.forests):
            node = np.broadcast_to(forest["roots"], (n, len(forest["roots"]))).copy()
            for _ in range(forest["depth"]):
                x = flat[base + forest["feature"][node]]
                go_right = ~(x <= forest["threshold"][node])
                if has_nan:  # NaN follows the side the split learned for missing values
                    go_right &= ~(np.isnan(x) & forest["missing_left"][node])
                node = forest["children"][node, go_right.view(np.uint8)]
            terms = np.concatenate([np.full((n, 1), self.baseline[k]), forest["value"][node]], 1)
            raw[:, k] = np.cumsum(terms, axis=1)[:, -1]  # sequential, like sklearn's +=
        return raw


def _boosted_predict(estimator, X, proba: bool) -> np.ndarray | None:
    """Small-batch HistGradientBoosting output from the packed trees, or ``None``."""
    found = _final_input(estimator, X, _HGB, "_predictors", HGB_SMALL_BATCH, np.float64)
    if found is None:
        return None
    model, rows = found
    if proba != hasattr(model, "classes_"):
        return None
    packed = _PACKED.get(model)
    if packed is False:
        return None
    first = packed is None
    try:
        if first:
            packed = _PackedBoosting(model)
        fast = _packed_output(packed, model, rows, proba)
    except (AttributeError, KeyError, ValueError, TypeError, IndexError):
        _PACKED[model] = False
        return None
    if first:  # the packing must reproduce the model's own output exactly, or is not used
        own = model.predict_proba(rows) if proba else model.predict(rows)
        same = fast.shape == own.shape and np.array_equal(fast, own, equal_nan=True)
        _PACKED[model] = packed if same else False
        return own
    return fast


def _packed_output(packed: _PackedBoosting, model, rows: np.ndarray, proba: bool) -> np.ndarray:
    raw = packed.raw_predict(rows)
    if proba:
        return model._loss.predict_proba(raw)
    return model._loss.link.inverse(raw.ravel())
