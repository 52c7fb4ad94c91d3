"""Diversity of an ensemble, measured on any prediction matrix.

Every good model holds part of the truth; an ensemble helps exactly as much as its members
disagree. This module makes that measurable:

* :func:`ambiguity_decomposition` -- squared error (Krogh & Vedelsby, 1995). For convex weights
  ``w`` and ``f_bar = sum_i w_i f_i``, row by row::

      (f_bar - y)^2 = sum_i w_i (f_i - y)^2  -  sum_i w_i (f_i - f_bar)^2
      ensemble error = weighted member error  -  ambiguity (diversity)

* :func:`cross_entropy_decomposition` -- cross-entropy (Wood et al., "A Unified Theory of
  Diversity in Ensemble Learning", JMLR 2023). For the normalized geometric mean
  ``q_bar ∝ prod_i q_i^{w_i}``, row by row::

      -log q_bar[y] = sum_i w_i (-log q_i[y])  -  sum_i w_i KL(q_bar || q_i)

  and the diversity term equals ``-log Z`` (``Z`` the normalizer of the geometric mean).
* :func:`error_correlation` -- pairwise correlation of the members' errors.
* :func:`pairwise_measures` -- Kuncheva & Whitaker (2003) oracle measures: Q statistic,
  disagreement and double fault, from each member's correct/incorrect vector.

Shapes: regression predictions are ``(n_rows, n_members)`` or ``(n_rows, n_members,
n_outputs)``; class probabilities are ``(n_rows, n_members, n_classes)`` with ``y`` the integer
class index.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "AmbiguityDecomposition",
    "CrossEntropyDecomposition",
    "ambiguity_decomposition",
    "correct_matrix",
    "cross_entropy_decomposition",
    "error_correlation",
    "pairwise_measures",
]

_EPS = 1e-15


class AmbiguityDecomposition(NamedTuple):
    """Row-by-row terms; ``ensemble_error == member_error - ambiguity`` exactly."""

    ensemble_error: np.ndarray
    member_error: np.ndarray
    ambiguity: np.ndarray

    def summary(self) -> dict[str, float]:
        """Means over rows (and outputs)."""
        return {k: float(np.mean(v)) for k, v in self._asdict().items()}


class CrossEntropyDecomposition(NamedTuple):
    """Row-by-row terms; ``ensemble_loss == member_loss - diversity`` exactly."""

    ensemble_loss: np.ndarray
    member_loss: np.ndarray
    diversity: np.ndarray

    def summary(self) -> dict[str, float]:
        """Means over rows."""
        return {k: float(np.mean(v)) for k, v in self._asdict().items()}


def _weights(weights: np.ndarray | None, m: int) -> np.ndarray:
    if weights is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(weights, dtype=float)
    if w.shape != (m,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise ValueError(
            f"weights must be {m} non-negative numbers summing to one; got {w.tolist()}."
        )
    return w


def ambiguity_decomposition(
    P: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
) -> AmbiguityDecomposition:
    """Krogh--Vedelsby decomposition of the squared error of a weighted average.

    Parameters
    ----------
    P : ndarray of shape (n_rows, n_members) or (n_rows, n_members, n_outputs)
        Member predictions.
    y : ndarray of shape (n_rows,) or (n_rows, n_outputs)
        Targets.
    weights : ndarray of shape (n_members,), optional
        Convex weights; equal weights when omitted.

    Returns
    -------
    AmbiguityDecomposition
        Arrays of shape ``(n_rows,)`` (or ``(n_rows, n_outputs)`` for 3D ``P``).

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[1.0, 3.0], [2.0, 2.0]])
    >>> d = ambiguity_decomposition(P, np.array([2.5, 2.0]))
    >>> d.ensemble_error.tolist(), d.member_error.tolist(), d.ambiguity.tolist()
    ([0.25, 0.0], [1.25, 0.0], [1.0, 0.0])
    """
    P = np.asarray(P, dtype=float)
    y = np.asarray(y, dtype=float)
    w = _weights(weights, P.shape[1])
    yy = y[:, None] if P.ndim == 2 else y[:, None, :]
    if P.ndim == 3 and y.ndim == 1:
        yy = y[:, None, None]
    wb = w[None, :] if P.ndim == 2 else w[None, :, None]
    f_bar = np.sum(wb * P, axis=1)
    member = np.sum(wb * (P - yy) ** 2, axis=1)
    ambiguity = np.sum(wb * (P - f_bar[:, None, ...]) ** 2, axis=1)
    ensemble = (f_bar - np.squeeze(yy, axis=1)) ** 2
    return AmbiguityDecomposition(ensemble, member, ambiguity)


def cross_entropy_decomposition(
    P: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
) -> CrossEntropyDecomposition:
    """Cross-entropy decomposition of Wood et al. (JMLR 2023) for the geometric-mean combiner.

    ``ensemble_loss`` is the cross-entropy of the normalized weighted geometric mean of the
    members' probabilities; ``member_loss`` the weighted mean of the members' cross-entropies;
    ``diversity = sum_i w_i KL(q_bar || q_i) >= 0``. (A blender that averages probabilities
    arithmetically does at least as well as the geometric mean's loss on log loss only in
    expectation; both are reported by :class:`blend.BlendClassifier`.)

    Parameters
    ----------
    P : ndarray of shape (n_rows, n_members, n_classes)
        Member class probabilities (clipped to ``[1e-15, 1]``).
    y : ndarray of shape (n_rows,)
        Integer class index of each row.
    weights : ndarray of shape (n_members,), optional
        Convex weights; equal weights when omitted.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[[0.8, 0.2], [0.4, 0.6]]])
    >>> d = cross_entropy_decomposition(P, np.array([0]))
    >>> bool(abs(d.ensemble_loss[0] - (d.member_loss[0] - d.diversity[0])) < 1e-12)
    True
    """
    P = np.clip(np.asarray(P, dtype=float), _EPS, 1.0)
    if P.ndim != 3:
        raise ValueError(f"P must be (n_rows, n_members, n_classes); got shape {P.shape}.")
    y = np.asarray(y).astype(int)
    w = _weights(weights, P.shape[1])
    rows = np.arange(len(y))
    log_q = np.log(P)
    log_geo = np.einsum("nmk,m->nk", log_q, w)
    log_z = np.log(np.sum(np.exp(log_geo), axis=1))  # <= 0 by the weighted AM-GM inequality
    member = -np.einsum("nm,m->n", log_q[rows, :, y], w)
    ensemble = -(log_geo[rows, y] - log_z)
    return CrossEntropyDecomposition(ensemble, member, -log_z)


def error_correlation(P: np.ndarray, y: np.ndarray, *, proba: bool = False) -> np.ndarray:
    """Pearson correlation matrix ``(n_members, n_members)`` of the members' errors.

    Regression errors are residuals ``f_i - y`` (outputs stacked); with ``proba=True`` the
    error is ``1 - q_i[y]``, the probability mass a member puts on wrong classes. A constant
    error vector gets correlation 0 with the others and 1 with itself.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros(4)
    >>> P = np.column_stack([[1.0, -1, 2, 0], [2.0, -2, 4, 0], [0.0, 1, 0, 1]])
    >>> error_correlation(P, y).round(2)[0, 1]
    np.float64(1.0)
    """
    P = np.asarray(P, dtype=float)
    if proba:
        y = np.asarray(y).astype(int)
        errors = 1.0 - P[np.arange(len(y)), :, y]
    else:
        y = np.asarray(y, dtype=float)
        if P.ndim == 3:
            yy = y[:, None, :] if y.ndim == 2 else y[:, None, None]
            errors = (P - yy).transpose(0, 2, 1).reshape(-1, P.shape[1])
        else:
            errors = P - y[:, None]
    centered = errors - errors.mean(axis=0)
    norm = np.sqrt(np.sum(centered**2, axis=0))
    # round-off leaves a "constant" error vector with a tiny spread: treat it as constant
    flat = norm <= 1e-9 * np.sqrt(len(errors)) * max(1.0, float(np.max(np.abs(errors))))
    safe = np.where(flat, 1.0, norm)
    corr = (centered.T @ centered) / np.outer(safe, safe)
    corr[flat, :] = 0.0
    corr[:, flat] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def correct_matrix(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Oracle outputs ``(n_rows, n_members)``: whether each member's top class is ``y``.

    ``P`` holds probabilities ``(n, m, k)`` or predicted labels ``(n, m)``.
    """
    P = np.asarray(P)
    y = np.asarray(y)
    labels = P.argmax(axis=2) if P.ndim == 3 else P
    return labels == y[:, None]


