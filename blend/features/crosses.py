"""Feature crosses: stable hashing into a fixed number of buckets, and data-driven proposals.

A cross of categorical columns (``("brand", "condition")``) is one sparse feature per observed
combination of levels. Combinations are hashed with CRC-32 of their text (stable across
processes and platforms, unlike Python's salted ``hash``) into ``n_buckets`` buckets, so the
table size is fixed whatever the data, and a combination never seen in fit still gets an id
(its hash bucket) instead of an error.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from blend.features.validation import category_values

__all__ = [
    "MISSING",
    "CombinationBuckets",
    "check_crosses",
    "cross_name",
    "hash_combinations",
    "propose_crosses",
]

# How a missing level reads inside a hashed combination (cannot collide with a real "nan").
MISSING = "\x00NA"
# Two columns' levels are joined with a unit separator so ("a b", "c") != ("a", "b c").
_SEP = "\x1f"


def cross_name(columns: Sequence[str]) -> str:
    """The display name of a cross: ``"brand x condition"``."""
    return " x ".join(str(c) for c in columns)


def check_crosses(crosses: object, roles: Mapping[str, str]) -> list[tuple[str, ...]]:
    """Validate user crosses against the resolved roles; return them as tuples.

    Raises
    ------
    ValueError
        When a cross is not a sequence of at least two distinct column names, names a column
        the data lacks, or names a column whose role is not ``"categorical"``.
    """
    if isinstance(crosses, (str, bytes)) or not isinstance(crosses, Sequence):
        raise ValueError(
            f"crosses must be None, 'auto' or a list of column tuples such as "
            f"[('brand', 'condition')]; got {crosses!r}."
        )
    out = []
    for cross in crosses:
        if isinstance(cross, (str, bytes)) or not isinstance(cross, Sequence) or len(cross) < 2:
            raise ValueError(
                f"Each cross must list at least two column names, got {cross!r}; e.g. "
                "crosses=[('brand', 'condition')]."
            )
        if len(set(cross)) != len(cross):
            raise ValueError(f"Cross {tuple(cross)!r} names a column twice.")
        for column in cross:
            if column not in roles:
                raise ValueError(
                    f"Cross {tuple(cross)!r} names column {column!r}, which the data lacks. "
                    f"Columns: {list(roles)}."
                )
            if roles[column] != "categorical":
                raise ValueError(
                    f"Cross {tuple(cross)!r} names column {column!r}, whose role is "
                    f"{roles[column]!r}; crosses need categorical columns. Pass "
                    f"roles={{{column!r}: 'categorical'}} or drop it from the cross."
                )
        out.append(tuple(cross))
    if len(set(out)) != len(out):
        raise ValueError(f"crosses lists the same cross twice: {out}.")
    return out


def _levels(series: pd.Series) -> np.ndarray:
    values = category_values(series)
    return np.where(pd.isna(values), MISSING, values).astype(object)


def hash_combinations(frame: pd.DataFrame, columns: Sequence[str], n_buckets: int):
    """Hash each row's combination of levels into ``[0, n_buckets)``.

    ``frame`` is a DataFrame, or a dict of equally long arrays of level values.

    Returns
    -------
    buckets : ndarray of int64, shape (n_rows,)
    combos : dict
        ``{bucket: [combination text, ...]}`` for the combinations present in ``frame``
        (``"brand=Nike & condition=new"``), to read the weights by name.

    Each distinct combination is hashed once (CRC-32 of ``col=level`` parts), so the cost is
    one pass of pandas factorization plus one hash per distinct combination.
    """
    codes = np.zeros(len(frame[columns[0]]), dtype=np.int64)
    uniques = []
    for column in columns:
        col_codes, col_uniques = pd.factorize(_levels(frame[column]))
        codes = codes * len(col_uniques) + col_codes
        uniques.append(col_uniques)
    distinct, inverse = np.unique(codes, return_inverse=True)
    sizes = [len(u) for u in uniques]
    bucket_of = np.empty(len(distinct), dtype=np.int64)
    combos: dict[int, list[str]] = {}
    for i, code in enumerate(distinct):
        parts = []
        for size, column, levels in zip(sizes[::-1], columns[::-1], uniques[::-1]):
            code, level = divmod(int(code), size)
            parts.append(f"{column}={levels[level]}")
        parts.reverse()
        bucket = _bucket(parts, n_buckets)
        bucket_of[i] = bucket
        combos.setdefault(bucket, []).append(" & ".join(parts).replace(MISSING, "<missing>"))
    return bucket_of[inverse.ravel()], combos


def _bucket(parts: list[str], n_buckets: int) -> int:
    """The bucket of one combination from its ``col=level`` parts: CRC-32 of their text."""
    return zlib.crc32(_SEP.join(parts).encode("utf-8")) % n_buckets


class CombinationBuckets:
    """:func:`hash_combinations`' bucket of one combination, for a few rows at a time.

    Called with a tuple of levels of ``columns`` (each a string, as
    :func:`~blend.features.validation.category_values` reads it, or None for missing), it
    hashes the same ``col=level`` text into the same bucket without pandas' per-call cost. The
    buckets of up to ``max_cached`` distinct combinations are kept (then the cache starts over).
    """

    def __init__(self, columns: Sequence[str], n_buckets: int, max_cached: int = 4096) -> None:
        self.columns = tuple(columns)
        self.n_buckets = n_buckets
        self.max_cached = max_cached
        self._cache: dict[tuple, int] = {}

    def __call__(self, levels: tuple) -> int:
        bucket = self._cache.get(levels)
        if bucket is None:
            parts = [
                f"{column}={MISSING if level is None else level}"
                for column, level in zip(self.columns, levels)
            ]
            bucket = _bucket(parts, self.n_buckets)
            if len(self._cache) >= self.max_cached:
                self._cache.clear()
            self._cache[levels] = bucket
        return bucket


def _group_mean(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    counts = np.maximum(np.bincount(codes, minlength=n), 1)
    return np.stack(
        [
            np.bincount(codes, weights=values[:, j], minlength=n) / counts
            for j in range(values.shape[1])
        ],
        axis=1,
    )


def _interaction_pvalue(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """F statistic and p-value of the a x b interaction beyond additive a + b effects."""
    from scipy.stats import f as f_dist

    na, nb = a.max() + 1, b.max() + 1
    fa, fb = np.zeros((na, y.shape[1])), np.zeros((nb, y.shape[1]))
    for _ in range(10):  # backfitting converges in a few sweeps for two factors
        fa = _group_mean(y - fb[b], a, na)
        fb = _group_mean(y - fa[a], b, nb)
    sse_additive = float(((y - fa[a] - fb[b]) ** 2).sum())
    cells, cell = np.unique(a * nb + b, return_inverse=True)
    cell = cell.ravel()
    sse_full = float(((y - _group_mean(y, cell, len(cells))[cell]) ** 2).sum())
    df_interaction = len(cells) - len(np.unique(a)) - len(np.unique(b)) + 1
    df_residual = len(y) - len(cells)
    if df_interaction < 1 or df_residual < 1 or sse_full <= 0:
        return 0.0, 1.0
    stat = ((sse_additive - sse_full) / df_interaction) / (sse_full / df_residual)
    return float(stat), float(f_dist.sf(stat, df_interaction, df_residual))


def propose_crosses(
    X: pd.DataFrame,
    y: np.ndarray | None,
    columns: Sequence[str],
    *,
    max_crosses: int = 8,
    alpha: float = 0.01,
) -> list[tuple[str, str]]:
    """Pairs of categorical columns whose interaction explains the target, strongest first.

    Each pair is scored by a two-way ANOVA F test of the interaction: the cell means of the
    pair against the best additive fit of its two columns (backfitting). Pairs with p-value
    below ``alpha`` are kept, at most ``max_crosses`` of them (smallest p-values first). ``y``
    is the encoded target, ``(n,)`` or ``(n, k)``; integer class codes are one-hot encoded. Without
    ``y`` no pair can be scored and none is proposed.
    """
    if y is None or len(columns) < 2:
        return []
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iu":
        y = np.eye(int(y.max()) + 1)[y]  # multiclass codes -> one indicator per class
    y = y.reshape(len(y), -1).astype(np.float64)
    y = y - y.mean(axis=0)
    codes = {c: pd.factorize(_levels(X[c]))[0] for c in columns}
    scored = []
    for first, second in itertools.combinations(columns, 2):
        stat, pvalue = _interaction_pvalue(y, codes[first], codes[second])
        if pvalue < alpha:
            scored.append((pvalue, -stat, (first, second)))
    scored.sort()  # most significant first (p-values compare across pairs of any size)
    return [pair for _, _, pair in scored[:max_crosses]]
