"""Explanation plots and the self-contained ``report.html`` of a fitted blend.

- :func:`plot_importance`: mean absolute contribution per input column (global importance);
- :func:`plot_waterfall`: one prediction, from the baseline through each column's share;
- :func:`explanation_plots`: both, plus ``contributions.csv``, for rows of a fitted blend;
- :func:`write_html`: ``report.html``, one file a person opens first (no network: images are
  embedded as base64 PNG, tables are HTML), each section with a line saying how to read it.

Plots use Matplotlib's object-oriented API with the Agg canvas (no window, no ``pyplot``
state), as :mod:`blend.report` does.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blend.report import _figure, _save

__all__ = ["explanation_plots", "plot_importance", "plot_waterfall", "write_html"]

_NOT_COLUMNS = ("baseline", "gap", "prediction", "class")


def _column_part(contributions: pd.DataFrame) -> pd.DataFrame:
    return contributions.drop(columns=[c for c in _NOT_COLUMNS if c in contributions])


def plot_importance(
    contributions: pd.DataFrame, path: str | Path, *, top: int = 20, title: str | None = None
) -> Path:
    """Bar chart of the mean absolute contribution of each input column.

    Parameters
    ----------
    contributions : DataFrame
        The output of ``model.explain(X)`` (``baseline``, ``gap``, ``prediction`` and
        ``class`` are left out).
    path : str or Path
        The PNG to write.
    top : int, default=20
        Most columns shown (largest first).
    title : str, optional

    Returns
    -------
    Path

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> parts = pd.DataFrame({"baseline": [1.0, 1.0], "a": [0.5, -0.5], "b": [0.1, 0.0]})
    >>> plot_importance(parts, os.path.join(tempfile.mkdtemp(), "i.png")).suffix
    '.png'
    """
    mean = _column_part(contributions).abs().mean().sort_values(ascending=False).head(top)
    if mean.empty:
        raise ValueError("contributions has no input column to plot.")
    fig = _figure(6.5, 0.8 + 0.32 * len(mean))
    ax = fig.add_subplot()
    ax.barh(np.arange(len(mean))[::-1], mean.to_numpy(), color="#4C72B0")
    ax.set_yticks(np.arange(len(mean))[::-1], [str(c) for c in mean.index])
    ax.set_xlabel("mean |contribution| to the prediction")
    ax.set_title(title or f"Global importance over {len(contributions)} rows", fontsize=10)
    return _save(fig, path)


def plot_waterfall(
    row: pd.Series, path: str | Path, *, top: int = 12, title: str | None = None
) -> Path:
    """Waterfall of one prediction: baseline, each column's contribution, the prediction.

    Parameters
    ----------
    row : Series
        One row of ``model.explain(X)``.
    path : str or Path
        The PNG to write.
    top : int, default=12
        Columns shown one by one (largest |contribution|); the rest are summed into one bar,
        as is a non-zero ``gap``.
    title : str, optional

    Returns
    -------
    Path

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> row = pd.Series({"baseline": 1.0, "a": 0.5, "b": -0.2, "gap": 0.0, "prediction": 1.3})
    >>> plot_waterfall(row, os.path.join(tempfile.mkdtemp(), "w.png")).suffix
    '.png'
    """
    parts = pd.to_numeric(row.drop([c for c in _NOT_COLUMNS if c in row.index]))
    order = parts.abs().sort_values(ascending=False).index
    shown = parts[order[:top]]
    steps = [(str(k), float(v)) for k, v in shown.items()]
    rest = float(parts[order[top:]].sum())
    if len(order) > top:
        steps.append((f"{len(order) - top} other columns", rest))
    gap = float(row.get("gap", 0.0))
    if abs(gap) > 1e-6 * max(1.0, abs(float(row.get("prediction", 0.0)))):  # not rounding
        steps.append(("gap (not attributed)", gap))
    base = float(row["baseline"])
    fig = _figure(6.5, 1.2 + 0.32 * (len(steps) + 2))
    ax = fig.add_subplot()
    y = len(steps) + 1
    ax.barh(y, base, color="#999999")
    level, seen = base, [0.0, base]
    for i, (_, value) in enumerate(steps):
        color = "#C44E52" if value < 0 else "#55A868"
        ax.barh(y - 1 - i, value, left=level, color=color)
        level += value
        seen.append(level)
    ax.barh(0, level, color="#4C72B0")
    low, high = min(seen), max(seen)
    pad = 0.05 * (high - low or 1.0)
    ax.set_xlim(low - pad, high + pad)
    labels = ["baseline", *[name for name, _ in steps], "prediction"]
    ax.set_yticks(np.arange(len(labels))[::-1], labels)
    ax.set_xlabel("model output")
    ax.set_title(title or f"One prediction: {level:.4g} from a baseline of {base:.4g}", fontsize=10)
    return _save(fig, path)


def explanation_plots(model: Any, X: Any, folder: str | Path, *, max_rows: int = 1000) -> dict:
    """``contributions.csv``, ``importance.png`` and ``waterfall.png`` for rows of ``X``.

    The first ``max_rows`` rows are explained; the waterfall shows the first row. Returns
    ``{}`` (and writes nothing) for a stacking blend, which cannot be explained.

    Parameters
    ----------
    model : BlendRegressor or BlendClassifier
        A fitted weighted blend.
    X : DataFrame or array-like
        Rows to explain.
    folder : str or Path
    max_rows : int, default=1000

    Returns
    -------
    dict
        File kind -> path written.
    """
    if getattr(model, "final_estimator_", None) is not None:
        return {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = X.iloc[:max_rows] if hasattr(X, "iloc") else np.asarray(X)[:max_rows]
    parts = model.explain(rows)
    written = {"contributions": folder / "contributions.csv"}
    parts.to_csv(written["contributions"])
    written["importance"] = plot_importance(parts, folder / "importance.png")
    written["waterfall"] = plot_waterfall(parts.iloc[0], folder / "waterfall.png")
    return written


# ------------------------------------------------------------------------------- report.html

_CAPTIONS = {
    "leaderboard": "Each member's out-of-fold score (lower is better) and blend weight; "
    "members with weight 0 do not take part in predictions.",
    "weights": "The share of each member in the blend; the weights sum to 1.",
    "error_correlation": "Correlation of the members' out-of-fold errors: pale cells mark "
    "members that err on different rows, which is what a blend gains from.",
    "decomposition": "The blend's error is the members' average error minus their "
    "diversity: the larger the diversity bar, the more the blend gains over its members.",
    "predicted_vs_true": "Held-out predictions against the true values: points on the "
    "diagonal are exact.",
    "interval_width": "Prediction intervals on the out-of-fold rows: an interval covers a "
    "row when its width is above the grey point; blue (normalized) widens where the members "
    "disagree, orange (adaptive, the default) where the blend's error is larger.",
    "importance": "Mean absolute contribution of each input column to the predictions: "
    "longer bars move predictions more (in the model's output units).",
    "waterfall": "One prediction built up from the baseline (the average prediction): green "
    "columns push it up, red ones down; the last bar is the prediction.",
    "metrics": "Held-out metrics.",
}
_TITLES = {
    "leaderboard": "Leaderboard",
    "weights": "Weights",
    "error_correlation": "Diversity: error correlation",
    "decomposition": "Diversity: error decomposition",
    "predicted_vs_true": "Predicted vs true",
    "interval_width": "Coverage: prediction intervals",
    "importance": "Importance",
    "waterfall": "One prediction explained",
    "metrics": "Metrics",
}
_ORDER = (
    "leaderboard",
    "weights",
    "metrics",
    "predicted_vs_true",
    "error_correlation",
    "decomposition",
    "interval_width",
    "importance",
    "waterfall",
)
_STYLE = (
    "body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:0.9em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}p.caption{color:#555;font-style:italic}img{max-width:100%}"
)


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)


def _section_body(kind: str, model: Any, written: Mapping[str, Path]) -> str | None:
    if kind == "leaderboard":
        return _table(model.leaderboard_)
    if kind == "weights":
        weights = pd.DataFrame(
            [(name, w) for name, w in model.weights_.items() if w > 0],
            columns=["member", "weight"],
        ).sort_values("weight", ascending=False)
        return _table(weights)
    if kind == "metrics" and kind in written:
        metrics = json.loads(Path(written[kind]).read_text())
        return _table(pd.DataFrame(list(metrics.items()), columns=["metric", "value"]))
    path = written.get(kind)
    return _image(Path(path)) if path is not None and str(path).endswith(".png") else None


def write_html(model: Any, folder: str | Path, written: Mapping[str, Path]) -> Path:
    """Write ``report.html``: every table and plot of the report in one offline file.

    Parameters
    ----------
    model : BlendRegressor or BlendClassifier
        The fitted blend (its ``leaderboard_`` and ``weights_`` become tables).
    folder : str or Path
        Where ``report.html`` is written.
    written : mapping
        File kind -> path of what the report wrote (the PNGs are embedded as base64, never
        linked). Sections with nothing to show are left out.

    Returns
    -------
    Path
    """
    sections = []
    for kind in _ORDER:
        body = _section_body(kind, model, written)
        if body is None:
            continue
        sections.append(
            f"<h2>{_TITLES[kind]}</h2>\n"
            f'<p class="caption">{html.escape(_CAPTIONS[kind])}</p>\n{body}'
        )
    name = html.escape(type(model).__name__)
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{name} report</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{name} report</h1>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
    path = Path(folder) / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
