"""Member kinds: how each kind of member is built, written once.

:data:`MEMBER_KINDS` maps a kind's name to a :class:`MemberKind`, which builds an unfitted
member from a :class:`MemberContext` (the task, the resolved column roles, the number of rows
and the seed). :func:`~blend.members.defaults.default_members` builds its members here, and
the ``blend train`` command builds ``[[members]]`` tables by ``kind`` from the same registry,
so a ``kind = "catboost"`` member is the CatBoost member the default library would use.

A kind is built in two steps: :meth:`MemberKind.model` makes the model (the estimator whose
parameters a config sets), :meth:`MemberKind.wrap` puts it behind the featurizer it reads the
DataFrame through (:func:`~blend.features.tree.make_tree_pipeline` for tree models; members
that read the DataFrame themselves are returned as they are).

Heavy libraries (XGBoost, CatBoost, LightGBM, Keras) are imported only when a kind is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from blend.features.tree import make_tree_pipeline, ratio_sources
from blend.features.validation import check_target, ensure_frame
from blend.roles import has_unstructured, resolve_roles

__all__ = [
    "MEMBER_KINDS",
    "MemberContext",
    "MemberKind",
    "member_context",
]

TASKS = ("regression", "classification")
# Forests draw at most this many rows per tree (bootstrap), keeping fit time bounded.
MAX_FOREST_SAMPLES = 200_000
FOREST_TREES = 300
# On large tables each tree is deep: half as many trees halves memory and predict time, and
# averaging 150 already settles.
LARGE_FOREST_TREES = 150
# Pairwise ratios among at most this many numeric columns (45 ratio features).
MAX_RATIO_COLUMNS = 10
# From this many rows CatBoost grows depth-8 trees and forests grow fewer trees.
LARGE_TABLE_ROWS = 20_000


@dataclass(frozen=True)
class MemberContext:
    """What a member is built for: read from the training data by :func:`member_context`.

    Attributes
    ----------
    task : {"regression", "classification"}
    roles : dict
        The resolved ``{column: role}`` mapping every member reads.
    n_rows : int
        Training rows.
    multi_output : bool
        A regression target with several columns.
    n_ratio_sources : int
        Numeric columns usable for ratio features (0 when text or images widen the matrix).
    random_state : int or None
        Seeds every member.
    """

    task: str
    roles: Mapping[str, str]
    n_rows: int
    multi_output: bool = False
    n_ratio_sources: int = 0
    random_state: int | None = None

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def unstructured(self) -> bool:
        """Text or image columns: they widen the matrix by hundreds of columns."""
        return has_unstructured(self.roles)


def _check_y(X: pd.DataFrame, y: object, task: str) -> np.ndarray:
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
    return target


def member_context(
    X: pd.DataFrame,
    y: object = None,
    task: str = "regression",
    roles: Mapping[str, str] | None = None,
    random_state: int | None = None,
) -> MemberContext:
    """Check the training data and read what member builders need from it.

    Raises ``ValueError`` for an unknown task, a frame whose columns are all ignored, and
    (when ``y`` is given) a target that does not fit the task or the rows.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
    X = ensure_frame(X)
    resolved = resolve_roles(X, roles)
    if all(role == "ignore" for role in resolved.values()):
        raise ValueError(
            f"Every column has the role 'ignore' ({resolved}); members need at least one "
            "used column. Pass roles= to use some."
        )
    multi_output = False
    if y is not None:
        target = _check_y(X, y, task)
        multi_output = task == "regression" and target.ndim == 2 and target.shape[1] > 1
    unstructured = has_unstructured(resolved)
    ratios = 0 if unstructured else len(ratio_sources(X, resolved, MAX_RATIO_COLUMNS))
    return MemberContext(
        task=task,
        roles=resolved,
        n_rows=len(X),
        multi_output=multi_output,
        n_ratio_sources=ratios,
        random_state=random_state,
    )


# ---------------------------------------------------------------------------------------------
# Builders: one per kind, each returning the unfitted model for the context's task.


def _xgboost(ctx: MemberContext) -> BaseEstimator:
    from blend.members.xgboost import (
        EarlyStoppedXGBClassifier,
        EarlyStoppedXGBRegressor,
        default_xgb_params,
    )

    wide = ctx.unstructured
    # On wide matrices one fit is costly: keep the early-stopped model instead of refitting
    # it, as the other boosters do (the blender refits the member on all rows anyway).
    options = {"refit": not wide, "random_state": ctx.random_state}
    if ctx.regression:
        from xgboost import XGBRegressor

        return EarlyStoppedXGBRegressor(XGBRegressor(**default_xgb_params(wide)), **options)
    from xgboost import XGBClassifier

    return EarlyStoppedXGBClassifier(XGBClassifier(**default_xgb_params(wide)), **options)


