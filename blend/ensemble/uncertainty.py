"""Prediction intervals, prediction sets and calibrated probabilities from the OOF matrix.

No model is fit for any of this: everything is computed at the end of ``fit`` from the blend's
own out-of-fold (OOF) predictions on the weighting rows ``oof_rows_`` -- the rows on which every
member has an out-of-fold prediction. With expensive (deep) members fit on a holdout fold only,
those are the holdout rows, so the calibration uses ``n / k`` rows there instead of ``n``.

Regression: split-conformal intervals
-------------------------------------
The calibration scores are the blend's OOF residuals, one per calibration row:

* ``"adaptive"`` (the default): ``s_i = |y_i - yhat_i| / scale_i``, where ``scale`` is a small
  model of the size of the blend's error (:class:`ResidualScale`): small gradient boosting
  of ``log(|OOF residual| + c)`` on the row's features (the tree members' featurizer) plus the
  members' disagreement and the blend's prediction. It is **cross-fitted** on the calibration
  rows: ``K = 5`` folds of them, each fold's scale predicted by a model fit on the other four,
  so no row's score uses a scale that saw its own residual. At predict time the scale is the
  geometric mean of the ``K`` fold models. The scale is shrunk towards its mean, ``lam *
  scale + (1 - lam) * mean``, with ``lam`` in ``SCALE_MIX`` giving the narrowest intervals in
  a two-way split of the calibration rows; ``lam = 0`` is the absolute interval. This is the
  one model fit beyond the members (``K`` tiny boosters of ``n_calibration`` rows, no member
  refit). With fewer than ``MIN_SCALE_ROWS`` calibration rows the scale is constant;
* ``"absolute"``: ``s_i = |y_i - yhat_i|``; the interval is ``yhat(x) +- q``;
* ``"normalized"``: ``s_i = |y_i - yhat_i| / (sigma_i + floor)``, where ``sigma`` is the
  members' disagreement on the row -- the weighted standard deviation of the member predictions
  around the blend, ``sqrt(sum_j w_j (p_j - yhat)^2)``, whose mean square is the ambiguity term
  of ``diversity_`` -- and ``floor`` is a multiple of its median on the calibration rows, so a
  row where the members agree does not get a zero-width interval. The interval is
  ``yhat(x) +- q (sigma(x) + floor)``: wider where the members disagree. The multiple is the one
  giving the narrowest intervals in a two-way split of the calibration rows
  (:func:`choose_floor`); where the disagreement says little about the size of the error (it
  measures the members' differences, not the noise in ``y``), a large floor wins and the
  normalized interval is close to the absolute one.

``q`` is the ``ceil((n + 1) * coverage)``-th smallest of the ``n`` scores (``coverage = 1 -
alpha``). Guarantee: if the calibration rows and a new row are exchangeable and the model that
predicts the new row is the one that made the calibration residuals (split conformal), the
interval covers the new target with probability at least ``1 - alpha`` (marginally, over rows;
not conditionally on ``x``). Here the residuals come from fold models while the blend predicts
with its final models (refit on every row, or fold averages), as in the CV(+)/jackknife(+)
schemes: a final model that saw more rows usually errs less than the fold models, so the
intervals tend to be slightly conservative, but the exact finite-sample bound holds only for
the fold models. For ``"adaptive"`` the same holds with the fold scale models: a new row
scored with the scale model of a fold it was not fit on is exchangeable with that fold's
calibration rows, so the bound is exact for ``K`` scale models used fold by fold; predicting
with their geometric mean (a model fit on more rows) is the same CV-style approximation as the
blend's own final models. ``lam`` (one of five values) and the disagreement floor are chosen on
the calibration rows themselves: a small data-dependent choice that the exact bound ignores.
With fewer than ``1 / alpha - 1`` calibration rows ``q`` is infinite.

Classification: temperature and conformal sets
----------------------------------------------
The blend's OOF probabilities ``p`` become ``softmax(log(p) / T)``. ``T`` minimizes the log
loss (a bounded 1-D search over ``T in [0.05, 20]``); with ``calibrate="auto"`` it is kept
only when a temperature fit on 4/5 of the calibration rows lowers the log loss of the other 1/5
(five folds, summed) compared with the uncalibrated probabilities; otherwise ``T = 1`` exactly
and ``predict_proba`` is unchanged. Prediction sets use the calibrated OOF probabilities:

* ``"lac"``: ``s = 1 - p(true class)``; the set holds every class with ``p >= 1 - q`` (the
  smallest sets on average; a row may get an empty set when no class is plausible enough);
* ``"aps"``: ``s`` = the probability mass of the classes at least as likely as the true one
  (adaptive sets, non-randomized, slightly conservative).

Both carry the same marginal guarantee (``T`` is one number fit on the same rows; its effect on
exchangeability is negligible, but strictly the guarantee is for a fixed ``T``).

``method="stacking"`` has no honest OOF blend prediction (the stacker was fit on those rows), so
its blends raise a ``ValueError`` asking for a weighting method, and keep ``T = 1``.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "CalibrationMixin",
    "IntervalMixin",
    "ResidualScale",
    "absolute_scores",
    "check_coverage",
    "choose_floor",
    "choose_mix",
    "choose_temperature",
    "conformal_quantile",
    "disagreement",
    "fit_temperature",
    "log_loss",
    "normalized_scores",
    "prediction_sets",
    "set_scores",
    "temperature_scale",
]

INTERVAL_METHODS = ("adaptive", "normalized", "absolute")
SET_METHODS = ("lac", "aps")
# the disagreement floor, as a multiple of the median disagreement on the calibration rows
FLOOR_FRACTIONS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
# adaptive scale: shrinkage towards the mean scale, folds, smallest row count, the booster
SCALE_MIX = (0.0, 0.25, 0.5, 0.75, 1.0)
SCALE_FOLDS = 5
MIN_SCALE_ROWS = 50
SCALE_MODEL = {"learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 80}
# below HISTOGRAM_ROWS calibration rows, and up to EXACT_MAX_CELLS cells (rows x inputs), the
# scale models are scikit-learn's exact boosting: no OpenMP thread start-up, which dominates
# small fits on a busy machine; otherwise histogram boosting, whose cost grows far less with
# the inputs (1,600 rows x 430 text and image inputs: 13 s exact vs 2 s)
HISTOGRAM_ROWS = 2000
EXACT_MAX_CELLS = 20_000
TEMPERATURE_BOUNDS = (0.05, 20.0)
_EPS = 1e-15


# ------------------------------------------------------------------------------ pure functions


def check_coverage(coverage) -> float:
    """``coverage`` as a float in the open interval (0, 1), or a ``ValueError``.

    Examples
    --------
    >>> check_coverage(0.9)
    0.9
    """
    if isinstance(coverage, bool) or not isinstance(coverage, Real) or not 0 < coverage < 1:
        raise ValueError(
            f"coverage must be a number strictly between 0 and 1 (e.g. 0.9 for 90%); "
            f"got {coverage!r}."
        )
    return float(coverage)


def conformal_quantile(sorted_scores: np.ndarray, coverage: float) -> np.ndarray:
    """The split-conformal quantile: the ``ceil((n + 1) * coverage)``-th smallest score.

    Parameters
    ----------
    sorted_scores : ndarray of shape (n,) or (n, d)
        Calibration scores sorted ascending along axis 0.
    coverage : float
        Target coverage ``1 - alpha`` in (0, 1).

    Returns
    -------
    float or ndarray of shape (d,)
        ``inf`` when ``ceil((n + 1) * coverage) > n`` (too few rows for that coverage).

    Examples
    --------
    >>> conformal_quantile(np.arange(1.0, 20.0), 0.9)  # n = 19: the 18th smallest
    18.0
    """
    coverage = check_coverage(coverage)
    scores = np.asarray(sorted_scores, dtype=float)
    n = scores.shape[0]
    k = math.ceil((n + 1) * coverage - 1e-9)  # guards 0.9 * 20 = 18.000000000000004
    if k > n:
        warnings.warn(
            f"{n} calibration rows are too few for coverage={coverage}: the interval is "
            f"infinite; it needs at least {math.ceil(coverage / (1 - coverage))} rows.",
            UserWarning,
            stacklevel=3,
        )
        q = np.full(scores.shape[1:], np.inf)
    else:
        q = scores[max(k, 1) - 1]
    return float(q) if np.ndim(q) == 0 else np.asarray(q, dtype=float)


def disagreement(P: np.ndarray, weights: np.ndarray, center: np.ndarray | None = None):
    """Members' weighted spread around the blend: ``sqrt(sum_j w_j (P_j - center)^2)``.

    Parameters
    ----------
    P : ndarray of shape (n, m, d)
        Member predictions.
    weights : ndarray of shape (m,)
        Non-negative weights (normalized here).
    center : ndarray of shape (n, d), optional
        The blend ``sum_j w_j P_j`` when omitted.

    Returns
    -------
    ndarray of shape (n, d)

    Examples
    --------
    >>> P = np.array([[[0.0], [2.0]]])
    >>> disagreement(P, np.array([0.5, 0.5]))
    array([[1.]])
    """
    P = np.asarray(P, dtype=float)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    if center is None:
        center = np.einsum("nmd,m->nd", P, w)
    return np.sqrt(np.einsum("nmd,m->nd", (P - center[:, None, :]) ** 2, w))


def choose_floor(
    residual: np.ndarray, sigma: np.ndarray, coverage: float = 0.9, random_state: int = 0
) -> float:
    """The disagreement floor (one output) giving the narrowest cross-fitted intervals.

    Each candidate ``c * median(sigma)`` (``c`` in ``FLOOR_FRACTIONS``) is scored by the
    mean width of the ``coverage`` interval on one half of the rows with the quantile taken on
    the other half, both ways; the narrowest wins. Where the disagreement says little about the
    error, a large floor wins and the normalized interval approaches the absolute one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sigma = rng.uniform(0.1, 2.0, 400)
    >>> bool(choose_floor(rng.normal(size=400) * sigma, sigma) < np.median(sigma))
    True
    """
    r = np.abs(np.asarray(residual, dtype=float))
    s = np.asarray(sigma, dtype=float)
    median = float(np.median(s))
    tiny = 1e-9 * max(float(np.mean(r)), 1e-300)
    if median <= tiny or len(r) < 4:
        return max(median * FLOOR_FRACTIONS[0], tiny)
    scales = [s + c * median for c in FLOOR_FRACTIONS]
    best = _narrowest(r, scales, coverage, random_state)
    return float(FLOOR_FRACTIONS[best] * median)


def _narrowest(abs_residual: np.ndarray, scales: list, coverage: float, random_state: int) -> int:
    """Index of the candidate scale whose normalized intervals are narrowest when the
    quantile is taken on one half of the rows and the width measured on the other, both ways
    (ties: the first)."""
    r = abs_residual
    order = np.random.RandomState(random_state).permutation(len(r))
    halves = (order[: len(r) // 2], order[len(r) // 2 :])
    best, best_width = 0, np.inf
    for i, scale in enumerate(scales):
        width = 0.0
        for a, b in (halves, halves[::-1]):
            k = min(math.ceil((len(a) + 1) * coverage - 1e-9), len(a))
            q = np.partition(r[a] / scale[a], k - 1)[k - 1]
            width += q * float(np.sum(scale[b]))
        if width < best_width * (1 - 1e-9):
            best, best_width = i, width
    return best


def choose_mix(
    residual: np.ndarray, scale: np.ndarray, coverage: float = 0.9, random_state: int = 0
) -> float:
    """The shrinkage ``lam`` of a per-row scale towards its mean with the narrowest intervals.

    Candidates ``lam * scale + (1 - lam) * mean(scale)`` for ``lam`` in ``SCALE_MIX`` are
    compared as in :func:`choose_floor` (quantile on one half of the rows, width on the other,
    both ways). ``lam = 0`` is the absolute interval: a scale that says nothing gets it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scale = rng.uniform(0.1, 2.0, 2000)
    >>> choose_mix(rng.normal(size=2000) * scale, scale) > 0.5  # the scale tracks the error
    True
    >>> choose_mix(rng.normal(size=2000), scale)  # unrelated to the error
    0.0
    """
    r = np.abs(np.asarray(residual, dtype=float))
    s = np.asarray(scale, dtype=float)
    if len(r) < 4:
        return 0.0
    mean = float(np.mean(s))
    candidates = [lam * s + (1 - lam) * mean for lam in SCALE_MIX]
    return float(SCALE_MIX[_narrowest(r, candidates, coverage, random_state)])


def absolute_scores(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Conformal scores ``|y - pred|``."""
    return np.abs(np.asarray(y, dtype=float) - np.asarray(pred, dtype=float))


