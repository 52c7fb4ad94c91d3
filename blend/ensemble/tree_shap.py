"""Exact TreeSHAP of an XGBoost booster by per-leaf tables (the "Fast TreeSHAP v2" idea).

XGBoost's own ``pred_contribs`` runs the original path-dependent TreeSHAP: ``O(L D^2)`` per
tree and row (``L`` leaves, depth ``D``), recomputing the same path weights for every row.
Those weights depend on the row only through which of the path's features the row *follows*.
For a leaf with value ``v`` whose path splits on the distinct features ``U`` (``d = |U|``),
with ``z_k`` the product of the cover fractions of the path's splits on feature ``k`` and
``o_k in {0, 1}`` whether the row goes the path's way at every split on ``k``, the leaf adds

    phi_i += v (o_i - z_i) sum_{S subset A - {i}} w(|S|, d) prod_{k in U - S - {i}} z_k,

``A = {k : o_k = 1}``, ``w(s, d) = s! (d - s - 1)! / d!``: a function of the bit mask ``A``
only. So the ``2^d x d`` values of every leaf are computed once per booster
(:func:`leaf_tables`, from elementary symmetric polynomials of the ``z``); a row then costs one
comparison per split on its leaves' paths, one mask per leaf and one table lookup per leaf and
path feature: ``O(L D)`` per tree and row, in numpy, no Python loop over rows. The values are
the same numbers XGBoost computes (float64 here, float32 there): the contributions and
XGBoost's bias sum to the booster's margin.

Used by :mod:`blend.ensemble.explain` for single-output boosters with numeric splits whose
paths use at most ``MAX_PATH_FEATURES`` distinct features and whose tables fit in
``MAX_TABLE_BYTES``; anything else goes to XGBoost's own ``pred_contribs``. The tables of a
booster are kept while the booster lives (a weak-keyed cache), so explaining it again skips
the build.
"""

from __future__ import annotations

import json
import math
import weakref

import numpy as np
import scipy.sparse as sp

__all__ = ["MAX_PATH_FEATURES", "MAX_TABLE_BYTES", "TreeTables", "tree_tables"]

