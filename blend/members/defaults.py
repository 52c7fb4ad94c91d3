"""A diverse default library of members for the blender, chosen by looking at the data.

The library mixes models that err differently: boosted trees (sequential, low bias), bagged
randomized trees (averaged, low variance), a regularized linear model over one-hot and crossed
features (additive effects in closed form), and a multi-input neural network that reads text
and images directly. It adapts to the data: the network is left out on tiny data, forests are
left out beside the network on text and images, and optional boosters join when installed.

The portfolio is data: :data:`DEFAULT_MEMBERS` is a table of :class:`MemberRule` rows, each a
member's name, its kind in :data:`~blend.members.kinds.MEMBER_KINDS` (which builds it), a
named predicate saying when it joins, and why. :func:`describe_defaults` renders the table.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import pandas as pd
from sklearn.base import BaseEstimator

from blend.members.kinds import (
    FOREST_TREES,
    LARGE_FOREST_TREES,
    LARGE_TABLE_ROWS,
    MAX_FOREST_SAMPLES,
    MAX_RATIO_COLUMNS,
    MEMBER_KINDS,
    MemberContext,
    member_context,
)

__all__ = [
    "DEFAULT_MEMBERS",
    "MemberRule",
    "default_members",
    "describe_defaults",
    "fallback_members",
]
__all__ += ["FOREST_TREES", "LARGE_FOREST_TREES", "LARGE_TABLE_ROWS", "MAX_FOREST_SAMPLES"]
__all__ += ["MAX_RATIO_COLUMNS", "MIN_ROWS_DEEP"]

# The network needs enough rows to learn embeddings and convolutions; below this it is noise.
MIN_ROWS_DEEP = 500


# ---------------------------------------------------------------------------------------------
# What is installed (read at call time, so tests can monkeypatch them)


def has_catboost() -> bool:
    return importlib.util.find_spec("catboost") is not None


def has_lightgbm() -> bool:
    return importlib.util.find_spec("lightgbm") is not None


def has_deep() -> bool:
    """Whether the Keras members import (the deep package is optional in a minimal install)."""
    try:
        import blend.members.deep.estimators  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# When each member joins: small named predicates over the context. Each docstring's first line
# is the condition as the table shows it.


def _deep(ctx: MemberContext) -> bool:
    return ctx.n_rows >= MIN_ROWS_DEEP


def _tabular_part(ctx: MemberContext) -> bool:
    return any(role in ("categorical", "numeric") for role in ctx.roles.values())


def xgboost_joins(ctx: MemberContext) -> bool:
    """Always, except with text or images, the network and CatBoost (one output)."""
    return ctx.multi_output or not (ctx.unstructured and _deep(ctx) and has_catboost())


def ratios_join(ctx: MemberContext) -> bool:
    """No text or images, and two numeric columns with at least 10 distinct values."""
    return not ctx.unstructured and ctx.n_ratio_sources >= 2


def random_forest_joins(ctx: MemberContext) -> bool:
    """As extra trees, below LARGE_TABLE_ROWS rows."""
    return extra_trees_join(ctx) and ctx.n_rows < LARGE_TABLE_ROWS


def extra_trees_join(ctx: MemberContext) -> bool:
    """Unless text or images widen the matrix and the network joins."""
    return not (ctx.unstructured and _deep(ctx))


def lightgbm_joins(ctx: MemberContext) -> bool:
    """LightGBM installed and CatBoost not; no text or images; one output."""
    single = not ctx.multi_output and not ctx.unstructured
    return single and has_lightgbm() and not has_catboost()


def catboost_joins(ctx: MemberContext) -> bool:
    """CatBoost installed; one output; not beside additive_boost and the network."""
    return not ctx.multi_output and has_catboost() and not (additive_joins(ctx) and _deep(ctx))


def linear_boost_joins(ctx: MemberContext) -> bool:
    """Regression with one output, text or images, and CatBoost installed."""
    single = ctx.regression and not ctx.multi_output
    return single and ctx.unstructured and has_catboost()


def linear_joins(ctx: MemberContext) -> bool:
    """Wherever linear_boost does not join."""
    return not linear_boost_joins(ctx)


def additive_joins(ctx: MemberContext) -> bool:
    """Regression with one output, image columns beside other used columns."""
    roles = list(ctx.roles.values())
    image = "image" in roles
    other = any(role not in ("image", "ignore") for role in roles)
    return ctx.regression and not ctx.multi_output and image and other


def wide_deep_joins(ctx: MemberContext) -> bool:
    """MIN_ROWS_DEEP rows, Keras installed, and a categorical or numeric column."""
    return _deep(ctx) and _tabular_part(ctx) and has_deep()


def keras_graph_joins(ctx: MemberContext) -> bool:
    """MIN_ROWS_DEEP rows, Keras installed, only text or image columns, one output."""
    return _deep(ctx) and not _tabular_part(ctx) and not ctx.multi_output and has_deep()


def keras_multitask_joins(ctx: MemberContext) -> bool:
    """Regression with several outputs, MIN_ROWS_DEEP rows, Keras installed."""
    return ctx.multi_output and _deep(ctx) and has_deep()


@dataclass(frozen=True)
class MemberRule:
    """One row of the default portfolio.

    Attributes
    ----------
    name : str
        The member's name in the blend.
    kind : str
        Its kind in :data:`~blend.members.kinds.MEMBER_KINDS`, which builds it.
    joins : callable
        ``joins(ctx) -> bool`` over a :class:`~blend.members.kinds.MemberContext`.
    why : str
        One line: why it joins there (and not elsewhere).
    """

    name: str
    kind: str
    joins: Callable[[MemberContext], bool]
    why: str

    def build(self, ctx: MemberContext) -> BaseEstimator:
        """The unfitted member for the context."""
        return MEMBER_KINDS[self.kind].build(ctx)


# In the order the members are returned.
DEFAULT_MEMBERS: tuple[MemberRule, ...] = (
    MemberRule(
        "xgboost",
        "xgboost",
        xgboost_joins,
        "Low-bias boosted trees; on text and images beside the network CatBoost reads the "
        "same sparse matrix better and faster.",
    ),
    MemberRule(
        "xgboost_ratios",
        "xgboost_ratios",
        ratios_join,
        "Ratios are what trees express worst; where they mean nothing the blender weighs "
        "the member down.",
    ),
    MemberRule(
        "random_forest",
        "random_forest",
        random_forest_joins,
        "Averaged trees err unlike boosted ones; on large tables the two forests err alike "
        "and the bootstrapped one costs the most.",
    ),
    MemberRule(
        "extra_trees",
        "extra_trees",
        extra_trees_join,
        "Cheap on small data; on hundreds of weak text and image columns beside the network "
        "forests cost the most and earn no weight.",
    ),
    MemberRule(
        "lightgbm",
        "lightgbm",
        lightgbm_joins,
        "A fallback for CatBoost: it errs like XGBoost and its leaf-wise trees cost the most "
        "to predict.",
    ),
    MemberRule(
        "catboost",
        "catboost",
        catboost_joins,
        "Symmetric trees that read the sparse text and image matrix well; beside "
        "additive_boost and linear_boost it adds nothing.",
    ),
    MemberRule(
        "linear",
        "wide_linear",
        linear_joins,
        "Additive effects in closed form, and it predicts several outputs at once.",
    ),
    MemberRule(
        "linear_boost",
        "linear_boost",
        linear_boost_joins,
        "Where text or images widen the matrix, trees started from the linear model beat it; "
        "on tables the hybrid costs fit and predict time for little.",
    ),
    MemberRule(
        "additive_boost",
        "additive_boost",
        additive_joins,
        "Trees over the image descriptors added to the linear model: the strongest single "
        "member on photos.",
    ),
    MemberRule(
        "wide_deep",
        "wide_deep",
        wide_deep_joins,
        "The network reads text and images directly; its jointly trained wide part beats "
        "the graph alone.",
    ),
    MemberRule(
        "keras_graph",
        "keras_graph",
        keras_graph_joins,
        "Without categorical or numeric columns a wide part has nothing to read: the plain graph.",
    ),
    MemberRule(
        "keras_multitask",
        "keras_multitask",
        keras_multitask_joins,
        "Several outputs: one body, a head per output whose loss is scaled to its own and "
        "which keeps its own best epoch, where one shared head favours the widest output.",
    ),
)


def _condition(rule: MemberRule) -> str:
    doc = rule.joins.__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def describe_defaults(rules: tuple[MemberRule, ...] = DEFAULT_MEMBERS) -> str:
    """The default portfolio as a Markdown table: member, kind, when it joins, and why."""
    rows = [("member", "kind", "joins when", "why"), ("---",) * 4]
    rows += [(f"`{r.name}`", f"`{r.kind}`", _condition(r), r.why) for r in rules]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def default_members(
    X: pd.DataFrame,
    y: object = None,
    task: str = "regression",
    roles: Mapping[str, str] | None = None,
    random_state: int | None = None,
) -> list[tuple[str, BaseEstimator]]:
    """A diverse, data-aware library of unfitted members for the blender.

    The members are the rows of :data:`DEFAULT_MEMBERS` whose ``joins`` predicate holds for
    the data, in the table's order, each built by its kind in
    :data:`~blend.members.kinds.MEMBER_KINDS`; ``print(describe_defaults())`` shows the
    table: which members join when, and why.

    Parameters
    ----------
    X : pandas.DataFrame
        The training frame (read, never modified): its roles and size pick the members.
    y : array-like, optional
        The target; when given it is checked against ``task`` (numeric for regression, at
        least two classes for classification). A regression target with several columns
        keeps only the members that predict several outputs.
    task : {"regression", "classification"}, default="regression"
        What the members predict.
    roles : dict, optional
        ``{column: role}`` overrides; every member reads the same resolved roles.
    random_state : int or None
        Seeds every member.

    Returns
    -------
    list of (str, estimator)
        Unfitted members, each a scikit-learn estimator taking the DataFrame.

    Examples
    --------
    >>> from blend import default_members
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(600, random_state=0)
    >>> [name for name, _ in default_members(X, y)][-2:]
    ['additive_boost', 'wide_deep']
    """
    ctx = member_context(X, y, task=task, roles=roles, random_state=random_state)
    return [(rule.name, rule.build(ctx)) for rule in DEFAULT_MEMBERS if rule.joins(ctx)]


def fallback_members(
    X: pd.DataFrame,
    y: object = None,
    task: str = "regression",
    roles: Mapping[str, str] | None = None,
    random_state: int | None = None,
) -> list[tuple[str, BaseEstimator]]:
    """The members a time budget falls back on when no member of the library fits it.

    Two quick members that err differently, for the blender to weigh: ``quick_linear``, the
    crossed linear model (:class:`~blend.members.linear.WideLinearRegressor`) over the
    numeric, categorical and text columns, and ``quick_trees``, histogram gradient boosting
    over the numeric and categorical columns (one output only). Neither reads images, whose
    descriptors alone cost more than a tight budget; a frame with nothing else gets the mean
    (the class shares).
    They are not part of the library: :class:`~blend.ensemble.budget.TimeBudget` adds them only
    when even the cheapest member's last fold alone would overrun ``time_limit`` (the
    decision is in ``leaderboard_``).

    Returns
    -------
    list of (str, estimator)
        Unfitted members, each taking the DataFrame.

    Examples
    --------
    >>> from blend.members.defaults import fallback_members
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> [name for name, _ in fallback_members(X, y)]
    ['quick_linear', 'quick_trees']
    """
    ctx = member_context(X, y, task=task, roles=roles, random_state=random_state)

    def reading(allowed: tuple[str, ...]) -> MemberContext | None:
        kept = {c: (r if r in allowed else "ignore") for c, r in ctx.roles.items()}
        return replace(ctx, roles=kept) if any(r != "ignore" for r in kept.values()) else None

    found = []
    linear, trees = reading(("numeric", "categorical", "text")), reading(("numeric", "categorical"))
    if linear is not None:
        found.append(("quick_linear", MEMBER_KINDS["wide_linear"].build(linear)))
    if trees is not None and not ctx.multi_output:  # one output per booster
        found.append(("quick_trees", MEMBER_KINDS["hist_gradient_boosting"].build(trees)))
    if not found:
        from sklearn.dummy import DummyClassifier, DummyRegressor

        found.append(("mean", DummyRegressor() if ctx.regression else DummyClassifier()))
    return found


def _forests(task: str, n_rows: int, seed: int | None) -> list[tuple[str, BaseEstimator]]:
    """The default forests' models for a tabular frame of ``n_rows`` (used by bench/)."""
    ctx = MemberContext(task=task, roles={}, n_rows=n_rows, random_state=seed)
    forests = [rule for rule in DEFAULT_MEMBERS if rule.name in ("random_forest", "extra_trees")]
    return [(r.name, MEMBER_KINDS[r.kind].model(ctx)) for r in forests if r.joins(ctx)]