def normalized_scores(y: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Conformal scores ``|y - pred| / scale`` (``scale > 0``: disagreement plus its floor)."""
    return absolute_scores(y, pred) / np.asarray(scale, dtype=float)


class ResidualScale(BaseEstimator):
    """Cross-fitted per-row scale of the blend's error: the ``"adaptive"`` interval's divisor.

    Fit on the calibration rows: a :class:`~blend.features.tree.MixedFeaturizer` configured
    for the scale model (it never sees the target) encodes the frame, the members'
    disagreement and the blend's prediction are appended, and for each output ``n_splits``
    small boosters (``SCALE_MODEL``: 50 trees of at most 8 leaves of 80 rows;
    ``GradientBoostingRegressor`` below ``HISTOGRAM_ROWS`` rows and ``EXACT_MAX_CELLS`` rows x
    inputs, else ``HistGradientBoostingRegressor``) learn ``log(|residual| + c)`` (``c`` = 0.1
    x the mean ``|residual|``), each on all folds but one. ``calibration_scale_`` is each row's
    scale from the model that did not see it, floored at 0.05 x the mean ``|residual|`` and shrunk
    towards its mean by ``mix_`` (:func:`choose_mix`); ``predict`` uses the geometric mean of
    the fold models, floored and shrunk the same way. With fewer than ``MIN_SCALE_ROWS`` rows
    every scale is 1 (the absolute interval); a frame with no column the featurizer can use
    leaves the disagreement and the prediction as inputs.

    Parameters
    ----------
    n_splits : int, default=5
    random_state : int, default=0
        Seeds the folds and the featurizer's text SVD.
    read_frame : bool, default=True
        Whether the scale models read the frame's columns; without them (a fit out of its
        time budget: featurizing text and images costs most of this fit) they read the
        disagreement and the prediction only.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(600, 2))
    >>> residual = rng.normal(size=(600, 1)) * (0.1 + np.abs(X[:, :1]))
    >>> zero = np.zeros((600, 1))
    >>> scale = ResidualScale().fit(X, residual, zero, zero)
    >>> s = scale.predict(np.array([[0.0, 0.0], [1.9, 0.0]]), zero[:2], zero[:2])
    >>> bool(s[1, 0] > s[0, 0])  # wider where |x0| is large
    True
    """

    def __init__(self, n_splits: int = SCALE_FOLDS, random_state: int = 0, read_frame: bool = True):
        self.n_splits = n_splits
        self.random_state = random_state
        self.read_frame = read_frame

    def _inputs(self, X, sigma: np.ndarray, center: np.ndarray) -> np.ndarray:
        parts = [np.asarray(sigma, dtype=float), np.asarray(center, dtype=float)]
        if self.featurizer_ is not None:
            Z = self.featurizer_.transform(X)
            parts.insert(0, Z.toarray() if hasattr(Z, "toarray") else np.asarray(Z, dtype=float))
        return np.hstack(parts)

    def fit(self, X, residual, sigma, center) -> ResidualScale:
        """Fit the fold scale models on the calibration rows (arrays ``(n, n_outputs)``)."""
        from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
        from sklearn.model_selection import KFold

        from blend.features.tree import featurizer_for

        r = np.abs(np.asarray(residual, dtype=float))
        n, d = r.shape
        mean = np.maximum(np.mean(r, axis=0), 1e-12)
        self.offset_, self.floor_ = 0.1 * mean, 0.05 * mean
        self.models_ = [[] for _ in range(d)]
        self.mix_ = np.zeros(d)
        self.mean_scale_ = np.ones(d)
        self.calibration_scale_ = np.ones((n, d))
        self.featurizer_ = None
        if n < max(MIN_SCALE_ROWS, 2 * self.n_splits):
            return self
        histogram = HistGradientBoostingRegressor(
            max_iter=50, l2_regularization=1.0, early_stopping=False, **SCALE_MODEL
        )
        booster = (
            histogram
            if n >= HISTOGRAM_ROWS
            else GradientBoostingRegressor(n_estimators=50, **SCALE_MODEL)
        )
        try:
            self.featurizer_ = featurizer_for(booster).fit(X) if self.read_frame else None
        except ValueError:  # no usable column (all ignored): disagreement and prediction only
            self.featurizer_ = None
        Z = self._inputs(X, sigma, center)
        if Z.size > EXACT_MAX_CELLS:  # wide inputs (text, images): histograms on them too
            booster = histogram
        booster.set_params(random_state=self.random_state)
        folds = list(KFold(self.n_splits, shuffle=True, random_state=self.random_state).split(Z))
        for j in range(d):
            target = np.log(r[:, j] + self.offset_[j])
            log_scale = np.empty(n)
            for train, test in folds:
                model = clone(booster).fit(Z[train], target[train])
                log_scale[test] = model.predict(Z[test])
                self.models_[j].append(model)
            raw = np.maximum(np.exp(log_scale), self.floor_[j])
            self.mean_scale_[j] = float(np.mean(raw))
            self.mix_[j] = choose_mix(r[:, j], raw, random_state=self.random_state)
            self.calibration_scale_[:, j] = self._shrink(raw, j)
        return self

    def _shrink(self, raw: np.ndarray, j: int) -> np.ndarray:
        return self.mix_[j] * raw + (1 - self.mix_[j]) * self.mean_scale_[j]

    def predict(self, X, sigma, center) -> np.ndarray:
        """The scale of new rows, ``(n, n_outputs)``: geometric mean of the fold models."""
        n, d = len(sigma), len(self.models_)
        out = np.ones((n, d))
        if not self.models_[0]:  # too few calibration rows: a constant scale
            return out
        Z = self._inputs(X, sigma, center)
        for j, models in enumerate(self.models_):
            log_scale = np.mean([m.predict(Z) for m in models], axis=0)
            out[:, j] = self._shrink(np.maximum(np.exp(log_scale), self.floor_[j]), j)
        return out


def _log_proba(proba: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(proba, dtype=float), _EPS, 1.0))


def temperature_scale(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(proba) / temperature)`` row by row; ``temperature == 1`` returns ``proba``.

    Examples
    --------
    >>> temperature_scale(np.array([[0.8, 0.2]]), 2.0).round(3)
    array([[0.667, 0.333]])
    """
    if temperature == 1.0:
        return proba
    z = _log_proba(proba) / temperature
    return np.exp(z - logsumexp(z, axis=1, keepdims=True))


