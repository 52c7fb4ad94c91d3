"""Tree members' view of a mixed DataFrame: one matrix from numbers, categories, text and images.

:class:`MixedFeaturizer` turns every column into tree-friendly features according to its role;
:func:`make_tree_pipeline` puts it in front of a tree model with settings that suit that model
(sparse input and NaN kept for XGBoost, dense input for forests, imputation for models that
cannot read NaN).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from blend.features import image_descriptors as _descriptors
from blend.features.image_descriptors import image_descriptor_names, image_descriptors, image_scale
from blend.features.images import image_shape, read_images
from blend.features.text import TextEncoder, dense_to_csr, stack_few_rows
from blend.features.validation import (
    FEW_ROWS,
    beyond_float32_as_missing,
    category_values,
    check_columns,
    ensure_frame,
    fitted_digest,
    level_codes,
    numeric_values,
    once_per_call,
    shared_work,
    text_values,
)
from blend.roles import resolve_roles

__all__ = ["MixedFeaturizer", "make_tree_pipeline"]

_CATEGORICAL = ("ordinal", "onehot")
_MISSING = ("keep", "impute")
# Numeric columns with fewer distinct values (counts, flags, codes) take no part in ratios.
_MIN_RATIO_LEVELS = 10


# ----------------------------------------------------------------------------- column encoders
# Each encoder handles one column: fit_transform/transform return a dense float32 block or a
# CSR matrix, and names() the suffixes of its output features.


class _NumericColumn:
    def __init__(self, column: str, impute: bool) -> None:
        self.column = column
        self.impute = impute

    def fit_transform(self, series: pd.Series) -> np.ndarray:
        values = numeric_values(series, self.column)
        observed = values[~np.isnan(values)]
        self.fill_ = float(np.median(observed)) if len(observed) else 0.0
        self.indicator_ = self.impute and len(observed) < len(values)
        return self._encode(values)

    def transform(self, series: pd.Series) -> np.ndarray:
        return self._encode(numeric_values(series, self.column))

    def transform_frame(self, X: pd.DataFrame) -> np.ndarray:
        """:meth:`transform` of ``X[column]``, the cells read once per prediction."""
        return self._encode(column_cells(X, self.column, "numeric"))

    def _encode(self, values: np.ndarray) -> np.ndarray:
        if not self.impute:
            return values.astype(np.float32)[:, None]
        missing = np.isnan(values)
        filled = np.where(missing, self.fill_, values).astype(np.float32)[:, None]
        if self.indicator_:
            return np.hstack([filled, missing.astype(np.float32)[:, None]])
        return filled

    def names(self) -> list[str]:
        return [self.column] + ([f"{self.column}__missing"] if self.indicator_ else [])


class _NumericRatios:
    """``a / b`` for every pair of the chosen numeric columns.

    Trees split one feature at a time, so a ratio (a diamond's length over its width, a price
    per square metre) costs them a staircase of splits; given directly it is one split. Zero
    denominators and missing values give NaN, imputed by the ratio's median when imputing.
    """

    def __init__(self, columns: list[str], impute: bool) -> None:
        self.columns = columns
        self.impute = impute

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        ratios = self._ratios(frame)
        with warnings.catch_warnings():  # an all-NaN ratio has no median: it is filled with 0
            warnings.simplefilter("ignore", RuntimeWarning)
            self.fill_ = np.nan_to_num(np.nanmedian(ratios, axis=0), nan=0.0)
        return self._encode(ratios)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self._encode(self._ratios(frame))

    def _ratios(self, frame: pd.DataFrame) -> np.ndarray:
        values = [numeric_values(frame[c], c) for c in self.columns]
        pairs = [(a, b) for i, a in enumerate(values) for b in values[i + 1 :]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.column_stack([a / np.where(b == 0, np.nan, b) for a, b in pairs])
        return beyond_float32_as_missing(ratios)

    def _encode(self, ratios: np.ndarray) -> np.ndarray:
        if self.impute:
            ratios = np.where(np.isnan(ratios), self.fill_, ratios)
        return ratios.astype(np.float32)

    def names(self) -> list[str]:
        cols = self.columns
        return [f"{a}/{b}" for i, a in enumerate(cols) for b in cols[i + 1 :]]


def ratio_sources(X: pd.DataFrame, roles: Mapping[str, str], limit: int) -> list[str]:
    """The first ``limit`` numeric columns with at least 10 distinct values (counts and flags
    make meaningless ratios), in the frame's order."""
    chosen = []
    for column, role in roles.items():
        if len(chosen) >= limit:
            break
        if role == "numeric" and X[column].nunique(dropna=True) >= _MIN_RATIO_LEVELS:
            chosen.append(column)
    return chosen


