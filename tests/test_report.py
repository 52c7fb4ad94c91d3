"""Report tables and plots: real images, clear errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from blend.report import (
    format_leaderboard,
    plot_ablation,
    plot_decomposition,
    plot_error_correlation,
    plot_predicted_vs_true,
    write_report,
)


def _is_real_plot(path, min_size=(300, 250)) -> bool:
    """A PNG of a reasonable size with many distinct colours (not a blank canvas)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[1] >= min_size[0] and pixels.shape[0] >= min_size[1]
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    return len(colours) > 20


def test_format_leaderboard_rounds_floats():
    board = pd.DataFrame(
        {"member": ["xgb", "rf"], "oof_rmse": [0.0871234, np.nan], "why": ["", "x" * 100]}
    )
    text = format_leaderboard(board, digits=3)
    assert "0.0871" in text and "nan" not in text.lower()
    assert "x" * 61 not in text  # long reasons are cut
    with pytest.raises(TypeError, match="DataFrame"):
        format_leaderboard({"member": ["a"]})


def test_error_correlation_heat_map(tmp_path):
    names = ["xgb", "rf", "keras"]
    corr = pd.DataFrame([[1, 0.9, 0.3], [0.9, 1, 0.4], [0.3, 0.4, 1.0]], index=names, columns=names)
    path = plot_error_correlation(corr, tmp_path / "corr.png")
    assert _is_real_plot(path)
    assert _is_real_plot(plot_error_correlation(corr.to_numpy(), tmp_path / "c2.png"))
    with pytest.raises(ValueError, match="square"):
        plot_error_correlation(np.ones((2, 3)), tmp_path / "bad.png")


def test_decomposition_bar_chart(tmp_path):
    amb = {"member_error": 0.05, "ambiguity": 0.012, "ensemble_error": 0.038}
    assert _is_real_plot(plot_decomposition(amb, tmp_path / "amb.png"))
    ce = {"member_loss": 0.6, "diversity": 0.1, "ensemble_loss": 0.5}
    assert _is_real_plot(plot_decomposition(ce, tmp_path / "ce.png"))
    with pytest.raises(ValueError, match="member_error"):
        plot_decomposition({"a": 1.0}, tmp_path / "bad.png")


def test_predicted_vs_true(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.normal(size=8000)
    path = plot_predicted_vs_true(y, y + rng.normal(scale=0.3, size=y.size), tmp_path / "p.png")
    assert _is_real_plot(path)
    with pytest.raises(ValueError, match="same non-zero length"):
        plot_predicted_vs_true([1, 2], [1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="NaN"):
        plot_predicted_vs_true([1.0, np.nan], [1.0, 2.0], tmp_path / "bad.png")


def test_ablation(tmp_path):
    scores = {"all modalities": 0.21, "no text": 0.26, "no photos": 0.28, "metadata only": 0.31}
    assert _is_real_plot(plot_ablation(scores, tmp_path / "abl.png", baseline="all modalities"))
    with pytest.raises(ValueError, match="baseline"):
        plot_ablation(scores, tmp_path / "bad.png", baseline="none")
    with pytest.raises(ValueError, match="empty"):
        plot_ablation({}, tmp_path / "bad.png")


def test_write_report_for_regression_and_classification(tmp_path):
    names = ["a", "b"]
    corr = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=names, columns=names)
    board = pd.DataFrame({"member": names, "oof_rmse": [0.1, 0.2], "weight": [0.7, 0.3]})
    reg = SimpleNamespace(
        leaderboard_=board,
        diversity_={
            "error_correlation": corr,
            "ambiguity": {"member_error": 0.02, "ambiguity": 0.005, "ensemble_error": 0.015},
        },
    )
    y = np.linspace(0, 1, 50)
    written = write_report(
        reg, tmp_path / "reg", y_true=y, y_pred=y + 0.05, metrics={"rmse": np.float64(0.05)}
    )
    assert set(written) == {
        "leaderboard",
        "error_correlation",
        "decomposition",
        "predicted_vs_true",
        "metrics",
    }
    assert json.loads(written["metrics"].read_text()) == {"rmse": 0.05}
    pd.testing.assert_frame_equal(pd.read_csv(written["leaderboard"]), board)
    clf = SimpleNamespace(
        leaderboard_=board,
        diversity_={
            "error_correlation": corr,
            "cross_entropy": {"member_loss": 0.6, "diversity": 0.1, "ensemble_loss": 0.5},
        },
    )
    written = write_report(clf, tmp_path / "clf", y_true=y, y_pred=y)
    assert written["decomposition"].name == "cross_entropy.png"
    assert "predicted_vs_true" not in written
    with pytest.raises(TypeError, match="leaderboard_"):
        write_report(object(), tmp_path / "x")
