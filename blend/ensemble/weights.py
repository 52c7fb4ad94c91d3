"""Pure functions that turn an out-of-fold (OOF) prediction matrix into blending weights.

Conventions shared by every function here:

* ``P`` is the OOF prediction tensor of shape ``(n_rows, n_members)`` or
  ``(n_rows, n_members, n_outputs)``. For regression the last axis holds the outputs (one for a
  single target); for classification it holds each member's class probabilities.
* ``y`` is ``(n_rows,)`` or ``(n_rows, n_outputs)`` for regression and the integer class index
  ``(n_rows,)`` (``0 .. n_classes - 1``) for classification (``metric="log_loss"``).
* Weights are non-negative and sum to one, so the blend ``sum_i w_i P[:, i]`` is a convex
  combination: a blend of probabilities is again a probability.

Metrics are named by the loss they minimize: ``"squared_error"`` (ranks exactly like RMSE),
``"absolute_error"`` and ``"log_loss"``; any callable ``metric(y_true, y_pred) -> float`` (lower is
better) also works, at the price of a Python loop over candidates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

__all__ = [
    "blend_predictions",
    "caruana_weights",
    "ensemble_loss",
    "log_loss_weights",
    "mean_weights",
    "member_losses",
    "nnls_weights",
    "stacking_features",
]

Metric = str | Callable[[np.ndarray, np.ndarray], float]
_EPS = 1e-15
_NAMED = ("squared_error", "absolute_error", "log_loss")


def _as_3d(P: np.ndarray) -> np.ndarray:
    P = np.asarray(P, dtype=float)
    if P.ndim == 2:
        return P[:, :, None]
    if P.ndim != 3:
        raise ValueError(f"P must be (n_rows, n_members[, n_outputs]); got shape {P.shape}.")
    return P


def _target_2d(y: np.ndarray, metric: Metric) -> np.ndarray:
    y = np.asarray(y)
    if metric == "log_loss":
        return y.astype(int).reshape(-1)
    y = y.astype(float)
    return y[:, None] if y.ndim == 1 else y


def _check_metric(metric: Metric) -> None:
    if not callable(metric) and metric not in _NAMED:
        raise ValueError(f"metric must be one of {_NAMED} or a callable; got {metric!r}.")


def _candidate_losses(metric: Metric, y: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Loss of each candidate blend; ``cand`` is ``(n, c, d)``, the result ``(c,)``."""
    if metric == "squared_error":
        return np.mean((cand - y[:, None, :]) ** 2, axis=(0, 2))
    if metric == "absolute_error":
        return np.mean(np.abs(cand - y[:, None, :]), axis=(0, 2))
    if metric == "log_loss":
        true = cand[np.arange(len(y)), :, y]  # (n, c) probability of the true class
        return -np.mean(np.log(np.clip(true, _EPS, 1.0)), axis=0)
    squeeze = cand.shape[2] == 1 and y.ndim == 2 and y.shape[1] == 1
    y_user = y[:, 0] if squeeze else y
    return np.array(
        [
            float(metric(y_user, cand[:, j, 0] if squeeze else cand[:, j, :]))
            for j in range(cand.shape[1])
        ]
    )