class _CategoryColumn:
    """Ordinal codes or one-hot columns; missing and unseen levels are their own case.

    Levels keep the order of an ordered pandas categorical (the order means something);
    otherwise they are sorted by decreasing frequency, so codes are stable and nearby codes
    are comparably common.
    """

    def __init__(self, column: str, encoding: str, max_levels: int, impute: bool) -> None:
        self.column = column
        self.encoding = encoding
        self.max_levels = max_levels
        self.impute = impute

    def fit_transform(self, series: pd.Series) -> np.ndarray | sp.csr_matrix:
        values = category_values(series)
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype) and dtype.ordered:
            levels = [str(c) for c in dtype.categories]
        else:
            counts = pd.Series(values).dropna().value_counts(sort=False)
            order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            levels = [level for level, _ in order]
        if self.encoding == "onehot":
            levels = levels[: self.max_levels]
        self.levels_ = pd.Index(levels, dtype=object)
        return self._encode(values)

    def transform(self, series: pd.Series) -> np.ndarray | sp.csr_matrix:
        return self._encode(category_values(series))

    def transform_frame(self, X: pd.DataFrame) -> np.ndarray | sp.csr_matrix:
        """:meth:`transform` of ``X[column]``, the cells read once per prediction."""
        return self._encode(column_cells(X, self.column, "categorical"))

    def _encode(self, values: np.ndarray) -> np.ndarray | sp.csr_matrix:
        # -1: missing, unseen, or beyond max_levels
        codes = level_codes(self.levels_, values)
        if self.encoding == "onehot":
            rows = np.flatnonzero(codes >= 0)
            data = np.ones(len(rows), dtype=np.float32)
            return sp.csr_matrix(
                (data, (rows, codes[rows])), shape=(len(values), len(self.levels_))
            )
        codes = codes.astype(np.float32)
        if not self.impute:
            codes[codes < 0] = np.nan  # trees send missing/unseen along a learned branch
        return codes[:, None]

    def names(self) -> list[str]:
        if self.encoding == "onehot":
            return [f"{self.column}={level}" for level in self.levels_]
        return [self.column]


class _TextColumn:
    def __init__(self, column: str, max_words: int, max_chars: int, svd: int | None, seed):
        self.column = column
        self.max_words = max_words
        self.max_chars = max_chars
        self.svd = svd
        self.seed = seed

    def fit_transform(self, series: pd.Series) -> sp.csr_matrix | np.ndarray:
        self.encoder_ = TextEncoder(self.max_words, self.max_chars)
        matrix = self.encoder_.fit_transform(text_values(series))
        self.svd_ = None
        n_terms = matrix.shape[1] - 2
        if self.svd and n_terms > 1:
            self.svd_ = TruncatedSVD(
                n_components=min(self.svd, n_terms - 1, max(matrix.shape[0] - 1, 1)),
                random_state=self.seed,
            )
            return self._reduce(matrix, fit=True)
        return matrix

    def transform(self, series: pd.Series) -> sp.csr_matrix | np.ndarray:
        matrix = self.encoder_.transform(text_values(series))
        return matrix if self.svd_ is None else self._reduce(matrix, fit=False)

    def transform_frame(self, X: pd.DataFrame) -> sp.csr_matrix | np.ndarray:
        """:meth:`transform` of ``X[column]``; members whose encoders were fitted alike (the
        same vocabularies and weights) share one TF-IDF transform per prediction."""

        def compute() -> sp.csr_matrix:
            return self.encoder_.transform(text_values(X[self.column]))

        digest = fitted_digest(self.encoder_, self.encoder_.vectorizers_)
        key = ("text tf-idf", self.column, digest)
        matrix = once_per_call(X, key, compute)  # shared: read (sliced, stacked), never written
        return matrix if self.svd_ is None else self._reduce(matrix, fit=False)

    def _reduce(self, matrix: sp.csr_matrix, fit: bool) -> np.ndarray:
        terms = matrix[:, 2:]
        reduced = self.svd_.fit_transform(terms) if fit else self.svd_.transform(terms)
        return np.hstack([matrix[:, :2].toarray(), reduced]).astype(np.float32)

    def names(self) -> list[str]:
        names = self.encoder_.feature_names()
        if self.svd_ is not None:
            names = names[:2] + [f"svd{i}" for i in range(self.svd_.n_components)]
        return [f"{self.column}__{name}" for name in names]


