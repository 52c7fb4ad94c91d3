"""The linear member: encoding, penalty choice, crosses by name, classification, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import blend
from blend.members.linear import WideLinearClassifier, WideLinearRegressor


def _interaction_frame(n=1500, seed=0):
    """A price that is additive in two categoricals and a numeric, plus an a x b interaction."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["p", "q", "r"], size=n)
    b = rng.choice(["u", "v"], size=n)
    x = rng.normal(size=n)
    effect = {"p": 0.0, "q": 1.0, "r": -1.0}
    y = np.array([effect[v] for v in a]) + 0.5 * x + 2.0 * ((a == "p") & (b == "u"))
    y = y + rng.normal(scale=0.1, size=n)
    X = pd.DataFrame({"a": pd.Categorical(a), "b": pd.Categorical(b), "x": x})
    return X, y


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def test_crosses_let_the_linear_model_fit_an_interaction():
    X, y = _interaction_frame()
    crossed = WideLinearRegressor(random_state=0).fit(X[:1200], y[:1200])
    plain = WideLinearRegressor(crosses=None, random_state=0).fit(X[:1200], y[:1200])
    assert crossed.wide_.crosses_ == [("a", "b")]  # "auto" finds the interacting pair
    # with the cross the model reaches the noise (0.1); without it the interaction is missed
    assert rmse(crossed.predict(X[1200:]), y[1200:]) < 0.15
    assert rmse(plain.predict(X[1200:]), y[1200:]) > 0.3
    weights = crossed.coefficients()
    top = weights.iloc[0]["feature"]
    assert top.startswith("a x b=") and "p & u" in top.replace("a=", "").replace("b=", "")


def test_learns_every_modality_of_clothing(clothing_small):
    X, y, floor = clothing_small
    model = WideLinearRegressor(random_state=0).fit(X[:240], y[:240])
    assert rmse(model.predict(X[240:]), y[240:]) < 0.8 * np.std(y[240:])
    names = set(model.feature_names_)
    assert any(n.startswith("description__") for n in names)
    assert any(n.startswith("photo_front__") for n in names)
    assert any(n.startswith("brand=") for n in names)
    assert len(model.feature_names_) == len(model.coef_)


def test_penalty_is_chosen_from_the_grid_and_changes_with_the_noise():
    X, y = _interaction_frame(600)
    rng = np.random.default_rng(1)
    clean = WideLinearRegressor(alphas=[1e-3, 1.0, 1e3]).fit(X, y)
    noisy = WideLinearRegressor(alphas=[1e-3, 1.0, 1e3]).fit(X, rng.normal(size=len(y)))
    assert clean.alpha_ in (1e-3, 1.0, 1e3)
    assert noisy.alpha_ > clean.alpha_  # pure noise: shrink hard


def test_large_data_chooses_the_penalty_on_a_sample(monkeypatch):
    import blend.members.linear as linear

    monkeypatch.setattr(linear, "ALPHA_ROWS", 300)
    X, y = _interaction_frame(900)
    model = WideLinearRegressor(random_state=0).fit(X, y)
    assert model.alpha_ in linear.DEFAULT_ALPHAS
    assert rmse(model.predict(X), y) < 0.15


def test_unseen_levels_missing_values_and_input_not_mutated():
    X, y = _interaction_frame(600)
    X = X.assign(x=X["x"].where(np.arange(len(X)) % 7 != 0))  # NaN numerics
    before = X.copy()
    model = WideLinearRegressor(random_state=0).fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    new = pd.DataFrame(
        {"a": pd.Categorical(["zzz", "p"]), "b": pd.Categorical(["u", None]), "x": [np.nan, 0.0]}
    )
    assert np.isfinite(model.predict(new)).all()


def test_multi_output_regression():
    X, y = _interaction_frame(600)
    Y = np.column_stack([y, -2 * y])
    model = WideLinearRegressor(random_state=0).fit(X, Y)
    pred = model.predict(X)
    assert pred.shape == (600, 2)
    np.testing.assert_allclose(pred[:, 1], -2 * pred[:, 0], rtol=1e-6, atol=1e-6)
    assert list(model.coefficients().columns) == ["feature", "weight_0", "weight_1"]


