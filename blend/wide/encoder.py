"""DataFrame -> integer ids of the wide (linear) features.

Every wide feature is a *field* with its own range of ids in one table, so the whole wide part
is a single Keras input ``"wide"`` of shape ``(n_fields,)`` read by
:class:`~blend.wide.layers.WideLinear` (one weight per id, summed over the fields: exactly a
linear model over the one-hot encoding). The fields are

* one per categorical column: id 0 = missing, 1 = level unseen in fit, 2.. = levels;
* one per numeric column: id 0 = missing, then quantile buckets learned in fit;
* one per cross of categorical columns: the CRC-32 hash bucket of the combination (see
  :mod:`blend.wide.crosses`; a combination unseen in fit lands in its hash bucket, whose weight
  stays 0 unless a seen combination shares it);
* optionally one per tree of a boosted model fitted on the same rows: the tree's leaf
  (He et al. 2014, "Practical lessons from predicting clicks on ads at Facebook").

Text and image columns are left to the deep part.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import category_values, check_columns, level_codes, numeric_values
from ..roles import columns_with, resolve_roles
from .crosses import check_crosses, cross_name, hash_combinations, propose_crosses

__all__ = ["WIDE_INPUT", "Field", "JointEncoder", "WideEncoder"]

WIDE_INPUT = "wide"
MISSING_ID, UNSEEN_ID = 0, 1
_GBDT_DEFAULTS = {"n_estimators": 50, "max_depth": 4, "learning_rate": 0.1, "subsample": 0.8}


@dataclass(frozen=True)
class Field:
    """One wide feature: its ids are ``offset .. offset + size - 1`` of the wide table.

    ``kind`` is ``"categorical"``, ``"numeric"``, ``"cross"`` or ``"gbdt"``; ``columns`` the
    columns it reads (the trees read every column).
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    offset: int
    size: int