class _ImageColumn:
    def __init__(self, column: str, grid: int) -> None:
        self.column = column
        self.grid = grid

    def fit_transform(self, series: pd.Series) -> np.ndarray:
        self.shape_ = image_shape(series, self.column)
        images = read_images(series, self.shape_, self.column)
        self.scale_ = image_scale(images)
        return image_descriptors(images, self.grid, self.scale_)

    def transform(self, series: pd.Series) -> np.ndarray:
        images = read_images(series, self.shape_, self.column)
        return image_descriptors(images, self.grid, self.scale_)

    def transform_frame(self, X: pd.DataFrame, together: tuple[str, ...] = ()) -> np.ndarray:
        """The descriptors of ``X[column]``; ``together`` names image columns of the same
        shape, grid and scale the caller also needs (see :func:`describe_images`)."""
        return describe_images(X, self.column, self.shape_, self.grid, self.scale_, together)

    def description_key(self) -> tuple:
        """Columns with equal keys can be described in one call."""
        return (tuple(self.shape_), self.grid, self.scale_)

    def names(self) -> list[str]:
        names = image_descriptor_names(self.shape_, self.grid)
        return [f"{self.column}__{name}" for name in names]


def _column_block(enc, X: pd.DataFrame, alike: dict[tuple, tuple[str, ...]]):
    """One encoder's block of ``X``; image columns with equal description keys in ``alike``
    are described together, text and images shared within a call (``transform_frame``)."""
    if isinstance(enc, _ImageColumn):
        return enc.transform_frame(X, alike[enc.description_key()])
    return enc.transform_frame(X)


def column_cells(X: pd.DataFrame, column: str, role: str) -> np.ndarray:
    """``X[column]`` read as ``role`` (:func:`numeric_values` or :func:`category_values`),
    read-only and, within :func:`shared_work`, once per prediction: the members' featurizers
    read the same columns."""

    def read() -> np.ndarray:
        series = X[column]
        return numeric_values(series, column) if role == "numeric" else category_values(series)

    return once_per_call(X, (f"{role} cells", column), read)


def describe_images(
    X: pd.DataFrame,
    column: str,
    shape: tuple,
    grid: int,
    scale: float,
    together: tuple[str, ...] = (),
) -> np.ndarray:
    """:func:`image_descriptors` of an image column, shared by the members of one prediction.

    A small batch is described on the calling thread (one chunk, the same arithmetic): a
    thread pool costs more than one image. ``together`` names other image columns of the
    same ``shape`` the caller will ask for: a small batch of all of them is described in one
    chunk, since describing one image is mostly numpy's fixed cost per operation (a row's
    descriptors do not depend on the rows beside it, so the values are the same).
    """
    columns = tuple(dict.fromkeys((*together, column)))
    n = len(X)
    if len(columns) > 1 and 0 < n * len(columns) <= _descriptors._CHUNK:

        def compute_all() -> np.ndarray:
            images = [read_images(X[c], shape, c) for c in columns]
            return _descriptors._chunk_descriptors(np.concatenate(images), grid, scale)

        key = ("image descriptors", columns, tuple(shape), grid, scale)
        joint = once_per_call(X, key, compute_all)
        at = columns.index(column) * n
        return joint[at : at + n]

    def compute() -> np.ndarray:
        images = read_images(X[column], shape, column)
        if 0 < len(images) <= _descriptors._CHUNK:
            return _descriptors._chunk_descriptors(images, grid, scale)
        return image_descriptors(images, grid, scale)

    return once_per_call(X, ("image descriptors", column, tuple(shape), grid, scale), compute)


