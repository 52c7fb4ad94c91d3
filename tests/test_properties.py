"""Property-based tests: messy DataFrames give a documented result or a clear error, never
silent NaN predictions and never a modified input.

Fitting Keras models is slow, so the deep, wide-and-deep and blend estimators are fitted once
per module on a deliberately messy frame and hypothesis varies the frames they predict on; the
featurizer and tree pipelines are cheap enough to refit per example.

The documented results checked here:

- numeric NaN, +-inf and (at predict) values far outside the training range are read as
  missing or extreme values: predictions stay finite;
- NaN and empty texts are empty documents; numbers in a text column are read through ``str``;
- unseen, missing and non-string categories map to the "unseen" level;
- a constant target gives a constant prediction equal to it;
- reordered and extra columns give the same predictions; one row predicts as in a batch;
- a missing column, or a non-numeric value in a numeric column, raises a ``ValueError``
  naming the column; images of mixed shapes raise a ``ValueError`` naming the column.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge

from blend import BlendClassifier, BlendRegressor, MixedFeaturizer, make_tree_pipeline

ROLES = {
    "num": "numeric",
    "count": "numeric",
    "cat": "categorical",
    "one": "categorical",
    "text": "text",
}
LEVELS = ["red", "green", "blue"]
WORDS = ["wool", "coat", "silk", "scarf", "worn", "once", "new", "blue", "jeans"]
TINY = {
    "model__units": 8,
    "model__meta_units": 8,
    "model__text_filters": 4,
    "model__text_embedding_dim": 4,
    "batch_size": 64,
}
FAST = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(FAST, max_examples=6)  # predict-time checks on the four shared fitted models

# ----------------------------------------------------------------------------- strategies

numbers = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e12, -1e12]),
)
categories = st.one_of(
    st.sampled_from([*LEVELS, "never-seen", "", None, np.nan]),
    st.integers(-3, 3),  # a number in a category column is read through str
)
texts = st.one_of(
    st.lists(st.sampled_from([*WORDS, "unseen-word"]), max_size=6).map(" ".join),
    st.sampled_from(["", None, np.nan, "   "]),
)


@st.composite
def frames(draw, min_rows: int = 1, max_rows: int = 8) -> pd.DataFrame:
    """Frames with every role and the messy values a user sends."""
    n = draw(st.integers(min_rows, max_rows))
    return pd.DataFrame(
        {
            "num": draw(st.lists(numbers, min_size=n, max_size=n)),
            "count": draw(st.lists(st.integers(-5, 50), min_size=n, max_size=n)),
            "cat": pd.Series(draw(st.lists(categories, min_size=n, max_size=n)), dtype=object),
            "one": ["solo"] * n,  # a one-level category
            "text": pd.Series(draw(st.lists(texts, min_size=n, max_size=n)), dtype=object),
        }
    )


def training_frame(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A messy training frame: NaN and inf numerics, missing and empty texts, a one-level
    category, a missing category, pandas ``str`` and ``category`` dtypes."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=n)
    num[::7] = np.nan
    num[3 % n] = np.inf
    text = [" ".join(rng.choice(WORDS, size=rng.integers(1, 5))) for _ in range(n)]
    text[::5] = [""] * len(text[::5])
    text[1 % n] = None
    cat = rng.choice(LEVELS, size=n).astype(object)
    cat[2 % n] = None
    X = pd.DataFrame(
        {
            "num": num,
            "count": rng.integers(0, 20, size=n),
            "cat": pd.Categorical(cat),
            "one": pd.Series(["solo"] * n, dtype="str"),
            "text": pd.Series(text, dtype=object),
        }
    )
    y = 2.0 * np.nan_to_num(num, posinf=0.0) + (cat == "red") + 0.1 * rng.normal(size=n)
    return X, y


def _snapshot(X: pd.DataFrame) -> pd.DataFrame:
    return copy.deepcopy(X)


def _same(X: pd.DataFrame, before: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(X, before)


# ----------------------------------------------------------------------------- featurizer


@FAST
@given(frames(min_rows=2, max_rows=12), st.sampled_from(["keep", "impute"]))
def test_featurizer_fits_any_messy_frame_without_inf_or_mutation(X, missing):
    before = _snapshot(X)
    features = MixedFeaturizer(roles=ROLES, missing=missing, sparse_output=False)
    try:
        out = features.fit_transform(X)
    except ValueError as error:
        # the only refusal: every text cell empty, or a column with nothing to learn from
        assert any(c in str(error) for c in X.columns) or "ignore" in str(error)
        return
    finally:
        _same(X, before)
    assert out.shape[0] == len(X)
    assert not np.isinf(out).any()
    if missing == "impute":
        assert not np.isnan(out).any()


@FAST
@given(frames(min_rows=1, max_rows=6))
def test_featurizer_transform_of_unseen_values_keeps_the_layout(X):
    train, _ = training_frame()
    features = MixedFeaturizer(roles=ROLES, sparse_output=False).fit(train)
    before = _snapshot(X)
    out = features.transform(X)
    _same(X, before)
    assert out.shape == (len(X), len(features.get_feature_names_out()))
    assert not np.isinf(out).any()
    shuffled = X[X.columns[::-1]].assign(extra=1.0)
    np.testing.assert_array_equal(features.transform(shuffled), out)


@FAST
@given(frames(min_rows=1, max_rows=4), st.sampled_from(list(ROLES)))
def test_featurizer_missing_column_is_named(X, column):
    train, _ = training_frame()
    features = MixedFeaturizer(roles=ROLES).fit(train)
    with pytest.raises(ValueError, match=column):
        features.transform(X.drop(columns=[column]))


@FAST
@given(st.integers(1, 6), st.sampled_from(["abc", "1,5", "n/a?", "--"]))
def test_featurizer_non_numeric_value_in_numeric_column_is_named(n, bad):
    train, _ = training_frame()
    features = MixedFeaturizer(roles=ROLES).fit(train)
    X = training_frame(n, seed=1)[0].astype({"num": object})
    X.loc[n - 1, "num"] = bad
    before = _snapshot(X)
    with pytest.raises(ValueError, match="'num'"):
        features.transform(X)
    _same(X, before)


@FAST
@given(st.lists(st.sampled_from([(8, 8, 3), (8, 8), (6, 8, 3), (8, 8, 1)]), min_size=2, max_size=5))
def test_images_of_mixed_shapes_raise_naming_the_column(shapes):
    # (H, W) and (H, W, 1) are the same grayscale image (documented in blend.features.images)
    assume(len({s if len(s) == 3 else (*s, 1) for s in shapes}) > 1)
    rng = np.random.default_rng(0)
    cells = [rng.integers(0, 255, size=s, dtype=np.uint8) for s in shapes]
    X = pd.DataFrame({"x": np.arange(len(cells), dtype=float), "photo": cells})
    with pytest.raises(ValueError, match="'photo'"):
        MixedFeaturizer(roles={"photo": "image"}).fit(X)
    # at transform time too: a model fitted on 8x8x3 images refuses other shapes
    good = pd.DataFrame(
        {"x": [0.0, 1.0], "photo": [rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)] * 2}
    )
    features = MixedFeaturizer(roles={"photo": "image"}).fit(good)
    odd = [c for c in cells if c.shape != (8, 8, 3)]
    assume(odd)
    with pytest.raises(ValueError, match="'photo'"):
        features.transform(pd.DataFrame({"x": np.zeros(len(odd)), "photo": odd}))


# ----------------------------------------------------------------------------- tree members


@FAST
@given(frames(min_rows=6, max_rows=20), st.sampled_from(["random", "constant"]))
def test_tree_pipeline_fits_messy_frames_and_predicts_finite(X, target):
    rng = np.random.default_rng(len(X))
    y = np.full(len(X), 3.5) if target == "constant" else rng.normal(size=len(X))
    before = _snapshot(X)
    model = make_tree_pipeline(RandomForestRegressor(5, random_state=0), roles=ROLES)
    try:
        pred = model.fit(X, y).predict(X)
    except ValueError as error:
        assert any(c in str(error) for c in X.columns) or "ignore" in str(error)
        return
    finally:
        _same(X, before)
    assert np.isfinite(pred).all()
    if target == "constant":
        np.testing.assert_allclose(pred, 3.5)


# ----------------------------------------------------------------------------- fitted models


@pytest.fixture(scope="module")
def fitted():
    """A blend (tree + deep member) and a wide-and-deep model fitted on the messy frame."""
    from blend import KerasGraphRegressor, WideDeepRegressor

    X, y = training_frame()
    before = _snapshot(X)
    members = [
        ("forest", make_tree_pipeline(RandomForestRegressor(10, random_state=0), roles=ROLES)),
        (
            "deep",
            KerasGraphRegressor(
                roles=ROLES,
                graph="mlp",
                epochs=2,
                random_state=0,
                compile__run_eagerly=True,
                **TINY,
            ),
        ),
    ]
    blend_model = BlendRegressor(members, method="mean", cv=2, random_state=0).fit(X, y)
    wide_deep = WideDeepRegressor(
        roles=ROLES, epochs=2, random_state=0, max_crosses=2, compile__run_eagerly=True, **TINY
    ).fit(X, y)
    _same(X, before)
    assert set(blend_model.leaderboard_["status"]) == {"kept"}
    return {
        "blend": blend_model,
        "deep": dict(blend_model.members_)["deep"],
        "tree": dict(blend_model.members_)["forest"],
        "wide_deep": wide_deep,
    }


MODELS = ["blend", "deep", "tree", "wide_deep"]


@pytest.mark.parametrize("name", MODELS)
@FEW
@given(X=frames())
def test_predict_on_messy_frames_is_finite_stable_and_leaves_input_alone(fitted, name, X):
    model = fitted[name]
    before = _snapshot(X)
    pred = model.predict(X)
    _same(X, before)
    assert pred.shape == (len(X),)
    assert np.isfinite(pred).all(), f"{name} predicted {pred} for\n{X}"
    # reordered and extra columns change nothing; each row predicts as it does in the batch
    shuffled = X[X.columns[::-1]].assign(extra="x", extra_num=np.nan)
    np.testing.assert_allclose(model.predict(shuffled), pred, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(X.iloc[[-1]]), pred[-1:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
@FEW
@given(X=frames(max_rows=3), column=st.sampled_from(list(ROLES)))
def test_predict_without_a_column_names_it(fitted, name, X, column):
    with pytest.raises(ValueError, match=column):
        fitted[name].predict(X.drop(columns=[column]))


@pytest.mark.parametrize("name", MODELS)
@FEW
@given(X=frames(max_rows=4), bad=st.sampled_from(["abc", "12 kg", "?"]))
def test_predict_with_text_in_a_numeric_column_names_it(fitted, name, X, bad):
    X = X.astype({"count": object})
    X.loc[len(X) - 1, "count"] = bad
    before = _snapshot(X)
    with pytest.raises(ValueError, match="'count'"):
        fitted[name].predict(X)
    _same(X, before)


@pytest.mark.parametrize("name", MODELS)
def test_predict_reads_wrong_but_convertible_dtypes(fitted, name):
    """Numbers as strings, floats as categories and numbers as text are read, not refused."""
    X, _ = training_frame(6, seed=2)
    reference = fitted[name].predict(X)
    converted = X.assign(
        num=X["num"].map(lambda v: f" {v} " if np.isfinite(v) else None).astype(object),
        count=X["count"].astype("float32"),
        cat=X["cat"].astype(object),
        one=X["one"].astype("category"),
    )
    pred = fitted[name].predict(converted)
    assert np.isfinite(pred).all()
    np.testing.assert_allclose(pred, reference, rtol=1e-4, atol=1e-5)
    numbers_as_text = X.assign(text=np.arange(len(X)), cat=np.arange(len(X)) * 1.5)
    assert np.isfinite(fitted[name].predict(numbers_as_text)).all()


# ----------------------------------------------------------------------------- targets


def _constant_member(name: str):
    from blend import KerasGraphRegressor, WideDeepRegressor

    if name == "ridge":
        return make_tree_pipeline(Ridge(), roles=ROLES)
    if name == "deep":
        return KerasGraphRegressor(roles=ROLES, graph="mlp", epochs=1, random_state=0, **TINY)
    return WideDeepRegressor(roles=ROLES, epochs=1, random_state=0, max_crosses=1, **TINY)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["ridge", "deep", "wide_deep"],
)
def test_constant_target_gives_constant_predictions(name):
    X, _ = training_frame(30, seed=4)
    y = np.full(len(X), 7.25)
    Xt, _ = training_frame(8, seed=5)
    before = _snapshot(Xt)
    pred = _constant_member(name).fit(X, y).predict(Xt)
    _same(Xt, before)
    np.testing.assert_allclose(pred, 7.25, atol=1e-6)


def test_constant_target_blend_predicts_the_constant():
    X, _ = training_frame(30, seed=4)
    y = np.full(len(X), 7.25)
    forest = make_tree_pipeline(RandomForestRegressor(5, random_state=0), roles=ROLES)
    members = [("ridge", _constant_member("ridge")), ("forest", forest)]
    model = BlendRegressor(members, cv=2, random_state=0).fit(X, y)
    assert set(model.leaderboard_["status"]) == {"kept"}
    np.testing.assert_allclose(model.predict(training_frame(8, seed=5)[0]), 7.25, atol=1e-9)


def test_class_missing_from_a_fold_keeps_every_class_column():
    """The last fold trains on two of three classes: probabilities are aligned to classes_."""
    from blend import KerasGraphClassifier

    X, _ = training_frame(45, seed=6)
    y = np.array(["a", "b", "c"] * 15, dtype=object)
    c_rows = np.flatnonzero(y == "c")
    other = np.flatnonzero(y != "c")
    folds = [
        (np.r_[other[10:], c_rows[8:]], np.r_[other[:10], c_rows[:8]]),
        (other, c_rows),  # training rows hold no "c": the expensive (deep) member sees this one
    ]
    members = [
        ("forest", make_tree_pipeline(RandomForestClassifier(10, random_state=0), roles=ROLES)),
        (
            "deep",
            KerasGraphClassifier(
                roles=ROLES,
                graph="mlp",
                epochs=1,
                random_state=0,
                compile__run_eagerly=True,
                **TINY,
            ),
        ),
    ]
    model = BlendClassifier(members, cv=folds, method="mean", random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    deep_oof = model.oof_predictions_[c_rows, 1, :]
    np.testing.assert_allclose(deep_oof[:, 2], 0.0)  # it never saw "c": zero probability
    assert set(model.predict(X)) <= {"a", "b", "c"}


@pytest.mark.parametrize(
    "name",
    [
        "tree",
        "deep",
        "wide_deep",
        "blend",
    ],
)
def test_extreme_magnitudes_never_give_nan_predictions(fitted, name):
    """Beyond float32's range a value is read as missing; below it, it is a (large) value."""
    X, _ = training_frame(7, seed=8)
    X = X.assign(num=[1e300, -1e300, 1e39, 3e38, -3e38, 1e30, np.finfo(float).max])
    before = _snapshot(X)
    with np.errstate(all="raise"):  # no overflow on the way either
        pred = fitted[name].predict(X)
    _same(X, before)
    assert np.isfinite(pred).all(), pred
    missing = X.assign(num=np.nan)
    np.testing.assert_allclose(pred[[0, 1, 2, 6]], fitted[name].predict(missing)[[0, 1, 2, 6]])
