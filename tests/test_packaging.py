"""The wheel a user installs: it holds the package and its data, and works outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the sources, so no stale ``build/`` folder leaks in."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "blend", src / "blend", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(dist)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, (
        "building the wheel failed (pyproject.toml needs setuptools>=77; `make` installs it):\n"
        + result.stderr[-3000:]
    )
    assert "warn" not in result.stderr.lower(), result.stderr[-3000:]
    (wheel,) = dist.glob("blend-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_ships_the_data_and_loads_it_from_another_folder(tmp_path):
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "blend/datasets/data/diamonds.csv.gz" in names
    assert any(name.endswith("licenses/LICENSE") for name in names), "LICENSE is not in the wheel"
    assert not any(name.startswith(("tests/", "bench/", "pipelines/")) for name in names)

    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site),
         str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Only the installed copy is importable: the checkout is not on the path from there.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    code = (
        "import blend, blend.datasets; "
        f"assert blend.__file__.startswith({str(site)!r}), blend.__file__; "
        "print(blend.datasets.load_diamonds()[0].shape)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, env=env, cwd=elsewhere, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "(53940, 9)"