class _ImageViews:
    """The largest blemish descriptors over image columns of one shape (views of one item).

    A stain on either the front or the back photo lowers the price alike; a tree needs two
    splits, on two columns, to say "on either", and finds it late. The elementwise maximum
    says it in one column. Computed from the image columns' own blocks, so it costs nothing.
    """

    def __init__(self, positions: list[int], columns: list[str], descriptors: list[int],
                 names: list[str]) -> None:  # fmt: skip
        self.positions = positions  # the image columns' blocks among the encoders' blocks
        self.columns = columns
        self.descriptors = descriptors  # indexes of the blemish descriptors in each block
        self.descriptor_names = names

    def combine(self, blocks: list) -> np.ndarray:
        picked = [np.asarray(blocks[i])[:, self.descriptors] for i in self.positions]
        return np.maximum.reduce(picked).astype(np.float32)

    def names(self) -> list[str]:
        views = "|".join(self.columns)
        return [f"{views}__max_{name}" for name in self.descriptor_names]


def _image_views(encoders: list) -> list[_ImageViews]:
    """One :class:`_ImageViews` per shape shared by two or more image columns."""
    by_shape: dict[tuple, list[int]] = {}
    for i, enc in enumerate(encoders):
        if isinstance(enc, _ImageColumn):
            by_shape.setdefault(tuple(enc.shape_), []).append(i)
    views = []
    for shape, positions in by_shape.items():
        if len(positions) < 2:
            continue
        names = image_descriptor_names(shape, encoders[positions[0]].grid)
        picked = [j for j, name in enumerate(names) if name.startswith("blemish_")]
        columns = [encoders[i].column for i in positions]
        views.append(_ImageViews(positions, columns, picked, [names[j] for j in picked]))
    return views


# ----------------------------------------------------------------------------- the featurizer