def blend_predictions(P: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted blend ``sum_i w_i P[:, i]``: ``(n,)`` for 2D ``P``, ``(n, d)`` for 3D."""
    out = np.einsum("nmd,m->nd", _as_3d(P), np.asarray(weights, dtype=float))
    return out[:, 0] if np.ndim(P) == 2 else out


def ensemble_loss(P: np.ndarray, y: np.ndarray, weights: np.ndarray, metric: Metric) -> float:
    """Loss of the weighted blend of ``P`` (see the module docstring for shapes)."""
    _check_metric(metric)
    blended = np.einsum("nmd,m->nd", _as_3d(P), np.asarray(weights, dtype=float))
    return float(_candidate_losses(metric, _target_2d(y, metric), blended[:, None, :])[0])


def member_losses(P: np.ndarray, y: np.ndarray, metric: Metric) -> np.ndarray:
    """Each member's own loss, ``(n_members,)``."""
    _check_metric(metric)
    return _candidate_losses(metric, _target_2d(y, metric), _as_3d(P))


def mean_weights(n_members: int) -> np.ndarray:
    """Equal weights ``1 / n_members``."""
    if n_members < 1:
        raise ValueError("Need at least one member to weight.")
    return np.full(n_members, 1.0 / n_members)


def _select(
    P: np.ndarray, y: np.ndarray, metric: Metric, ensemble_size: int, n_init: int
) -> np.ndarray:
    """One Caruana hill climb on members ``P (n, m, d)``; returns selection counts ``(m,)``."""
    m = P.shape[1]
    own = _candidate_losses(metric, y, P)
    order = np.argsort(own, kind="stable")
    counts = np.zeros(m)
    # sorted initialization: add the best members while each one still helps
    counts[order[0]] = 1
    total = P[:, order[0], :].copy()
    best = own[order[0]]
    for j in order[1 : max(n_init, 1)]:
        trial = (total + P[:, j, :]) / (counts.sum() + 1)
        loss = _candidate_losses(metric, y, trial[:, None, :])[0]
        if loss >= best:
            break
        counts[j] += 1
        total += P[:, j, :]
        best = loss
    history = [counts.copy()]
    losses = [best]
    # selection with replacement; keep the best prefix of the climb
    for _ in range(max(ensemble_size - int(counts.sum()), 0)):
        size = counts.sum() + 1
        cand = (total[:, None, :] + P) / size
        scores = _candidate_losses(metric, y, cand)
        j = int(np.argmin(scores))
        counts[j] += 1
        total += P[:, j, :]
        history.append(counts.copy())
        losses.append(float(scores[j]))
    return history[int(np.argmin(losses))]


def caruana_weights(
    P: np.ndarray,
    y: np.ndarray,
    *,
    metric: Metric = "squared_error",
    ensemble_size: int = 50,
    n_init: int = 3,
    n_bags: int = 1,
    bag_fraction: float = 0.5,
    random_state: int | np.random.RandomState | None = None,
) -> np.ndarray:
    """Greedy ensemble selection with replacement (Caruana et al., ICML 2004).

    Starts from the best member and adds the next best ones (up to ``n_init``) while each
    lowers the loss, then repeatedly adds -- with replacement -- the member whose inclusion
    lowers the blend's loss most, up to ``ensemble_size`` picks, and keeps the best prefix of
    that climb. A member's weight is its share of the picks. With ``n_bags > 1`` the climb is
    repeated on random subsets of ``bag_fraction`` of the members and the weights averaged
    (bagged selection, which resists over-fitting the hill-climb rows).

    Parameters
    ----------
    P : ndarray of shape (n_rows, n_members) or (n_rows, n_members, n_outputs)
        Out-of-fold predictions (probabilities for ``metric="log_loss"``).
    y : ndarray
        Targets, or class indices for ``"log_loss"``.
    metric : str or callable, default="squared_error"
        Loss to minimize (see the module docstring).
    ensemble_size : int, default=50
        Number of picks in the climb.
    n_init : int, default=3
        At most this many best members start the ensemble.
    n_bags : int, default=1
        Number of bagged climbs; 1 means plain selection.
    bag_fraction : float, default=0.5
        Fraction of the members each bag sees.
    random_state : int, RandomState or None
        Seeds the bags.

    Returns
    -------
    ndarray of shape (n_members,)
        Non-negative weights summing to one.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> P = np.column_stack([y + 0.5, y - 0.5, y + 3.0])
    >>> caruana_weights(P, y).round(2).tolist()
    [0.5, 0.5, 0.0]
    """
    _check_metric(metric)
    P3 = _as_3d(P)
    yy = _target_2d(y, metric)
    m = P3.shape[1]
    if m == 0:
        raise ValueError("Need at least one member to weight.")
    if n_bags <= 1:
        counts = _select(P3, yy, metric, ensemble_size, n_init)
        return counts / counts.sum()
    rng = (
        np.random.RandomState(random_state)
        if not isinstance(random_state, np.random.RandomState)
        else random_state
    )
    size = max(1, round(bag_fraction * m))
    weights = np.zeros(m)
    for _ in range(n_bags):
        chosen = np.sort(rng.choice(m, size=size, replace=False))
        counts = _select(P3[:, chosen, :], yy, metric, ensemble_size, n_init)
        weights[chosen] += counts / counts.sum()
    return weights / weights.sum()


def _simplex_minimize(fun, jac, m: int) -> np.ndarray:
    if m == 1:
        return np.ones(1)
    result = minimize(
        fun,
        np.full(m, 1.0 / m),
        jac=jac,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    w = np.clip(result.x, 0.0, None)
    w[w < 1e-10] = 0.0
    return w / w.sum()


def nnls_weights(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares weights constrained to be non-negative and to sum to one.

    Solves ``min_w ||sum_i w_i P[:, i] - y||^2`` over the probability simplex through the
    ``(m, m)`` Gram matrix, so the cost does not grow with the number of rows after one
    matrix product. Multi-output targets share one weight per member.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.arange(6.0)
    >>> P = np.column_stack([y + 1.0, y - 1.0])
    >>> nnls_weights(P, y).round(3).tolist()
    [0.5, 0.5]
    """
    P3 = _as_3d(P)
    yy = _target_2d(y, "squared_error")
    n, m, d = P3.shape
    A = P3.transpose(0, 2, 1).reshape(n * d, m)
    b = yy.reshape(n * d)
    scale = max(float(np.mean(b**2)), 1e-12)
    G = (A.T @ A) / (n * d) / scale
    c = (A.T @ b) / (n * d) / scale
    return _simplex_minimize(lambda w: w @ G @ w - 2 * c @ w, lambda w: 2 * (G @ w - c), m)


def log_loss_weights(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Simplex weights minimizing the log loss of the blended probabilities.

    Only each member's probability of the true class matters for the log loss of a linear
    blend, so this is a convex problem in ``n_members`` variables.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[[0.9, 0.1], [0.6, 0.4]], [[0.2, 0.8], [0.4, 0.6]]])
    >>> w = log_loss_weights(P, np.array([0, 1]))
    >>> bool(w[0] > w[1])
    True
    """
    P3 = _as_3d(P)
    yy = _target_2d(y, "log_loss")
    T = np.clip(P3[np.arange(len(yy)), :, yy], _EPS, 1.0)  # (n, m)

    def fun(w):
        return -np.mean(np.log(np.clip(T @ w, _EPS, None)))

    def jac(w):
        return -np.mean(T / np.clip(T @ w, _EPS, None)[:, None], axis=0)

    return _simplex_minimize(fun, jac, T.shape[1])


def stacking_features(P: np.ndarray, *, classification: bool = False) -> np.ndarray:
    """Flatten OOF predictions into meta-features ``(n_rows, n_members * n_outputs)``.

    For binary classification only the positive-class probability of each member is kept
    (the other column is redundant); otherwise every output of every member becomes a column.
    """
    P3 = _as_3d(P)
    if classification and P3.shape[2] == 2:
        return P3[:, :, 1]
    n, m, d = P3.shape
    return P3.reshape(n, m * d)
