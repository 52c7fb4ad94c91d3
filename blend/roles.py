"""Column roles: which modality each DataFrame column carries.

Every blend estimator reads a DataFrame through a ``{column: role}`` mapping with the roles

``"numeric"``
    numbers (ints, floats, or strings that all parse as numbers); NaN allowed.
``"categorical"``
    categories: pandas ``category``, ``bool``, or short strings with few distinct values.
``"text"``
    free text (a description, a review); NaN and empty strings are read as "".
``"image"``
    same-shaped numeric arrays in the cells (``(H, W)`` or ``(H, W, C)``), or strings that are
    paths to image files (PNG, JPEG, BMP, GIF, WebP).
``"ignore"``
    not used (identifiers, all-missing columns, dates).

:func:`infer_roles` guesses the mapping; :func:`resolve_roles` merges it with the user's
overrides and checks that each column's values fit its role.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "IMAGE_EXTENSIONS",
    "ROLES",
    "has_unstructured",
    "image_source",
    "infer_roles",
    "resolve_roles",
]

ROLES = ("numeric", "categorical", "text", "image", "ignore")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# Unstructured roles: each such column becomes hundreds of features (TF-IDF words, image
# descriptors) for a matrix model, and a branch of its own in a network.
UNSTRUCTURED_ROLES = ("text", "image")

# A string column whose values have at least this many words on average reads as free text.
_TEXT_MIN_WORDS = 3.0
# Short strings with more distinct values than this (and mostly unique) are identifiers.
_ID_UNIQUE_RATIO = 0.95
_ID_MIN_ROWS = 20
# Sampled rows when inspecting cells (role inference must stay cheap on large frames).
_SAMPLE = 500


def _sample(values: pd.Series) -> pd.Series:
    non_null = values.dropna()
    if len(non_null) > _SAMPLE:
        non_null = non_null.sample(_SAMPLE, random_state=0)
    return non_null


def _is_array_cell(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.ndim in (2, 3) and value.dtype.kind in "uifb"


def _is_image_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).lower().endswith(IMAGE_EXTENSIONS)


def image_source(series: pd.Series) -> str | None:
    """Say how an image column stores its images.

    Returns ``"array"`` (numeric arrays in the cells), ``"path"`` (image file paths) or
    ``None`` when the column holds neither.
    """
    sample = _sample(series)
    if len(sample) == 0:
        return None
    if all(_is_array_cell(v) for v in sample):
        return "array"
    if all(_is_image_path(v) for v in sample):
        return "path"
    return None


def _numeric_strings(sample: pd.Series) -> bool:
    if not all(isinstance(v, str) for v in sample):
        return False
    stripped = sample.str.strip()
    if (stripped == "").any():
        return False
    return bool(pd.to_numeric(stripped, errors="coerce").notna().all())


def _infer_one(series: pd.Series) -> str:
    dtype = series.dtype
    if series.isna().all():
        return "ignore"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "ignore"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    sample = _sample(series)
    if image_source(series) is not None:
        return "image"
    if any(isinstance(v, np.ndarray) for v in sample):
        # Arrays of uneven rank or non-numeric dtype: likely meant as images, but unusable.
        return "image"
    if _numeric_strings(sample):
        return "numeric"
    strings = sample.map(lambda v: v if isinstance(v, str) else str(v))
    mean_words = strings.str.split().str.len().fillna(0).mean()
    if mean_words >= _TEXT_MIN_WORDS:
        return "text"
    n_rows = len(series.dropna())
    n_unique = series.dropna().astype(str).nunique()
    if n_rows >= _ID_MIN_ROWS and n_unique / n_rows > _ID_UNIQUE_RATIO:
        # Mostly-unique short strings: an identifier unless they read like sentences.
        return "text" if strings.str.len().mean() >= 20 else "ignore"
    return "categorical"


def infer_roles(X: pd.DataFrame) -> dict[str, str]:
    """Guess the role of every column of a DataFrame.

    Parameters
    ----------
    X : pandas.DataFrame
        The input frame. It is not modified.

    Returns
    -------
    dict
        ``{column: role}`` with roles from :data:`ROLES`, in column order.

    Notes
    -----
    The rules, in order: all-missing columns are ignored; ``category`` and ``bool`` columns are
    categorical; datetimes are ignored; numeric dtypes are numeric; cells holding 2-D or 3-D
    numeric arrays, or strings ending in an image extension, are images; strings that all parse
    as numbers are numeric; strings averaging three or more words are text; mostly-unique short
    strings are identifiers (ignored); other strings are categorical.

    Examples
    --------
    >>> import pandas as pd
    >>> from blend import infer_roles
    >>> df = pd.DataFrame({"size": ["S", "M", "S"], "price": [1.0, 2.5, 3.0],
    ...                    "text": ["a red wool coat", "blue jeans, worn once", "silk scarf, new"]})
    >>> infer_roles(df)
    {'size': 'categorical', 'price': 'numeric', 'text': 'text'}
    """
    X = _check_frame(X)
    return {col: _infer_one(X[col]) for col in X.columns}


def _check_frame(X: object) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"Expected a pandas DataFrame, got {type(X).__name__}. "
            "Wrap arrays with pandas.DataFrame(X, columns=[...]) so each column has a name."
        )
    if not X.columns.is_unique:
        dupes = X.columns[X.columns.duplicated()].tolist()
        raise ValueError(f"Column names must be unique; repeated: {dupes}. Rename them.")
    return X


def _check_fits(column: str, series: pd.Series, role: str) -> None:
    """Raise a ValueError naming the column if its values cannot be read in ``role``."""
    if role == "numeric":
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            return
        sample = series.dropna()
        converted = pd.to_numeric(
            sample.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce"
        )
        bad = sample[converted.isna()]
        if len(bad):
            raise ValueError(
                f"Column {column!r} has role 'numeric' but holds non-numeric values such as "
                f"{bad.iloc[0]!r}. Clean the column, or give it the role 'categorical' or 'text'."
            )
    elif role == "image":
        sample = _sample(series)
        if len(sample) == 0:
            raise ValueError(
                f"Column {column!r} has role 'image' but every value is missing. "
                "Give it the role 'ignore' or fill it with arrays or image paths."
            )
        if image_source(series) is None:
            raise ValueError(
                f"Column {column!r} has role 'image' but its cells are neither numeric arrays of "
                f"shape (H, W) or (H, W, C) nor paths ending in {', '.join(IMAGE_EXTENSIONS)}. "
                "Convert the cells, or give the column another role."
            )
    elif role == "text":
        sample = _sample(series)
        if any(isinstance(v, np.ndarray) for v in sample):
            raise ValueError(
                f"Column {column!r} has role 'text' but holds arrays. Give it the role 'image'."
            )


def resolve_roles(
    X: pd.DataFrame, roles: Mapping[str, str] | None = None, *, check_values: bool = True
) -> dict[str, str]:
    """Infer roles and apply the user's overrides, checking both.

    Parameters
    ----------
    X : pandas.DataFrame
        The training frame.
    roles : dict, optional
        ``{column: role}`` overriding inference for the columns it names; other columns keep
        their inferred role.
    check_values : bool, default=True
        Check that each column's values can be read in its role.

    Returns
    -------
    dict
        The complete ``{column: role}`` mapping in column order.

    Raises
    ------
    ValueError
        For an unknown role, a role given for a column that ``X`` lacks, or a column whose
        values do not fit its role; the message names the column and the fix.
    """
    X = _check_frame(X)
    roles = {} if roles is None else roles
    if not isinstance(roles, Mapping):
        raise TypeError(
            f"roles must be a dict {{column: role}} or None, got {type(roles).__name__}."
        )
    for column, role in roles.items():
        if role not in ROLES:
            raise ValueError(
                f"Unknown role {role!r} for column {column!r}. Use one of {', '.join(ROLES)}."
            )
        if column not in X.columns:
            raise ValueError(
                f"roles names column {column!r}, which the data does not have. "
                f"Available columns: {list(X.columns)}."
            )
    resolved = {}
    for column in X.columns:
        role = roles.get(column)
        if role is None:
            role = _infer_one(X[column])
        elif check_values:
            _check_fits(column, X[column], role)
        resolved[column] = role
    return resolved


def columns_with(roles: Mapping[str, str], role: str) -> list[str]:
    """The columns of ``roles`` that carry ``role``, in order."""
    return [column for column, r in roles.items() if r == role]


def has_unstructured(roles: Mapping[str, str]) -> bool:
    """Whether any column is text or an image (see ``UNSTRUCTURED_ROLES``)."""
    return any(role in UNSTRUCTURED_ROLES for role in roles.values())
