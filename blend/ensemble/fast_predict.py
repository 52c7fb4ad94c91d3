"""Fast predictions for a few rows from scikit-learn tree ensembles (the blender's one-row path).

``RandomForestRegressor.predict`` dispatches its trees through a joblib thread pool on every
call, which for one row costs far more than asking each tree directly.
For small batches the blender asks the trees itself, exactly as the forest would (the rows
validated by the forest itself: float32, sparse as CSR, NaN routed by the trees; the same
float64 accumulation in tree order); subclasses and multi-output classifiers take the
estimator's own ``predict``.

Boosters (``HistGradientBoosting*``, ``XGBRegressor`` and our early-stopped XGBoost, alone or
ending a pipeline) answer a handful of rows from their trees packed into flat arrays
(:mod:`blend.ensemble.packed_trees`). The packing reads internals, so the first use on each fitted
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

from blend.ensemble import packed_trees as packed_trees
from blend.members.xgboost import EarlyStoppedXGBRegressor

__all__ = ["SMALL_BATCH", "predict", "predict_proba"]

SMALL_BATCH = 256  # rows; beyond this the thread pool pays for itself
# packed boosters walk every tree at once, so one row is cheap, but their cost grows with the
# rows faster than the libraries' own per-tree loop: beyond a few rows that loop wins
BOOSTED_SMALL_BATCH = 8
_REGRESSORS = (RandomForestRegressor, ExtraTreesRegressor)
_CLASSIFIERS = (RandomForestClassifier, ExtraTreesClassifier)


def predict(estimator, X) -> np.ndarray:
    """``estimator.predict(X)``, computed tree by tree for small batches of forests."""
    composed = getattr(estimator, "_predict_composed", None)
    if composed is not None and len(X) <= SMALL_BATCH:
        # a member that sums a linear part and a tree model: its trees take this path too
        return composed(X, predict)
    boosted = _boosted_predict(estimator, X, proba=False)
    if boosted is not None:
        return boosted
    found = _forest_input(estimator, X, _REGRESSORS)
    if found is None:
        return estimator.predict(X)
    forest, rows = found
    single = forest.n_outputs_ == 1
    total = np.zeros(rows.shape[0] if single else (rows.shape[0], forest.n_outputs_))
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
    if found is None:
        return estimator.predict_proba(X)
    forest, rows = found
    total = np.zeros((rows.shape[0], len(forest.classes_)))
    for tree in forest.estimators_:
        total += tree.predict_proba(rows, check_input=False)
    total /= len(forest.estimators_)
    return total


def _forest_input(estimator, X, kinds) -> tuple[object, object] | None:
    """``(forest, rows)`` when the fast path applies, else ``None``.

    The rows are what the forest's own ``predict`` hands its trees: the forest validates them
    itself (float32, CSR for sparse input, NaN where its trees route missing values; the same
    errors and feature-name warnings as ``predict``); only its thread pool is skipped.
    """
    if not hasattr(X, "shape") or len(X.shape) != 2 or X.shape[0] > SMALL_BATCH:
        return None
    forest = estimator
    steps = getattr(estimator, "steps", None)
    if steps:  # a Pipeline ending in a forest
        forest = steps[-1][1]
    if type(forest) not in kinds or not hasattr(forest, "estimators_"):
        return None  # subclasses may override predict: theirs runs
    if not hasattr(forest, "_validate_X_predict"):  # another scikit-learn: its own predict
        return None
    if getattr(forest, "n_outputs_", 1) != 1 and kinds is _CLASSIFIERS:
        return None  # multi-output probabilities are a list: the forest's own path
    if steps:  # transform with the steps before the forest
        X = estimator[:-1].transform(X)
    return forest, forest._validate_X_predict(X)


def _matches_fit(model, X) -> bool:
    """Same feature names (or none on both sides) and width as in fit; else the model's own
    checks (and warnings) must run."""
    names = getattr(model, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if (names is None) != (columns is None) or (names is not None and list(columns) != list(names)):
        return False
    return getattr(X, "ndim", 2) == 2 and X.shape[1] == model.n_features_in_


# ------------------------------------------------------------------- boosters, packed
_PACKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> packed | False
_PACK_ERRORS = (AttributeError, KeyError, ValueError, TypeError, IndexError)


def _booster(final) -> tuple[str, object] | None:
    """``(kind, model)`` for a booster whose trees can be packed, else ``None``."""
    if type(final) is EarlyStoppedXGBRegressor:
        final = getattr(final, "estimator_", None)
    if type(final) in (HistGradientBoostingRegressor, HistGradientBoostingClassifier):
        return ("hgb", final) if hasattr(final, "_predictors") else None
    kind = type(final)
    if kind.__name__ == "XGBRegressor" and kind.__module__.startswith("xgboost"):
        return ("xgb", final) if hasattr(final, "_Booster") else None
    return None


def _boosted_predict(estimator, X, proba: bool) -> np.ndarray | None:
    """Small-batch output of a boosted model (from its packed trees once they are trusted).

    ``None`` when ``estimator`` is not a packable booster or pipeline ending in one, so the
    caller's own path runs; once a pipeline's steps have transformed ``X`` the answer always
    comes from here, so the steps never run twice.
    """
    if not hasattr(X, "shape") or len(X.shape) != 2 or X.shape[0] > BOOSTED_SMALL_BATCH:
        return None
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    found = _booster(final)
    if found is None:
        return None
    kind, model = found
    if proba != hasattr(model, "classes_") or _PACKED.get(model) is False:
        return None
    if steps:
        X = estimator[:-1].transform(X)

    def own() -> np.ndarray:
        return np.asarray(final.predict_proba(X) if proba else final.predict(X))

    rows = _booster_rows(kind, model, X)
    if rows is None:
        return own()
    packed = _PACKED.get(model)
    try:
        if packed is None:
            packed = _pack(kind, model)
        fast = _packed_output(kind, packed, model, rows, proba)
    except _PACK_ERRORS:
        _PACKED[model] = False
        return own()
    if model not in _PACKED:  # the packing must reproduce the model's own output exactly
        expected = own()
        same = fast.shape == expected.shape and np.array_equal(fast, expected, equal_nan=True)
        _PACKED[model] = packed if same else False
        return expected
    return fast


def _pack(kind: str, model) -> packed_trees.PackedEnsemble:
    if kind == "xgb":
        return packed_trees.pack_xgboost(model)
    return packed_trees.pack_hist_gradient_boosting(model)


def _booster_rows(kind: str, model, X) -> np.ndarray | None:
    """The rows as the booster reads them (XGBoost: float32, absent sparse entries missing)."""
    if not _matches_fit(model, X):
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
