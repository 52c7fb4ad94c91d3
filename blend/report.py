"""Leaderboard tables and report plots.

Pure functions: each takes DataFrames, dicts or arrays and a path, writes one file and returns
its path. Plots use Matplotlib's object-oriented API with the Agg canvas, so they never open a
window, never touch ``pyplot``'s global state and work on machines without a display.

``write_report`` puts them together for a fitted :class:`blend.BlendRegressor` or
:class:`blend.BlendClassifier`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "format_leaderboard",
    "plot_ablation",
    "plot_decomposition",
    "plot_error_correlation",
    "plot_interval_width",
    "plot_predicted_vs_true",
    "write_report",
]

_DECOMPOSITION_LABELS = {
    # regression: Krogh-Vedelsby, ensemble_error = member_error - ambiguity
    "member_error": "average member error",
    "ambiguity": "ambiguity (diversity)",
    "ensemble_error": "ensemble error",
    # classification: cross-entropy, ensemble_loss = member_loss - diversity
    "member_loss": "average member loss",
    "diversity": "diversity",
    "ensemble_loss": "ensemble loss",
}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def format_leaderboard(leaderboard: pd.DataFrame, *, digits: int = 4) -> str:
    """Render a leaderboard as a fixed-width text table for a terminal.

    Parameters
    ----------
    leaderboard : DataFrame
        For example ``BlendRegressor.leaderboard_``.
    digits : int, default=4
        Significant digits for floating-point columns.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> print(format_leaderboard(pd.DataFrame({"member": ["a"], "oof_rmse": [0.123456]})))
    member oof_rmse
         a   0.1235
    """
    if not isinstance(leaderboard, pd.DataFrame):
        raise TypeError(f"leaderboard must be a DataFrame, got {type(leaderboard).__name__}.")
    table = leaderboard.copy()
    for column in table.columns:
        if pd.api.types.is_float_dtype(table[column]):
            table[column] = table[column].map(lambda v: "" if pd.isna(v) else f"{v:.{digits}g}")
    if "why" in table:
        table["why"] = table["why"].astype(str).str.slice(0, 60)
    return table.to_string(index=False)


def plot_error_correlation(
    correlation: pd.DataFrame | np.ndarray,
    path: str | Path,
    *,
    names: Sequence[str] | None = None,
    title: str = "Correlation of member errors (out-of-fold)",
) -> Path:
    """Heat map of the pairwise correlation of member errors.

    Parameters
    ----------
    correlation : DataFrame or ndarray of shape (n_members, n_members)
        For example ``blend.diversity_["error_correlation"]``; values in [-1, 1].
    path : str or Path
        The PNG (or any Matplotlib format) to write.
    names : sequence of str, optional
        Member names when ``correlation`` is an array.
    title : str
        Plot title.

    Returns
    -------
    Path

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "corr.png")
    >>> plot_error_correlation(np.array([[1.0, 0.8], [0.8, 1.0]]), out, names=["a", "b"]).name
    'corr.png'
    """
    if isinstance(correlation, pd.DataFrame):
        names = [str(n) for n in correlation.columns] if names is None else list(names)
        values = correlation.to_numpy(dtype=float)
    else:
        values = np.asarray(correlation, dtype=float)
        names = [f"m{i}" for i in range(values.shape[0])] if names is None else list(names)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or len(names) != values.shape[0]:
        raise ValueError(
            f"correlation must be a square matrix with one name per row; got shape "
            f"{values.shape} and {len(names)} names."
        )
    n = len(names)
    size = max(3.5, 0.55 * n + 2.0)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    image = ax.imshow(values, vmin=-1.0, vmax=1.0, cmap="coolwarm")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    if n <= 15:
        for i in range(n):
            for j in range(n):
                if np.isfinite(values[i, j]):
                    color = "white" if abs(values[i, j]) > 0.6 else "black"
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", color=color)
    fig.colorbar(image, ax=ax, label="error correlation")
    ax.set_title(title)
    return _save(fig, path)


def plot_decomposition(
    decomposition: Mapping[str, float],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Bar chart of an ensemble-error decomposition: member error, diversity, ensemble error.

    Parameters
    ----------
    decomposition : mapping
        ``{"member_error", "ambiguity", "ensemble_error"}`` (regression, the summary of
        :func:`blend.ensemble.diversity.ambiguity_decomposition`) or ``{"member_loss", "diversity",
        "ensemble_loss"}`` (classification, the cross-entropy decomposition).
    path : str or Path
        The file to write.
    title : str, optional
        Plot title.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> d = {"member_error": 0.05, "ambiguity": 0.01, "ensemble_error": 0.04}
    >>> plot_decomposition(d, os.path.join(tempfile.mkdtemp(), "amb.png")).suffix
    '.png'
    """
    if {"member_error", "ambiguity", "ensemble_error"} <= set(decomposition):
        keys = ["member_error", "ambiguity", "ensemble_error"]
        default_title = "Ambiguity decomposition: ensemble = member error − ambiguity"
    elif {"member_loss", "diversity", "ensemble_loss"} <= set(decomposition):
        keys = ["member_loss", "diversity", "ensemble_loss"]
        default_title = "Cross-entropy decomposition: ensemble = member loss − diversity"
    else:
        raise ValueError(
            "decomposition needs the keys member_error, ambiguity, ensemble_error (regression) or "
            "member_loss, diversity, ensemble_loss (classification); got "
            f"{sorted(decomposition)}."
        )
    values = [float(decomposition[k]) for k in keys]
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    colors = ["#7f7f7f", "#2ca02c", "#1f77b4"]
    bars = ax.bar([_DECOMPOSITION_LABELS[k] for k in keys], values, color=colors)
    for bar, value in zip(bars, values):
        ax.annotate(
            f"{value:.4g}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            xytext=(0, 3),
            textcoords="offset points",
        )
    if values[0] > 0:
        share = 100.0 * values[1] / values[0]
        ax.text(0.98, 0.95, f"diversity removes {share:.1f}%", transform=ax.transAxes, ha="right")
    ax.set_ylabel("mean per row (out-of-fold)")
    ax.set_ylim(0, max(values) * 1.2 if max(values) > 0 else 1.0)
    ax.set_title(title or default_title, fontsize=10)
    return _save(fig, path)


