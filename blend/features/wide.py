"""DataFrame -> integer ids of the wide (linear) features.

Every wide feature is a *field* with its own range of ids in one table, so the whole wide part
is a single Keras input ``"wide"`` of shape ``(n_fields,)`` read by
:class:`~blend.members.wide_deep.layers.WideLinear`
(one weight per id, summed over the fields: exactly a
linear model over the one-hot encoding). The fields are

* one per categorical column: id 0 = missing, 1 = level unseen in fit, 2.. = levels;
* one per numeric column: id 0 = missing, then quantile buckets learned in fit;
* one per cross of categorical columns: the CRC-32 hash bucket of the combination (see
  :mod:`blend.features.crosses`; a combination unseen in fit lands in its hash bucket, whose weight
  stays 0 unless a seen combination shares it);
* optionally one per tree of a boosted model fitted on the same rows: the tree's leaf
  (He et al. 2014, "Practical lessons from predicting clicks on ads at Facebook").

With ``images=True`` each image column also gives the wide part a dense block: generic
colour, texture and blemish descriptors
(:func:`~blend.features.image_descriptors.image_descriptors`),
standardized on the fit rows, read by a linear layer beside the one-hot ids (Keras input
``"wide_dense"``), so the linear part sees what is in the photos. Text columns are left to the
deep part.
"""

from __future__ import annotations

import bisect
import itertools
import numbers
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from blend.features.crosses import (
    CombinationBuckets,
    check_crosses,
    cross_name,
    hash_combinations,
    propose_crosses,
)
from blend.features.validation import (
    _FLOAT32_MAX,
    FEW_ROWS,
    category_block,
    category_levels,
    category_values,
    check_columns,
    fitted_digest,
    level_codes,
    numeric_block,
    numeric_values,
    once_per_call,
)
from blend.roles import columns_with, resolve_roles

__all__ = ["WIDE_DENSE", "WIDE_INPUT", "Field", "WideEncoder"]

