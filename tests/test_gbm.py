"""LightGBM and CatBoost members: early stopping, bytes-only state, safe files, bad input."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
from sklearn.base import clone

import blend
from blend.members.gbm import (
    CatBoostMemberClassifier,
    CatBoostMemberRegressor,
    LightGBMMemberClassifier,
    LightGBMMemberRegressor,
)

REGRESSORS = [
    pytest.param(LightGBMMemberRegressor, marks=pytest.mark.skipif(
        not importlib.util.find_spec("lightgbm"), reason="lightgbm missing")),
    pytest.param(CatBoostMemberRegressor, marks=pytest.mark.skipif(
        not importlib.util.find_spec("catboost"), reason="catboost missing")),
]  # fmt: skip
CLASSIFIERS = [
    pytest.param(LightGBMMemberClassifier, marks=REGRESSORS[0].marks),
    pytest.param(CatBoostMemberClassifier, marks=REGRESSORS[1].marks),
]


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 2 * X[:, 0] + np.sin(2 * X[:, 1]) + rng.normal(scale=0.1, size=n)
    X[::9, 2] = np.nan  # missing values pass through: both boosters handle them
    return X, y


@pytest.mark.parametrize("cls", REGRESSORS)
def test_regressor_learns_and_early_stops(cls):
    X, y = _data()
    model = cls(max_trees=2000, early_stopping_rounds=30, random_state=0).fit(X[:500], y[:500])
    rmse = np.sqrt(np.mean((model.predict(X[500:]) - y[500:]) ** 2))
    assert rmse < 0.5 * np.std(y)
    assert 1 <= model.best_n_estimators_ < 2000  # stopped early, well before the limit
    assert model.n_features_in_ == 4


@pytest.mark.parametrize("cls", REGRESSORS)
def test_state_is_native_bytes_and_survives_pickle_and_blend_save(cls, tmp_path):
    X, y = _data()
    model = cls(random_state=0).fit(X, y)
    expected = model.predict(X)
    assert isinstance(model.model_bytes_, bytes)
    restored = pickle.loads(pickle.dumps(model))
    assert "_live_model" not in restored.__dict__  # only bytes travel
    np.testing.assert_allclose(restored.predict(X), expected)
    blend.save(model, tmp_path / "m.blend")
    np.testing.assert_allclose(blend.load(tmp_path / "m.blend").predict(X), expected)


@pytest.mark.parametrize("cls", REGRESSORS)
def test_same_seed_same_model_and_clone_is_unfitted(cls):
    X, y = _data()
    a = cls(random_state=3).fit(X, y).predict(X)
    b = cls(random_state=3).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    fresh = clone(cls(params={"learning_rate": 0.1}, random_state=3))
    assert fresh.get_params()["params"] == {"learning_rate": 0.1}
    assert not hasattr(fresh, "model_bytes_")


@pytest.mark.parametrize("cls", REGRESSORS)
def test_small_data_uses_a_fixed_number_of_trees(cls):
    X, y = _data(120)
    model = cls(max_trees=50, random_state=0).fit(X, y)
    assert model.best_n_estimators_ == 50


@pytest.mark.parametrize("cls", CLASSIFIERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_string_labels_and_probabilities(cls, n_classes):
    X, _ = _data()
    labels = np.array(["low", "mid", "high"])[:n_classes]
    codes = (X[:, 0] > 0).astype(int) + (n_classes == 3) * (X[:, 0] > 1).astype(int)
    y = labels[codes]
    model = cls(random_state=0).fit(X[:500], y[:500])
    proba = model.predict_proba(X[500:])
    assert proba.shape == (100, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert list(model.classes_) == sorted(labels)
    assert (model.predict(X[500:]) == y[500:]).mean() > 0.8
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(X[500:]), proba)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_classifier_needs_two_classes(cls):
    X, _ = _data()
    with pytest.raises(ValueError, match="single class"):
        cls().fit(X, np.zeros(len(X)))


@pytest.mark.parametrize("cls", REGRESSORS)
@pytest.mark.parametrize(
    "params, match",
    [
        ({"params": [("depth", 3)]}, "'params' parameter"),
        ({"validation_fraction": 0.9}, "validation_fraction"),
        ({"max_trees": 0}, "max_trees"),
        ({"early_stopping_rounds": 1.5}, "early_stopping_rounds"),
    ],
)
def test_bad_parameters_are_named(cls, params, match):
    X, y = _data()
    with pytest.raises((ValueError, TypeError), match=match):
        cls(**params).fit(X, y)


@pytest.mark.parametrize("cls", REGRESSORS)
def test_predict_checks_fitted_and_width(cls):
    X, y = _data()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        cls().predict(X)
    model = cls(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])


def test_missing_library_says_how_to_install(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *args, **kwargs):
        if name == "catboost":
            raise ImportError("no catboost")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake)
    X, y = _data()
    with pytest.raises(ImportError, match=r"pip install blend\[boost\]"):
        CatBoostMemberRegressor().fit(X, y)


def test_default_members_include_installed_boosters():
    """Narrow tables get CatBoost (LightGBM without it); wide ones CatBoost with larger steps."""
    from blend.datasets import make_clothing

    X, y, _ = make_clothing(600, random_state=0)
    has = {lib: importlib.util.find_spec(lib) is not None for lib in ("lightgbm", "catboost")}
    narrow = dict(blend.default_members(X[["brand", "condition", "seller_rating"]], y))
    # text makes the matrix wide; without photos the additive member does not join, and
    # CatBoost stays (beside it and the network CatBoost over every column is left out)
    wide = dict(blend.default_members(X.drop(columns=["photo_front", "photo_back"]), y))
    # LightGBM is the fallback second booster: it errs like XGBoost and predicts slowest
    assert ("lightgbm" in narrow) == (has["lightgbm"] and not has["catboost"])
    assert ("catboost" in narrow) == has["catboost"]
    assert "lightgbm" not in wide
    if has["catboost"]:
        assert wide["catboost"][-1].params["learning_rate"] == 0.15
        assert "learning_rate" not in narrow["catboost"][-1].params


@pytest.mark.parametrize("cls", REGRESSORS)
def test_boosters_use_the_threads_joblib_grants(cls, monkeypatch):
    # joblib workers run with OMP_NUM_THREADS = cores // n_jobs; LightGBM and CatBoost ignore
    # it by default and oversubscribe the machine (a 7 s fold took 100-190 s).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    key = "n_jobs" if cls is LightGBMMemberRegressor else "thread_count"
    assert cls()._new_model(10).get_params()[key] == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cls()._new_model(10).get_params()[key] == 3
    assert cls({key: 2})._new_model(10).get_params()[key] == 2  # the user's choice wins
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert blend.members.gbm.available_threads() >= 1