def _forest_options(ctx: MemberContext) -> dict:
    n_rows = ctx.n_rows
    max_samples = None if n_rows <= MAX_FOREST_SAMPLES else MAX_FOREST_SAMPLES / n_rows
    trees = LARGE_FOREST_TREES if n_rows >= LARGE_TABLE_ROWS else FOREST_TREES
    return {
        "n_estimators": trees,
        "n_jobs": -1,
        "random_state": ctx.random_state,
        "max_samples": max_samples,
    }


def _random_forest(ctx: MemberContext) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    if ctx.regression:
        # Half the features per split decorrelates the trees (sklearn's regression default
        # uses all of them); small leaves keep the trees deep.
        return RandomForestRegressor(max_features=0.5, min_samples_leaf=1, **_forest_options(ctx))
    return RandomForestClassifier(max_features="sqrt", min_samples_leaf=1, **_forest_options(ctx))


def _extra_trees(ctx: MemberContext) -> BaseEstimator:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    options = _forest_options(ctx)
    del options["max_samples"]  # no bootstrap: every tree sees every row
    if ctx.regression:
        return ExtraTreesRegressor(max_features=0.7, min_samples_leaf=2, **options)
    return ExtraTreesClassifier(max_features="sqrt", min_samples_leaf=1, **options)


def _hist_gradient_boosting(ctx: MemberContext) -> BaseEstimator:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if ctx.regression else HistGradientBoostingClassifier
    return cls(random_state=ctx.random_state)


def catboost_params(ctx: MemberContext) -> dict:
    """CatBoost settings: deeper symmetric trees on large tables; larger steps over coarser
    feature borders when text or images widen the matrix."""
    params: dict = {"depth": 8 if ctx.n_rows >= LARGE_TABLE_ROWS else 6}
    if ctx.unstructured:
        params.update(learning_rate=0.15, border_count=64)
    return params


def _catboost(ctx: MemberContext) -> BaseEstimator:
    from blend.members.gbm import CatBoostMemberClassifier, CatBoostMemberRegressor

    cls = CatBoostMemberRegressor if ctx.regression else CatBoostMemberClassifier
    # No internal refit: the blender already refits every member on all rows.
    return cls(catboost_params(ctx), refit=False, random_state=ctx.random_state)


def _lightgbm(ctx: MemberContext) -> BaseEstimator:
    from blend.members.gbm import LightGBMMemberClassifier, LightGBMMemberRegressor

    cls = LightGBMMemberRegressor if ctx.regression else LightGBMMemberClassifier
    return cls(refit=False, random_state=ctx.random_state)


def _linear(ctx: MemberContext) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression, Ridge

    return Ridge() if ctx.regression else LogisticRegression(max_iter=1000)


def _wide_linear(ctx: MemberContext) -> BaseEstimator:
    from blend.members.linear import WideLinearClassifier, WideLinearRegressor

    cls = WideLinearRegressor if ctx.regression else WideLinearClassifier
    return cls(roles=dict(ctx.roles), random_state=ctx.random_state)


def _linear_boost(ctx: MemberContext) -> BaseEstimator:
    from blend.members.linear_boost import LinearBoostClassifier, LinearBoostRegressor

    cls = LinearBoostRegressor if ctx.regression else LinearBoostClassifier
    return cls(dict(ctx.roles), params=catboost_params(ctx), random_state=ctx.random_state)


def _additive_boost(ctx: MemberContext) -> BaseEstimator:
    from blend.members.additive_boost import AdditiveBoostRegressor

    return AdditiveBoostRegressor(dict(ctx.roles), random_state=ctx.random_state)


def _keras_graph(ctx: MemberContext) -> BaseEstimator:
    from blend.members.deep.estimators import KerasGraphClassifier, KerasGraphRegressor

    cls = KerasGraphRegressor if ctx.regression else KerasGraphClassifier
    return cls(roles=dict(ctx.roles), random_state=ctx.random_state, verbose=0)


def _keras_multitask(ctx: MemberContext) -> BaseEstimator:
    from blend.members.deep.estimators import KerasMultiTaskEstimator

    if not ctx.multi_output:
        raise ValueError(
            "member kind 'keras_multitask' needs a target with several columns (one head "
            "each); for a single target use 'keras_graph' or 'wide_deep'."
        )
    return KerasMultiTaskEstimator(roles=dict(ctx.roles), random_state=ctx.random_state, verbose=0)


def _wide_deep(ctx: MemberContext) -> BaseEstimator:
    from blend.members.wide_deep.estimators import WideDeepClassifier, WideDeepRegressor

    cls = WideDeepRegressor if ctx.regression else WideDeepClassifier
    return cls(roles=dict(ctx.roles), random_state=ctx.random_state, verbose=0)


# ---------------------------------------------------------------------------------------------
# Wrappers: how a model reads the DataFrame.


def _as_is(model: BaseEstimator, ctx: MemberContext) -> BaseEstimator:
    return model


