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
