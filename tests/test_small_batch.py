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


def test_forests_validate_as_their_own_predict_and_never_use_their_pool(data, monkeypatch):
    X, y = data
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(
        pd.DataFrame(X, columns=list("abcd")), y
    )
    with pytest.warns(UserWarning, match="feature names"):  # the forest's own warning
        np.testing.assert_array_equal(small_batch.predict(forest, X[:1]), forest.predict(X[:1]))
    frame = pd.DataFrame(X[:2], columns=list("abcd"))
    assert small_batch._forest_input(forest, frame, small_batch._REGRESSORS) is not None
    with pytest.raises(ValueError, match="feature"):  # the forest's own error for bad width
        small_batch.predict(forest, pd.DataFrame(X[:2, :3], columns=list("abc")))
    plain = RandomForestRegressor(n_estimators=5, random_state=0, n_jobs=-1).fit(X, y)
    big = np.repeat(X, 2, axis=0)[: small_batch.SMALL_BATCH + 1]
    assert small_batch._forest_input(plain, big, small_batch._REGRESSORS) is None
    with_nan = X[:3].copy()
    with_nan[0, 0] = np.nan  # the trees route missing values: no fallback to the pool
    expected = plain.predict(with_nan)
    with_inf = X[:1].copy()
    with_inf[0, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):  # the forest's own check
        small_batch.predict(plain, with_inf)

    from scipy import sparse

    on_sparse = ExtraTreesClassifier(n_estimators=6, random_state=0, n_jobs=-1)
    on_sparse.fit(sparse.csr_matrix(np.where(X > 0.5, X, 0.0)), y > 0)
    rows = sparse.csr_matrix(np.where(X[:4] > 0.5, X[:4], 0.0))
    expected_proba = on_sparse.predict_proba(rows)

    def no_pool(*args, **kwargs):
        raise AssertionError("a small batch reached joblib")

    monkeypatch.setattr("sklearn.ensemble._forest.Parallel", no_pool)
    np.testing.assert_array_equal(small_batch.predict(plain, with_nan), expected)
    np.testing.assert_array_equal(small_batch.predict_proba(on_sparse, rows), expected_proba)


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


def test_frame_readers_read_blocks_as_column_by_column():
    from blend.features.validation import (
        category_block,
        category_values,
        numeric_block,
        numeric_values,
    )

    X = pd.DataFrame(
        {
            "a": [1, 2, None],
            "b": pd.array([1, None, 3], dtype="Int64"),
            "c": [True, False, True],
            "d": np.array([1e39, np.inf, -2.5]),
            "e": np.float32([0.1, 0.2, np.nan]),
            "f": ["1", " 2", None],
            "g": pd.Categorical(["k", None, "k"]),
            "h": np.array([1, "1", None], dtype=object),
            "s": pd.array(["p", None, "q"], dtype="string"),
        }
    )
    for columns in (list("abcde"), list("abcdef")):
        expected = np.column_stack([numeric_values(X[c], c) for c in columns])
        assert numeric_block(X, columns).tobytes() == expected.tobytes()
    with pytest.raises(ValueError, match="Column 'h' should be numeric"):
        numeric_block(X.assign(h=["x", "y", None]), ["a", "h"])
    cells = category_block(X, list(X.columns))
    for column in X.columns:
        expected = category_values(X[column])
        assert [(type(v), v) for v in cells[column]] == [(type(v), v) for v in expected]


def test_equal_wide_encoders_share_one_transform_within_a_call(monkeypatch):
    from blend.features.validation import shared_work
    from blend.features.wide import WideEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"n": rng.normal(size=200), "c": rng.choice(["a", "b", None], 200), "k": rng.random(200)}
    )
    X.loc[::9, "n"] = np.nan
    y = X["k"].to_numpy()
    one, two = (WideEncoder(crosses=None).fit(X, y) for _ in range(2))
    expected = one.transform(X)
    calls = []
    original = WideEncoder._ids
    monkeypatch.setattr(WideEncoder, "_ids", lambda self, X: calls.append(1) or original(self, X))
    with shared_work():
        first, second = one.transform(X[:1]), two.transform(X[:1])
        frame = X[:5]
        np.testing.assert_array_equal(one.transform(frame), two.transform(frame))
    assert len(calls) == 3  # X[:1] twice: two frames; `frame`: once for both encoders
    np.testing.assert_array_equal(first, expected[:1])
    np.testing.assert_array_equal(second, expected[:1])
    assert not first.flags.writeable  # shared results are read-only