def plot_predicted_vs_true(
    y_true: Any,
    y_pred: Any,
    path: str | Path,
    *,
    title: str = "Predicted vs true",
    max_points: int = 5000,
    random_state: int = 0,
) -> Path:
    """Scatter plot of predictions against targets, with the identity line and RMSE / R².

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        Targets and predictions (regression).
    path : str or Path
        The file to write.
    title : str
        Plot title (RMSE and R² are appended).
    max_points : int, default=5000
        Larger inputs are subsampled for drawing (the metrics use every row).
    random_state : int, default=0
        Seed of the subsample.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "p.png")
    >>> plot_predicted_vs_true([1, 2, 3], [1.1, 1.9, 3.2], out).suffix
    '.png'
    """
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(
            f"y_true and y_pred must have the same non-zero length; got {t.size} and {p.size}."
        )
    ok = np.isfinite(t) & np.isfinite(p)
    if not ok.all():
        raise ValueError(
            f"{int((~ok).sum())} rows have NaN or inf in y_true or y_pred; drop them first."
        )
    rmse = math.sqrt(float(np.mean((t - p) ** 2)))
    var = float(np.var(t))
    r2 = 1.0 - float(np.mean((t - p) ** 2)) / var if var > 0 else float("nan")
    idx = np.arange(t.size)
    if t.size > max_points:
        idx = np.random.default_rng(random_state).choice(t.size, max_points, replace=False)
    fig = _figure(5.0, 5.0)
    ax = fig.add_subplot()
    ax.scatter(t[idx], p[idx], s=8, alpha=0.4, edgecolors="none")
    low, high = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="y = x")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(f"{title}\nRMSE {rmse:.4g}   R² {r2:.4f}   n={t.size}", fontsize=10)
    ax.legend(loc="upper left")
    ax.set_aspect("equal", adjustable="datalim")
    return _save(fig, path)


