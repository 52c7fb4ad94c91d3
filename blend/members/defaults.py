"""A diverse default library of members for the blender, chosen by looking at the data.

The library mixes models that err differently: boosted trees (sequential, low bias), bagged
randomized trees (averaged, low variance), a regularized linear model over one-hot and crossed
features (additive effects in closed form), and a multi-input neural network that reads text
and images directly. It adapts to the data: the network is left out on tiny data, forests are
subsampled on large data, and optional boosters join when installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from blend.features.tree import make_tree_pipeline, ratio_sources
from blend.features.validation import check_target, ensure_frame
from blend.members.xgboost import (
    EarlyStoppedXGBClassifier,
    EarlyStoppedXGBRegressor,
    default_xgb_params,
)
from blend.roles import has_unstructured, resolve_roles

__all__ = ["default_members"]

_TASKS = ("regression", "classification")
# The network needs enough rows to learn embeddings and convolutions; below this it is noise.
MIN_ROWS_DEEP = 500
# Forests draw at most this many rows per tree (bootstrap), keeping fit time bounded.
MAX_FOREST_SAMPLES = 200_000
FOREST_TREES = 300
# On large tables each tree is deep (10M nodes for 300 extra trees on 43k rows: ~650 MB, 7.6 ms
# to predict one row): half as many trees halves both, and averaging 150 already settles.
LARGE_FOREST_TREES = 150
# Pairwise ratios among at most this many numeric columns (45 ratio features).
MAX_RATIO_COLUMNS = 10
# From this many rows CatBoost grows depth-8 trees and only one forest (extra trees) is kept.
LARGE_TABLE_ROWS = 20_000


def _xgboost(task: str, wide: bool, seed: int | None) -> BaseEstimator:
    # On wide matrices one fit costs minutes (80 s for 8,000 listings on one core): keep the
    # early-stopped model instead of refitting it, as the other boosters do (the blender
    # refits the member on all rows anyway).
    options = {"refit": not wide, "random_state": seed}
    if task == "regression":
        from xgboost import XGBRegressor

        return EarlyStoppedXGBRegressor(XGBRegressor(**default_xgb_params(wide)), **options)
    from xgboost import XGBClassifier

    return EarlyStoppedXGBClassifier(XGBClassifier(**default_xgb_params(wide)), **options)


def _forests(task: str, n_rows: int, seed: int | None) -> list[tuple[str, BaseEstimator]]:
    max_samples = None if n_rows <= MAX_FOREST_SAMPLES else MAX_FOREST_SAMPLES / n_rows
    trees = LARGE_FOREST_TREES if n_rows >= LARGE_TABLE_ROWS else FOREST_TREES
    common = {"n_estimators": trees, "n_jobs": -1, "random_state": seed}
    if task == "regression":
        # Half the features per split decorrelates the trees (sklearn's regression default
        # uses all of them); small leaves keep the trees deep.
        forest = RandomForestRegressor(
            max_features=0.5, min_samples_leaf=1, max_samples=max_samples, **common
        )
        extra = ExtraTreesRegressor(max_features=0.7, min_samples_leaf=2, **common)
    else:
        forest = RandomForestClassifier(
            max_features="sqrt", min_samples_leaf=1, max_samples=max_samples, **common
        )
        extra = ExtraTreesClassifier(max_features="sqrt", min_samples_leaf=1, **common)
    if n_rows >= LARGE_TABLE_ROWS:
        # On large tables the two forests err alike (their blend weights end up near 0 for
        # one of them) and bootstrapped best-split trees cost the most: keep extra trees.
        return [("extra_trees", extra)]
    return [("random_forest", forest), ("extra_trees", extra)]


def _optional_boosters(
    task: str, n_rows: int, wide: bool, seed: int | None
) -> list[tuple[str, BaseEstimator]]:
    """LightGBM and CatBoost members, only when those packages are installed.

    Both early-stop on an internal split without the refit (the blender already refits every
    member on all rows), which halves their cost. CatBoost's symmetric trees grow one level
    deeper on large tables, where the extra capacity pays. LightGBM is a fallback for when
    CatBoost is not installed, and is left out on wide matrices (text and image features),
    where it errs like XGBoost and costs as much; there CatBoost takes larger steps over
    coarser feature borders.
    """
    from blend.members.gbm import (
        CatBoostMemberClassifier,
        CatBoostMemberRegressor,
        LightGBMMemberClassifier,
        LightGBMMemberRegressor,
    )

    regression = task == "regression"
    found: list[tuple[str, BaseEstimator]] = []
    # LightGBM errs like XGBoost (error correlation 0.964 on diamonds, the closest pair) and
    # its ~2,000 leaf-wise trees cost the most at predict time: it joins only when CatBoost
    # cannot. Measured on diamonds (same fitted members, blend weights refit without it):
    # test RMSE 0.0848 -> 0.0849, batch predict of 10,788 rows 4.2 s -> 1.6 s, ~50 s less fit.
    if importlib.util.find_spec("lightgbm") is not None and not wide and not has_catboost():
        cls = LightGBMMemberRegressor if regression else LightGBMMemberClassifier
        found.append(("lightgbm", cls(refit=False, random_state=seed)))
    if has_catboost():
        cls = CatBoostMemberRegressor if regression else CatBoostMemberClassifier
        found.append(("catboost", cls(_catboost_params(n_rows, wide), refit=False,
                                      random_state=seed)))  # fmt: skip
    return found


def has_catboost() -> bool:
    return importlib.util.find_spec("catboost") is not None


def _catboost_params(n_rows: int, wide: bool) -> dict:
    params = {"depth": 8 if n_rows >= LARGE_TABLE_ROWS else 6}
    if wide:
        params.update(learning_rate=0.15, border_count=64)
    return params


def _linear_members(
    task: str, roles: Mapping[str, str], n_rows: int, wide: bool, seed: int | None
) -> list[tuple[str, BaseEstimator]]:
    """The crossed linear model, or on text/image regression (CatBoost installed) CatBoost
    started from it.

    Where text or images widen the matrix the hybrid pays: on make_clothing(10000) the blend
    went 0.2443 -> 0.2367 with it, and the plain linear model it replaces got weight 0. On
    tabular data it is left out: on diamonds it cost 74 s of fit (208 -> 282 s) and doubled the
    one-row predict time (13 -> 26 ms) for 0.0848 -> 0.0843. It is regression-only: multiclass
    CatBoost on top of the logistic log-odds took 70 s for 2,400 listings.
    """
    from blend.members.linear import WideLinearClassifier, WideLinearRegressor

    if task != "regression":
        return [("linear", WideLinearClassifier(roles=dict(roles), random_state=seed))]
    if not (wide and has_catboost()):
        return [("linear", WideLinearRegressor(roles=dict(roles), random_state=seed))]
    from blend.members.linear_boost import LinearBoostRegressor

    params = _catboost_params(n_rows, wide)
    return [("linear_boost", LinearBoostRegressor(dict(roles), params=params, random_state=seed))]


def _additive_member(
    task: str, roles: Mapping[str, str], seed: int | None
) -> list[tuple[str, BaseEstimator]]:
    """The linear model plus trees over the image descriptors, for regression with images.

    :class:`~blend.members.additive_boost.AdditiveBoostRegressor`
    joins when image columns sit beside
    other used columns. On make_clothing(10000) it is the strongest member (test RMSE 0.2295
    against 0.2320 for CatBoost started from the linear model, 0.2413 for CatBoost and 0.2482
    for the network, seed 0) at 12 s a fit, and the blend of it, the linear-started CatBoost
    and the network scores 0.2276 against 0.2303 without it; CatBoost over every column then
    adds nothing (0.2274 with it), so it is left out there.
    """
    image = any(role == "image" for role in roles.values())
    other = any(role not in ("image", "ignore") for role in roles.values())
    if task != "regression" or not (image and other):
        return []
    from blend.members.additive_boost import AdditiveBoostRegressor

    return [("additive_boost", AdditiveBoostRegressor(dict(roles), random_state=seed))]


def _deep_member(
    task: str, roles: Mapping[str, str], seed: int | None
) -> list[tuple[str, BaseEstimator]]:
    """The network: the wide-and-deep joint model, or the plain graph without tabular columns.

    The joint model (its wide part started at its exact ridge solution, weights averaged in
    training, no extra penalty on the wide weights after that start, the image descriptors
    in its wide part) beats the same graph alone on make_clothing(6000): 0.964x without
    photos (0.923, 0.992, 0.976) and 0.941x with photos (0.954, 0.961, 0.955, 0.964, 0.869).
    In an earlier default blend on make_clothing(10000) it matched the graph (0.2357 vs
    0.2355) in 569 s of fit against 691 s: it early-stops sooner. On diamonds the joint
    model scores 0.0880 (mean of four seeds), the graph alone 0.0877 (one seed, an earlier
    session). A table with no categorical or numeric column gives the wide part nothing to
    read: there the plain graph.
    """
    try:
        from blend.members.deep.estimators import KerasGraphClassifier, KerasGraphRegressor
    except ImportError:  # the deep package is optional in a minimal install
        return []
    if set(roles.values()) & {"categorical", "numeric"}:
        from blend.members.wide_deep.estimators import WideDeepClassifier, WideDeepRegressor

        cls = WideDeepRegressor if task == "regression" else WideDeepClassifier
        return [("wide_deep", cls(roles=dict(roles), random_state=seed, verbose=0))]
    cls = KerasGraphRegressor if task == "regression" else KerasGraphClassifier
    return [("keras_graph", cls(roles=dict(roles), random_state=seed, verbose=0))]


def default_members(
    X: pd.DataFrame,
    y: object = None,
    task: str = "regression",
    roles: Mapping[str, str] | None = None,
    random_state: int | None = None,
) -> list[tuple[str, BaseEstimator]]:
    """A diverse, data-aware library of unfitted members for the blender.

    Parameters
    ----------
    X : pandas.DataFrame
        The training frame (read, never modified): its roles and size pick the members.
    y : array-like, optional
        The target; when given it is checked against ``task`` (numeric for regression, at
        least two classes for classification). A regression target with several columns
        keeps only the members that predict several outputs (XGBoost, the forests, the
        plain linear model and the network).
    task : {"regression", "classification"}, default="regression"
        What the members predict.
    roles : dict, optional
        ``{column: role}`` overrides; every member reads the same resolved roles.
    random_state : int or None
        Seeds every member.

    Returns
    -------
    list of (str, estimator)
        Unfitted members, each a scikit-learn estimator taking the DataFrame:

        - ``"xgboost"``: :class:`~blend.MixedFeaturizer` (sparse, NaN kept) + XGBoost with
          learning rate 0.05 (0.1 with 64 histogram bins when text or images widen the
          matrix), depth 6, row/column subsampling and the number of trees chosen by early
          stopping on an internal 10% split, then refitted on all rows (not on wide
          matrices, where one fit is costly); left out when text or images widen the matrix,
          the network joins and CatBoost is installed (CatBoost reads the same sparse matrix
          better and faster);
        - ``"xgboost_ratios"``: the same XGBoost, its matrix extended with ``a/b`` for every
          pair among the first 10 numeric columns with at least 10 distinct values (see
          ``MixedFeaturizer(ratio_columns=)``); only without text or images and with two such
          columns. Ratios are what trees express worst: on diamonds this member alone reaches
          0.0841 holdout RMSE against XGBoost's 0.0860 and takes half the blend's weight; on
          tables where ratios mean nothing it scores up to 8% worse and the blender weighs it
          down;
        - ``"random_forest"`` and ``"extra_trees"``: 300 trees on dense features (text reduced
          by SVD), half of the features per split for regression; left out when text or
          images widen the matrix and the network joins (there they cost most of the fit and
          earn no weight); from 20,000 rows only the extra trees (cheaper, and the two
          forests' errors correlate strongly), with 150 trees (deep trees on large tables
          cost memory and predict time);
        - ``"catboost"`` (when installed, e.g. ``pip install blend[boost]``; not beside
          ``"additive_boost"`` and the network, see there): early-stopped
          like XGBoost, without the internal refit; depth-8 symmetric trees from 20,000 rows
          (depth 6 below), larger steps when text or images widen the matrix; it reads text
          as sparse TF-IDF words for regression (SVD for classifiers);
        - ``"lightgbm"``, only when LightGBM is installed and CatBoost is not, and not on
          text/image matrices: it errs like XGBoost (error correlation 0.96 on diamonds) and
          its predictions cost the most;
        - ``"linear_boost"`` (regression with text or images, when CatBoost is installed):
          :class:`~blend.members.linear_boost.LinearBoostRegressor`, CatBoost trees started from the
          prediction of a crossed linear model (ridge over one-hot categoricals, quantile
          buckets, significant crosses, standardized numerics, TF-IDF text and image
          descriptors); otherwise ``"linear"``, that linear model alone
          (:class:`~blend.members.linear.WideLinearRegressor`, or the logistic
          :class:`~blend.members.linear.WideLinearClassifier` for classification);
        - ``"additive_boost"`` (regression with image columns beside other columns):
          :class:`~blend.members.additive_boost.AdditiveBoostRegressor`, that linear model over the
          other columns plus boosted trees over the image descriptors, backfitted; with it,
          text or images, the network and CatBoost installed, ``"catboost"`` is left out
          (``"linear_boost"`` already boosts every column);
        - ``"wide_deep"``: the multi-input Keras network trained jointly with a wide linear
          part (:class:`~blend.WideDeepRegressor` / :class:`~blend.WideDeepClassifier`),
          when the data have at least 500 rows; ``"keras_graph"``, the network alone
          (:class:`~blend.KerasGraphRegressor` / :class:`~blend.KerasGraphClassifier`), in
          its place when no column is categorical or numeric (text or images only).

    Examples
    --------
    >>> from blend import default_members
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(600, random_state=0)
    >>> [name for name, _ in default_members(X, y)][-2:]
    ['additive_boost', 'wide_deep']
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")
    X = ensure_frame(X)
    resolved = resolve_roles(X, roles)
    if all(role == "ignore" for role in resolved.values()):
        raise ValueError(
            f"Every column has the role 'ignore' ({resolved}); members need at least one "
            "used column. Pass roles= to use some."
        )
    if y is not None:
        target = check_target(y)
        if len(target) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(target)}; pass matching rows.")
        if task == "regression" and target.dtype.kind not in "fiub":
            raise ValueError(
                f"task='regression' needs a numeric target, got dtype {target.dtype}. "
                "Use task='classification' for labels."
            )
        if task == "classification" and len(np.unique(target)) < 2:
            raise ValueError("task='classification' needs at least two classes in y.")
    # Several outputs: only members that predict them all at once (XGBoost, the forests, the
    # linear model, the network); the CatBoost, LightGBM, LinearBoost and additive members
    # take one output and would only fail in the blend.
    multi_output = (
        y is not None and task == "regression" and target.ndim == 2 and target.shape[1] > 1
    )

    # Text and images add hundreds of columns: use the faster boosting settings there.
    wide = has_unstructured(resolved)
    deep = len(X) >= MIN_ROWS_DEEP
    members = []
    if multi_output or not (wide and deep and has_catboost()):
        # With text or images CatBoost reads the same sparse matrix, and beats XGBoost there
        # (test RMSE 0.242 vs 0.280 on make_clothing(10000)) at a third of its cost.
        members.append(("xgboost", _xgboost(task, wide, random_state)))
    if not (wide and deep):
        # With text or images and the network present, forests on hundreds of weak dense
        # columns cost the most and add nothing: weight 0 and OOF RMSE 0.44 against the
        # boosters' 0.28-0.34 on make_clothing at 3,000 and 10,000 listings, 20 of a
        # 21-minute fit. Below MIN_ROWS_DEEP they are cheap and the blend needs them.
        members += _forests(task, len(X), random_state)
    additive = [] if multi_output else _additive_member(task, resolved, random_state)
    boosters = [] if multi_output else _optional_boosters(task, len(X), wide, random_state)
    if additive and deep:  # (photos widen the matrix, and the member is regression-only)
        # CatBoost over every column adds nothing beside CatBoost started from the linear model
        # and the additive member (make_clothing(10000), seeds 0-2: see _additive_member), and
        # leaving it out buys the time of the additive member's two fits.
        boosters = [(name, model) for name, model in boosters if name != "catboost"]
    members += boosters
    library = [(name, make_tree_pipeline(model, resolved)) for name, model in members]
    if not wide and len(ratio_sources(X, resolved, MAX_RATIO_COLUMNS)) >= 2:
        # Ratios of numeric columns: XGBoost with them beats XGBoost without by 3% on diamonds
        # (length/width, carat/volume) and loses by up to 8% on other tables, so both join and
        # the blender weighs them. Its errors differ most from the other boosters'.
        ratios = make_tree_pipeline(
            _xgboost(task, wide, random_state), resolved, ratio_columns=MAX_RATIO_COLUMNS
        )
        library.insert(1, ("xgboost_ratios", ratios))
    # (not wide: the plain linear model, which predicts every output, not the LinearBoost hybrid)
    library += _linear_members(task, resolved, len(X), wide and not multi_output, random_state)
    library += additive
    if deep:
        library += _deep_member(task, resolved, random_state)
    return library