def test_text_encoders_fitted_alike_share_one_tf_idf_within_a_call(monkeypatch):
    """Two featurizers with the same vocabularies transform a frame's text once per call;
    another vocabulary is not mixed up with them."""
    from blend.features.text import TextEncoder
    from blend.features.tree import MixedFeaturizer
    from blend.features.validation import shared_work

    words = ["red wool coat", "blue silk dress", "small hole", "cashmere scarf", "new"]
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"t": [" ".join(rng.choice(words, 3)) for _ in range(120)], "n": rng.random(120)}
    )
    roles = {"t": "text", "n": "numeric"}
    one, two = (MixedFeaturizer(roles=roles).fit(X) for _ in range(2))
    other = MixedFeaturizer(roles=roles).fit(X.iloc[:40])  # fewer rows: another vocabulary
    expected = [f.transform(X[:3]).toarray() for f in (one, two, other)]
    calls = []
    original = TextEncoder.transform
    monkeypatch.setattr(
        TextEncoder, "transform", lambda self, texts: calls.append(1) or original(self, texts)
    )
    frame = X[:3]
    with shared_work():
        got = [f.transform(frame).toarray() for f in (one, two, other)]
    assert len(calls) == 2  # one and two share; other has its own
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_forest_pipeline_one_row_predictions_with_missing_values_match_the_batch():
    from sklearn.ensemble import ExtraTreesRegressor

    from blend.features.tree import make_tree_pipeline

    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        {"n": rng.normal(size=300), "c": rng.choice(["a", "b", "c"], 300), "m": rng.random(300)}
    )
    X.loc[::4, "n"] = np.nan
    y = X["m"].to_numpy() + X["n"].fillna(0).to_numpy()
    model = make_tree_pipeline(ExtraTreesRegressor(n_estimators=10, n_jobs=-1, random_state=0))
    model.fit(X, y)
    batch = model.predict(X)
    rows = np.concatenate([small_batch.predict(model, X.iloc[[i]]) for i in range(12)])
    np.testing.assert_array_equal(rows, batch[:12])


def test_additive_boost_trees_take_the_packed_path(monkeypatch):
    """A linear + trees member answers a few rows from its packed trees, bit for bit."""
    from blend.datasets import make_clothing
    from blend.members.additive_boost import AdditiveBoostRegressor

    X, y, _ = make_clothing(300, random_state=0)
    X = X[["brand", "category", "condition", "seller_rating", "photo_front"]]
    member = AdditiveBoostRegressor(random_state=0).fit(X, y)
    expected = member.predict(X.iloc[:5])
    first = np.concatenate([small_batch.predict(member, X.iloc[[i]]) for i in range(5)])
    np.testing.assert_array_equal(first, expected)  # the first call checks the packing

    def no_own_predict(*args, **kwargs):
        raise AssertionError("the trees' own predict ran on a one-row call")

    monkeypatch.setattr(member.trees_, "predict", no_own_predict)
    again = np.concatenate([small_batch.predict(member, X.iloc[[i]]) for i in range(5)])
    np.testing.assert_array_equal(again, expected)


