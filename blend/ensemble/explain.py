"""Per-row explanations through the blend: each input column's share of each prediction.

A weighted blend predicts ``sum_m w_m f_m(x)``, so an explanation of every member
``f_m(x) = b_m + sum_j phi_mj(x) + gap_m(x)`` gives one of the blend: baseline ``sum_m w_m b_m``,
contribution ``sum_m w_m phi_mj`` of column ``j`` and gap ``sum_m w_m gap_m``. Each member
is explained by the best method its fitted type allows (:func:`explain_member`):

========================================  ==========================================  ========
member (final model after the features)   method                                      gap
========================================  ==========================================  ========
XGBoost (``XGB*``, early-stopped wrapper)  TreeSHAP by per-leaf tables (see below)      0
LightGBM / CatBoost members               TreeSHAP of the booster itself              0
scikit-learn forests and decision trees   Saabas path attribution from ``tree_``      0
``WideLinear*``                           coefficient x (value - fit mean)            0
other linear models (``coef_``)           coefficient x value, intercept as baseline  0
``FoldAverage``                           the mean of its fold models' attributions   as theirs
anything else (Keras graphs included)     occlusion to the missing value              reported
========================================  ==========================================  ========

XGBoost members get exact (path-dependent) TreeSHAP, the values ``pred_contribs=True``
returns, from :mod:`blend.ensemble.tree_shap`: each leaf's Shapley weights depend on a row only
through which of its path's features the row follows, so they are tabulated once per booster
(kept while it lives) and a row costs ``O(leaves x depth)`` per tree instead of XGBoost's
``O(leaves x depth^2)``. Boosters with several outputs, categorical splits or very deep paths
use XGBoost's ``pred_contribs`` (the bias term always comes from it).

``trees="saabas"`` explains the boosters by their paths instead (XGBoost ``approx_contribs``,
CatBoost's approximate mode): as additive and cheaper still (a path costs ``O(depth)``), but
interactions are credited in tree order. Boosters that predict in float32 (XGBoost) round
their own prediction: their gap is that rounding, about ``1e-7`` relative.

Features are summed back to the frame's columns: a :class:`~blend.MixedFeaturizer` names the
column behind each of its features (a text or an image column is one column, whatever number of
features it becomes); a ratio ``a/b`` or a feature over several image views is shared equally
by its columns, as is a hashed cross of the linear members.

**Occlusion** (deep members and any model with no exact method): the column's contribution is
``f(x) - f(x with that column missing)`` and the baseline ``f(every column missing)``, on the
member's own predict (a Keras member uses its compiled predict path, in one batch). Missing
means NaN (numbers) or None (categories, text, images), which every blend member reads. What
interactions leave over, ``f(x) - baseline - sum_j phi_j``, is the member's gap, reported in
the ``gap`` column, never spread over the columns.

**Classifiers** are explained on the probability scale, the one the blend averages on. A
member that is exact on its raw score (log-odds, softmax logits) is carried to the
probability of each class by integrating the link's gradient along the straight path from
the baseline score to the row's score (Gauss-Legendre, 48 nodes): for two classes that is
the exact rescaling ``phi_j (p - p_0) / (f - f_0)``, for more classes it is exact to about
``1e-12`` and any leftover lands in ``gap``. Forests are exact on probabilities directly.

Sums are float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from blend.ensemble.outputs import FoldAverage, member_output

__all__ = ["Attribution", "ExplainMixin", "column_map", "explain_member"]

_QUADRATURE_NODES = 48


@dataclass
class Attribution:
    """One model's explanation of ``n`` rows over ``C`` columns and ``k`` outputs.

    Attributes
    ----------
    values : ndarray of shape (n, C, k)
        Each column's contribution.
    baseline : ndarray of shape (n, k)
        What the model predicts with no column's information.
    output : ndarray of shape (n, k)
        What the model predicts.
    method : str
        How the contributions were computed.
    exact : bool
        True when ``baseline + values.sum(1) == output`` by construction.
    """

    values: np.ndarray
    baseline: np.ndarray
    output: np.ndarray
    method: str
    exact: bool

    @property
    def gap(self) -> np.ndarray:
        """``output - baseline - sum of contributions``, ``(n, k)``."""
        return self.output - self.baseline - self.values.sum(axis=1)


# ------------------------------------------------------------------------ features -> columns


def _featurizer_map(featurizer, columns: Sequence[str]) -> np.ndarray:
    """``(n_features, n_columns)`` shares of each MixedFeaturizer feature in each column."""
    index = {str(c): i for i, c in enumerate(columns)}
    rows: list[list[str]] = []
    for enc in featurizer.encoders_:
        rows += [[enc.column]] * len(enc.names())
    for views in featurizer.image_views_:
        rows += [list(views.columns)] * len(views.names())
    if featurizer.ratios_ is not None:
        cols = featurizer.ratios_.columns
        rows += [[a, b] for i, a in enumerate(cols) for b in cols[i + 1 :]]
    return _share_matrix(rows, index)


def _share_matrix(rows: list[list[str]], index: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(rows), len(index)))
    for f, sources in enumerate(rows):
        found = [index[str(c)] for c in sources if str(c) in index]
        if not found:  # reads no named column (e.g. trees over all of them): shared by all
            found = list(range(len(index)))
        out[f, found] += 1.0 / len(found)
    return out


def column_map(preprocess, columns: Sequence[str], n_features: int) -> np.ndarray | None:
    """How the features a model reads come from the frame's columns.

    Parameters
    ----------
    preprocess : transformer or None
        What turns the frame into the model's matrix: a fitted
        :class:`~blend.MixedFeaturizer`, a pipeline of transformers with
        ``get_feature_names_out`` whose names are column names, or None (the model reads the
        columns themselves).
    columns : list of str
        The frame's columns.
    n_features : int
        Width of the model's matrix.

    Returns
    -------
    ndarray of shape (n_features, n_columns) or None
        Row ``f`` holds the share of feature ``f`` in each column (rows sum to 1); None when
        the mapping is unknown.

    Examples
    --------
    >>> column_map(None, ["a", "b"], 2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    index = {str(c): i for i, c in enumerate(columns)}
    if preprocess is None:
        return np.eye(len(columns)) if n_features == len(columns) else None
    steps = preprocess.steps if isinstance(preprocess, Pipeline) else [(None, preprocess)]
    if len(steps) == 1 and hasattr(steps[0][1], "encoders_"):
        found = _featurizer_map(steps[0][1], columns)
        return found if found.shape[0] == n_features else None
    try:
        names = [str(n) for n in preprocess.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        return None
    if len(names) != n_features or not all(n in index for n in names):
        return None
    return _share_matrix([[n] for n in names], index)


def _split_pipeline(estimator):
    """``(preprocessing or None, final model)``."""
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1], estimator[-1]
    if isinstance(estimator, Pipeline):
        return None, estimator[-1]
    return None, estimator


# ------------------------------------------------------------------------ per-family attributions


def _xgb_model(model):
    """The fitted ``xgboost.XGBModel`` inside ``model`` (or the early-stopping wrapper)."""
    for candidate in (model, getattr(model, "estimator_", None)):
        if candidate is not None and type(candidate).__module__.startswith("xgboost"):
            if hasattr(candidate, "get_booster"):
                return candidate
    return None


def _xgb_contribs(xgb, Z, saabas: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """TreeSHAP (or Saabas paths) of an XGBoost model: ``(n, F, k)`` and bias ``(n, k)``, raw
    score scale."""
    import xgboost

    from blend.ensemble.tree_shap import tree_tables

    booster = xgb.get_booster()
    types = booster.feature_types
    categorical = types is not None and "c" in types
    missing = xgb.missing if xgb.missing is not None else np.nan
    iterations = xgb._get_iteration_range(None)
    tables = None
    if not saabas and (isinstance(Z, np.ndarray) or sp.issparse(Z)) and Z.shape[0] > 1:
        tables = tree_tables(booster, iterations, Z.shape[1])
    data = xgboost.DMatrix(
        Z if tables is None else Z[:1],  # the tables need XGBoost's bias only
        missing=missing,
        feature_types=types if categorical else None,
        enable_categorical=categorical,
        nthread=xgb.n_jobs if xgb.n_jobs else -1,
    )
    contribs = booster.predict(
        data, pred_contribs=True, approx_contribs=saabas, iteration_range=iterations
    )
    contribs = np.asarray(contribs, dtype=np.float64)
    if tables is not None:  # exact TreeSHAP from per-leaf tables (blend.ensemble.tree_shap)
        values = tables.contributions(Z, missing)
        bias = np.broadcast_to(contribs[:1, -1:], (Z.shape[0], 1))
        return values[:, :, None], np.array(bias)
    if contribs.ndim == 2:  # (n, F + 1): one output
        contribs = contribs[:, None, :]
    contribs = np.moveaxis(contribs, 1, 2)  # (n, F + 1, k)
    return contribs[:, :-1, :], contribs[:, -1, :]


def _native_contribs(model, Z, saabas: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """TreeSHAP of the LightGBM / CatBoost members, raw score scale (CatBoost's approximate
    mode for ``saabas``; LightGBM has only TreeSHAP)."""
    booster = model._model()
    Z = model._checked(Z)
    if model._library == "lightgbm":
        booster = booster if not hasattr(booster, "booster_") else booster.booster_
        raw = booster.predict(Z, pred_contrib=True, num_threads=model._threads())
        if isinstance(raw, list):  # multiclass on sparse input: one matrix per class
            raw = np.stack([r.toarray() if sp.issparse(r) else r for r in raw], axis=1)
        elif sp.issparse(raw):
            raw = raw.toarray()
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 2 and raw.shape[1] != Z.shape[1] + 1:  # multiclass, classes side by side
            raw = raw.reshape(len(raw), -1, Z.shape[1] + 1)
    else:
        import catboost

        raw = booster.get_feature_importance(
            data=catboost.Pool(Z),
            type="ShapValues",
            shap_calc_type="Approximate" if saabas else "Regular",
        )
        raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 2:
        raw = raw[:, None, :]
    raw = np.moveaxis(raw, 1, 2)
    return raw[:, :-1, :], raw[:, -1, :]


def _is_native_booster(model) -> bool:
    return getattr(model, "_library", None) in ("lightgbm", "catboost") and hasattr(
        model, "model_bytes_"
    )


def _saabas(model, Z, saabas: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Saabas path attribution of a scikit-learn tree or forest: ``(n, F, k)``, ``(n, k)``.

    Along each row's path every split hands the change of the node value to the split's
    feature; the root value is the baseline. Exact: the sum is the leaf value. Forests
    average their trees. Classifiers: class fractions (the forest's probabilities).
    """
    trees = getattr(model, "estimators_", None)
    trees = [model] if trees is None else list(np.ravel(trees))
    Z = np.asarray(Z.toarray() if sp.issparse(Z) else Z, dtype=np.float32)
    n, n_features = Z.shape
    total, base = None, None
    for est in trees:
        tree = est.tree_
        value = tree.value.reshape(tree.node_count, -1).astype(np.float64)  # (nodes, k)
        k = value.shape[1]
        internal = np.flatnonzero(tree.children_left >= 0)
        parent = np.full(tree.node_count, -1)
        parent[tree.children_left[internal]] = internal
        parent[tree.children_right[internal]] = internal
        path = est.decision_path(Z).tocoo()
        keep = parent[path.col] >= 0
        rows, nodes = path.row[keep], path.col[keep]
        feats = tree.feature[parent[nodes]]
        delta = value[nodes] - value[parent[nodes]]
        flat = rows * n_features + feats
        contrib = np.stack(
            [np.bincount(flat, delta[:, c], minlength=n * n_features) for c in range(k)], axis=-1
        ).reshape(n, n_features, k)
        root = np.broadcast_to(value[0], (n, k))
        total = contrib if total is None else total + contrib
        base = root.copy() if base is None else base + root
    return total / len(trees), base / len(trees)


def _is_sklearn_tree(model) -> bool:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import BaseDecisionTree

    forests = (RandomForestRegressor, RandomForestClassifier, ExtraTreesRegressor)
    return isinstance(model, (*forests, ExtraTreesClassifier, BaseDecisionTree))


def _linear(model, Z, saabas: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``coef x value`` per feature, the intercept as the baseline (raw score scale)."""
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))  # (k, F)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    values = Z.toarray() if sp.issparse(Z) else np.asarray(Z, dtype=np.float64)
    contrib = values[:, :, None] * coef.T[None, :, :]
    return contrib, np.broadcast_to(intercept, (len(values), coef.shape[0])).copy()


def _wide_linear(model, X, columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``coef x (value - fit mean)`` of a WideLinear member, grouped per column.

    The fit means are stored: the share of fit rows on each wide id (``id_counts_``) and the
    scaler's mean of the dense features. Returns contributions ``(n, C, k)``, baseline and
    the raw score.
    """
    Z = model._encode(X)
    coef = np.atleast_2d(np.asarray(model._coef(), dtype=np.float64))
    intercept = model.intercept_ if hasattr(model, "intercept_") else model.model_.intercept_
    index = {str(c): i for i, c in enumerate(columns)}
    sources, means = [], []
    if model.wide_ is not None:
        wide = model.wide_
        n_fit = wide.id_counts_.sum() / max(len(wide.fields_), 1)
        offsets = np.array([f.offset for f in wide.fields_])
        for i in model.wide_columns_:
            field = wide.fields_[int(np.searchsorted(offsets, i, side="right")) - 1]
            sources.append(list(field.columns))
        means.append(wide.id_counts_[model.wide_columns_] / n_fit)
    shares = _share_matrix(sources, index)
    if model.dense_ is not None:
        shares = np.vstack([shares, _featurizer_map(model.dense_, columns)])
        scaler = model.scaler_
        centred = getattr(scaler, "with_mean", False)
        means.append(np.zeros(len(scaler.scale_)) if centred else scaler.mean_ / scaler.scale_)
    mean = np.concatenate(means)
    values = Z.toarray() - mean
    contrib = np.einsum("nf,kf,fc->nck", values, coef, shares)
    base = np.atleast_1d(np.asarray(intercept, dtype=np.float64)) + coef @ mean
    return contrib, np.broadcast_to(base, (len(values), len(base))).copy()


# ------------------------------------------------------------------------ scales


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _to_probability(values: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, ...]:
    """Carry raw-score contributions to class probabilities (see the module docstring).

    ``values`` ``(n, C, k)`` and ``base`` ``(n, k)``: one log-odds column (``k == 1``, two
    classes) or ``k`` softmax logits. Returns contributions ``(n, C, n_classes)``, baseline
    and output probabilities.
    """
    score = base + values.sum(axis=1)
    if values.shape[2] == 1:
        p, p0 = _sigmoid(score[:, 0]), _sigmoid(base[:, 0])
        step = score[:, 0] - base[:, 0]
        slope = np.where(
            np.abs(step) > 1e-12, (p - p0) / np.where(step == 0, 1.0, step), p * (1 - p)
        )
        one = values[:, :, 0] * slope[:, None]
        contrib = np.stack([-one, one], axis=-1)
        return contrib, np.stack([1 - p0, p0], -1), np.stack([1 - p, p], -1)
    t, w = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    t, w = (t + 1) / 2, w / 2
    jac = np.zeros((len(base), base.shape[1], base.shape[1]))
    for ti, wi in zip(t, w):
        q = _softmax(base + ti * (score - base))  # (n, k)
        jac += wi * (q[:, :, None] * (np.eye(q.shape[1])[None] - q[:, None, :]))
    contrib = np.einsum("njc,nkc->njk", values, jac)
    return contrib, _softmax(base), _softmax(score)


def _through(fn, base: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Carry contributions ``(n, C, k)`` through a smooth map ``fn`` of ``(n, k)`` rows.

    Integrated gradients along the straight path from ``base`` to ``base + sum_j values_j``
    (Gauss-Legendre nodes, central differences along each column's direction): complete up to
    about ``1e-9``; the leftover lands in the gap.
    """
    n, n_columns, k = values.shape
    t, w = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    t, w = (t + 1) / 2, w / 2
    step = values.sum(axis=1)
    eps = 1e-5
    out = np.zeros_like(values)
    directions = values.reshape(n * n_columns, k)
    for ti, wi in zip(t, w):
        point = np.repeat(base + ti * step, n_columns, axis=0)
        # small enough that both points stay inside the map's domain (probabilities > 0)
        size = np.maximum(np.abs(directions).max(axis=1, keepdims=True), 1.0)
        h = np.minimum(eps, 0.25 * point.min(axis=1, keepdims=True)) / size
        h = np.maximum(h, 1e-12)
        diff = fn(point + h * directions) - fn(point - h * directions)
        out += wi * (diff / (2 * h)).reshape(n, n_columns, k)
    return out, fn(base)


def _align(values: np.ndarray, base: np.ndarray, classes, n_classes: int):
    """Scatter a model's class columns into the blend's ``n_classes`` (fold models may miss
    one)."""
    classes = np.asarray(classes).astype(int)
    if len(classes) == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return values, base
    full_v = np.zeros((*values.shape[:2], n_classes))
    full_b = np.zeros((len(base), n_classes))
    full_v[:, :, classes], full_b[:, classes] = values, base
    return full_v, full_b


# ------------------------------------------------------------------------ dispatch


def _exact_parts(model, preprocess, X, columns, trees: str):
    """``(contributions (n, C, k), baseline (n, k), scale, method)`` or None.

    ``scale`` is ``"raw"`` (regression outputs, classifier log-odds/logits) or ``"proba"``.
    """
    from blend.members.linear import WideLinearClassifier, WideLinearRegressor

    if isinstance(model, (WideLinearRegressor, WideLinearClassifier)):
        if preprocess is None:
            values, base = _wide_linear(model, X, columns)
            return values, base, "raw", "linear (coefficient x centred value)"
        return None
    xgb = _xgb_model(model)
    if xgb is not None:
        features, fit = _xgb_contribs, "TreeSHAP (XGBoost)"
        fit = "Saabas paths (XGBoost)" if trees == "saabas" else fit
    elif _is_native_booster(model):
        features, fit = _native_contribs, f"TreeSHAP ({model._library})"
        if trees == "saabas" and model._library == "catboost":
            fit = "approximate ShapValues (catboost)"
    elif _is_sklearn_tree(model):
        features, fit = _saabas, "Saabas path attribution"
    elif hasattr(model, "coef_") and hasattr(model, "intercept_"):
        features, fit = _linear, "linear (coefficient x value)"
    else:
        return None
    Z = X if preprocess is None else preprocess.transform(X)
    if preprocess is None and isinstance(Z, pd.DataFrame) and xgb is None:
        Z = Z.to_numpy(dtype=np.float64)
    shares = column_map(preprocess, columns, Z.shape[1])
    if shares is None:
        return None
    values, base = features(xgb if xgb is not None else model, Z, trees == "saabas")
    contrib = np.einsum("nfk,fc->nck", values, shares)
    scale = "proba" if features is _saabas and hasattr(model, "classes_") else "raw"
    return contrib, base, scale, fit


def _occlusion(estimator, X, columns, classification: bool, n_outputs: int) -> Attribution:
    """Contribution of column j: ``f(x) - f(x with j missing)``; baseline ``f(all missing)``."""
    n = len(X)
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
    names = list(frame.columns)
    parts = [frame]
    for column in names:
        part = frame.copy()
        part[column] = _missing_like(part[column])
        parts.append(part)
    empty = frame.copy()
    for column in names:
        empty[column] = _missing_like(empty[column])
    parts.append(empty)
    stacked = pd.concat(parts, ignore_index=True)
    if not isinstance(X, pd.DataFrame):
        stacked = stacked.to_numpy()
    out = member_output(estimator, stacked, classification, n_outputs).reshape(len(parts), n, -1)
    output, base = out[0], out[-1]
    values = np.zeros((n, len(columns), out.shape[2]))
    position = {str(c): i for i, c in enumerate(columns)}
    for j, column in enumerate(names):
        if str(column) in position:
            values[:, position[str(column)], :] = output - out[1 + j]
    return Attribution(values, base, output, "occlusion (column set missing)", False)


def _missing_like(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        return pd.Series(np.nan, index=series.index, dtype=float)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical([None] * len(series), dtype=series.dtype), series.index)
    return pd.Series([None] * len(series), index=series.index, dtype=object)


def explain_member(
    estimator,
    X,
    columns: Sequence[str],
    *,
    classification: bool,
    n_outputs: int,
    trees: str = "shap",
) -> Attribution:
    """Explain one fitted blend member on ``X``, per column of ``columns``.

    Parameters
    ----------
    estimator : fitted estimator
        A member's final model (a pipeline, a :class:`FoldAverage`, a bare model).
    X : DataFrame or ndarray
        Rows to explain, as the blend reads them.
    columns : list of str
        The blend's input columns.
    classification : bool
        Explain class probabilities (True) or regression outputs.
    n_outputs : int
        Outputs of a regressor, classes of a classifier.
    trees : {"shap", "saabas"}, default="shap"
        Boosters: exact TreeSHAP, or Saabas path attribution (XGBoost ``approx_contribs``,
        CatBoost's approximate mode; LightGBM stays on TreeSHAP): as additive and cheaper
        for deep boosters, but each split's change goes to its own feature only, so
        interactions are credited by tree order.

    Returns
    -------
    Attribution
        ``values`` ``(n, len(columns), n_outputs)``; float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> model = LinearRegression().fit(X, X @ [2.0, -1.0] + 3)
    >>> att = explain_member(model, X, ["a", "b"], classification=False, n_outputs=1)
    >>> np.round(att.values[2, :, 0], 6).tolist(), att.method
    ([4.0, -2.0], 'linear (coefficient x value)')
    """
    if isinstance(estimator, FoldAverage):
        parts = [
            explain_member(
                e, X, columns, classification=classification, n_outputs=n_outputs, trees=trees
            )
            for e in estimator.estimators
        ]
        return Attribution(
            np.mean([p.values for p in parts], axis=0),
            np.mean([p.baseline for p in parts], axis=0),
            np.mean([p.output for p in parts], axis=0),
            "fold average of " + ", ".join(sorted({p.method for p in parts})),
            all(p.exact for p in parts),
        )
    preprocess, model = _split_pipeline(estimator)
    exact = _exact_parts(model, preprocess, X, columns, trees)
    if exact is None:
        return _occlusion(estimator, X, columns, classification, n_outputs)
    values, base, scale, method = exact
    # the model's own prediction: float32 boosters round their sums, and the gap shows it
    output = member_output(estimator, X, classification, n_outputs)
    if not classification:
        return Attribution(values, base, output, method, True)
    exact_sum = True
    if scale == "raw":
        values, base, _ = _to_probability(values, base)
        exact_sum = values.shape[2] <= 2  # softmax: a quadrature leftover lands in the gap
    values, base = _align(values, base, model.classes_, n_outputs)
    return Attribution(values, base, output, method, exact_sum)


# ------------------------------------------------------------------------ the estimators' API


class ExplainMixin:
    """``explain`` and ``explain_members`` for the blend estimators."""

    def _explain_check(self, X):
        check_is_fitted(self, "members_")
        if self.final_estimator_ is not None:
            raise ValueError(
                "Explanations need a weighted blend: a stacking final estimator "
                "(method='stacking') mixes the members non-linearly. Refit with "
                "method='caruana', 'nnls' or 'mean' to explain."
            )
        X = self._check_X(X)
        columns = (
            [str(c) for c in self._columns]
            if self._columns is not None
            else [f"x{i}" for i in range(self.n_features_in_)]
        )
        if isinstance(X, pd.DataFrame) and self._columns is not None:
            X = X[list(self._columns)]
        return X, columns

    def _explain_target(self, target, proba: np.ndarray) -> np.ndarray:
        """The class index explained in each row."""
        if target is None:
            if len(self.classes_) == 2:
                return np.ones(len(proba), dtype=int)
            return np.argmax(proba, axis=1)
        found = np.flatnonzero(self.classes_ == target)
        if len(found) == 0:
            raise ValueError(
                f"target={target!r} is not a class of this model; classes: "
                f"{self.classes_.tolist()}."
            )
        return np.full(len(proba), int(found[0]))

    def _member_attributions(self, X, columns, trees: str) -> list[Attribution]:
        if trees not in ("shap", "saabas"):
            raise ValueError(f"trees must be 'shap' or 'saabas'; got {trees!r}.")
        return [
            explain_member(
                est,
                X,
                columns,
                classification=self._classification,
                n_outputs=self._n_outputs,
                trees=trees,
            )
            for _, est in self.members_
        ]

    def explain(self, X, *, target=None, output: int = 0, trees: str = "shap") -> pd.DataFrame:
        """Each input column's contribution to each prediction.

        ``baseline + sum of the column contributions + gap`` equals the blend's prediction
        (``prediction`` column) in every row. ``gap`` is 0 up to float64 rounding when every
        member is exactly decomposed (tree boosters by TreeSHAP, forests by their paths,
        linear members by their coefficients, two-class classifiers included); members
        explained by occlusion (Keras graphs, models with no exact method) add what their
        column interactions leave over to ``gap``. See :mod:`blend.ensemble.explain`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows to explain; the columns seen in fit must be present.
        target : class label, optional
            Classifiers: the class whose probability is explained. Default: the second class
            (``classes_[1]``, the positive class) with two classes, each row's predicted
            class with more (named in the ``class`` column).
        output : int, default=0
            Regressors with several outputs: the output explained.
        trees : {"shap", "saabas"}, default="shap"
            How boosters are explained: exact TreeSHAP, or Saabas paths (as additive,
            cheaper for many deep trees, interactions credited by tree order). Forests always
            use their paths.

        Returns
        -------
        DataFrame
            Index of ``X``; columns ``baseline``, one per input column (a text or image
            column is one column), ``gap`` and ``prediction`` (the blended value, or the
            blended probability of the explained class), plus ``class`` for classifiers.

        Raises
        ------
        ValueError
            Stacking blends, missing columns, an unknown ``target``.
        sklearn.exceptions.NotFittedError
            Before ``fit``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sklearn.linear_model import Ridge
        >>> from blend import BlendRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
        >>> y = 3 * X["a"] + rng.normal(scale=0.1, size=100)
        >>> model = BlendRegressor([("ridge", Ridge())], cv=3, random_state=0).fit(X, y)
        >>> parts = model.explain(X.iloc[:3])
        >>> list(parts.columns)
        ['baseline', 'a', 'b', 'gap', 'prediction']
        >>> bool(np.allclose(parts[["baseline", "a", "b"]].sum(axis=1), model.predict(X[:3])))
        True
        """
        X, columns = self._explain_check(X)
        parts = self._member_attributions(X, columns, trees)
        weights = np.asarray(self._member_weights, dtype=np.float64)
        values = sum(w * p.values for w, p in zip(weights, parts))
        base = sum(w * p.baseline for w, p in zip(weights, parts))
        out = sum(w * p.output for w, p in zip(weights, parts))
        scale = getattr(self, "_calibrated", None)
        if self._classification and scale is not None and scale(base[:1]) is not base[:1]:
            # a calibrated classifier maps the blended probabilities once more
            values, base = _through(scale, base, values)
            out = scale(out)
        rows = np.arange(len(out))
        if self._classification:
            pick = self._explain_target(target, out)
        else:
            if not 0 <= output < self._n_outputs:
                raise ValueError(f"output must be in [0, {self._n_outputs}); got {output}.")
            pick = np.full(len(out), output)
        frame = pd.DataFrame(values[rows, :, pick], columns=columns)
        frame.insert(0, "baseline", base[rows, pick])
        frame["gap"] = out[rows, pick] - base[rows, pick] - values[rows, :, pick].sum(axis=1)
        frame["prediction"] = out[rows, pick]
        if self._classification:
            frame["class"] = self.classes_[pick]
        if isinstance(X, pd.DataFrame):
            frame.index = X.index
        frame.attrs["methods"] = {name: p.method for (name, _), p in zip(self.members_, parts)}
        return frame

    def explain_members(self, X, *, target=None, output: int = 0) -> pd.DataFrame:
        """Each member's weighted share of each prediction.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        target : class label, optional
            Classifiers: the class whose probability is split (default as in
            :meth:`explain`).
        output : int, default=0
            Regressors with several outputs: the output split.

        Returns
        -------
        DataFrame
            One column per member with weight (``weight x member prediction``) and
            ``prediction``, their sum.

        Raises
        ------
        ValueError
            For ``method="stacking"``: explanations need a weighted blend.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sklearn.linear_model import Ridge
        >>> from blend import BlendRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = pd.DataFrame({"a": rng.normal(size=60)})
        >>> model = BlendRegressor([("r1", Ridge()), ("r2", Ridge(alpha=10))], cv=3,
        ...                        method="mean").fit(X, 2 * X["a"])
        >>> list(model.explain_members(X.iloc[:2]).columns)
        ['r1', 'r2', 'prediction']
        """
        X, _ = self._explain_check(X)
        outs = self._member_outputs(X, self.members_)
        weights = np.asarray(self._member_weights, dtype=np.float64)
        shares = np.stack([w * o for w, o in zip(weights, outs)], axis=1)  # (n, m, d)
        total = shares.sum(axis=1)
        rows = np.arange(len(total))
        if self._classification:
            pick = self._explain_target(target, total)
        else:
            if not 0 <= output < self._n_outputs:
                raise ValueError(f"output must be in [0, {self._n_outputs}); got {output}.")
            pick = np.full(len(total), output)
        frame = pd.DataFrame(shares[rows, :, pick], columns=[n for n, _ in self.members_])
        frame["prediction"] = total[rows, pick]
        if self._classification:
            frame["class"] = self.classes_[pick]
        if isinstance(X, pd.DataFrame):
            frame.index = X.index
        return frame
