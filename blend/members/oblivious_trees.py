"""CatBoost's oblivious trees as flat arrays: the raw margin of a few rows in a few numpy steps.

``CatBoost.predict`` builds a ``Pool`` from its input on every call, which for one row costs far
more than the trees themselves (0.3-0.5 ms). An oblivious tree asks the same
question at every node of a level, so a tree of depth ``d`` is ``d`` (feature, border) pairs and
``2**d`` leaves: the leaf of a row is the number whose bit ``i`` says whether the row's value
passes split ``i``. Packed into ``(trees, depth)`` arrays, every tree of the model is answered at
once, and the leaf values are summed as CatBoost sums them (in double, tree after tree, from
zero, then ``scale * sum + bias``), so the result is the same to the bit.

CatBoost's own rules are kept: the feature values are cast to float32 and a split passes when
the value is greater than its float32 border; a missing value (NaN) passes no split
(``nan_mode="Min"``, and features that had no NaN in training) or every split
(``nan_mode="Max"``); an absent entry of a sparse matrix is 0.0, not missing. Two-class
probabilities follow from the margin as CatBoost's ``1 / (1 + exp(-margin))`` with the C
library's ``exp``; CatBoost's softmax for more classes differs from every numpy softmax tried
in the last bits (not the C library's ``exp``), so those probabilities are left to CatBoost
(their margins are packed). Only numeric
features are packed: a model with categorical, text or embedding features, non-symmetric trees
or a JSON export this module does not know raises ``ValueError`` when packed.

Packing reads the model's JSON export, so callers check the first packed output of each model
against the model's own ``predict`` (:func:`few_rows`) and keep CatBoost's path when they differ
or the packing fails. The packed arrays live in a cache keyed by the live model's identity
and dropped with it (CatBoost models are unhashable), never in a fitted estimator's state.
The cost grows with rows x trees, so this is for a handful of rows.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable

import numpy as np

from blend.features.validation import per_object, shortcut_verified, verified_shortcut

__all__ = [
    "SMALL_BATCH",
    "ObliviousTrees",
    "binary_proba",
    "dense_rows",
    "few_rows",
    "pack_catboost",
    "packed_for",
    "trusted",
]

SMALL_BATCH = 8  # rows; beyond this CatBoost's own blocked evaluation wins
_MAX_LEAF_VALUES = 1 << 23  # 64 MiB of leaf values (deep trees): CatBoost's own path beyond

# JSON keys of a model with numeric features only (any other key: not packed)
_KNOWN_KEYS = {"features_info", "model_info", "oblivious_trees", "scale_and_bias"}
# what a missing value becomes before the ``value > border`` test
_NAN_AS = {"AsIs": -np.inf, "AsFalse": -np.inf, "AsTrue": np.inf}


class ObliviousTrees:
    """The symmetric trees of a CatBoost model, every tree padded to the deepest one.

    ``feature[t, i]`` and ``border[t, i]`` are split ``i`` of tree ``t``; ``weight[t, i]`` is
    its bit in the leaf index (0 for the padding of shallower trees); ``leaves[t, leaf, k]``
    the value for output ``k``.
    """

    def __init__(self, trees: list[dict], nan_as: np.ndarray, scale: float, bias) -> None:
        if not trees:
            raise ValueError("a model without trees is not packed")
        depth = max(len(tree["splits"]) for tree in trees)
        bias = np.atleast_1d(np.asarray(bias, dtype=np.float64))
        dim = len(bias)
        n = len(trees)
        if n * dim << depth > _MAX_LEAF_VALUES:
            raise ValueError("too many leaves to pack")
        self.feature = np.zeros((n, depth), dtype=np.intp)
        self.border = np.full((n, depth), np.inf, dtype=np.float32)
        self.weight = np.zeros((n, depth), dtype=np.intp)
        self.leaves = np.zeros((n, 2**depth, dim), dtype=np.float64)
        for t, tree in enumerate(trees):
            splits = tree["splits"]
            for i, split in enumerate(splits):
                if split.get("split_type") != "FloatFeature":
                    raise ValueError(f"{split.get('split_type')} splits are not packed")
                self.feature[t, i] = int(split["float_feature_index"])
                self.border[t, i] = np.float32(split["border"])
                if float(self.border[t, i]) != float(split["border"]):
                    raise ValueError("a border that is not a float32")
                self.weight[t, i] = 1 << i
            values = np.asarray(tree["leaf_values"], dtype=np.float64)
            if values.shape != (dim << len(splits),):
                raise ValueError("leaf values do not match the splits and outputs")
            self.leaves[t, : 1 << len(splits)] = values.reshape(-1, dim)
        self.trees = np.arange(n)
        self.nan_as = np.asarray(nan_as, dtype=np.float32)
        self.n_features = len(self.nan_as)
        if self.feature.size and self.feature.max() >= self.n_features:
            raise ValueError("a split on a feature the model does not list")
        self.scale = float(scale)
        self.bias = bias

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """``(n_rows, n_outputs)`` raw formula values of dense float32 ``rows`` (NaN allowed)."""
        if rows.ndim != 2 or rows.shape[1] < self.n_features:
            raise ValueError("rows narrower than the model's features")
        rows = rows[:, : self.n_features]
        missing = np.isnan(rows)
        if missing.any():
            rows = np.where(missing, self.nan_as, rows)
        passed = rows[:, self.feature] > self.border  # (n_rows, trees, depth)
        leaf = (passed * self.weight).sum(axis=2)  # integer sum: exact in any order
        values = self.leaves[self.trees, leaf]  # (n_rows, trees, outputs)
        # CatBoost adds each tree's leaf to 0.0 in tree order: cumsum adds left to right
        total = np.cumsum(values, axis=1)[:, -1]
        if self.scale != 1.0 or self.bias.any():
            total = total * self.scale + self.bias
        return total


def pack_catboost(model) -> ObliviousTrees:
    """Pack a fitted CatBoost model with numeric features and symmetric trees only."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.json")
        model.save_model(path, format="json")
        with open(path, encoding="utf-8") as handle:
            exported = json.load(handle)
    if set(exported) - _KNOWN_KEYS or "oblivious_trees" not in exported:
        raise ValueError(f"model parts {sorted(set(exported) - _KNOWN_KEYS)} are not packed")
    info = exported["features_info"]
    if set(info) != {"float_features"}:
        raise ValueError(f"features {sorted(set(info) - {'float_features'})} are not packed")
    floats = info["float_features"]
    nan_as = np.zeros(len(floats), dtype=np.float32)
    for position, feature in enumerate(floats):
        if int(feature["feature_index"]) != position or int(feature["flat_feature_index"]) != (
            position
        ):
            raise ValueError("float features out of order are not packed")
        nan_as[position] = _NAN_AS[feature["nan_value_treatment"]]
    scale, bias = exported.get("scale_and_bias", [1.0, [0.0]])
    return ObliviousTrees(exported["oblivious_trees"], nan_as, scale, bias)


