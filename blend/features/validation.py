"""Input checks shared by every estimator: frames, columns, targets and per-role cell values.

Each check raises a ``ValueError``/``TypeError`` that names the column and says how to fix it,
and none of them modifies what the user passed.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar

import numpy as np
import pandas as pd
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "FrameInputMixin",
    "category_block",
    "category_levels",
    "check_class_labels",
    "check_columns",
    "check_target",
    "ensure_frame",
    "level_codes",
    "numeric_block",
    "numeric_target",
    "numeric_values",
    "once_per_call",
    "per_object",
    "same_bits",
    "shared_work",
    "text_values",
    "verified_shortcut",
]


def ensure_frame(X: object, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Return ``X`` as a DataFrame without copying a DataFrame.

    Arrays (and lists of rows) become a frame with columns ``x0, x1, ...`` — or ``columns``
    when the estimator was fitted on such an array — so numeric-only scikit-learn workflows
    (and ``check_estimator``) work.
    """
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame()
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "Sparse matrices are not supported as input; pass a pandas DataFrame "
            "(or a dense array)."
        )
    array = np.asarray(X)
    if array.dtype.kind == "c":
        raise ValueError("Complex data not supported; pass real numbers.")
    if array.ndim == 1:
        raise ValueError(
            "Expected 2D array, got 1D array instead. Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) "
            "if it contains a single sample."
        )
    if array.ndim != 2:
        raise ValueError(f"Expected a 2D table, got an array with {array.ndim} dimensions.")
    if columns is None or len(columns) != array.shape[1]:
        columns = [f"x{i}" for i in range(array.shape[1])]
    return pd.DataFrame(array, columns=list(columns))


def check_columns(X: pd.DataFrame, columns: Sequence[str], *, who: str = "the model") -> None:
    """Raise if ``X`` lacks any of ``columns``; extra and reordered columns are fine."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(
            f"Column(s) {missing} were seen when {who} was fitted but are missing now. "
            "Pass a DataFrame with the same columns as in fit (extra columns are ignored)."
        )


def check_target(y: object, *, name: str = "y", allow_nan: bool = False) -> np.ndarray:
    """Return the target as an array; NaN/inf in a numeric target raise a ValueError."""
    array = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if array.ndim == 0:
        raise ValueError(f"{name} must be one value per row, got a scalar.")
    if array.dtype.kind in "fc" and not allow_nan:
        bad = ~np.isfinite(array)
        if bad.any():
            rows = np.flatnonzero(bad.reshape(len(array), -1).any(axis=1))[:5].tolist()
            raise ValueError(
                f"{name} contains NaN or infinity (first rows: {rows}). Drop or fill those rows "
                "before fitting."
            )
    return array


def numeric_target(y: object, n_rows: int, *, who: str, hint: str) -> np.ndarray:
    """A regression target as float64, one value per row of ``X`` (``n_rows``).

    Numbers stored as objects are read; a length unlike ``X``'s or a non-numeric dtype raise a
    ``ValueError`` naming ``who``, followed by ``hint`` (what to use instead).
    """
    target = check_target(y)
    if len(target) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(target)}; pass matching rows.")
    if target.dtype == object:
        with contextlib.suppress(TypeError, ValueError):
            target = target.astype(np.float64)  # numbers stored as objects
    if target.dtype.kind not in "fiub":
        raise ValueError(f"{who} needs a numeric target, got dtype {target.dtype}. {hint}")
    return target.astype(np.float64)


# Models compute in float32: a larger magnitude would become inf (and then NaN) inside them.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def numeric_values(series: pd.Series, column: str) -> np.ndarray:
    """A float64 copy of a numeric column: numeric strings parsed; inf, and magnitudes beyond
    float32's range (about 3.4e38, sentinel values in practice), read as missing (NaN)."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        # a numpy column: the same float64 conversion without pandas' missing-value pass
        return beyond_float32_as_missing(series.to_numpy().astype(np.float64))
    if _number_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        cleaned = series.map(lambda v: v.strip() if isinstance(v, str) else v)
        converted = pd.to_numeric(cleaned, errors="coerce")
        bad = series.notna() & converted.isna()
        if bad.any():
            raise ValueError(
                f"Column {column!r} should be numeric but holds {series[bad].iloc[0]!r}. "
                "Clean the column, or give it the role 'categorical' or 'text'."
            )
        values = converted.to_numpy(dtype="float64", na_value=np.nan)
    return beyond_float32_as_missing(values.copy())