def test_classifier_string_labels_and_probabilities(clothing_small):
    X, y, _ = clothing_small
    labels = np.where(y > y.quantile(0.66), "dear", np.where(y < y.quantile(0.33), "cheap", "mid"))
    clf = WideLinearClassifier(random_state=0).fit(X, labels)
    proba = clf.predict_proba(X)
    assert list(clf.classes_) == ["cheap", "dear", "mid"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert np.mean(clf.predict(X) == labels) > 0.5  # three classes, 300 listings
    assert clf.alpha_ in blend.members.linear.DEFAULT_CLASSIFIER_ALPHAS


def test_clone_pickle_and_safe_file(tmp_path, clothing_small):
    X, y, _ = clothing_small
    model = WideLinearRegressor(crosses=[("brand", "condition")], random_state=0)
    assert clone(model).get_params() == model.get_params()
    model.fit(X, y)
    expected = model.predict(X)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), expected)
    blend.save(model, tmp_path / "linear.blend")
    np.testing.assert_allclose(blend.load(tmp_path / "linear.blend").predict(X), expected)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alphas": []}, "alphas"),
        ({"alphas": [0.0, 1.0]}, "alphas"),
        ({"alphas": "auto"}, "alphas"),
        ({"max_crosses": 0}, "max_crosses"),
        ({"numeric_buckets": 1}, "numeric_buckets"),
        ({"crosses": [("a", "missing_column")]}, "missing_column"),
        ({"crosses": [("a", "x")]}, "x"),  # a numeric column cannot be crossed
    ],
)
def test_bad_parameters_are_named(params, message):
    X, y = _interaction_frame(200)
    with pytest.raises(ValueError, match=message):
        WideLinearRegressor(**params).fit(X, y)


def test_bad_data_raises_clear_errors():
    X, y = _interaction_frame(200)
    with pytest.raises(ValueError, match="numeric target"):
        WideLinearRegressor().fit(X, np.array(["a", "b"] * 100))
    with pytest.raises(ValueError, match="rows"):
        WideLinearRegressor().fit(X, y[:10])
    with pytest.raises(ValueError, match="one class"):
        WideLinearClassifier().fit(X, np.zeros(200))
    with pytest.raises(ValueError, match="No column"):
        WideLinearRegressor(roles={"a": "ignore", "b": "ignore", "x": "ignore"}).fit(X, y)
    model = WideLinearRegressor().fit(X, y)
    with pytest.raises(ValueError, match="missing"):
        model.predict(X.drop(columns=["a"]))


def test_in_the_default_library(clothing_small, monkeypatch):
    import blend.members.defaults

    X, y, _ = clothing_small
    library = dict(blend.default_members(X, y, random_state=3))
    if "linear_boost" in library:  # CatBoost installed: the hybrid replaces the linear model
        assert "linear" not in library
        assert library["linear_boost"].random_state == 3
        monkeypatch.setattr(blend.members.defaults, "has_catboost", lambda: False)
        library = dict(blend.default_members(X, y, random_state=3))
    assert isinstance(library["linear"], WideLinearRegressor)
    assert library["linear"].random_state == 3
    labels = np.where(y > y.median(), "dear", "cheap")
    classifiers = dict(blend.default_members(X, labels, task="classification"))
    assert isinstance(classifiers["linear"], WideLinearClassifier)


def test_one_row_at_a_time_equals_one_batch(clothing_small):
    X, y, _ = clothing_small
    model = WideLinearRegressor(crosses=[("brand", "condition")], random_state=0).fit(X, y)
    batch = model.predict(X.iloc[:80])  # above the dict lookup's row limit
    rows = np.concatenate([model.predict(X.iloc[i : i + 1]) for i in range(80)])
    np.testing.assert_allclose(rows, batch, rtol=1e-6)  # float32 image descriptors


