"""The blender's small-batch path for forests gives the forests' own predictions, bit for bit."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from blend.ensemble import fast_predict as small_batch


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
    rows = X[: small_batch.BOOSTED_SMALL_BATCH]
    first = small_batch.predict(model, rows)  # checked against the model's own output
    assert isinstance(small_batch._PACKED[model], small_batch.packed_trees.PackedEnsemble)
    for batch in (rows, rows[:1], X[7:8]):
        np.testing.assert_array_equal(small_batch.predict(model, batch), model.predict(batch))
    np.testing.assert_array_equal(first, model.predict(rows))

    for labels in (np.where(y > 0.5, "a", "b"), np.digitize(y, [0, 1.5]).astype(str)):
        clf = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, labels)
        small_batch.predict_proba(clf, rows)
        assert isinstance(small_batch._PACKED[clf], small_batch.packed_trees.PackedEnsemble)
        np.testing.assert_array_equal(
            small_batch.predict_proba(clf, rows[:3]), clf.predict_proba(rows[:3])
        )


def test_boosters_fall_back_on_categorical_splits_mismatch_or_large_batches(data, monkeypatch):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = data
    coded = np.c_[X[:, :3], (X[:, 3] > 0).astype(float)]
    model = HistGradientBoostingRegressor(max_iter=10, categorical_features=[3], random_state=0)
    model.fit(coded, y)
    np.testing.assert_array_equal(small_batch.predict(model, coded[:2]), model.predict(coded[:2]))
    assert small_batch._PACKED[model] is False

    plain = HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(X, y)
    packed = small_batch.packed_trees.pack_hist_gradient_boosting(plain)
    packed.baseline = packed.baseline + 1.0  # a packing that disagrees is never trusted
    monkeypatch.setattr(small_batch.packed_trees, "pack_hist_gradient_boosting", lambda m: packed)
    np.testing.assert_array_equal(small_batch.predict(plain, X[:2]), plain.predict(X[:2]))
    assert small_batch._PACKED[plain] is False
    np.testing.assert_array_equal(small_batch.predict(plain, X[:2]), plain.predict(X[:2]))

    other = HistGradientBoostingRegressor(max_iter=10, random_state=1).fit(X, y)
    small_batch.predict(other, X[: small_batch.BOOSTED_SMALL_BATCH + 1])
    assert other not in small_batch._PACKED  # large batches never touch the packing


def test_xgboost_packed_trees_match_dense_sparse_early_stopped_and_pipelines(data):
    xgboost = pytest.importorskip("xgboost")
    from scipy import sparse

    from blend.members.xgboost import EarlyStoppedXGBRegressor

    X, y = data
    X = X.copy()
    X[::5, 1] = np.nan
    rows = X[:5]
    booster = xgboost.XGBRegressor(n_estimators=30, max_depth=4, random_state=0).fit(X, y)
    small_batch.predict(booster, rows)
    assert isinstance(small_batch._PACKED[booster], small_batch.packed_trees.PackedEnsemble)
    for batch in (rows, rows[:1], X[5:6]):
        np.testing.assert_array_equal(small_batch.predict(booster, batch), booster.predict(batch))

    # sparse input: absent entries are missing values to XGBoost, explicit zeros are zeros
    S = sparse.random(300, 6, density=0.4, format="csr", random_state=0)
    S.data[::4] = 0.0
    on_sparse = xgboost.XGBRegressor(n_estimators=20, random_state=0).fit(S, y)
    small_batch.predict(on_sparse, S[:4])
    assert isinstance(small_batch._PACKED[on_sparse], small_batch.packed_trees.PackedEnsemble)
    np.testing.assert_array_equal(small_batch.predict(on_sparse, S[4:7]), on_sparse.predict(S[4:7]))

    stopped = EarlyStoppedXGBRegressor(
        xgboost.XGBRegressor(n_estimators=400, learning_rate=0.3), random_state=0, refit=False
    ).fit(X, y)
    assert stopped.best_n_estimators_ < 400  # predict uses the best iteration only
    small_batch.predict(stopped, rows)
    packed = small_batch._PACKED[stopped.estimator_]
    assert isinstance(packed, small_batch.packed_trees.PackedEnsemble)
    np.testing.assert_array_equal(small_batch.predict(stopped, rows[1:]), stopped.predict(rows[1:]))

    pipe = make_pipeline(StandardScaler(), xgboost.XGBRegressor(n_estimators=10)).fit(X, y)
    small_batch.predict(pipe, rows)
    np.testing.assert_array_equal(small_batch.predict(pipe, rows[:2]), pipe.predict(rows[:2]))

    logistic = xgboost.XGBRegressor(n_estimators=5, objective="reg:logistic")
    logistic.fit(X, (y > 0.5).astype(float))
    np.testing.assert_array_equal(small_batch.predict(logistic, rows), logistic.predict(rows))
    assert small_batch._PACKED[logistic] is False  # a link function: XGBoost's own predict