def test_few_texts_tf_idf_matches_scikit_learn_bit_for_bit():
    from blend.datasets import make_clothing
    from blend.features import text as text_module
    from blend.features.validation import shortcut_verified

    X, _, _ = make_clothing(400, random_state=0)
    texts = [str(t) for t in X["description"]]
    odd = ["", "   ", "Ünïcödé wörds cashmere", "a", "small hole small hole small hole"]
    encoder = text_module.TextEncoder(max_words=300, max_chars=100)
    encoder.fit_transform(texts[:300])
    batch = encoder.transform(texts[300:] + odd)  # more than FEW_TEXTS: scikit-learn's path
    assert len(texts[300:] + odd) > text_module.FEW_TEXTS
    for i, text in enumerate(texts[300:] + odd):
        one = encoder.transform([text])
        assert np.array_equal(one.indices, batch[i].indices)
        assert np.array_equal(one.data, batch[i].data)
    for _, vectorizer in encoder.vectorizers_:
        assert shortcut_verified(vectorizer) is True  # the few-rows path is in use
        few = text_module._few_rows_tfidf(vectorizer, texts[300:340] + odd)
        own = vectorizer.transform(texts[300:340] + odd).tocsr()
        assert np.array_equal(few.indptr, own.indptr)
        assert np.array_equal(few.indices, own.indices)
        assert np.array_equal(few.data, own.data)


def test_few_texts_tf_idf_falls_back_when_it_differs(monkeypatch):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from blend.features import text as text_module
    from blend.features.validation import shortcut_verified

    vectorizer = TfidfVectorizer(sublinear_tf=True).fit(["red wool coat", "blue wool hat"])
    expected = vectorizer.transform(["red hat"]).toarray()
    real = text_module._few_rows_tfidf

    def off_by_one(vec, texts):
        found = real(vec, texts)
        found.data = found.data * np.float32(1.0001)
        return found

    monkeypatch.setattr(text_module, "_few_rows_tfidf", off_by_one)
    for _ in range(3):  # first call: checked and rejected; later calls: scikit-learn's own
        assert np.array_equal(text_module._tfidf(vectorizer, ["red hat"]).toarray(), expected)
    assert shortcut_verified(vectorizer) is False


def test_stack_few_rows_equals_sparse_hstack():
    import scipy.sparse as sp

    from blend.features.text import dense_to_csr, stack_few_rows

    rng = np.random.default_rng(0)
    sparse = sp.random(3, 7, density=0.3, format="csr", dtype=np.float32, random_state=1)
    sparse.data[0] = 0.0  # an explicit zero is kept
    blocks = [rng.normal(size=(3, 2)), sparse, np.array([[np.nan], [0.0], [1.5]]), sparse[:, :0]]
    expected = sp.hstack(
        [b if sp.issparse(b) else dense_to_csr(b) for b in blocks], format="csr", dtype=np.float32
    )
    found = stack_few_rows(blocks)
    assert found.shape == expected.shape
    assert np.array_equal(found.indptr, expected.indptr)
    assert np.array_equal(found.indices, expected.indices)
    assert np.array_equal(found.data, expected.data, equal_nan=True)
    assert found.data.dtype == np.float32