@parametrize_with_checks([WideLinearRegressor(), WideLinearClassifier()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("sparse", [False, True])
def test_ridge_gcv_matches_ridge_and_brute_force_leave_one_out(sparse):
    import scipy.sparse as sp
    from sklearn.linear_model import Ridge

    from blend.members.linear import ridge_gcv

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)) + 3.0  # off-centre columns: the intercept matters
    y = X @ rng.normal(size=8) + rng.normal(size=60)
    alphas = np.array([0.01, 1.0, 30.0, 1000.0])

    def loo(alpha):
        errors = []
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            model = Ridge(alpha=alpha).fit(X[keep], y[keep])
            errors.append(model.predict(X[i : i + 1])[0] - y[i])
        return np.mean(np.square(errors))

    matrix = sp.csr_matrix(X) if sparse else X
    alpha, coef, intercept = ridge_gcv(matrix, y, alphas)
    assert alpha == alphas[np.argmin([loo(a) for a in alphas])]
    reference = Ridge(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(coef, reference.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(intercept, reference.intercept_, rtol=1e-8)


def test_very_wide_matrices_use_a_holdout(monkeypatch):
    import blend.members.linear as linear

    monkeypatch.setattr(linear, "MAX_GRAM_FEATURES", 3)
    X, y = _interaction_frame(600)
    model = WideLinearRegressor(random_state=0).fit(X, y)
    assert model.alpha_ in linear.DEFAULT_ALPHAS
    assert rmse(model.predict(X), y) < 0.15


def _rare_words_frame(n=1000, seed=0):
    """A price set by one common word, in texts padded with many rare words (noise)."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"word{i}" for i in range(1500)]
    has_gold = rng.random(n) < 0.3
    texts = [" ".join(["gold"] * bool(g) + list(rng.choice(vocabulary, size=8))) for g in has_gold]
    y = 1.0 * has_gold + rng.normal(scale=0.3, size=n)
    X = pd.DataFrame({"description": texts, "size": rng.normal(size=n)})
    return X, y


def test_tfidf_terms_keep_their_scale(monkeypatch):
    import blend.members.linear as linear

    X, y = _rare_words_frame()
    model = WideLinearRegressor(random_state=0).fit(X[:800], y[:800])
    terms = linear._tfidf_terms(model.dense_)
    names = model.dense_.get_feature_names_out()
    assert terms.sum() > 100 and all(n.startswith("description__") for n in names[terms])
    assert not terms[list(names).index("description__n_words")]  # lengths are standardized
    np.testing.assert_array_equal(model.scaler_.scale_[terms], 1.0)
    kept = rmse(model.predict(X[800:]), y[800:])
    # standardizing every term (as before) blows rare words up to the common word's size
    monkeypatch.setattr(linear, "_tfidf_terms", lambda f: np.zeros(len(f._names_out), bool))
    standardized = WideLinearRegressor(random_state=0).fit(X[:800], y[:800])
    assert kept < 0.95 * rmse(standardized.predict(X[800:]), y[800:])


def test_logistic_terms_read_about_one_when_present():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    import blend.members.linear as linear

    X, y = _rare_words_frame()
    labels = np.where(y > 0.5, "gold", "plain")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # lbfgs converges
        clf = WideLinearClassifier(random_state=0).fit(X[:800], labels[:800])
    terms = linear._tfidf_terms(clf.dense_)
    raw = clf.dense_.transform(X[:800])[:, np.flatnonzero(terms)]
    typical = np.abs(raw.data).mean()
    np.testing.assert_allclose(clf.scaler_.scale_[terms], typical, rtol=1e-6)
    scaled = clf.scaler_.transform(clf.dense_.transform(X[:800]))[:, np.flatnonzero(terms)]
    assert 0.9 < np.abs(scaled.data).mean() < 1.1
    assert np.mean(clf.predict(X[800:]) == labels[800:]) > 0.85