def log_loss(proba: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean log loss of ``temperature_scale(proba, temperature)`` for class indices ``y``."""
    z = _log_proba(proba)
    rows = np.arange(len(z))
    y = np.asarray(y, dtype=int)
    if temperature == 1.0:
        return float(-np.mean(z[rows, y]))
    z = z / temperature
    return float(np.mean(logsumexp(z, axis=1) - z[rows, y]))


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimizing the log loss (bounded search over ``log T``).

    Examples
    --------
    >>> p = np.array([[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.99, 0.01]])
    >>> fit_temperature(p, np.array([0, 1, 1, 0])) > 1  # over-confident: soften
    True
    """
    low, high = np.log(TEMPERATURE_BOUNDS)
    res = minimize_scalar(
        lambda t: log_loss(proba, y, float(np.exp(t))),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(res.x))


def choose_temperature(
    proba: np.ndarray, y: np.ndarray, calibrate="auto", n_splits: int = 5
) -> tuple[float, dict]:
    """The temperature to use, and the cross-validated log losses that decided it.

    Parameters
    ----------
    proba : ndarray of shape (n, n_classes)
        OOF blend probabilities.
    y : ndarray of shape (n,)
        Class indices.
    calibrate : {"auto", True, False}
        "auto": the temperature fit on every row when, over ``n_splits`` folds, temperatures
        fit on the other folds lower the held-out log loss; else 1. True: always fit. False: 1.
    n_splits : int, default=5

    Returns
    -------
    temperature : float
    info : dict
        ``cv_log_loss_uncalibrated`` and ``cv_log_loss_calibrated`` (None when not measured).
    """
    from sklearn.model_selection import KFold

    info = {"cv_log_loss_uncalibrated": None, "cv_log_loss_calibrated": None}
    y = np.asarray(y, dtype=int)
    if calibrate is False or len(y) < 2:
        return 1.0, info
    if calibrate == "auto":
        if len(y) < 2 * n_splits:
            return 1.0, info
        plain = scaled = 0.0
        for train, test in KFold(n_splits, shuffle=True, random_state=0).split(proba):
            t = fit_temperature(proba[train], y[train])
            plain += log_loss(proba[test], y[test]) * len(test)
            scaled += log_loss(proba[test], y[test], t) * len(test)
        info = {
            "cv_log_loss_uncalibrated": plain / len(y),
            "cv_log_loss_calibrated": scaled / len(y),
        }
        if not scaled < plain * (1 - 1e-6):
            return 1.0, info
    return fit_temperature(proba, y), info


def set_scores(proba: np.ndarray, y: np.ndarray, method: str = "lac") -> np.ndarray:
    """Conformal scores of the true classes: ``1 - p(y)`` ("lac") or the APS mass ("aps")."""
    proba = np.asarray(proba, dtype=float)
    p_true = proba[np.arange(len(proba)), np.asarray(y, dtype=int)]
    if method == "lac":
        return 1.0 - p_true
    return np.sum(np.where(proba >= p_true[:, None], proba, 0.0), axis=1)


def prediction_sets(proba: np.ndarray, q: float, method: str = "lac") -> np.ndarray:
    """Boolean ``(n, n_classes)``: the classes whose score is at most ``q``.

    Examples
    --------
    >>> prediction_sets(np.array([[0.7, 0.2, 0.1]]), 0.85)
    array([[ True,  True, False]])
    """
    proba = np.asarray(proba, dtype=float)
    if method == "lac":
        return 1.0 - proba <= q
    # APS: class j's score is the mass of the classes at least as likely as j
    mass = np.sum(np.where(proba[:, None, :] >= proba[:, :, None], proba[:, None, :], 0.0), axis=2)
    return mass <= q


def _check_method(method: str, allowed: tuple[str, ...]) -> str:
    if method not in allowed:
        raise ValueError(f"method must be one of {list(allowed)}; got {method!r}.")
    return method


# ---------------------------------------------------------------------------------- estimators


def _oof_blend(blend) -> tuple[np.ndarray, np.ndarray] | None:
    """The blend's OOF predictions on the weighting rows and its normalized weights."""
    if blend.stacker is not None:
        return None
    w = np.asarray(blend.weights, dtype=float)
    w = w / w.sum()
    return np.einsum("nmd,m->nd", blend.P, w), w


_STACKING_WHY = (
    "method='stacking' has no honest out-of-fold blend prediction (the stacker was fit on the "
    "same rows), so it has no calibration; fit with method='caruana', 'nnls' or 'mean' for "
    "prediction intervals and sets."
)


def _unavailable(model) -> None:
    check_is_fitted(model, "members_")
    if getattr(model, "calibration_scores_", None) is None:
        raise ValueError(getattr(model, "uncertainty_", {}).get("why") or _STACKING_WHY)


class IntervalMixin:
    """``predict_interval`` for :class:`blend.BlendRegressor` (see the module docstring)."""

    def _set_uncertainty(self, blend, X, read_frame: bool = True) -> None:
        """Calibration scores from the OOF residuals on the weighting rows (end of fit); ``X``
        is the training frame, whose ``blend.rows`` feed the adaptive scale (unless not
        ``read_frame``: see :class:`ResidualScale`)."""
        from sklearn.utils import _safe_indexing

        self.calibration_scores_ = None
        self.disagreement_floor_ = None
        self.residual_scale_ = None
        oof = _oof_blend(blend)
        if oof is None:
            self.uncertainty_ = {"why": _STACKING_WHY}
            return
        pred, w = oof
        y = np.asarray(blend.y, dtype=float).reshape(len(pred), -1)
        sigma = disagreement(blend.P, w, pred)
        residual = y - pred
        floor = np.array([choose_floor(residual[:, j], sigma[:, j]) for j in range(y.shape[1])])
        self.disagreement_floor_ = floor
        scale = ResidualScale(read_frame=read_frame)
        scale.fit(_safe_indexing(X, blend.rows), residual, sigma, pred)
        self.residual_scale_ = scale
        self.calibration_scores_ = {
            "adaptive": np.sort(normalized_scores(y, pred, scale.calibration_scale_), axis=0),
            "normalized": np.sort(normalized_scores(y, pred, sigma + floor), axis=0),
            "absolute": np.sort(absolute_scores(y, pred), axis=0),
        }
        self.calibration_residuals_ = residual
        self.calibration_disagreement_ = sigma
        scales = {
            "adaptive": scale.calibration_scale_,
            "normalized": sigma + floor,
            "absolute": np.ones_like(sigma),
        }
        self.uncertainty_ = {
            "calibration_rows": len(pred),
            "adaptive_reads_columns": bool(scale.featurizer_ is not None),
            "floor": floor.tolist(),
            "adaptive_mix": scale.mix_.tolist(),
            **{
                f"oof_mean_width_90_{m}": (
                    2
                    * np.atleast_1d(conformal_quantile(self.calibration_scores_[m], 0.9))
                    * np.mean(scales[m], axis=0)
                ).tolist()
                for m in INTERVAL_METHODS
            },
        }

    def predict_interval(self, X, coverage: float = 0.9, method: str = "adaptive"):
        """Split-conformal prediction interval around the blend's prediction.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        coverage : float, default=0.9
            Target marginal coverage ``1 - alpha``, in (0, 1).
        method : {"adaptive", "normalized", "absolute"}, default="adaptive"
            "adaptive": half-width ``q scale(x)``, ``scale`` the cross-fitted model of the
            blend's error size (:class:`ResidualScale`: the row's features, the members'
            disagreement and the prediction), shrunk towards a constant when it does not
            narrow the intervals; "normalized": half-width ``q (sigma(x) + floor)``,
            ``sigma`` the members' weighted disagreement on the row (wider where they
            disagree); "absolute": the same half-width ``q`` for every row.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)

        Notes
        -----
        The scores are the blend's out-of-fold residuals on ``oof_rows_`` (the holdout rows
        when deep members are present), divided by the method's scale. Marginal coverage is
        at least ``coverage`` for rows exchangeable with them, exactly so for the fold models
        (and, for "adaptive", the fold scale models; see :mod:`blend.ensemble.uncertainty`).
        Not available for ``method="stacking"``.

        Examples
        --------
        >>> from sklearn.datasets import make_regression
        >>> from sklearn.linear_model import Ridge
        >>> from sklearn.tree import DecisionTreeRegressor
        >>> from blend import BlendRegressor
        >>> X, y = make_regression(200, 5, noise=5.0, random_state=0)
        >>> members = [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=4))]
        >>> model = BlendRegressor(members, method="nnls", random_state=0).fit(X, y)
        >>> lower, upper = model.predict_interval(X[:3], coverage=0.9)
        >>> bool((lower <= upper).all()), lower.shape
        (True, (3,))
        """
        _unavailable(self)
        coverage = check_coverage(coverage)
        _check_method(method, INTERVAL_METHODS)
        if method not in self.calibration_scores_:  # a model fitted by an earlier blend
            raise ValueError(
                f"method={method!r} is not available for this model, fitted by an earlier "
                f"version of blend; refit it, or pass one of {sorted(self.calibration_scores_)}."
            )
        X = self._check_X(X)
        outs = self._member_outputs(X, self.members_)
        center = None
        for w, out in zip(self._member_weights, outs):  # the order predict() sums in
            center = w * out if center is None else center + w * out
        center = center.reshape(len(outs[0]), -1)
        q = conformal_quantile(self.calibration_scores_[method], coverage)
        if method == "absolute":
            half = np.broadcast_to(q, center.shape)
        else:
            P = np.stack([out.reshape(len(center), -1) for out in outs], axis=1)
            sigma = disagreement(P, self._member_weights, center)
            if method == "normalized":
                half = q * (sigma + self.disagreement_floor_)
            else:
                half = q * self.residual_scale_.predict(X, sigma, center)
        lower, upper = center - half, center + half
        if self._single_output:
            return lower[:, 0], upper[:, 0]
        return lower, upper


class CalibrationMixin:
    """Temperature-calibrated ``predict_proba`` and ``predict_set`` for the classifier."""

    def _set_uncertainty(self, blend, X=None, read_frame: bool = True) -> None:
        """Temperature and set scores from the OOF probabilities on the weighting rows."""
        self.temperature_ = 1.0
        self.calibration_scores_ = None
        oof = _oof_blend(blend)
        if oof is None:
            self.uncertainty_ = {"why": _STACKING_WHY}
            return
        proba, _ = oof
        y = np.asarray(blend.y, dtype=int).reshape(-1)
        temperature, info = choose_temperature(proba, y, getattr(self, "calibrate", "auto"))
        self.temperature_ = temperature
        calibrated = temperature_scale(proba, temperature)
        self.calibration_scores_ = {m: np.sort(set_scores(calibrated, y, m)) for m in SET_METHODS}
        self.uncertainty_ = {
            "calibration_rows": len(y),
            "temperature": temperature,
            "oof_log_loss_uncalibrated": log_loss(proba, y),
            "oof_log_loss_calibrated": log_loss(proba, y, temperature),
            **info,
        }

    def _calibrated(self, proba: np.ndarray) -> np.ndarray:
        return temperature_scale(proba, getattr(self, "temperature_", 1.0))

    def predict_set(self, X, coverage: float = 0.9, method: str = "lac") -> np.ndarray:
        """Conformal prediction sets: the classes plausible at the given coverage.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        coverage : float, default=0.9
            Target marginal probability that the set holds the true class, in (0, 1).
        method : {"lac", "aps"}, default="lac"
            "lac": every class with calibrated probability at least ``1 - q`` (smallest
            sets; possibly empty); "aps": the most likely classes until their mass reaches
            ``q`` (adaptive sets).

        Returns
        -------
        ndarray of bool, shape (n_samples, n_classes)
            Columns in the order of ``classes_``.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.naive_bayes import GaussianNB
        >>> from blend import BlendClassifier
        >>> X, y = make_classification(300, 5, random_state=0)
        >>> members = [("lr", LogisticRegression()), ("nb", GaussianNB())]
        >>> clf = BlendClassifier(members, random_state=0).fit(X, y)
        >>> clf.predict_set(X[:4], coverage=0.9).shape
        (4, 2)
        """
        _unavailable(self)
        coverage = check_coverage(coverage)
        _check_method(method, SET_METHODS)
        proba = self.predict_proba(X)
        q = conformal_quantile(self.calibration_scores_[method], coverage)
        return prediction_sets(proba, q, method)
