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


# -- CatBoost's few-rows path: packed oblivious trees, checked against CatBoost bit for bit --
needs_catboost = pytest.mark.skipif(
    not importlib.util.find_spec("catboost"), reason="catboost missing"
)


def _sparse_data(n=600, seed=0):
    """A CSR matrix with absent entries (0.0 to CatBoost), stored NaN and values beyond float32."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 30))
    X[rng.random(X.shape) < 0.6] = 0.0
    X[::7, 2] = np.nan
    X[::11, 3] = np.nan
    # zero against nonzero matters: treating absent entries as missing would change leaves
    y = X[:, 0] + np.nan_to_num(X[:, 2]) + (X[:, 1] == 0) + 2 * np.isnan(X[:, 3])
    test = rng.normal(size=(40, 30))
    test[rng.random(test.shape) < 0.6] = 0.0
    test[rng.random(test.shape) < 0.05] = np.nan
    test[0, 0], test[1, 1], test[2, :] = 1e300, -1e300, np.nan
    return sp.csr_matrix(X), y, sp.csr_matrix(test)


def _one_by_one(method, X, size):
    return np.concatenate([method(X[i : i + size]) for i in range(0, X.shape[0], size)])


@needs_catboost
@pytest.mark.parametrize("nan_mode", ["Min", "Max"])
def test_catboost_few_rows_are_the_batch_bits_for_sparse_and_dense(nan_mode):
    from blend.members import oblivious_trees

    X, y, test = _sparse_data()
    model = CatBoostMemberRegressor({"nan_mode": nan_mode}, max_trees=150, random_state=0)
    model.fit(X, y)
    live = model._model()
    batch_raw, batch = model.raw_margin(test), model.predict(test)  # 40 rows: CatBoost's own
    assert oblivious_trees.trusted(live, "raw") is None  # big batches never pack
    for data in (test, test.toarray()):
        for size in (1, 5):
            np.testing.assert_array_equal(_one_by_one(model.raw_margin, data, size), batch_raw)
            np.testing.assert_array_equal(_one_by_one(model.predict, data, size), batch)
    assert oblivious_trees.trusted(live, "raw") and oblivious_trees.trusted(live, "predict")
    # trusted rows no longer reach CatBoost's predict
    live.predict = None
    np.testing.assert_array_equal(model.raw_margin(test[:1]), batch_raw[:1])
    np.testing.assert_array_equal(model.predict(test[3:8].toarray()), batch[3:8])
    # the same checks (and errors) as CatBoost's path
    with pytest.raises(ValueError, match="features"):
        model.raw_margin(test[:1, :29])
    # no packed arrays in the saved state
    restored = pickle.loads(pickle.dumps(model))
    assert set(restored.__dict__) == set(model.__dict__) - {"_live_model"}
    np.testing.assert_array_equal(restored.raw_margin(test[:1]), batch_raw[:1])


@needs_catboost
@pytest.mark.parametrize("n_classes", [2, 3])
def test_catboost_classifier_few_rows_are_the_batch_bits(n_classes):
    from blend.members import oblivious_trees

    X, y, test = _sparse_data(seed=1)
    labels = np.digitize(y, [0.5, 1.5][: n_classes - 1])
    model = CatBoostMemberClassifier(max_trees=100, random_state=0).fit(X, labels)
    batch_raw, batch = model.raw_margin(test), model.predict_proba(test)
    for size in (1, 5):
        np.testing.assert_array_equal(_one_by_one(model.raw_margin, test, size), batch_raw)
        np.testing.assert_array_equal(_one_by_one(model.predict_proba, test, size), batch)
        np.testing.assert_array_equal(_one_by_one(model.predict, test, size), model.predict(test))
    live = model._model()
    assert oblivious_trees.trusted(live, "raw")
    # two classes: CatBoost's sigmoid reproduced; more: CatBoost's own softmax, never packed
    assert oblivious_trees.trusted(live, "proba") is (True if n_classes == 2 else None)


@needs_catboost
def test_catboost_few_rows_fall_back_when_packing_fails_or_differs(monkeypatch):
    from blend.members import oblivious_trees

    X, y, test = _sparse_data(seed=2)
    failing = CatBoostMemberRegressor(max_trees=50, random_state=0).fit(X, y)
    expected = failing.raw_margin(test)

    def broken(model):
        raise ValueError("unknown format")

    monkeypatch.setattr(oblivious_trees, "pack_catboost", broken)
    np.testing.assert_array_equal(_one_by_one(failing.raw_margin, test, 1), expected)
    assert oblivious_trees.packed_for(failing._model()) is None
    monkeypatch.undo()

    # packed trees whose sum is off by a hair: the first check drops them for good
    differs = CatBoostMemberRegressor(max_trees=50, random_state=0).fit(X, y)
    packed = oblivious_trees.packed_for(differs._model())
    packed.leaves[-1] += 1e-12
    np.testing.assert_array_equal(_one_by_one(differs.raw_margin, test, 1), expected)
    assert oblivious_trees.trusted(differs._model(), "raw") is False

    # a loss that maps the margin (Poisson: exp) differs in predict only
    counts = np.random.default_rng(0).poisson(np.exp(np.clip(y, -2, 2)))
    poisson = CatBoostMemberRegressor({"loss_function": "Poisson"}, max_trees=50, random_state=0)
    poisson.fit(X, counts)
    batch_raw, batch = poisson.raw_margin(test), poisson.predict(test)
    np.testing.assert_array_equal(_one_by_one(poisson.raw_margin, test, 1), batch_raw)
    np.testing.assert_array_equal(_one_by_one(poisson.predict, test, 1), batch)
    assert oblivious_trees.trusted(poisson._model(), "raw") is True
    assert oblivious_trees.trusted(poisson._model(), "predict") is False


@needs_catboost
def test_catboost_categorical_features_are_not_packed():
    import catboost

    from blend.members import oblivious_trees

    rng = np.random.default_rng(0)
    frame = [[str(rng.integers(3)), float(v)] for v in rng.normal(size=200)]
    y = np.array([float(row[0] == "1") + row[1] for row in frame])
    model = catboost.CatBoostRegressor(iterations=20, verbose=0, allow_writing_files=False)
    model.fit(frame, y, cat_features=[0])
    with pytest.raises(ValueError):
        oblivious_trees.pack_catboost(model)
    assert oblivious_trees.packed_for(model) is None