def test_image_columns_of_one_shape_are_described_together_as_alone(monkeypatch):
    from blend.datasets import make_clothing
    from blend.features import image_descriptors as descriptors
    from blend.features.tree import MixedFeaturizer
    from blend.features.validation import shared_work

    X, _, _ = make_clothing(600, random_state=0)
    featurizer = MixedFeaturizer(sparse_output=False, random_state=0).fit(X)
    assert 2 * len(X) > descriptors._CHUNK  # the batch describes each column on its own
    batch = featurizer.transform(X)
    calls = []
    real = descriptors._chunk_descriptors

    def counted(images, grid, scale):
        calls.append(len(images))
        return real(images, grid, scale)

    monkeypatch.setattr(descriptors, "_chunk_descriptors", counted)
    picked = range(0, 600, 37)
    with shared_work():
        rows = [featurizer.transform(X.iloc[[i]]) for i in picked]
    assert calls and set(calls) == {2}  # the front and back photo in one call
    for row, i in zip(rows, picked):
        assert np.array_equal(row[0], batch[i], equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_rows_standardizing_matches_standard_scaler(dtype):
    import scipy.sparse as sp

    from blend.features.validation import same_bits
    from blend.members.linear import _standardized

    rng = np.random.default_rng(0)
    dense = rng.normal(3.0, 2.0, size=(40, 6)).astype(dtype)
    dense[3, 2] = np.nan
    scaler = StandardScaler().fit(dense)
    assert same_bits(_standardized(scaler, dense[:4]), scaler.transform(dense[:4]))
    sparse = sp.random(40, 6, density=0.4, format="csr", dtype=dtype, random_state=2)
    scaler = StandardScaler(with_mean=False).fit(sparse)
    assert same_bits(_standardized(scaler, sparse[:4]), scaler.transform(sparse[:4]))
    assert not same_bits(_standardized(scaler, sparse[:4]), sparse[:4])  # it did scale


def test_linear_member_few_rows_encoding_is_the_batch_encoding():
    from blend.datasets import make_clothing
    from blend.features.validation import same_bits, shortcut_verified
    from blend.members.linear import WideLinearRegressor

    X, y, _ = make_clothing(300, random_state=0)
    model = WideLinearRegressor(random_state=0).fit(X.iloc[:200], y.iloc[:200])
    test = X.iloc[200:]
    for start in (0, 5, 40):
        rows = test.iloc[start : start + 3]
        assert same_bits(model._encode_few(rows), model._encode_blocks(rows))
    batch = model.predict(test)  # more than FEW_ROWS rows: the sparse blocks' path
    alone = np.concatenate([model.predict(test.iloc[[i]]) for i in range(len(test))])
    assert np.array_equal(alone, batch)
    assert shortcut_verified(model) is True


def test_one_row_stack_joins_dense_runs_as_sparse_hstack():
    import scipy.sparse as sp

    from blend.features.text import dense_to_csr, stack_few_rows

    sparse = sp.csr_matrix(np.array([[0.0, 2.5, 0.0, -1.0]], dtype=np.float32))
    blocks = [
        np.array([[1.0]]),  # a run of dense blocks of two dtypes: joined before stacking
        np.array([[np.nan, 3.0]], dtype=np.float32),
        sparse,
        np.array([[7.0]]),
        sparse[:, :0],
    ]
    for dtype in (np.float32, None):
        expected = sp.hstack(
            [b if sp.issparse(b) else dense_to_csr(b).astype(b.dtype) for b in blocks],
            format="csr",
            dtype=dtype,
        )
        found = stack_few_rows(blocks, dtype=dtype)
        assert found.shape == expected.shape == (1, 8)
        assert found.data.dtype == expected.data.dtype
        assert np.array_equal(found.indptr, expected.indptr)
        assert np.array_equal(found.indices, expected.indices)
        assert np.array_equal(found.data, expected.data, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_border_median_is_numpys_median(dtype):
    from blend.features.image_descriptors import _median_last

    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 124):
        values = rng.normal(size=(3, 2, size)).astype(dtype)
        values[0, 0, 0] = np.nan  # a row with NaN is NaN, as np.median says
        found, expected = _median_last(values), np.median(values, axis=-1)
        assert found.dtype == expected.dtype
        assert np.array_equal(found, expected, equal_nan=True)


def test_image_descriptors_of_a_few_images_are_the_batch_rows():
    from blend.datasets import make_clothing
    from blend.features.image_descriptors import image_descriptors

    X, _, _ = make_clothing(40, random_state=2)
    images = np.stack(list(X["photo_front"]))
    batch = image_descriptors(images)
    for start, size in ((0, 1), (5, 2), (11, 7)):
        few = image_descriptors(images[start : start + size])
        assert np.array_equal(few, batch[start : start + size])
    floats = images[:6].astype(np.float32) / 255  # another pixel range and dtype
    assert np.array_equal(
        image_descriptors(floats[:2], scale=1.0), image_descriptors(floats, scale=1.0)[:2]
    )


def test_category_levels_are_read_per_dtype_object_not_per_equal_dtype():
    import gc

    from blend.features import validation

    forward = pd.Series(pd.Categorical(["a", "b", None], categories=["a", "b"]))
    backward = pd.Series(pd.Categorical(["a", "b", None], categories=["b", "a"]))
    assert forward.dtype == backward.dtype  # unordered: equal, but coded differently
    for series in (forward, backward, forward.iloc[[1]], backward.iloc[[0, 2]]):
        expected = np.array([None if pd.isna(v) else str(v) for v in series], dtype=object)
        assert list(validation.category_values(series)) == list(expected)
    dtype = pd.CategoricalDtype(["x", "y"])
    validation.category_values(pd.Series(["y"], dtype=dtype))
    held = len(validation._PER_OBJECT)
    del dtype
    gc.collect()
    assert len(validation._PER_OBJECT) < held  # the entry goes with its dtype


def test_featurizers_read_each_column_once_per_prediction(monkeypatch):
    from blend.datasets import make_clothing
    from blend.features import tree
    from blend.features.tree import MixedFeaturizer
    from blend.features.validation import shared_work

    X, _, _ = make_clothing(200, random_state=0)
    X = X.drop(columns=["photo_front", "photo_back"])
    ordinal = MixedFeaturizer(random_state=0).fit(X)
    onehot = MixedFeaturizer(categorical="onehot", random_state=0).fit(X)
    expected = (ordinal.transform(X.iloc[[3]]), onehot.transform(X.iloc[[3]]))
    reads = []
    for name in ("numeric_values", "category_values"):
        real = getattr(tree, name)

        def counted(series, *args, _real=real):
            reads.append(series.name)
            return _real(series, *args)

        monkeypatch.setattr(tree, name, counted)
    row = X.iloc[[3]]
    with shared_work():
        found = (ordinal.transform(row), onehot.transform(row))
    numeric_or_categorical = [c for c in X.columns if c != "description"]
    assert sorted(reads) == sorted(numeric_or_categorical)  # once each, for both featurizers
    for a, b in zip(found, expected):
        a, b = (m.toarray() if hasattr(m, "toarray") else m for m in (a, b))
        assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("catboost"), reason="catboost missing"
)
def test_catboost_few_plain_rows_skip_input_checks_but_not_their_errors():
    import scipy.sparse as sp
    from sklearn.utils.validation import validate_data

    from blend.members.gbm import CatBoostMemberRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[::7, 1] = np.nan
    model = CatBoostMemberRegressor(max_trees=30, random_state=0).fit(X, X[:, 0])
    for rows in (X[:2].astype(np.float32), sp.csr_matrix(X[:3].astype(np.float32))):
        found = model._checked(rows)
        expected = validate_data(
            model, rows, reset=False, accept_sparse="csr", ensure_all_finite="allow-nan",
            dtype=np.float64,
        )  # fmt: skip
        assert type(found) is type(expected) and found.dtype == expected.dtype == np.float64
        dense = (m.toarray() if sp.issparse(m) else m for m in (found, expected))
        assert np.array_equal(*dense, equal_nan=True)
    bad = X[:2].copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.predict(bad)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:2, :2])


def test_linear_member_few_rows_scores_match_the_sparse_product_or_fall_back(monkeypatch):
    from blend.datasets import make_clothing
    from blend.features.validation import shortcut_verified
    from blend.members.linear import WideLinearRegressor

    X, y, _ = make_clothing(300, random_state=1)
    test = X.iloc[200:].copy()
    test.iloc[0, test.columns.get_loc("seller_rating")] = np.nan
    model = WideLinearRegressor(random_state=0).fit(X.iloc[:200], y.iloc[:200])
    batch = model.predict(test)
    alone = np.concatenate([model.predict(test.iloc[[i]]) for i in range(len(test))])
    assert np.array_equal(alone, batch)
    assert shortcut_verified(model, "scores") is True

    other = WideLinearRegressor(random_state=0).fit(X.iloc[:200], y.iloc[:200])
    monkeypatch.setattr(
        WideLinearRegressor, "_few_scores", lambda self, X, coef: np.zeros(len(X)) + 1e9
    )
    assert np.array_equal(other.predict(test.iloc[[4]]), batch[[4]])
    assert np.array_equal(other.predict(test.iloc[[5]]), batch[[5]])  # its own path now
    assert shortcut_verified(other, "scores") is False