class MixedFeaturizer(TransformerMixin, BaseEstimator):
    """Turn a DataFrame with numeric, categorical, text and image columns into a tree matrix.

    Each column is encoded according to its role (see :func:`blend.infer_roles`):

    - **numeric**: passed through as float32; NaN kept (``missing="keep"``) for models that
      route missing values themselves, or median-imputed with a ``<col>__missing`` indicator
      (``missing="impute"``).
    - **categorical**: ordinal codes (``categorical="ordinal"``; ordered categoricals keep
      their order, other levels are numbered by decreasing frequency) or one-hot columns
      (``"onehot"``, the ``max_categories`` most frequent levels). Missing and unseen levels
      become NaN codes (or ``-1`` when imputing) / all-zero one-hot rows. Cells are read
      through ``str``, so mixed types such as ``1`` and ``"1"`` are one level.
    - **text**: TF-IDF of word 1-2 grams and character 4-grams (sparse), plus character
      and word counts; NaN and empty texts are empty documents. With
      ``text_svd_components`` the TF-IDF is reduced by truncated SVD (dense).
    - **image**: about 150 generic descriptors per image column (colour statistics and
      histograms, a downsampled grayscale grid, gradient-orientation histograms,
      high-frequency and Fourier-band energy, foreground statistics), identical for array
      cells and image files. Array images must have the shape seen in fit; files are resized.
      Image columns of one shape are taken as views of one item (front and back photos):
      the largest value of each blemish descriptor over them is added as well
      (``"photo_front|photo_back__max_blemish_hue"``), so "a stain on any photo" is one
      feature.

    Columns are selected by name, so reordered or extra columns at transform are fine;
    missing ones raise a ``ValueError``.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides of the inferred roles.
    categorical : {"ordinal", "onehot"}, default="ordinal"
        How categorical columns are encoded.
    max_categories : int, default=64
        Most one-hot columns per categorical column (the rarest levels share the all-zero row).
    missing : {"keep", "impute"}, default="keep"
        Keep NaN in the output, or impute numerics (median plus an indicator column) and code
        missing categories as ``-1``.
    text_max_words : int, default=1000
        Largest word vocabulary per text column (0: no word features).
    text_max_chars : int, default=300
        Largest character n-gram vocabulary per text column (0: none).
    text_svd_components : int or None, default=None
        Reduce each text column's TF-IDF to this many SVD components (dense output).
    image_grid : int, default=4
        Side of the downsampled grayscale grid per image.
    ratio_columns : int, default=0
        Also output ``a/b`` for every pair among the first ``ratio_columns`` numeric columns
        with at least 10 distinct values (``k`` columns give ``k(k-1)/2`` ratio features
        named ``"a/b"``; a zero denominator gives NaN). Trees need many splits to express a
        ratio; given directly, it is one. 0 (the default): no ratios. Ratios help on some
        tables and hurt on others (see :func:`blend.default_members`, which blends a booster
        with them beside one without).
    sparse_output : bool or "auto", default="auto"
        Return a CSR matrix; ``"auto"``: when some text column stays sparse. In sparse output
        every dense value (zeros and NaN included) is stored explicitly, so sparse-aware
        boosters read an absent entry as "term absent" and NaN as missing.
    random_state : int or None, default=None
        Seed of the truncated SVD.

    Attributes
    ----------
    roles_ : dict
        The resolved ``{column: role}`` mapping.
    feature_names_in_ : ndarray of str
        Input column names.
    n_features_in_ : int
        Number of input columns.
    image_views_ : list
        One entry per image shape shared by several image columns (their ``columns``).
    ratios_ : object or None
        The fitted ratio block (its ``columns`` are the source columns), or None.
    feature_types_ : list of str
        ``"c"`` for ordinal categorical codes and ``"q"`` for everything else, in output order
        (XGBoost's ``feature_types``).

    Examples
    --------
    >>> from blend import MixedFeaturizer
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(200, random_state=0)
    >>> features = MixedFeaturizer().fit(X, y)
    >>> features.transform(X).shape[0]
    200
    >>> str(features.get_feature_names_out()[0])
    'brand'
    """

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        categorical: str = "ordinal",
        max_categories: int = 64,
        missing: str = "keep",
        text_max_words: int = 1000,
        text_max_chars: int = 300,
        text_svd_components: int | None = None,
        image_grid: int = 4,
        ratio_columns: int = 0,
        sparse_output: bool | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.roles = roles
        self.categorical = categorical
        self.max_categories = max_categories
        self.missing = missing
        self.text_max_words = text_max_words
        self.text_max_chars = text_max_chars
        self.text_svd_components = text_svd_components
        self.image_grid = image_grid
        self.ratio_columns = ratio_columns
        self.sparse_output = sparse_output
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.categorical not in _CATEGORICAL:
            raise ValueError(
                f"categorical must be one of {_CATEGORICAL}, got {self.categorical!r}."
            )
        if self.missing not in _MISSING:
            raise ValueError(f"missing must be one of {_MISSING}, got {self.missing!r}.")
        if self.sparse_output not in (True, False, "auto"):
            raise ValueError(
                f"sparse_output must be True, False or 'auto', got {self.sparse_output!r}."
            )
        for name in ("max_categories", "image_grid"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        for name in ("text_max_words", "text_max_chars", "ratio_columns"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
        svd = self.text_svd_components
        if svd is not None and (not isinstance(svd, (int, np.integer)) or svd < 1):
            raise ValueError(
                f"text_svd_components must be None or a positive integer, got {svd!r}."
            )

    def _encoder(self, column: str, role: str):
        impute = self.missing == "impute"
        if role == "numeric":
            return _NumericColumn(column, impute)
        if role == "categorical":
            return _CategoryColumn(column, self.categorical, self.max_categories, impute)
        if role == "text":
            return _TextColumn(
                column,
                self.text_max_words,
                self.text_max_chars,
                self.text_svd_components,
                self.random_state,
            )
        return _ImageColumn(column, self.image_grid)

    def fit(self, X: pd.DataFrame, y: object = None) -> MixedFeaturizer:
        """Learn each column's encoding from ``X`` (``y`` is ignored)."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None) -> np.ndarray | sp.csr_matrix:
        """Fit and return the feature matrix of ``X``."""
        self._check_params()
        X = ensure_frame(X)
        if len(X) == 0:
            raise ValueError("MixedFeaturizer needs at least one row to fit; got 0 rows.")
        self.roles_ = resolve_roles(X, self.roles)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        used = [(c, r) for c, r in self.roles_.items() if r != "ignore"]
        if not used:
            raise ValueError(
                "Every column has the role 'ignore', so there is nothing to featurize. "
                f"Roles: {self.roles_}. Pass roles= to use some columns."
            )
        self.encoders_ = [self._encoder(column, role) for column, role in used]
        blocks = [enc.fit_transform(X[enc.column]) for enc in self.encoders_]
        self.image_views_ = _image_views(self.encoders_)
        blocks += [views.combine(blocks) for views in self.image_views_]
        sources = ratio_sources(X, self.roles_, self.ratio_columns)
        self.ratios_ = (
            _NumericRatios(sources, self.missing == "impute") if len(sources) >= 2 else None
        )
        if self.ratios_ is not None:
            blocks.append(self.ratios_.fit_transform(X))
        self._columns = [column for column, _ in used]
        self.sparse_output_ = (
            any(sp.issparse(b) and enc_role == "text" for b, (_, enc_role) in zip(blocks, used))
            if self.sparse_output == "auto"
            else bool(self.sparse_output)
        )
        names, types = [], []
        for enc, (_, role) in zip(self.encoders_, used):
            enc_names = enc.names()
            names += enc_names
            ordinal = role == "categorical" and self.categorical == "ordinal"
            types += ["c" if ordinal else "q"] * len(enc_names)
        for views in self.image_views_:
            names += views.names()
            types += ["q"] * len(views.names())
        if self.ratios_ is not None:
            names += self.ratios_.names()
            types += ["q"] * len(self.ratios_.names())
        self._names_out = np.asarray(names, dtype=object)
        self.feature_types_ = types
        return self._stack(blocks)

    def transform(self, X: pd.DataFrame) -> np.ndarray | sp.csr_matrix:
        """Encode ``X`` with the encodings learned in fit.

        Returns
        -------
        ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features_out)
            float32; sparse when ``sparse_output_`` is true.
        """
        check_is_fitted(self, "encoders_")
        X = ensure_frame(X, self.feature_names_in_)
        check_columns(X, self._columns, who="the MixedFeaturizer")
        alike: dict[tuple, tuple[str, ...]] = {}  # image columns described together
        for enc in self.encoders_:
            if isinstance(enc, _ImageColumn):
                key = enc.description_key()
                alike[key] = (*alike.get(key, ()), enc.column)
        with shared_work():  # image columns described together hand each other their part
            blocks = [_column_block(enc, X, alike) for enc in self.encoders_]
        blocks += [views.combine(blocks) for views in self.image_views_]
        if self.ratios_ is not None:
            blocks.append(self.ratios_.transform(X))
        return self._stack(blocks)

    def _stack(self, blocks: list) -> np.ndarray | sp.csr_matrix:
        if self.sparse_output_:
            if blocks and blocks[0].shape[0] <= FEW_ROWS:
                return stack_few_rows(blocks)
            parts = [b if sp.issparse(b) else dense_to_csr(b) for b in blocks]
            return sp.hstack(parts, format="csr", dtype=np.float32)
        parts = [b.toarray() if sp.issparse(b) else b for b in blocks]
        return np.hstack(parts).astype(np.float32, copy=False)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output feature names, each prefixed by (or equal to) its source column; ratios are
        ``"a/b"`` and the largest blemish over image views ``"a|b__max_<descriptor>"``."""
        check_is_fitted(self, "encoders_")
        return self._names_out.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.requires_fit = True
        return tags


# ----------------------------------------------------------------------------- the pipeline


def _final_model(estimator: BaseEstimator) -> BaseEstimator:
    """The model that reads the matrix (looks through blend's early-stopping wrapper)."""
    inner = getattr(estimator, "estimator", None)
    return inner if isinstance(inner, BaseEstimator) else estimator


def _is_xgboost(estimator: BaseEstimator) -> bool:
    return type(_final_model(estimator)).__module__.split(".")[0] == "xgboost"


def _reads_sparse_text(estimator: BaseEstimator) -> bool:
    """Boosters that read the full sparse TF-IDF matrix: XGBoost and the LightGBM/CatBoost
    regressors. Crisp words ("cashmere", "small hole") survive there; 64 SVD components blur
    them into mixtures. Their classifiers keep the SVD: multiclass CatBoost grows one score per
    class, and over thousands of sparse columns that is too slow for a default member."""
    if _is_xgboost(estimator):
        return True
    # a member class says so itself (features never import members)
    return bool(getattr(_final_model(estimator), "_blend_reads_sparse_text", False))


def featurizer_for(
    estimator: BaseEstimator, roles: Mapping[str, str] | None = None, *, ratio_columns: int = 0
):
    """A :class:`MixedFeaturizer` configured for the model ``estimator``.

    XGBoost and the LightGBM/CatBoost regressors get sparse output with NaN kept; other models
    get dense output, NaN kept when their tags say they handle it (forests, histogram boosting)
    and imputed otherwise; text is reduced by truncated SVD for dense models, whose cost grows
    with the number of columns.
    """
    if _reads_sparse_text(estimator):
        return MixedFeaturizer(roles=roles, ratio_columns=ratio_columns, sparse_output="auto")
    tags = _final_model(estimator).__sklearn_tags__()
    allow_nan = tags.input_tags.allow_nan
    return MixedFeaturizer(
        roles=roles,
        categorical="ordinal" if allow_nan else "onehot",
        missing="keep" if allow_nan else "impute",
        text_max_words=1000,
        text_max_chars=0,
        text_svd_components=64,
        ratio_columns=ratio_columns,
        sparse_output=False,
        random_state=getattr(estimator, "random_state", None),
    )


def make_tree_pipeline(
    estimator: BaseEstimator, roles: Mapping[str, str] | None = None, *, ratio_columns: int = 0
) -> Pipeline:
    """Put a :class:`MixedFeaturizer` configured for ``estimator`` in front of it.

    Parameters
    ----------
    estimator : estimator
        A tree model: ``XGBRegressor``/``XGBClassifier`` (sparse input, NaN kept),
        ``RandomForest*``/``ExtraTrees*``/``HistGradientBoosting*`` (dense input, text reduced
        by SVD), or any other estimator (dense, imputed, one-hot categories). It is cloned.
    roles : dict, optional
        ``{column: role}`` overrides passed to the featurizer.
    ratio_columns : int, default=0
        Passed to the featurizer: pairwise ratios among this many numeric columns.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``("features", MixedFeaturizer)`` and ``("model", estimator)``.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from blend import make_tree_pipeline
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(200, random_state=0)
    >>> model = make_tree_pipeline(RandomForestRegressor(n_estimators=10, random_state=0))
    >>> model.fit(X, y).predict(X).shape
    (200,)
    """
    if not isinstance(estimator, BaseEstimator) or not hasattr(estimator, "fit"):
        raise TypeError(
            f"estimator must be a scikit-learn style estimator, got {type(estimator).__name__}."
        )
    features = featurizer_for(estimator, roles, ratio_columns=ratio_columns)
    return Pipeline([("features", features), ("model", clone(estimator))])
