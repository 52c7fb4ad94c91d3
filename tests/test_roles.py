import numpy as np
import pandas as pd
import pytest

from blend import infer_roles
from blend.datasets import make_clothing
from blend.roles import resolve_roles


def mixed_frame(tmp_path=None):
    n = 40
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "int": rng.integers(0, 5, size=n),
            "num_str": [str(v) for v in rng.normal(size=n).round(3)],
            "flag": rng.random(n) > 0.5,
            "cat": pd.Categorical(rng.choice(["a", "b"], size=n)),
            "one_level": ["same"] * n,
            "short_str": rng.choice(["red", "green", "blue"], size=n),
            "text": [f"item {i} is a nice warm coat" for i in range(n)],
            "ident": [f"SKU{i:05d}" for i in range(n)],
            "all_nan": [np.nan] * n,
            "img": [np.zeros((8, 8, 3), dtype=np.uint8)] * n,
            "gray": [np.zeros((8, 8))] * n,
            "when": pd.date_range("2024-01-01", periods=n),
        }
    )


def test_infer_roles_on_mixed_frame():
    X = mixed_frame()
    before = X.copy(deep=True)
    assert infer_roles(X) == {
        "num": "numeric",
        "int": "numeric",
        "num_str": "numeric",
        "flag": "categorical",
        "cat": "categorical",
        "one_level": "categorical",
        "short_str": "categorical",
        "text": "text",
        "ident": "ignore",
        "all_nan": "ignore",
        "img": "image",
        "gray": "image",
        "when": "ignore",
    }
    pd.testing.assert_frame_equal(
        X.drop(columns=["img", "gray"]), before.drop(columns=["img", "gray"])
    )


def test_text_with_nan_and_empty_strings_is_still_text():
    X = pd.DataFrame(
        {"d": ["a long enough description here", np.nan, "", "another one with words"] * 5}
    )
    assert infer_roles(X) == {"d": "text"}


def test_string_columns_with_nan_are_categorical():
    X = pd.DataFrame({"c": ["x", None, "y", np.nan] * 10})
    assert infer_roles(X) == {"c": "categorical"}


def test_image_paths(tmp_path):
    X, _, _ = make_clothing(4, random_state=0, image_dir=tmp_path)
    roles = infer_roles(X)
    assert roles["photo_front"] == roles["photo_back"] == "image"
    assert roles["description"] == "text"


def test_overrides_and_errors():
    X = mixed_frame()
    roles = resolve_roles(X, {"int": "categorical", "ident": "text"})
    assert roles["int"] == "categorical" and roles["ident"] == "text" and roles["num"] == "numeric"
    with pytest.raises(ValueError, match="Unknown role 'picture' for column 'img'"):
        resolve_roles(X, {"img": "picture"})
    with pytest.raises(ValueError, match="'nope'"):
        resolve_roles(X, {"nope": "numeric"})
    with pytest.raises(ValueError, match="'short_str' has role 'numeric'"):
        resolve_roles(X, {"short_str": "numeric"})
    with pytest.raises(ValueError, match="'text' has role 'image'"):
        resolve_roles(X, {"text": "image"})
    with pytest.raises(ValueError, match="'img' has role 'text'"):
        resolve_roles(X, {"img": "text"})
    with pytest.raises(TypeError, match="DataFrame"):
        infer_roles(X.to_numpy())


def test_numeric_strings_override_accepts_whitespace_and_nan():
    X = pd.DataFrame({"v": [" 1.5", "2", None, "3e2"] * 5})
    assert resolve_roles(X, {"v": "numeric"}) == {"v": "numeric"}
    assert infer_roles(X) == {"v": "numeric"}
