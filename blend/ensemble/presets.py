"""Presets: named settings of a blend (``presets="fast" | "default" | "best"``), written once.

:data:`PRESETS` is the table; :func:`describe_presets` renders it (the README prints it).
A preset chooses the default members (when ``members=None``) and sets blend parameters --
only those the user left at their constructor default, so ``BlendRegressor(presets="fast",
cv=10)`` keeps ``cv=10``. ``presets=None`` and ``"default"`` are today's behaviour exactly.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

__all__ = ["PRESETS", "Preset", "describe_presets", "preset_members", "preset_settings"]

# "best" spends more only where the data is large enough to profit from it.
BEST_MIN_ROWS = 5_000


@dataclass(frozen=True)
class Preset:
    """One row of the preset table.

    Attributes
    ----------
    name : str
    deep : bool
        Whether the default members include the Keras networks.
    settings : dict
        Blend parameters the preset sets (where the user left the default).
    large : dict
        More settings from ``BEST_MIN_ROWS`` rows on.
    relative_time : str
        Expected fit time relative to ``"default"``.
    why : str
    """

    name: str
    deep: bool
    settings: dict = field(default_factory=dict)
    large: dict = field(default_factory=dict)
    relative_time: str = "1"
    why: str = ""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "fast",
            deep=False,
            settings={"cv": 3},
            relative_time="0.1-0.3 with text or images (no network); about 0.6 on tables",
            why="The cheap members only (trees and linear), on 3 folds.",
        ),
        Preset(
            "default",
            deep=True,
            relative_time="1",
            why="Today's blend: the data-aware default members on 5 folds.",
        ),
        Preset(
            "best",
            deep=True,
            settings={"n_bags": 5},
            large={"expensive_refit": True, "expensive_folds": 2},
            relative_time="1.2 below 5,000 rows; about 2-3 with a network from 5,000 rows",
            why="Bagged Caruana selection; from 5,000 rows the network fits 2 folds and is "
            "refit on all rows.",
        ),
    )
}


def describe_presets() -> str:
    """The presets as a Markdown table: members, folds, settings, expected relative time."""
    rows = [("preset", "members", "settings", "from 5,000 rows", "relative time", "why")]
    rows.append(("---",) * 6)
    for p in PRESETS.values():
        members = "default members" + ("" if p.deep else " without deep (Keras) members")
        settings = ", ".join(f"`{k}={v!r}`" for k, v in p.settings.items()) or "cv=5"
        large = ", ".join(f"`{k}={v!r}`" for k, v in p.large.items()) or "-"
        rows.append((f"`{p.name}`", members, settings, large, p.relative_time, p.why))
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _defaults(cls) -> dict:
    params = inspect.signature(cls.__init__).parameters
    return {k: v.default for k, v in params.items() if v.default is not inspect.Parameter.empty}


def preset_settings(estimator, n_rows: int) -> dict:
    """Parameters the estimator's preset changes (those left at their constructor default)."""
    preset = PRESETS[estimator.presets or "default"]
    wanted = dict(preset.settings)
    if n_rows >= BEST_MIN_ROWS:
        wanted.update(preset.large)
    defaults = _defaults(type(estimator))
    return {
        k: v
        for k, v in wanted.items()
        if getattr(estimator, k) is defaults[k] or getattr(estimator, k) == defaults[k]
    }


def preset_members(preset: str | None, X, y, **kwargs) -> list:
    """The default members for ``preset``: without the Keras networks where it says so."""
    from blend.members.defaults import DEFAULT_MEMBERS, default_members

    p = PRESETS[preset or "default"]
    if p.deep:
        return default_members(X, y, **kwargs)
    from blend.members.kinds import MEMBER_KINDS, member_context

    ctx = member_context(X, y, **kwargs)
    cheap = [r for r in DEFAULT_MEMBERS if not MEMBER_KINDS[r.kind].deep]
    return [(r.name, r.build(ctx)) for r in cheap if r.joins(ctx)]