def dense_rows(X) -> np.ndarray:
    """The rows as CatBoost reads them: float32, absent sparse entries 0.0, NaN kept."""
    with np.errstate(over="ignore"):  # values beyond float32 become +-inf, as in CatBoost
        if hasattr(X, "tocsr"):
            X = X.tocsr()
            if not X.has_canonical_format:
                raise ValueError("duplicate or unsorted sparse entries")
            dense = np.zeros(X.shape, dtype=np.float32)
            dense[np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), X.indices] = X.data
            return dense
        return np.asarray(X, dtype=np.float32)


def binary_proba(raw: np.ndarray) -> np.ndarray:
    """CatBoost's two-class probabilities: ``p = 1 / (1 + exp(-raw))``, columns ``1 - p, p``.

    CatBoost calls the C library's ``exp``, as :func:`math.exp` does (numpy's vectorised
    ``exp`` may differ in the last bit); an overflow is infinity there too.
    """
    positive = np.empty(len(raw), dtype=np.float64)
    for i, value in enumerate(np.asarray(raw, dtype=np.float64).ravel()):
        try:
            positive[i] = 1.0 / (1.0 + math.exp(-value))
        except OverflowError:
            positive[i] = 0.0
    return np.column_stack([1.0 - positive, positive])


_ERRORS = (AttributeError, KeyError, ValueError, TypeError, IndexError, OverflowError)


def packed_for(model) -> ObliviousTrees | None:
    """The model's packed trees (packed once per live model), ``None`` when it cannot be packed.

    CatBoost models compare by value and are unhashable: the packing is kept by identity and
    leaves with the model (:func:`~blend.features.validation.per_object`); which outputs it
    reproduces is recorded against it by :func:`~blend.features.validation.verified_shortcut`.
    """

    def pack() -> ObliviousTrees | bool:
        try:
            return pack_catboost(model)
        except Exception:  # any failure (CatBoostError, I/O, the format) leaves CatBoost's path
            return False

    return per_object(model, pack) or None


def trusted(model, kind: str) -> bool | None:
    """Whether the packed ``kind`` output reproduced the model's own (``None``: not yet tried)."""
    packed = packed_for(model)
    return None if packed is None else shortcut_verified(packed, kind)


def few_rows(
    model,
    kind: str,
    X,
    own: Callable[[], np.ndarray],
    output: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``output(packed raw margins of X)`` once it has reproduced ``own()`` for ``model``.

    ``kind`` names the output (``"raw"``, ``"predict"``, ``"proba"``): each is checked bit for
    bit on its first small batch (that call returns ``own()``; see
    :func:`~blend.features.validation.verified_shortcut`); a mismatch or an error leaves that
    output to ``own()`` for the model's lifetime, and a model that cannot be packed takes
    ``own()`` for all. ``X`` is what CatBoost would be given (validated, dense or CSR); more
    than :data:`SMALL_BATCH` rows always take ``own()``.
    """
    if X.shape[0] > SMALL_BATCH:
        return own()
    packed = packed_for(model)
    if packed is None:
        return own()
    try:
        rows = dense_rows(X)
    except _ERRORS:  # rows this module does not read (duplicate sparse entries): CatBoost's
        return own()
    return verified_shortcut(
        packed,
        lambda: np.asarray(output(packed.raw(rows))),
        lambda: np.asarray(own()),
        kind=kind,
    )
