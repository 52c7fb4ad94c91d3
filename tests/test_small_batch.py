"""The blender's small-batch path for forests gives the forests' own predictions, bit for bit."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from blend import _small_batch as small_batch


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + X[:, 1] ** 2 + rng.normal(scale=0.1, size=300)
    return X, y


def test_regressor_and_pipeline_match_predict(data):
    X, y = data
    forest = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y)
    for rows in (X[:1], X[:7], X[:256]):
        np.testing.assert_array_equal(small_batch.predict(forest, rows), forest.predict(rows))
    pipe = make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=10, random_state=0))
    pipe.fit(X, y)
    np.testing.assert_array_equal(small_batch.predict(pipe, X[:3]), pipe.predict(X[:3]))
    multi = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, np.c_[y, -y])
    np.testing.assert_array_equal(small_batch.predict(multi, X[:2]), multi.predict(X[:2]))


def test_classifier_probabilities_match(data):
    X, y = data
    labels = np.where(y > np.median(y), "high", "low")
    forest = ExtraTreesClassifier(n_estimators=15, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(
        small_batch.predict_proba(forest, X[:4]), forest.predict_proba(X[:4])
    )


def test_falls_back_to_the_estimator_where_the_fast_path_does_not_apply(data):
    X, y = data
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(
        pd.DataFrame(X, columns=list("abcd")), y
    )
    assert small_batch._forest_input(forest, X[:1], small_batch._REGRESSORS) is None  # no names
    frame = pd.DataFrame(X[:2], columns=list("abcd"))
    assert small_batch._forest_input(forest, frame, small_batch._REGRESSORS) is not None
    with pytest.raises(ValueError, match="feature"):  # the forest's own error for bad width
        small_batch.predict(forest, pd.DataFrame(X[:2, :3], columns=list("abc")))
    plain = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    big = np.repeat(X, 2, axis=0)[: small_batch.SMALL_BATCH + 1]
    assert small_batch._forest_input(plain, big, small_batch._REGRESSORS) is None
    with_nan = X[:1].copy()
    with_nan[0, 0] = np.nan
    assert small_batch._forest_input(plain, with_nan, small_batch._REGRESSORS) is None
    np.testing.assert_array_equal(small_batch.predict(plain, with_nan), plain.predict(with_nan))


def test_hist_gradient_boosting_packed_trees_match_bit_for_bit(data):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    X, y = data
    X = X.copy()
    X[::7, 2] = np.nan  # missing values learn a side at each split
    model = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, y)
    rows = X[: small_batch.HGB_SMALL_BATCH]
    first = small_batch.predict(model, rows)  # checked against the model's own output
    assert isinstance(small_batch._PACKED[model], small_batch._PackedBoosting)
    for batch in (rows, rows[:1], X[7:8]):
        np.testing.assert_array_equal(small_batch.predict(model, batch), model.predict(batch))
    np.testing.assert_array_equal(first, model.predict(rows))

    for labels in (np.where(y > 0.5, "a", "b"), np.digitize(y, [0, 1.5]).astype(str)):
        clf = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, labels)
        small_batch.predict_proba(clf, rows)
        assert isinstance(small_batch._PACKED[clf], small_batch._PackedBoosting)
        np.testing.assert_array_equal(
            small_batch.predict_proba(clf, rows[:3]), clf.predict_proba(rows[:3])
        )


def test_hist_gradient_boosting_falls_back_on_categorical_splits_or_mismatch(data):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = data
    coded = np.c_[X[:, :3], (X[:, 3] > 0).astype(float)]
    model = HistGradientBoostingRegressor(max_iter=10, categorical_features=[3], random_state=0)
    model.fit(coded, y)
    np.testing.assert_array_equal(small_batch.predict(model, coded[:2]), model.predict(coded[:2]))
    assert small_batch._PACKED[model] is False

    plain = HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(X, y)
    small_batch.predict(plain, X[:1])
    packed = small_batch._PACKED[plain]
    packed.baseline = packed.baseline + 1.0  # a packing that disagrees is never trusted
    small_batch._PACKED.pop(plain)
    original = small_batch._PackedBoosting
    try:
        small_batch._PackedBoosting = lambda model: packed
        np.testing.assert_array_equal(small_batch.predict(plain, X[:2]), plain.predict(X[:2]))
        assert small_batch._PACKED[plain] is False
    finally:
        small_batch._PackedBoosting = original
    big = X[: small_batch.HGB_SMALL_BATCH + 1]
    assert small_batch._final_input(plain, big, small_batch._HGB, "_predictors", 8, float) is None
