"""CatBoost started from the crossed linear model: baseline plumbing, both tasks, safe files."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import blend

pytestmark = pytest.mark.skipif(not importlib.util.find_spec("catboost"), reason="no catboost")


def _frame(n=800, seed=0):
    """Additive categorical effects (linear) plus a threshold on a numeric (trees)."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["p", "q", "r", "s"], size=n)
    x = rng.uniform(-2, 2, size=n)
    effect = {"p": 0.0, "q": 1.0, "r": -1.0, "s": 0.5}
    y = np.array([effect[v] for v in a]) + 1.5 * (x > 0.7) + rng.normal(scale=0.1, size=n)
    return pd.DataFrame({"a": pd.Categorical(a), "x": x}), y


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def test_trees_start_from_the_linear_prediction():
    from blend.members.linear_boost import LinearBoostRegressor

    X, y = _frame()
    model = LinearBoostRegressor(random_state=0).fit(X[:600], y[:600])
    test = X[600:]
    linear_only = model.linear_.predict(test)
    trees = model.booster_.raw_margin(model.features_.transform(test))
    np.testing.assert_allclose(model.predict(test), linear_only + trees)
    # the trees add the threshold the linear model can only approximate by buckets
    assert rmse(model.predict(test), y[600:]) < 0.8 * rmse(linear_only, y[600:])
    assert rmse(model.predict(test), y[600:]) < 0.2


def test_catboost_member_baseline_and_lightgbm_refuses_it():
    from blend.members.gbm import CatBoostMemberRegressor, LightGBMMemberRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = 3.0 + X[:, 0]
    member = CatBoostMemberRegressor(max_trees=50, random_state=0)
    member.fit(X, y, baseline=np.full(400, 3.0))
    # the trees fit only what the baseline leaves: their own sum is centred near 0, not 3
    assert abs(member.raw_margin(X).mean()) < 0.5
    with pytest.raises(ValueError, match="rows"):
        CatBoostMemberRegressor().fit(X, y, baseline=np.zeros(5))
    if importlib.util.find_spec("lightgbm"):
        with pytest.raises(ValueError, match="baseline"):
            LightGBMMemberRegressor(max_trees=20).fit(X, y, baseline=np.zeros(400))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_probabilities(n_classes):
    from blend.members.linear_boost import LinearBoostClassifier

    X, y = _frame(600)
    labels = np.array(["low", "mid", "high"])[np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))]
    if n_classes == 2:
        labels = np.where(labels == "high", "high", "other")
    clf = LinearBoostClassifier(params={"learning_rate": 0.3}, random_state=0).fit(X, labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (600, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == sorted(set(labels))
    assert np.mean(clf.predict(X) == labels) > 0.8


def test_clone_pickle_and_safe_file(tmp_path):
    from blend.members.linear_boost import LinearBoostRegressor

    X, y = _frame(400)
    model = LinearBoostRegressor(params={"depth": 4}, random_state=0)
    assert clone(model).get_params()["params"] == {"depth": 4}
    model.fit(X, y)
    expected = model.predict(X)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), expected)
    blend.save(model, tmp_path / "hybrid.blend")
    np.testing.assert_allclose(blend.load(tmp_path / "hybrid.blend").predict(X), expected)


def test_unfitted_predict_raises():
    from sklearn.exceptions import NotFittedError

    from blend.members.linear_boost import LinearBoostRegressor

    with pytest.raises(NotFittedError):
        LinearBoostRegressor().predict(_frame(10)[0])
