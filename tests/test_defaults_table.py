"""default_members as a table: the rows say what joins, and the library stays what it was.

``tests/fixtures/default_members.json`` holds, for several frames, the members
:func:`~blend.members.defaults.default_members` returned before its rules became the
``DEFAULT_MEMBERS`` table (names, order, classes and every parameter set away from its
default). Regenerate it (only for an intended change of the portfolio) with::

    python tests/test_defaults_table.py --regenerate
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from blend.members import defaults

FIXTURE = Path(__file__).parent / "fixtures" / "default_members.json"
HAS_DEEP = importlib.util.find_spec("blend.members.deep.estimators") is not None
HAS_CATBOOST = importlib.util.find_spec("catboost") is not None
HAS_LIGHTGBM = importlib.util.find_spec("lightgbm") is not None


def _clothing(n: int):
    from blend.datasets import make_clothing

    X, y, _ = make_clothing(n, random_state=0)
    return X, y


def _numeric(n: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "length": rng.uniform(1, 5, n),
            "width": rng.uniform(1, 5, n),
            "rooms": rng.integers(1, 4, n),
            "kind": pd.Categorical(rng.choice(["a", "b"], n)),
        }
    )
    return X, X["length"] / X["width"]


def _case_small_mixed():
    X, y = _clothing(300)
    return {"X": X, "y": y, "random_state": 0}


def _case_large_mixed():
    X, y = _clothing(600)
    return {"X": X, "y": y, "random_state": 0}


def _case_classification():
    X, y = _clothing(600)
    return {"X": X, "y": np.where(y > y.median(), "dear", "cheap"), "task": "classification"}


def _case_small_classification():
    X, y = _clothing(300)
    return {"X": X, "y": y > y.median(), "task": "classification", "random_state": 3}


def _case_text_no_photos():
    X, y = _clothing(600)
    return {"X": X.drop(columns=["photo_front", "photo_back"]), "y": y, "random_state": 1}


def _case_tabular():
    X, y = _clothing(600)
    return {"X": X.drop(columns=["description", "photo_front", "photo_back"]), "y": y}


def _case_text_only():
    X, y = _clothing(600)
    return {"X": X[["description"]], "y": y, "random_state": 0}


def _case_multi_output_small():
    X, y = _clothing(300)
    return {"X": X, "y": np.column_stack([y, 2.0 * y]), "random_state": 0}


def _case_multi_output_large():
    X, y = _clothing(600)
    return {"X": X, "y": np.column_stack([y, 2.0 * y]), "random_state": 0}


def _case_ratios():
    X, y = _numeric(300)
    return {"X": X, "y": y, "random_state": 0}


def _case_ratios_classification():
    X, y = _numeric(800)
    return {"X": X, "y": y > y.median(), "task": "classification", "random_state": 0}


def _case_large_table():
    X, y = _numeric(defaults.LARGE_TABLE_ROWS)
    return {"X": X, "y": y, "random_state": 0}


def _case_roles_ignore_photos():
    X, y = _clothing(600)
    return {"X": X, "y": y, "roles": {"photo_front": "ignore", "photo_back": "ignore"}}


CASES: dict[str, Callable[[], dict]] = {
    "small_mixed": _case_small_mixed,
    "large_mixed": _case_large_mixed,
    "classification": _case_classification,
    "small_classification": _case_small_classification,
    "text_no_photos": _case_text_no_photos,
    "tabular": _case_tabular,
    "text_only": _case_text_only,
    "multi_output_small": _case_multi_output_small,
    "multi_output_large": _case_multi_output_large,
    "ratios": _case_ratios,
    "ratios_classification": _case_ratios_classification,
    "large_table": _case_large_table,
    "roles_ignore_photos": _case_roles_ignore_photos,
}
# Which optional boosters are "installed" while a snapshot is taken.
INSTALLED = {
    "all": (True, True),
    "no_catboost": (False, True),
    "no_boosters": (False, False),
}


def _describe(value: object) -> object:
    """A JSON-able description of a parameter: estimators by class and changed parameters."""
    if isinstance(value, BaseEstimator):
        params = value.get_params(deep=False)
        try:
            reference = type(value)().get_params(deep=False)
        except TypeError:  # a required argument: keep every parameter
            reference = {}
        changed = {
            key: _describe(param)
            for key, param in sorted(params.items())
            if key not in reference or repr(reference[key]) != repr(param)
        }
        return {"class": type(value).__name__, "params": changed}
    if isinstance(value, (list, tuple)):
        return [_describe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _describe(item) for key, item in sorted(value.items())}
    return repr(value)


def _installed(monkeypatch: pytest.MonkeyPatch, catboost: bool, lightgbm: bool) -> None:
    find_spec = importlib.util.find_spec

    def fake_find_spec(name: str, *args, **kwargs):
        if (name == "catboost" and not catboost) or (name == "lightgbm" and not lightgbm):
            return None
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)


def snapshot(case: str, installed: str) -> list:
    """What default_members returns for a case, with the given boosters installed."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _installed(monkeypatch, *INSTALLED[installed])
        library = defaults.default_members(**CASES[case]())
    return [[name, _describe(member)] for name, member in library]


def _fixture() -> dict:
    if not FIXTURE.is_file():
        pytest.skip(f"{FIXTURE} missing: run `python {__file__} --regenerate`")
    return json.loads(FIXTURE.read_text())


@pytest.mark.skipif(
    not (HAS_DEEP and HAS_CATBOOST and HAS_LIGHTGBM),
    reason="the snapshot was taken with Keras, CatBoost and LightGBM installed",
)
@pytest.mark.parametrize("installed", list(INSTALLED))
@pytest.mark.parametrize("case", list(CASES))
def test_library_matches_the_snapshot(case, installed):
    expected = _fixture()[installed][case]
    got = json.loads(json.dumps(snapshot(case, installed)))
    assert [name for name, _ in got] == [name for name, _ in expected]
    assert got == expected


def test_table_rows_are_named_and_explained():
    names = [rule.name for rule in defaults.DEFAULT_MEMBERS]
    assert len(set(names)) == len(names)
    for rule in defaults.DEFAULT_MEMBERS:
        assert rule.why and "\n" not in rule.why, rule.name
        assert rule.joins.__doc__, rule.name
    table = defaults.describe_defaults()
    for name in names:
        assert name in table


def test_every_default_member_is_a_member_kind():
    from blend.members.kinds import MEMBER_KINDS

    assert {rule.kind for rule in defaults.DEFAULT_MEMBERS} <= set(MEMBER_KINDS)


def test_docstring_points_at_the_table():
    doc = defaults.default_members.__doc__
    assert "DEFAULT_MEMBERS" in doc
    assert len(doc.splitlines()) < 60


def _regenerate() -> None:  # pragma: no cover - run by hand
    result = {
        installed: {case: snapshot(case, installed) for case in CASES} for installed in INSTALLED
    }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":  # pragma: no cover
    if "--regenerate" in sys.argv:
        _regenerate()