MAX_PATH_FEATURES = 8
MAX_TABLE_BYTES = 256 * 2**20
_ROWS_PER_CHUNK = 16  # rows at a time: keeps the per-chunk arrays in cache
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _shapley_weights(d: int) -> np.ndarray:
    return np.array(
        [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
    )


def leaf_tables(z: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``(n_leaves, 2^d, d)``: leaf ``l``'s contribution to its ``i``-th path feature when the
    row follows exactly the path features in the bit mask ``m``.

    Parameters
    ----------
    z : ndarray of shape (n_leaves, d)
        Cover fraction of each distinct path feature (product over its splits).
    value : ndarray of shape (n_leaves,)
        Leaf values.

    Examples
    --------
    One split on feature 0 with half the cover on each side: a leaf of value 2 gives the row
    that reaches it ``2 (1 - 0.5) = 1`` and the row that does not ``2 (0 - 0.5) = -1``.

    >>> leaf_tables(np.array([[0.5]]), np.array([2.0]))[0, :, 0]
    array([-1.,  1.])
    """
    n, d = z.shape
    masks = np.arange(2**d)
    bits = ((masks[:, None] >> np.arange(d)) & 1).astype(bool)  # (M, d)
    w = _shapley_weights(d)
    if np.any(z <= 0):  # a split with an empty side: no division below
        return _leaf_tables_direct(z, value, bits, w)
    # coefficients of prod_k (z_k + t [k in A]): every slot at once, then one divided out
    full = np.zeros((n, 2**d, d + 1))
    full[:, :, 0] = 1.0
    for k in range(d):
        on = bits[:, k]
        grown = full * z[:, k][:, None, None]
        grown[:, on, 1:] += full[:, on, :-1]
        full = grown
    weighted = full[:, :, :d] @ w  # sum_j w_j [t^j], before dividing out slot i
    out = np.empty((n, 2**d, d))
    for i in range(d):
        zi = z[:, i][:, None]
        on = bits[:, i]
        # not following slot i: its factor is the constant z_i
        s = weighted / zi
        # following it: divide by (z_i + t), top down (stable for z_i <= 1), weighting as we go
        carry = np.zeros((n, int(on.sum())))
        s_on = np.zeros_like(carry)
        part = full[:, on, :]
        for j in range(d, 0, -1):
            carry = part[:, :, j] - zi * carry
            s_on += w[j - 1] * carry
        s[:, on] = s_on
        out[:, :, i] = value[:, None] * (bits[None, :, i] - zi) * s
    return out


def _leaf_tables_direct(z, value, bits, w) -> np.ndarray:
    """:func:`leaf_tables` without division: each slot's product built on its own."""
    n, d = z.shape
    out = np.empty((n, 2**d, d))
    for i in range(d):
        poly = np.zeros((n, 2**d, d))
        poly[:, :, 0] = 1.0
        for k in range(d):
            if k == i:
                continue
            zk = z[:, k][:, None, None]
            shifted = np.zeros_like(poly)
            shifted[:, :, 1:] = poly[:, :, :-1]
            poly = np.where(bits[None, :, k, None], poly * zk + shifted, poly * zk)
        out[:, :, i] = value[:, None] * (bits[None, :, i] - z[:, i][:, None]) * (poly @ w)
    return out


class TreeTables:
    """A booster's trees as flat arrays plus every leaf's table (see the module docstring).

    Built by :func:`tree_tables`; ``contributions(Z)`` gives ``(n, n_features)``.
    """

    def __init__(self, trees: list[dict], n_features: int):
        nodes, leaves = self._flatten(trees)
        feat, thr, default_left = nodes
        # leaves sorted by their number of distinct path features d: one block per d
        order = np.argsort(leaves[-1], kind="stable")
        path_node, path_left, path_slot, z, value, d = (a[order] for a in leaves)
        slot_features = self._slot_features[order]
        n_leaves, depth = path_node.shape
        self.n_features = n_features
        self.blocks = []  # (first leaf, last leaf + 1, d, table (n * 2^d, d), to_features)
        for k in np.unique(d):
            rows = np.flatnonzero(d == k)
            if k == 0:  # a tree that is a single leaf adds nothing to any feature
                continue
            k = int(k)
            table = leaf_tables(z[rows, :k], value[rows]).reshape(len(rows) * 2**k, k)
            to_features = sp.csr_matrix(
                (
                    np.ones(len(rows) * k),
                    (np.arange(len(rows) * k), slot_features[rows, :k].ravel()),
                ),
                shape=(len(rows) * k, n_features),
            )
            self.blocks.append((rows[0], rows[-1] + 1, k, table, to_features))
        used, inverse = np.unique(path_node, return_inverse=True)
        self.split_feature = feat[used]
        self.threshold = thr[used]
        self.default_left = default_left[used]
        self.step_split = inverse.reshape(n_leaves, depth).T.ravel()  # (depth * n_leaves,)
        self.step_left = path_left.T.ravel()
        self.step_bit = (1 << path_slot.T.ravel()).astype(np.uint8)  # the step's slot, as a bit
        self.depth, self.n_leaves = depth, n_leaves
        self.full = ((1 << d) - 1).astype(np.uint8)

    def _flatten(self, trees):
        feats, thrs, defaults, lefts, rights, covers, values = [], [], [], [], [], [], []
        roots, offset = [], 0
        for t in trees:
            n = len(t["left_children"])
            left = np.asarray(t["left_children"], dtype=np.int64)
            right = np.asarray(t["right_children"], dtype=np.int64)
            roots.append(offset)
            lefts.append(np.where(left >= 0, left + offset, -1))
            rights.append(np.where(right >= 0, right + offset, -1))
            feats.append(np.asarray(t["split_indices"], dtype=np.int64))
            thrs.append(np.asarray(t["split_conditions"], dtype=np.float32))
            defaults.append(np.asarray(t["default_left"], dtype=bool))
            covers.append(np.asarray(t["sum_hessian"], dtype=np.float64))
            values.append(np.asarray(t["split_conditions"], dtype=np.float64))
            offset += n
        feat, thr, default_left = (np.concatenate(a) for a in (feats, thrs, defaults))
        left, right, cover, value = (np.concatenate(a) for a in (lefts, rights, covers, values))
        # walk all trees level by level: each frontier node carries its path so far
        front = np.asarray(roots)
        p_node = np.zeros((len(front), 0), dtype=np.int64)
        p_left = np.zeros((len(front), 0), dtype=bool)
        done_node, done_left, done_leaf = [], [], []
        while len(front):
            is_leaf = left[front] < 0
            done_node.append(p_node[is_leaf])
            done_left.append(p_left[is_leaf])
            done_leaf.append(front[is_leaf])
            inner = front[~is_leaf]
            if len(inner) == 0:
                break
            base_node, base_left = p_node[~is_leaf], p_left[~is_leaf]
            front = np.concatenate([left[inner], right[inner]])
            p_node = np.vstack([base_node, base_node])
            p_node = np.hstack([p_node, np.concatenate([inner, inner])[:, None]])
            p_left = np.vstack([base_left, base_left])
            went = np.concatenate([np.ones(len(inner), bool), np.zeros(len(inner), bool)])
            p_left = np.hstack([p_left, went[:, None]])
        depth = max(len(a[0]) if len(a) else 0 for a in done_node)
        depth = max(depth, 1)
        path_node = np.vstack([_pad(a, depth, -1) for a in done_node])
        path_left = np.vstack([_pad(a, depth, False) for a in done_left])
        leaf = np.concatenate(done_leaf)
        n_leaves = len(leaf)
        # distinct features per path: slot = rank of the feature's first step on the path
        real = path_node >= 0
        pf = np.where(real, feat[np.maximum(path_node, 0)], -1 - np.arange(depth)[None, :])
        same = pf[:, :, None] == pf[:, None, :]
        first = np.argmax(same, axis=2)
        is_first = (first == np.arange(depth)[None, :]) & real
        rank = np.cumsum(is_first, axis=1) - 1
        slot = np.take_along_axis(rank, first, axis=1)
        d = is_first.sum(axis=1)
        # cover fraction of each step, multiplied per slot
        child = np.where(path_left, left[np.maximum(path_node, 0)], right[np.maximum(path_node, 0)])
        ratio = np.where(real, cover[np.maximum(child, 0)] / cover[np.maximum(path_node, 0)], 1.0)
        width = max(int(d.max()), 1)
        z = np.ones((n_leaves, width))
        rows = np.repeat(np.arange(n_leaves), depth)
        np.multiply.at(z, (rows[real.ravel()], slot.ravel()[real.ravel()]), ratio[real])
        slot_feature = np.zeros((n_leaves, width), dtype=np.int64)
        slot_feature[rows[is_first.ravel()], slot.ravel()[is_first.ravel()]] = pf[is_first]
        self._slot_features = slot_feature
        # padded steps repeat the path's first step (a no-op in the mask); a root leaf has none
        first_node = np.where(real[:, 0], path_node[:, 0], 0)
        path_node = np.where(real, path_node, first_node[:, None])
        path_left = np.where(real, path_left, path_left[:, :1])
        slot = np.where(real, slot, 0)
        return (feat, thr, default_left), (path_node, path_left, slot, z, value[leaf], d)

    def contributions(self, Z, missing: float = np.nan) -> np.ndarray:
        """``(n, n_features)`` TreeSHAP values of the rows of ``Z`` (dense or sparse; NaN,
        ``missing`` and, for sparse input, absent entries are missing, as XGBoost reads them)."""
        n = Z.shape[0]
        features, inverse = np.unique(self.split_feature, return_inverse=True)
        x_all = _columns(Z, features)
        if not np.isnan(missing):
            x_all[x_all == np.float32(missing)] = np.nan
        out = np.empty((n, self.n_features))
        for a in range(0, n, _ROWS_PER_CHUNK):
            x = x_all[a : a + _ROWS_PER_CHUNK][:, inverse]
            go_left = np.where(np.isnan(x), self.default_left, x < self.threshold)
            strays = go_left[:, self.step_split] != self.step_left
            bad = (strays * self.step_bit).reshape(len(x), self.depth, -1)
            failed = bad[:, 0]
            for step in range(1, self.depth):
                failed = failed | bad[:, step]
            mask = self.full & ~failed
            total = np.zeros((self.n_features, len(x)))
            for first, last, k, table, to_features in self.blocks:
                rows = mask[:, first:last] + (np.arange(last - first) << k)
                values = np.take(table, rows, axis=0).reshape(len(x), -1)
                total += to_features.T @ values.T
            out[a : a + _ROWS_PER_CHUNK] = total.T
        return out


def _pad(a: np.ndarray, width: int, fill) -> np.ndarray:
    out = np.full((len(a), width), fill, dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


def _columns(Z, features: np.ndarray) -> np.ndarray:
    """Float32 values of the columns ``features`` (absent sparse entries as NaN)."""
    if sp.issparse(Z):
        Z = sp.csc_matrix(Z)[:, features].tocsr()
        dense = np.full(Z.shape, np.nan, dtype=np.float32)
        rows = np.repeat(np.arange(Z.shape[0]), np.diff(Z.indptr))
        dense[rows, Z.indices] = Z.data
        return dense
    return np.asarray(Z, dtype=np.float32)[:, features]


def tree_tables(booster, iteration_range: tuple[int, int], n_features: int):
    """The booster's :class:`TreeTables` (cached while it lives), or None where the fast path
    does not apply (several outputs, categorical or non-tree boosters, paths with more than
    ``MAX_PATH_FEATURES`` features, tables above ``MAX_TABLE_BYTES``)."""
    key = (tuple(iteration_range), n_features)
    try:
        cached = _CACHE.setdefault(booster, {})
    except TypeError:
        cached = {}
    if key in cached:
        return cached[key]
    cached[key] = tables = _build(booster, iteration_range, n_features)
    return tables


def _build(booster, iteration_range, n_features):
    model = json.loads(booster.save_raw("json"))["learner"]
    gb = model["gradient_booster"]
    if gb.get("name") != "gbtree" or int(model["learner_model_param"]["num_class"]) > 1:
        return None
    if int(model["learner_model_param"].get("num_target", "1")) > 1:
        return None
    trees = gb["model"]["trees"]
    lo, hi = iteration_range
    if hi > lo:
        per = len(trees) // max(booster.num_boosted_rounds(), 1)
        trees = trees[lo * per : hi * per]
    if not trees or any(any(t.get("split_type", [])) for t in trees):
        return None
    depth = max(_depth(t) for t in trees)
    width = min(depth, n_features)
    leaves = sum(sum(1 for c in t["left_children"] if c < 0) for t in trees)
    if width > MAX_PATH_FEATURES or leaves * 2**width * width * 8 > MAX_TABLE_BYTES:
        return None
    return TreeTables(trees, n_features)


def _depth(tree: dict) -> int:
    left, right = tree["left_children"], tree["right_children"]
    depth, level = 0, [0]
    while True:
        level = [c for n in level for c in (left[n], right[n]) if c >= 0]
        if not level:
            return depth
        depth += 1
