"""The README is a user's guide: its quick start runs as written, and it states no scores."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# A measured score, such as an RMSE to four decimals (0.0880, 1.0123x).
FOUR_DECIMALS = re.compile(r"\d\.\d{4}")


def section(text: str, heading: str) -> str:
    """The text under a ``## heading``, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '## {heading}' section"
    return match.group(1)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


def test_quick_start_runs_as_written(tmp_path):
    blocks = python_blocks(section(README.read_text(), "Quick start"))
    assert len(blocks) == 1, "the quick start is one python block"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    # run from an empty folder, as a user would: the model file lands there
    result = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "oof_rmse" in result.stdout  # the leaderboard was printed
    assert (tmp_path / "diamonds.blend").is_file()


def test_no_measured_scores_outside_the_benchmarks_pointer():
    lines = README.read_text().splitlines()
    scored = [line for line in lines if FOUR_DECIMALS.search(line)]
    stray = [line for line in scored if "bench/RESULTS.md" not in line]
    assert not stray, f"four-decimal scores in README.md (they belong in bench/RESULTS.md): {stray}"
    assert len(scored) <= 1


def test_docs_state_no_measured_scores():
    for path in sorted((ROOT / "docs").glob("*.md")):
        scored = [line for line in path.read_text().splitlines() if FOUR_DECIMALS.search(line)]
        assert not scored, f"four-decimal scores in {path.name}: {scored}"


def test_readme_links_resolve():
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#]+)\)", text)
    assert targets
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"
