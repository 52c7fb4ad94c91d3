"""Boosted tree ensembles as flat arrays, every tree walked at once (the one-row predict path).

Boosters predict one row slowly: ``HistGradientBoosting*.predict`` makes one Python call per
tree, and XGBoost's ``predict`` has a large fixed cost per call. Packed into flat node
arrays, all trees of an ensemble step down together in a few numpy operations per tree
level, and the leaf values are summed in the library's own order
and precision, so the result is the same to the bit. The cost grows with rows x trees x
depth, so this is for a handful of rows only.

Packing reads internals (scikit-learn's private predictor nodes, XGBoost's JSON model), so
callers check the first packed output of each model against the model's own ``predict`` and
drop the fast path when they differ.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["PackedEnsemble", "pack_hist_gradient_boosting", "pack_xgboost"]

# XGBoost objectives whose prediction is the raw margin (no link function)
_XGB_IDENTITY = {
    "reg:squarederror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "reg:quantileerror",
    "reg:linear",
}


class _Forest:
    """The trees of one output: node arrays with global indices, leaves pointing to themselves.

    A leaf is its own child on both sides, so every tree is walked the same number of steps
    (the deepest leaf's depth) without per-tree bookkeeping.
    """

    def __init__(self, trees: list[dict], dtype) -> None:
        sizes = np.array([len(t["value"]) for t in trees])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        offset = np.repeat(starts, sizes)

        def joined(key):
            return np.concatenate([np.asarray(t[key]) for t in trees])

        leaf = joined("leaf").astype(bool)
        ids = np.arange(len(leaf))
        left = np.where(leaf, ids, joined("left").astype(np.intp) + offset)
        right = np.where(leaf, ids, joined("right").astype(np.intp) + offset)
        self.roots = starts
        self.children = np.stack([left, right], axis=1)
        self.feature = np.where(leaf, 0, joined("feature")).astype(np.intp)
        self.threshold = joined("threshold").astype(dtype)
        self.missing_left = np.where(leaf, False, joined("missing_left").astype(bool))
        self.value = joined("value").astype(dtype)
        self.depth = int(max(t["depth"] for t in trees))

    def leaf_values(self, rows: np.ndarray, left_if_equal: bool) -> np.ndarray:
        """``(n_rows, n_trees)`` leaf values; NaN goes the side each split learned for it."""
        n = len(rows)
        flat = rows.ravel()
        base = (np.arange(n) * rows.shape[1])[:, None]
        has_nan = bool(np.isnan(flat).any())
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        for _ in range(self.depth):
            x = flat[base + self.feature[node]]
            threshold = self.threshold[node]
            go_left = x <= threshold if left_if_equal else x < threshold
            if has_nan:
                go_left |= np.isnan(x) & self.missing_left[node]
            node = self.children[node, (~go_left).view(np.uint8)]
        return self.value[node]


class PackedEnsemble:
    """Raw scores (margins) of a boosted ensemble: ``baseline[k] + sum of its trees' leaves``."""

    def __init__(self, forests, baseline, dtype, left_if_equal: bool) -> None:
        self.forests = forests
        self.baseline = np.asarray(baseline, dtype=dtype).ravel()
        self.dtype = dtype
        self.left_if_equal = left_if_equal

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """``(n_rows, n_outputs)`` raw scores, summed tree after tree as the library sums."""
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        out = np.empty((len(rows), len(self.forests)), dtype=self.dtype)
        for k, forest in enumerate(self.forests):
            values = forest.leaf_values(rows, self.left_if_equal)
            start = np.full((len(rows), 1), self.baseline[k], dtype=self.dtype)
            # cumsum adds left to right: the same order and precision as the library's +=
            out[:, k] = np.cumsum(np.concatenate([start, values], axis=1), axis=1)[:, -1]
        return out


def pack_hist_gradient_boosting(model) -> PackedEnsemble:
    """Pack a fitted ``HistGradientBoostingRegressor``/``Classifier`` (numeric splits only)."""
    if model._preprocessor is not None:  # categorical features: bitset splits
        raise ValueError("categorical splits are not packed")
    forests = []
    for k in range(model.n_trees_per_iteration_):
        trees = []
        for iteration in model._predictors:
            nodes = iteration[k].nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not packed")
            trees.append(
                {
                    "left": nodes["left"],
                    "right": nodes["right"],
                    "feature": nodes["feature_idx"],
                    "threshold": nodes["num_threshold"],
                    "missing_left": nodes["missing_go_to_left"],
                    "value": nodes["value"],
                    "leaf": nodes["is_leaf"],
                    "depth": int(nodes["depth"].max()),
                }
            )
        forests.append(_Forest(trees, np.float64))
    return PackedEnsemble(forests, model._baseline_prediction, np.float64, left_if_equal=True)


def pack_xgboost(model) -> PackedEnsemble:
    """Pack a fitted single-output ``XGBRegressor`` with an identity objective (numeric splits).

    Trees up to the model's best iteration when it early-stopped, as its ``predict`` uses.
    """
    learner = json.loads(model.get_booster().save_raw("json"))["learner"]
    params = learner["learner_model_param"]
    if learner["objective"]["name"] not in _XGB_IDENTITY:
        raise ValueError(f"objective {learner['objective']['name']} is not packed")
    if int(params.get("num_class", 0)) > 1 or int(params.get("num_target", 1)) != 1:
        raise ValueError("multi-output boosters are not packed")
    gbm = learner["gradient_booster"]
    if gbm.get("name") != "gbtree":
        raise ValueError(f"booster {gbm.get('name')} is not packed")
    trees = gbm["model"]["trees"]
    begin, end = model._get_iteration_range(None)
    per_round = int(gbm["model"]["gbtree_model_param"]["num_parallel_tree"])
    if end:
        trees = trees[begin * per_round : end * per_round]
    elif begin:
        raise ValueError("iteration ranges that skip the first trees are not packed")
    packed = []
    for tree in trees:
        if any(tree["split_type"]) or tree["categories"]:
            raise ValueError("categorical splits are not packed")
        left = np.asarray(tree["left_children"])
        packed.append(
            {
                "left": left,
                "right": np.asarray(tree["right_children"]),
                "feature": np.asarray(tree["split_indices"]),
                "threshold": np.asarray(tree["split_conditions"], dtype=np.float32),
                "missing_left": np.asarray(tree["default_left"]),
                # a leaf keeps its value where an inner node keeps its threshold
                "value": np.asarray(tree["split_conditions"], dtype=np.float32),
                "leaf": left == -1,
                "depth": _depth(np.asarray(tree["parents"])),
            }
        )
    if not packed:
        raise ValueError("a booster without trees is not packed")
    base_score = float(str(params["base_score"]).strip("[]").split(",")[0])
    forest = _Forest(packed, np.float32)
    return PackedEnsemble([forest], [base_score], np.float32, left_if_equal=False)


def _depth(parents: np.ndarray) -> int:
    """Depth of the deepest node of an XGBoost tree from its parent links (root: no parent)."""
    root = (parents < 0) | (parents >= len(parents))
    depth = np.zeros(len(parents), dtype=np.intp)
    safe = np.where(root, 0, parents)
    for _ in range(len(parents)):
        new = np.where(root, 0, depth[safe] + 1)
        if np.array_equal(new, depth):
            break
        depth = new
    return int(depth.max())