def _tree_pipeline(model: BaseEstimator, ctx: MemberContext) -> BaseEstimator:
    return make_tree_pipeline(model, ctx.roles)


def _tree_pipeline_with_ratios(model: BaseEstimator, ctx: MemberContext) -> BaseEstimator:
    return make_tree_pipeline(model, ctx.roles, ratio_columns=MAX_RATIO_COLUMNS)


def _scaled_pipeline(model: BaseEstimator, ctx: MemberContext) -> BaseEstimator:
    from sklearn.preprocessing import StandardScaler

    pipeline = make_tree_pipeline(model, ctx.roles)
    # linear models need comparable scales (sparse-safe: no centring)
    pipeline.steps.insert(1, ("scale", StandardScaler(with_mean=False)))
    return pipeline


@dataclass(frozen=True)
class MemberKind:
    """How one kind of member is built.

    Attributes
    ----------
    name : str
        The kind, as ``kind =`` in a ``blend train`` config.
    summary : str
        One line: what the member is.
    build_model : callable
        ``build_model(ctx)``: the unfitted model for the context's task.
    wrap_model : callable
        ``wrap_model(model, ctx)``: the member that reads the DataFrame.
    tasks : tuple of str
        The tasks the kind supports.
    deep : bool
        Whether the member is a Keras network (left out by the ``"fast"`` preset).
    """

    name: str
    summary: str
    build_model: Callable[[MemberContext], BaseEstimator]
    wrap_model: Callable[[BaseEstimator, MemberContext], BaseEstimator] = field(
        default=_tree_pipeline
    )
    tasks: tuple[str, ...] = TASKS
    deep: bool = False

    def model(self, ctx: MemberContext) -> BaseEstimator:
        """The unfitted model (a config's ``params`` are set on it)."""
        if ctx.task not in self.tasks:
            raise ValueError(
                f"member kind {self.name!r} supports {' and '.join(self.tasks)} only, "
                f"not {ctx.task}."
            )
        return self.build_model(ctx)

    def wrap(self, model: BaseEstimator, ctx: MemberContext) -> BaseEstimator:
        """The member: the model behind the featurizer it reads the DataFrame through."""
        return self.wrap_model(model, ctx)

    def build(self, ctx: MemberContext) -> BaseEstimator:
        """The unfitted member with this kind's settings for the context."""
        return self.wrap(self.model(ctx), ctx)


_KINDS = (
    MemberKind(
        "xgboost",
        "XGBoost on the sparse mixed matrix, trees picked by early stopping",
        _xgboost,
    ),
    MemberKind(
        "xgboost_ratios",
        "the same XGBoost with ratios of numeric column pairs added to its matrix",
        _xgboost,
        _tree_pipeline_with_ratios,
    ),
    MemberKind("random_forest", "a random forest on dense features", _random_forest),
    MemberKind("extra_trees", "extremely randomized trees on dense features", _extra_trees),
    MemberKind(
        "hist_gradient_boosting",
        "scikit-learn's histogram gradient boosting",
        _hist_gradient_boosting,
    ),
    MemberKind("catboost", "CatBoost, early-stopped (pip install catboost)", _catboost),
    MemberKind("lightgbm", "LightGBM, early-stopped (pip install lightgbm)", _lightgbm),
    MemberKind(
        "linear",
        "Ridge / LogisticRegression on the scaled tree matrix",
        _linear,
        _scaled_pipeline,
    ),
    MemberKind(
        "wide_linear",
        "ridge / logistic model over one-hot categories, buckets, crosses, text and images",
        _wide_linear,
        _as_is,
    ),
    MemberKind(
        "linear_boost",
        "CatBoost trees started from the wide linear model's prediction",
        _linear_boost,
        _as_is,
    ),
    MemberKind(
        "additive_boost",
        "the wide linear model plus boosted trees over the image descriptors",
        _additive_boost,
        _as_is,
        ("regression",),
    ),
    MemberKind(
        "keras_graph",
        "the multi-input Keras network reading text and images directly",
        _keras_graph,
        _as_is,
        deep=True,
    ),
    MemberKind(
        "keras_multitask",
        "the Keras network with one head per output, each early-stopped on its own loss",
        _keras_multitask,
        _as_is,
        ("regression",),
        deep=True,
    ),
    MemberKind(
        "wide_deep",
        "the Keras network trained jointly with a wide linear part",
        _wide_deep,
        _as_is,
        deep=True,
    ),
)
MEMBER_KINDS: Mapping[str, MemberKind] = MappingProxyType({kind.name: kind for kind in _KINDS})


def describe_kinds() -> str:
    """The registry as text, one ``kind: summary`` line per kind."""
    width = max(map(len, MEMBER_KINDS))
    lines = []
    for kind in MEMBER_KINDS.values():
        only = "" if kind.tasks == TASKS else f" ({', '.join(kind.tasks)} only)"
        lines.append(f"{kind.name:<{width}}  {kind.summary}{only}")
    return "\n".join(lines)