def plot_ablation(
    scores: Mapping[str, float] | pd.Series,
    path: str | Path,
    *,
    metric: str = "RMSE",
    baseline: str | None = None,
    title: str = "Ablation",
) -> Path:
    """Horizontal bar chart of one score per variant (for example per modality removed).

    Parameters
    ----------
    scores : mapping or Series
        Variant name -> score (lower is better).
    path : str or Path
        The file to write.
    metric : str
        Axis label.
    baseline : str, optional
        A variant drawn as a vertical reference line (for example ``"all modalities"``).
    title : str
        Plot title.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> s = {"all": 0.21, "no text": 0.25, "no photos": 0.27}
    >>> plot_ablation(s, os.path.join(tempfile.mkdtemp(), "a.png"), baseline="all").suffix
    '.png'
    """
    series = pd.Series(scores, dtype=float)
    if series.empty:
        raise ValueError("scores is empty; pass at least one variant.")
    if baseline is not None and baseline not in series.index:
        raise ValueError(f"baseline {baseline!r} is not one of {list(series.index)}.")
    fig = _figure(6.5, 1.0 + 0.45 * len(series))
    ax = fig.add_subplot()
    ax.barh([str(i) for i in series.index], series.to_numpy(), color="#1f77b4")
    for i, value in enumerate(series.to_numpy()):
        ax.text(value, i, f" {value:.4g}", va="center")
    if baseline is not None:
        ax.axvline(series[baseline], color="black", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.set_xlim(0, float(series.max()) * 1.2)
    ax.set_title(title)
    return _save(fig, path)


def plot_interval_width(
    disagreement: Any,
    width: Any,
    path: str | Path,
    *,
    absolute_width: float | None = None,
    abs_error: Any = None,
    adaptive_width: Any = None,
    coverage: float = 0.9,
    title: str = "Interval width against member disagreement",
    max_points: int = 5000,
    random_state: int = 0,
) -> Path:
    """Scatter of each row's interval width against the members' disagreement on it.

    Parameters
    ----------
    disagreement : array-like of shape (n_rows,)
        The members' weighted spread around the blend on each row.
    width : array-like of shape (n_rows,)
        The normalized interval's width on each row.
    path : str or Path
        The file to write.
    absolute_width : float, optional
        The absolute interval's width (the same on every row), drawn as a horizontal line.
    abs_error : array-like of shape (n_rows,), optional
        Twice the absolute error of each row, drawn as grey points (an interval covers a row
        where its width is above its point).
    adaptive_width : array-like of shape (n_rows,), optional
        The adaptive interval's width on each row (``predict_interval``'s default), drawn as a
        second series.
    coverage : float, default=0.9
        For the labels.
    title : str
        Plot title.
    max_points : int, default=5000
        Larger inputs are subsampled for drawing.
    random_state : int, default=0
        Seed of the subsample.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "w.png")
    >>> plot_interval_width([0.1, 0.5, 1.0], [1.0, 2.0, 3.0], out, absolute_width=2.0).suffix
    '.png'
    """
    s = np.asarray(disagreement, dtype=float).ravel()
    w = np.asarray(width, dtype=float).ravel()
    if s.shape != w.shape or s.size == 0:
        raise ValueError(
            f"disagreement and width must have the same non-zero length; got {s.size} and {w.size}."
        )
    idx = np.arange(s.size)
    if s.size > max_points:
        idx = np.random.default_rng(random_state).choice(s.size, max_points, replace=False)
    fig = _figure(6.0, 4.5)
    ax = fig.add_subplot()
    pct = f"{coverage:.0%}"
    if abs_error is not None:
        e = np.asarray(abs_error, dtype=float).ravel()
        ax.scatter(s[idx], e[idx], s=6, alpha=0.3, color="grey", edgecolors="none",
                   label="2 x |out-of-fold error|")  # fmt: skip
    ax.scatter(s[idx], w[idx], s=8, alpha=0.6, edgecolors="none", label=f"normalized {pct}")
    if adaptive_width is not None:
        a = np.asarray(adaptive_width, dtype=float).ravel()
        ax.scatter(s[idx], a[idx], s=8, alpha=0.6, edgecolors="none", color="tab:orange",
                   label=f"adaptive {pct} (default)")  # fmt: skip
    if absolute_width is not None:
        ax.axhline(absolute_width, color="black", linestyle="--", linewidth=1,
                   label=f"absolute {pct}")  # fmt: skip
    ax.set_xlabel("member disagreement (weighted std around the blend)")
    ax.set_ylabel("interval width")
    means = f"mean normalized width {np.mean(w):.4g}"
    if adaptive_width is not None:
        means += f", adaptive {np.mean(a):.4g}"
    ax.set_title(f"{title}\n{means}", fontsize=10)
    ax.legend(loc="upper left")
    return _save(fig, path)


def _interval_width_plot(model: Any, path: Path, coverage: float = 0.9) -> Path:
    """The 90% intervals of a BlendRegressor on its calibration (out-of-fold) rows."""
    from blend.ensemble.uncertainty import conformal_quantile

    sigma = np.asarray(model.calibration_disagreement_, dtype=float)[:, 0]
    floor = float(np.asarray(model.disagreement_floor_)[0])
    scores = model.calibration_scores_
    q_norm = float(np.atleast_1d(conformal_quantile(scores["normalized"], coverage))[0])
    q_abs = float(np.atleast_1d(conformal_quantile(scores["absolute"], coverage))[0])
    error = 2 * np.abs(np.asarray(model.calibration_residuals_, dtype=float)[:, 0])
    adaptive = None
    if "adaptive" in scores and getattr(model, "residual_scale_", None) is not None:
        q_ada = float(np.atleast_1d(conformal_quantile(scores["adaptive"], coverage))[0])
        adaptive = 2 * q_ada * model.residual_scale_.calibration_scale_[:, 0]
    return plot_interval_width(
        sigma,
        2 * q_norm * (sigma + floor),
        path,
        absolute_width=2 * q_abs,
        abs_error=error,
        adaptive_width=adaptive,
        coverage=coverage,
        title=f"Out-of-fold {coverage:.0%} intervals ({len(sigma)} rows)",
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.DataFrame):
        return {str(i): _jsonable(row.to_dict()) for i, row in value.iterrows()}
    return value


def write_report(
    model: Any,
    folder: str | Path,
    *,
    y_true: Any = None,
    y_pred: Any = None,
    metrics: Mapping[str, Any] | None = None,
    X: Any = None,
) -> dict[str, Path]:
    """Write a fitted blend's report files into ``folder``.

    Writes ``leaderboard.csv``, ``error_correlation.png``, the decomposition bar chart
    (``ambiguity.png`` for regression, ``cross_entropy.png`` for classification), and, when
    ``y_true`` and ``y_pred`` are given for a regression, ``predicted_vs_true.png``; for a
    regression with prediction intervals, ``interval_width.png`` (:func:`plot_interval_width`
    on the out-of-fold rows). When
    ``metrics`` is given it is written to ``metrics.json``.

    Parameters
    ----------
    model : BlendRegressor or BlendClassifier
        A fitted blend (it needs ``leaderboard_`` and ``diversity_``).
    folder : str or Path
        Created if missing.
    y_true, y_pred : array-like, optional
        Held-out targets and predictions for the scatter plot.
    metrics : mapping, optional
        JSON-serializable metrics.
    X : DataFrame, optional
        Rows to explain (at most 1,000): ``contributions.csv``, ``importance.png`` (mean
        |contribution| per column) and ``waterfall.png`` (the first row), see
        :mod:`blend.report_html`. Stacking blends are not explained.

    A fitted blend's report ends with ``report.html``: all tables and plots in one offline
    file, each with a line saying how to read it.

    Returns
    -------
    dict
        File kind -> path written.
    """
    for attr in ("leaderboard_", "diversity_"):
        if not hasattr(model, attr):
            raise TypeError(
                f"write_report needs a fitted BlendRegressor or BlendClassifier (missing {attr}); "
                f"got {type(model).__name__}."
            )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    path = folder / "leaderboard.csv"
    model.leaderboard_.to_csv(path, index=False)
    written["leaderboard"] = path
    diversity = model.diversity_
    corr = diversity.get("error_correlation")
    if corr is not None and len(corr) > 0:
        written["error_correlation"] = plot_error_correlation(
            corr, folder / "error_correlation.png"
        )
    if "ambiguity" in diversity:
        written["decomposition"] = plot_decomposition(
            diversity["ambiguity"], folder / "ambiguity.png"
        )
    elif "cross_entropy" in diversity:
        written["decomposition"] = plot_decomposition(
            diversity["cross_entropy"], folder / "cross_entropy.png"
        )
    if y_true is not None and y_pred is not None and "ambiguity" in diversity:
        written["predicted_vs_true"] = plot_predicted_vs_true(
            y_true, y_pred, folder / "predicted_vs_true.png", title="Held-out predictions"
        )
    if getattr(model, "calibration_disagreement_", None) is not None:  # prediction intervals
        written["interval_width"] = _interval_width_plot(model, folder / "interval_width.png")
    if getattr(model, "budget_", None) is not None:  # time_limit / presets and decisions
        path = folder / "budget.json"
        path.write_text(json.dumps(_jsonable(dict(model.budget_)), indent=2))
        written["budget"] = path
    if metrics is not None:
        path = folder / "metrics.json"
        path.write_text(json.dumps(_jsonable(dict(metrics)), indent=2))
        written["metrics"] = path
    from blend.report_html import explanation_plots, write_html

    if X is not None:
        written.update(explanation_plots(model, X, folder))
    if hasattr(model, "weights_"):  # a fitted blend (not a bare summary of one)
        written["html"] = write_html(model, folder, written)
    return written