WIDE_INPUT = "wide"
WIDE_DENSE = "wide_dense"
MISSING_ID, UNSEEN_ID = 0, 1
_GBDT_DEFAULTS = {"n_estimators": 50, "max_depth": 4, "learning_rate": 0.1, "subsample": 0.8}
IMAGE_GRID = 2  # 2 x 2 grayscale layout cells: the wide part wants summaries, not pixels
# fitted encoder -> (its fields_ at the time, the lookup tables of its few-rows path)
_FEW_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
        significant for the target (:func:`~blend.features.crosses.propose_crosses`).
    max_crosses : int, default=8
        The most pairs ``"auto"`` proposes.
    cross_buckets : int, default=1000
        Hash buckets per cross.
    numeric_buckets : int, default=10
        Quantile buckets per numeric column (fewer when the column has fewer distinct values).
    images : bool, default=False
        Also describe each image column (colour, texture, layout and blemish statistics) as
        standardized dense features, named ``"<column>:<descriptor>"`` (:meth:`transform_dense`).
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
    dense_names_ : list of str
        The dense image descriptors (empty without ``images`` or image columns).
    """

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        crosses: object = "auto",
        max_crosses: int = 8,
        cross_buckets: int = 1000,
        numeric_buckets: int = 10,
        images: bool = False,
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
        self.images = images
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
            edges = self._quantile_edges(numeric_values(X[column], column))
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
        self._fit_dense(X, roles)
        if not fields and not self.dense_names_:
            raise ValueError(
                "The wide part has no feature: it reads categorical and numeric columns (and "
                f"boosted-tree leaves, image descriptors), and the roles are {roles}. Give "
                "some columns those roles, or use deep only (wide=False)."
            )
        self.fields_ = fields
        self.labels_ = labels
        self.n_ids_ = offset
        read = {c for f in fields for c in f.columns} | set(self._images)
        self.columns_ = [c for c in X.columns if c in read]
        ids = self.transform(X)
        self.id_counts_ = np.bincount(ids.ravel(), minlength=self.n_ids_)
        return self

    def _quantile_edges(self, values: np.ndarray) -> np.ndarray:
        finite = values[np.isfinite(values)]
        quantiles = np.linspace(0, 1, self.numeric_buckets + 1)[1:-1]
        return np.unique(np.quantile(finite, quantiles)) if len(finite) else np.array([])

    def _fit_dense(self, X: pd.DataFrame, roles: dict) -> None:
        from blend.features.image_descriptors import image_descriptor_names, image_scale
        from blend.features.images import image_shape, read_images

        self._images: dict[str, tuple] = {}  # column -> (shape, pixel scale)
        self.dense_names_, blocks = [], []
        for column in columns_with(roles, "image") if self.images else []:
            shape = image_shape(X[column], column)
            pixels = read_images(X[column], shape, column)
            self._images[column] = (shape, image_scale(pixels))
            blocks.append(self._descriptors(column, pixels))
            names = image_descriptor_names(shape, IMAGE_GRID)
            self.dense_names_ += [f"{column}:{name}" for name in names]
        if blocks:
            table = np.hstack(blocks)
            self._dense_mean = np.nanmean(table, axis=0)
            std = np.nanstd(table, axis=0)
            self._dense_scale = np.where(std > 1e-12, std, np.inf)  # constant: contributes 0

    def _descriptors(self, column: str, pixels: np.ndarray | None = None, series=None):
        """``(n, n_descriptors)`` of an image column (pixels, or read from ``series``)."""
        from blend.features.image_descriptors import image_descriptors
        from blend.features.images import read_images

        shape, scale = self._images[column]
        if pixels is None:
            pixels = read_images(series, shape, column)
        return np.asarray(image_descriptors(pixels, IMAGE_GRID, scale), dtype=np.float64)

    def transform_dense(self, X: pd.DataFrame) -> np.ndarray | None:
        """The standardized image descriptors ``(n_rows, len(dense_names_))``, or None."""
        if not self.dense_names_:
            return None
        from blend.features.tree import describe_images

        blocks = [
            np.asarray(describe_images(X, c, shape, IMAGE_GRID, scale), dtype=np.float64)
            for c, (shape, scale) in self._images.items()
        ]
        table = np.hstack(blocks)
        z = (table - self._dense_mean) / self._dense_scale
        return np.nan_to_num(z, nan=0.0).astype(np.float32)  # a missing value sits at the mean

    def _fit_trees(self, X: pd.DataFrame, y: np.ndarray, roles: dict):
        from xgboost import XGBClassifier, XGBRegressor

        from blend.features.tree import make_tree_pipeline

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
    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The ``(n_rows, n_fields)`` int32 ids (offsets included) of ``X``; ``X`` is unchanged."""
        if not hasattr(self, "fields_"):
            raise ValueError("This WideEncoder is not fitted yet; call fit(X) first.")
        check_columns(X, getattr(self, "columns_", []), who="the wide part")
        # encoders fitted alike (the linear and the wide & deep members') share one transform
        digest = fitted_digest(self, self.fields_, exclude=("id_counts_",))  # fit: new fields_
        return once_per_call(X, ("wide ids", digest), lambda: self._ids(X))

    def _ids(self, X: pd.DataFrame) -> np.ndarray:
        if 0 < len(X) <= FEW_ROWS:
            ids = self._few_ids(X)
            if ids is not None:
                return ids
        out = np.empty((len(X), len(self.fields_)), dtype=np.int64)
        leaves = None
        read = [c for f in self.fields_ if f.kind in ("categorical", "cross") for c in f.columns]
        levels = category_block(X, read)  # each column's cells read once (crosses reuse them)
        numeric = [f.columns[0] for f in self.fields_ if f.kind == "numeric"]
        numbers = dict(zip(numeric, numeric_block(X, numeric).T))

        for j, field in enumerate(self.fields_):
            if field.kind == "categorical":
                ids = self._categorical(levels[field.columns[0]], field.columns[0])
            elif field.kind == "numeric":
                ids = self._numeric_ids(numbers[field.columns[0]], field.columns[0])
            elif field.kind == "cross":
                cells = {column: levels[column] for column in field.columns}
                ids, _ = hash_combinations(cells, field.columns, field.size)
            else:
                if leaves is None:
                    leaves = self._leaves(X)
                ids = self._leaf_ids(leaves, field)
            out[:, j] = field.offset + ids
        return out.astype(np.int32)

    def _leaves(self, X: pd.DataFrame) -> np.ndarray:
        return self.gbdt_[-1].apply(self.gbdt_[0].transform(X)).reshape(len(X), -1)

    @staticmethod
    def _leaf_ids(leaves: np.ndarray, field: Field) -> np.ndarray:
        tree = int(field.name.rsplit("_", 1)[1])
        return np.clip(leaves[:, tree].astype(np.int64), 0, field.size - 1)

    # ------------------------------------------------------------------ a few rows
    # One-row predictions spend their time in pandas' and numpy's fixed cost per call, once per
    # field; for a few rows each needed cell is read once into Python, the categorical levels
    # looked up in a dict, the numeric buckets found by bisection and the crosses hashed as
    # hash_combinations hashes them: the same ids as the batch path of _ids, cell for cell.
    def _few_plan(self) -> dict:
        """The few-rows lookup tables of this fit (built once per fit)."""
        found = _FEW_PLANS.get(self)
        if found is not None and found[0] is self.fields_:
            return found[1]
        read = [c for f in self.fields_ if f.kind in ("categorical", "cross") for c in f.columns]
        category_columns = list(dict.fromkeys(read))  # as category_block reads them
        numeric_columns = [f.columns[0] for f in self.fields_ if f.kind == "numeric"]
        steps = []  # per field: (kind, what it reads, offset, table)
        for field in self.fields_:
            if field.kind == "categorical":
                levels = self._levels[field.columns[0]]
                table = dict(zip(levels, range(2, len(levels) + 2)))  # id = position + 2
                steps.append(("categorical", field.columns[0], field.offset, table))
            elif field.kind == "numeric":
                edges = np.asarray(self._edges[field.columns[0]], dtype=np.float64).tolist()
                steps.append(("numeric", field.columns[0], field.offset, edges))
            elif field.kind == "cross":
                hasher = CombinationBuckets(field.columns, field.size)
                steps.append(("cross", field.columns, field.offset, hasher))
            else:
                steps.append(("leaves", None, field.offset, field))
        plan = {"category": category_columns, "numeric": numeric_columns, "steps": steps}
        _FEW_PLANS[self] = (self.fields_, plan)
        return plan

    def _few_ids(self, X: pd.DataFrame) -> np.ndarray | None:
        """:meth:`_ids` of a few rows, or None where the frame is not one this path reads
        (a needed column name held twice, a DataFrame without its per-column arrays)."""
        column_array = getattr(X, "_get_column_array", None)  # a column as stored, no Series
        if column_array is None:
            return None
        plan = self._few_plan()
        n = len(X)
        where = X.columns.get_loc
        arrays = {}
        for column in itertools.chain(plan["category"], plan["numeric"]):
            loc = where(column)
            if not isinstance(loc, (int, np.integer)):  # a repeated name: a slice or mask
                return None
            arrays[column] = column_array(int(loc))

        # categorical cells as category_values reads them (Series iteration; a categorical
        # column's levels indexed by its codes), all columns converted in one call
        cells = []
        for column in plan["category"]:
            array = arrays[column]
            if isinstance(array.dtype, pd.CategoricalDtype):
                cells += category_levels(array.dtype)[array.codes].tolist()
            else:
                cells += array.tolist() if isinstance(array, np.ndarray) else list(array)
        values = category_values(cells).tolist() if cells else []
        levels = {c: values[i * n : (i + 1) * n] for i, c in enumerate(plan["category"])}

        numbers = {}
        for column in plan["numeric"]:  # in field order: numeric_values' error for the first
            array = arrays[column]
            dtype = array.dtype
            if isinstance(array, np.ndarray) and dtype.kind in "fiub" and dtype.itemsize <= 8:
                numbers[column] = [float(v) for v in array.tolist()]
            else:  # numbers stored as strings, nullable and other extension dtypes
                numbers[column] = numeric_values(X[column], column).tolist()

        columns, leaves = [], None
        for kind, read, offset, table in plan["steps"]:
            if kind == "categorical":
                ids = [
                    offset + (MISSING_ID if v is None else table.get(v, UNSEEN_ID))
                    for v in levels[read]
                ]
            elif kind == "numeric":
                ids = [
                    offset + 1 + bisect.bisect_right(table, v)
                    if abs(v) <= _FLOAT32_MAX  # False for NaN; inf and beyond: missing
                    else offset + MISSING_ID
                    for v in numbers[read]
                ]
            elif kind == "cross":
                ids = [offset + table(combo) for combo in zip(*(levels[c] for c in read))]
            else:
                if leaves is None:
                    leaves = self._leaves(X)
                ids = (offset + self._leaf_ids(leaves, table)).tolist()
            columns.append(ids)
        out = np.array(columns, dtype=np.int64).reshape(len(columns), n).T
        return out.astype(np.int32, order="C")

    def one_hot(self, X: pd.DataFrame):
        """The sparse one-hot matrix ``(n_rows, n_ids_)`` of :meth:`transform`'s ids.

        An id that several fields share (missing) counts once per field, as in the layer.
        """
        from scipy import sparse

        ids = self.transform(X)
        n, fields = ids.shape
        # a few rows' pointers as int32, the index dtype scipy would pick after reading them
        indptr = np.arange(0, n * fields + 1, fields, dtype=np.int32 if n <= FEW_ROWS else None)
        matrix = sparse.csr_matrix(
            (np.ones(n * fields), ids.ravel(), indptr), shape=(n, self.n_ids_)
        )
        matrix.sum_duplicates()
        return matrix

    def _categorical(self, values: np.ndarray, column: str) -> np.ndarray:
        index = level_codes(self._levels[column], values)
        ids = np.where(index < 0, UNSEEN_ID, index + 2)
        return np.where(pd.isna(values), MISSING_ID, ids)

    def _numeric(self, series: pd.Series, column: str) -> np.ndarray:
        return self._numeric_ids(numeric_values(series, column), column)

    def _numeric_ids(self, values: np.ndarray, column: str) -> np.ndarray:
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