class WideEncoder:
    """Learn the wide fields on a DataFrame and map frames to their ids.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides (see :func:`blend.infer_roles`).
    crosses : None, "auto" or list of tuples of column names, default="auto"
        Crossed categorical columns. ``"auto"`` keeps the pairs whose interaction is
        significant for the target (:func:`~blend.wide.crosses.propose_crosses`).
    max_crosses : int, default=8
        The most pairs ``"auto"`` proposes.
    cross_buckets : int, default=1000
        Hash buckets per cross.
    numeric_buckets : int, default=10
        Quantile buckets per numeric column (fewer when the column has fewer distinct values).
    gbdt_leaves : bool, default=False
        Add the leaf of each tree of an XGBoost model fitted on ``(X, y)`` as a field.
    gbdt_params : dict, optional
        XGBoost keyword arguments over the defaults ``n_estimators=50, max_depth=4,
        learning_rate=0.1, subsample=0.8``.
    task : {"regression", "classification"}
    random_state : int, optional

    Attributes
    ----------
    roles_ : dict
    fields_ : list of Field
    n_ids_ : int
        Size of the wide table.
    crosses_ : list of tuple
    labels_ : list
        Per field, the name of each id (a list), or for crosses ``{bucket: combinations}``.
    id_counts_ : ndarray of int
        How many fit rows hit each id (to weigh the weights into importances).
    gbdt_ : sklearn Pipeline or None
        The fitted boosted trees when ``gbdt_leaves``.
    """

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        crosses: object = "auto",
        max_crosses: int = 8,
        cross_buckets: int = 1000,
        numeric_buckets: int = 10,
        gbdt_leaves: bool = False,
        gbdt_params: Mapping | None = None,
        task: str = "regression",
        random_state: int | None = None,
    ) -> None:
        self.roles = roles
        self.crosses = crosses
        self.max_crosses = max_crosses
        self.cross_buckets = cross_buckets
        self.numeric_buckets = numeric_buckets
        self.gbdt_leaves = gbdt_leaves
        self.gbdt_params = gbdt_params
        self.task = task
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        for name, low in (("max_crosses", 1), ("cross_buckets", 2), ("numeric_buckets", 2)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        if self.gbdt_params is not None and not isinstance(self.gbdt_params, Mapping):
            raise ValueError(f"gbdt_params must be a dict or None, got {self.gbdt_params!r}.")

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> WideEncoder:
        """Learn levels, buckets, crosses (and trees) from ``X`` (and the encoded target)."""
        self._check_params()
        roles = resolve_roles(X, self.roles)
        self.roles_ = roles
        categorical = columns_with(roles, "categorical")
        numeric = columns_with(roles, "numeric")
        if self.crosses is None:
            crosses = []
        elif isinstance(self.crosses, str) and self.crosses == "auto":
            crosses = propose_crosses(X, y, categorical, max_crosses=self.max_crosses)
        else:
            crosses = check_crosses(self.crosses, roles)
        self.crosses_ = crosses

        fields, labels, self._levels, self._edges = [], [], {}, {}
        offset = 0

        def add(name, kind, columns, size, names):
            nonlocal offset
            fields.append(Field(name, kind, tuple(columns), offset, size))
            labels.append(names)
            offset += size

        for column in categorical:
            values = pd.Series(category_values(X[column])).dropna()
            counts = values.value_counts()
            levels = sorted(counts.index, key=lambda v: (-counts[v], v))
            self._levels[column] = pd.Index(levels, dtype=object)
            add(
                column, "categorical", [column], len(levels) + 2, ["<missing>", "<unseen>", *levels]
            )
        for column in numeric:
            values = numeric_values(X[column], column)
            finite = values[np.isfinite(values)]
            quantiles = np.linspace(0, 1, self.numeric_buckets + 1)[1:-1]
            edges = np.unique(np.quantile(finite, quantiles)) if len(finite) else np.array([])
            self._edges[column] = edges
            add(column, "numeric", [column], len(edges) + 2, ["<missing>", *_bucket_names(edges)])
        for cross in crosses:
            _, combos = hash_combinations(X, cross, self.cross_buckets)
            add(cross_name(cross), "cross", cross, self.cross_buckets, combos)
        self.gbdt_ = None
        if self.gbdt_leaves:
            if y is None:
                raise ValueError("gbdt_leaves=True needs the target: fit(X, y).")
            self.gbdt_, depth, n_trees = self._fit_trees(X, y, roles)
            used = [c for c, r in roles.items() if r != "ignore"]
            for tree in range(n_trees):
                size = 2 ** (depth + 1) - 1  # node ids of a depth-d tree are < 2**(d+1) - 1
                add(f"gbdt_tree_{tree}", "gbdt", used, size,
                    [f"node {i}" for i in range(size)])  # fmt: skip
        if not fields:
            raise ValueError(
                "The wide part has no feature: it reads categorical and numeric columns (and "
                f"boosted-tree leaves), and the roles are {roles}. Give some columns those "
                "roles, or use deep only (wide=False)."
            )
        self.fields_ = fields
        self.labels_ = labels
        self.n_ids_ = offset
        read = {c for f in fields for c in f.columns}
        self.columns_ = [c for c in X.columns if c in read]
        ids = self.transform(X)
        self.id_counts_ = np.bincount(ids.ravel(), minlength=self.n_ids_)
        return self

    def _fit_trees(self, X: pd.DataFrame, y: np.ndarray, roles: dict):
        from xgboost import XGBClassifier, XGBRegressor

        from ..featurize import make_tree_pipeline

        params = {**_GBDT_DEFAULTS, "random_state": self.random_state, "n_jobs": 2}
        params.update(self.gbdt_params or {})
        y = np.asarray(y)
        if self.task == "classification":
            model, target = XGBClassifier(**params), y.ravel().astype(np.int64)
        else:
            model = XGBRegressor(**params)
            target = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
        pipeline = make_tree_pipeline(model, roles).fit(X, target)
        leaves = pipeline[-1].apply(pipeline[0].transform(X))
        return pipeline, int(params["max_depth"]), leaves.reshape(len(X), -1).shape[1]

    # ------------------------------------------------------------------ transform
    @property
    def spec(self):
        """The :class:`~blend.deep.inputs.InputSpec` of the ``"wide"`` Keras input."""
        from ..deep.inputs import InputSpec

        return InputSpec(WIDE_INPUT, "wide", tuple(self.columns_), (len(self.fields_),), "int32",
                         vocab_size=self.n_ids_)  # fmt: skip

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The ``(n_rows, n_fields)`` int32 ids (offsets included) of ``X``; ``X`` is unchanged."""
        if not hasattr(self, "fields_"):
            raise ValueError("This WideEncoder is not fitted yet; call fit(X) first.")
        check_columns(X, getattr(self, "columns_", []), who="the wide part")
        out = np.empty((len(X), len(self.fields_)), dtype=np.int64)
        leaves = None
        levels: dict[str, np.ndarray] = {}  # each column's cells read once (crosses reuse them)

        def read(column: str) -> np.ndarray:
            if column not in levels:
                levels[column] = category_values(X[column])
            return levels[column]

        for j, field in enumerate(self.fields_):
            if field.kind == "categorical":
                ids = self._categorical(read(field.columns[0]), field.columns[0])
            elif field.kind == "numeric":
                ids = self._numeric(X[field.columns[0]], field.columns[0])
            elif field.kind == "cross":
                cells = {column: read(column) for column in field.columns}
                ids, _ = hash_combinations(cells, field.columns, field.size)
            else:
                if leaves is None:
                    leaves = self.gbdt_[-1].apply(self.gbdt_[0].transform(X)).reshape(len(X), -1)
                tree = int(field.name.rsplit("_", 1)[1])
                ids = np.clip(leaves[:, tree].astype(np.int64), 0, field.size - 1)
            out[:, j] = field.offset + ids
        return out.astype(np.int32)

    def _categorical(self, values: np.ndarray, column: str) -> np.ndarray:
        index = level_codes(self._levels[column], values)
        ids = np.where(index < 0, UNSEEN_ID, index + 2)
        return np.where(pd.isna(values), MISSING_ID, ids)

    def _numeric(self, series: pd.Series, column: str) -> np.ndarray:
        values = numeric_values(series, column)
        ids = 1 + np.searchsorted(self._edges[column], values, side="right")
        return np.where(np.isnan(values), MISSING_ID, ids)

    def id_names(self) -> pd.DataFrame:
        """One row per id hit in fit: ``feature``, ``kind``, ``level``, ``id``, ``count``."""
        rows = []
        for field, names in zip(self.fields_, self.labels_):
            local = np.nonzero(self.id_counts_[field.offset : field.offset + field.size])[0]
            for i in local:
                level = " | ".join(names[i]) if isinstance(names, dict) else names[i]
                index = field.offset + int(i)
                rows.append((field.name, field.kind, level, index, int(self.id_counts_[index])))
        return pd.DataFrame(rows, columns=["feature", "kind", "level", "id", "count"])


def _bucket_names(edges: np.ndarray) -> list[str]:
    if len(edges) == 0:
        return ["all"]
    text = [f"{e:.4g}" for e in edges]
    middle = [f"[{a}, {b})" for a, b in itertools.pairwise(text)]
    return [f"< {text[0]}", *middle, f">= {text[-1]}"]


class JointEncoder:
    """The deep part's :class:`~blend.deep.inputs.InputEncoder` plus a :class:`WideEncoder`.

    Behaves like an ``InputEncoder`` (``fit``, ``transform``, ``specs_``, ``roles_``,
    ``streamed``, ``read_images``): its arrays are the deep inputs plus ``"wide"``. Either part
    may be ``None`` (wide-only or deep-only ablations). The encoded target is handed over at
    construction (the wide part uses it for ``crosses="auto"`` and the trees) and dropped after
    ``fit``.
    """

    def __init__(self, deep=None, wide: WideEncoder | None = None, y: np.ndarray | None = None):
        self.deep = deep
        self.wide = wide
        self.y = y

    def fit(self, X: pd.DataFrame) -> JointEncoder:
        if self.deep is not None:
            self.deep.fit(X)
        if self.wide is not None:
            self.wide.fit(X, self.y)
        self.y = None  # the target is not part of the fitted state
        parts = [p for p in (self.deep, self.wide) if p is not None]
        self.roles_ = dict(parts[0].roles_)
        self.specs_ = list(self.deep.specs_) if self.deep is not None else []
        if self.wide is not None:
            self.specs_.append(self.wide.spec)
        return self

    @property
    def streamed(self) -> list:
        return self.deep.streamed if self.deep is not None else []

    def read_images(self, spec, cells):
        return self.deep.read_images(spec, cells)

    def transform(self, X: pd.DataFrame, *, skip: Sequence[str] = ()) -> dict[str, np.ndarray]:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"Expected a pandas DataFrame, got {type(X).__name__}.")
        out = self.deep.transform(X, skip=skip) if self.deep is not None else {}
        if self.wide is not None and WIDE_INPUT not in skip:
            out[WIDE_INPUT] = self.wide.transform(X)
        return out