def pairwise_measures(correct: np.ndarray) -> dict[str, np.ndarray]:
    """Kuncheva--Whitaker pairwise diversity from oracle outputs.

    With ``N11`` the rows both members get right, ``N00`` both wrong, ``N10``/``N01`` only
    one right:

    * Q statistic ``(N11 N00 - N01 N10) / (N11 N00 + N01 N10)`` (NaN when undefined; 1 on the
      diagonal),
    * disagreement ``(N01 + N10) / N``,
    * double fault ``N00 / N``.

    Parameters
    ----------
    correct : ndarray of shape (n_rows, n_members), bool
        See :func:`correct_matrix`.

    Returns
    -------
    dict
        ``{"q_statistic", "disagreement", "double_fault"}``, each ``(n_members, n_members)``.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[1, 1], [1, 0], [0, 1], [0, 0], [1, 1]], dtype=bool)
    >>> m = pairwise_measures(c)
    >>> [float(m[k][0, 1]) for k in ("q_statistic", "disagreement", "double_fault")]
    [0.3333333333333333, 0.4, 0.2]
    """
    c = np.asarray(correct, dtype=float)
    n = c.shape[0]
    w = 1.0 - c
    n11 = c.T @ c
    n00 = w.T @ w
    n10 = c.T @ w
    n01 = w.T @ c
    num = n11 * n00 - n01 * n10
    den = n11 * n00 + n01 * n10
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    np.fill_diagonal(q, 1.0)
    return {
        "q_statistic": q,
        "disagreement": (n01 + n10) / n,
        "double_fault": n00 / n,
    }