def numeric_block(X: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """``(n_rows, len(columns))`` float64: each column as :func:`numeric_values` reads it.

    Columns of numeric or boolean dtype are converted together (one ``to_numpy`` over the
    frame's blocks, the same conversion per cell); others (numbers stored as strings) are read
    one by one, in order, raising :func:`numeric_values`' error for the first bad column.
    """
    columns = list(columns)
    if X.columns.is_unique and len(set(columns)) == len(columns):
        dtypes = X.dtypes
        if all(_number_dtype(dtypes[c]) for c in columns):
            values = X[columns].to_numpy(dtype="float64", na_value=np.nan)
            return beyond_float32_as_missing(np.array(values, dtype="float64"))
    out = np.empty((len(X), len(columns)))
    for j, column in enumerate(columns):
        out[:, j] = numeric_values(X[column], column)
    return out


def _number_dtype(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def beyond_float32_as_missing(values: np.ndarray) -> np.ndarray:
    """Set inf and magnitudes beyond float32's range to NaN, in place; return ``values``."""
    with np.errstate(invalid="ignore"):
        values[~(np.abs(values) <= _FLOAT32_MAX)] = np.nan
    return values


def check_class_labels(
    y: object, n_rows: int, *, who: str, regressor: str, hint: str = "", stacklevel: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Check classification labels and return ``(classes, codes)`` (codes index ``classes``).

    A column vector is raveled with a warning; several columns, a length unlike ``X``'s,
    missing labels, a continuous target or a single class raise a ``ValueError`` that says
    what to do (``regressor`` names the estimator for continuous targets, ``hint`` is added to
    the several-columns message).
    """
    y = check_target(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled.",
            DataConversionWarning,
            stacklevel=stacklevel,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be one label per row (1-D), got shape {y.shape}.{hint}")
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)}; pass one label per row.")
    if pd.isna(pd.Series(y)).any():
        raise ValueError("y contains missing labels; drop those rows before fitting.")
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(
            f"Unknown label type: continuous target. {who} needs class labels; use "
            f"{regressor} for continuous targets."
        )
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has only one class ({classes[0]!r}); a classifier needs at least two classes."
        )
    return classes, codes.ravel()


# Up to this many rows, level codes are looked up in a dict rather than by pandas.
FEW_ROWS = 64
_FEW_LEVELS = 4096


def level_codes(levels: pd.Index, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``levels`` (-1 when absent).

    pandas' ``get_indexer`` has a fixed cost per call whatever the size, which dominates a
    live prediction of a few rows (one-row predictions encode every categorical column); a dict
    does those rows in microseconds.
    """
    if len(values) <= FEW_ROWS and len(levels) <= _FEW_LEVELS:

        def lookup() -> dict:
            return dict(zip(levels, range(len(levels))))

        # an Index is immutable: its lookup is built once
        where = per_object(levels, lookup) if isinstance(levels, pd.Index) else lookup()
        return np.array([where.get(v, -1) for v in values], dtype=np.intp)
    return levels.get_indexer(pd.Index(values, dtype=object))


def text_values(series: pd.Series) -> list[str]:
    """Text cells as strings; NaN/None become "" and other objects their ``str``."""
    return ["" if _missing(v) else v if isinstance(v, str) else str(v) for v in series]


def category_values(series: pd.Series | np.ndarray) -> np.ndarray:
    """Category cells as an object array of strings, missing values as ``None``.

    Mixed types (``1`` and ``"1"``) are read through ``str`` so they fall into one level.
    """
    if isinstance(series, pd.Series) and isinstance(series.dtype, pd.CategoricalDtype):
        # each level read once per dtype, then indexed by the codes (-1, missing, picks None)
        return category_levels(series.dtype)[series.array.codes]
    # an exact str is its own str and never missing: no per-cell pd.isna for the usual cells
    return np.array(
        [v if type(v) is str else None if _missing(v) else str(v) for v in series], dtype=object
    )


# id(obj) -> (weak reference to obj, what per_object computed from it)
_PER_OBJECT: dict[int, tuple[weakref.ref, object]] = {}


def per_object(obj: object, compute: Callable[[], object]) -> object:
    """``compute()``, once per live object ``obj`` whose state the result reads never changes
    (a dtype, an index of levels, a loaded booster). Keyed by identity, not equality: unordered
    categorical dtypes with the same levels in another order compare equal but code them
    differently, and an index or a CatBoost model is not hashable. The entry goes with the
    object."""
    key = id(obj)
    found = _PER_OBJECT.get(key)
    if found is not None and found[0]() is obj:
        return found[1]
    value = compute()

    def forget(ref: weakref.ref, key: int = key) -> None:
        if _PER_OBJECT.get(key, (None,))[0] is ref:
            del _PER_OBJECT[key]

    _PER_OBJECT[key] = (weakref.ref(obj, forget), value)
    return value


def category_levels(dtype: pd.CategoricalDtype) -> np.ndarray:
    """The levels of a categorical dtype as :func:`category_values` reads cells, then ``None``
    (where code -1 points), read once per dtype object: a one-row prediction would otherwise
    read every level of every categorical column."""

    def read() -> np.ndarray:
        levels = np.append(category_values(np.asarray(dtype.categories, dtype=object)), None)
        levels.flags.writeable = False
        return levels

    return per_object(dtype, read)


# ------------------------------------------------------------------ work shared within a call
# Within :func:`shared_work`, the featurizers of several members asked for the same thing about
# the same frame (a wide encoder's ids, an image column's descriptors) compute it once.
_SHARED: ContextVar[dict | None] = ContextVar("blend_shared_work", default=None)


@contextlib.contextmanager
def shared_work() -> Iterator[None]:
    """Share featurizing work among the members predicting on one frame, for this block.

    Results are keyed by the frame's identity (held until the block ends) and by what was
    computed with which fitted state; they are handed out read-only. Nested blocks share the
    outer block's results; outside any block nothing is shared or kept.
    """
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


# fitted object -> (its fit marker, a digest of its fitted state)
_DIGESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fitted_digest(obj: object, marker: object, exclude: Sequence[str] = ()) -> str:
    """A hash of ``obj``'s fitted state (its attributes but ``exclude``), for the keys of
    :func:`once_per_call`: equal digests, equal transforms. Computed once per fit: ``marker``
    is an attribute each fit replaces, so a refit of the same object is hashed again."""
    found = _DIGESTS.get(obj)
    if found is None or found[0] is not marker:
        from joblib import hash as digest

        state = {k: v for k, v in obj.__dict__.items() if k not in exclude}
        found = _DIGESTS[obj] = (marker, digest(state))
    return found[1]


def once_per_call(X: object, key: tuple, compute: Callable[[], object]) -> object:
    """``compute()``, or within :func:`shared_work` the result already computed for ``(X, key)``.

    ``key`` must name everything the result depends on besides ``X``'s cells (the fitted state
    and parameters). Arrays in the result are made read-only, so no member alters another's.
    """
    cache = _SHARED.get()
    if cache is None:
        return compute()
    found = cache.get((id(X), key))
    if found is not None and found[0] is X:
        return found[1]
    value = compute()
    for array in value if isinstance(value, tuple) else (value,):
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    cache[(id(X), key)] = (X, value)
    return value


# fitted object -> {output kind: whether its few-rows shortcut reproduced the library's}
_VERIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SHORTCUT_ERRORS = (AttributeError, TypeError, ValueError, IndexError, KeyError, OverflowError)


def same_bits(a, b) -> bool:
    """Two arrays, or two CSR matrices stored alike, hold the same values bit for bit (NaN
    equal, same dtype)."""
    if hasattr(a, "indptr") != hasattr(b, "indptr") or a.shape != b.shape:
        return False
    if hasattr(a, "indptr"):
        return (
            a.data.dtype == b.data.dtype
            and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data, equal_nan=True)
        )
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def verified_shortcut(
    owner: object,
    shortcut: Callable[[], object],
    own: Callable[[], object],
    same: Callable[[object, object], bool] = same_bits,
    kind: str = "",
) -> object:
    """``shortcut()`` once it has reproduced ``own()`` for ``owner``, else ``own()``.

    A few-rows shortcut re-implements what a library computes (a scikit-learn transform,
    CatBoost's trees) without its per-call overhead. The first call on each fitted ``owner``
    (and output ``kind``) runs both and compares them with ``same``; on any difference
    (another library version, an option the shortcut does not know) or error, ``owner``
    keeps its own path for that kind from then on.
    """
    checked = _VERIFIED.get(owner)
    if checked is None:
        checked = _VERIFIED[owner] = {}
    verified = checked.get(kind)
    if verified is False:
        return own()
    if verified:
        try:
            return shortcut()
        except _SHORTCUT_ERRORS:  # input the check never saw (rows it cannot read)
            checked[kind] = False
            return own()
    expected = own()
    try:
        checked[kind] = bool(same(shortcut(), expected))
    except _SHORTCUT_ERRORS:
        checked[kind] = False
    return expected


def shortcut_verified(owner: object, kind: str = "") -> bool | None:
    """Whether ``owner``'s shortcut for ``kind`` reproduced its own output (None: not tried)."""
    return _VERIFIED.get(owner, {}).get(kind)


def category_block(X: pd.DataFrame, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """``{column: category_values(X[column])}``, the object and string columns read together.

    One ``to_numpy(dtype=object)`` over those columns hands out the very cells iterating each
    column would; other dtypes (categorical, numbers) are read column by column.
    """
    columns = list(dict.fromkeys(columns))
    out: dict[str, np.ndarray] = {}
    together = []
    if X.columns.is_unique:
        dtypes = X.dtypes
        together = [
            c
            for c in columns
            if dtypes[c] is np.dtype(object) or isinstance(dtypes[c], pd.StringDtype)
        ]
    if len(together) > 1:
        cells = X[together].to_numpy(dtype=object)
        for j, column in enumerate(together):
            out[column] = category_values(cells[:, j])
    for column in columns:
        if column not in out:
            out[column] = category_values(X[column])
    return {column: out[column] for column in columns}


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class FrameInputMixin:
    """``X`` checks for estimators that read DataFrames but also accept numeric arrays.

    A frame is used as is (its string column names become ``feature_names_in_``); an array
    becomes a frame with columns ``x0, x1, ...``, which predict maps arrays back onto. Both
    give scikit-learn's messages for empty data and a wrong number of features.
    """

    _fitted_attribute = "model_"  # set by fit: predict before fit raises NotFittedError

    def _check_X_fit(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            array = np.asarray(X) if not hasattr(X, "toarray") else X
            if isinstance(array, np.ndarray) and array.dtype == object and array.ndim == 2:
                array = array.astype(np.float64)  # numeric arrays of objects (sklearn checks)
            X = ensure_frame(array)
            self._array_columns = list(X.columns)
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            self._array_columns = None
            ensure_frame(X)
            if all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        if X.shape[0] < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while fitting.")
        if X.shape[1] < 1:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
            )
        self.n_features_in_ = X.shape[1]
        self._frame_columns = list(X.columns)
        return X

    def _check_X_predict(self, X) -> pd.DataFrame:
        check_is_fitted(self, self._fitted_attribute)
        if isinstance(X, pd.DataFrame):
            if self._array_columns is not None:
                if X.shape[1] != self.n_features_in_:
                    raise ValueError(
                        f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                        f"{self.n_features_in_} features as input."
                    )
                if all(isinstance(c, str) for c in X.columns):
                    warnings.warn(
                        f"X has feature names, but {type(self).__name__} was fitted without "
                        "feature names",
                        UserWarning,
                        stacklevel=3,
                    )
                return pd.DataFrame(X.to_numpy(), columns=self._array_columns)
            return X
        array = np.asarray(X) if not hasattr(X, "toarray") else X
        if isinstance(array, np.ndarray) and array.dtype == object and array.ndim == 2:
            array = array.astype(np.float64)
        frame = ensure_frame(array)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        columns = self._array_columns
        if columns is None:
            warnings.warn(
                f"X does not have valid feature names, but {type(self).__name__} was fitted "
                "with feature names",
                UserWarning,
                stacklevel=3,
            )
            columns = self._frame_columns
        return pd.DataFrame(frame.to_numpy(), columns=columns)
