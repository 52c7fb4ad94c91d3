"""Wide & Deep members: wide encoding, hashed crosses, joint logits, optimizers, inspection."""

import os
import pickle
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from blend.features.crosses import check_crosses, hash_combinations, propose_crosses
from blend.features.wide import MISSING_ID, UNSEEN_ID, WideEncoder

TABULAR = ["brand", "condition", "category", "size", "seller_rating", "days_listed"]
FAST = {"deep": "mlp", "model__units": 16, "model__meta_units": 16, "epochs": 3,
        "batch_size": 64, "random_state": 0}  # fmt: skip


@pytest.fixture(scope="module")
def tabular(clothing_small):
    X, y, _ = clothing_small
    return X[TABULAR], np.asarray(y, dtype=float)


@pytest.fixture(scope="module")
def joint(tabular):
    from blend import WideDeepRegressor

    X, y = tabular
    return WideDeepRegressor(crosses=[("brand", "condition")], **FAST).fit(X, y)


def _sub_output(model, layer_name, arrays):
    import keras

    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    return keras.ops.convert_to_numpy(probe(arrays, training=False)).astype(np.float64)


# ---------------------------------------------------------------- crosses and wide encoding
def test_cross_hash_is_crc32_in_range_and_stable_across_processes():
    frame = pd.DataFrame({"a": ["x", "y", None, "x"], "b": ["u", "v", "u", "u"]})
    buckets, combos = hash_combinations(frame, ("a", "b"), 97)
    assert buckets.tolist()[0] == buckets.tolist()[3]  # same combination, same bucket
    assert ((buckets >= 0) & (buckets < 97)).all()
    assert buckets[0] == zlib.crc32(b"a=x\x1fb=u") % 97
    assert "a=x & b=u" in combos[int(buckets[0])]
    code = (
        "import pandas as pd; from blend.features.crosses import hash_combinations;"
        "f = pd.DataFrame({'a': ['x', 'y', None, 'x'], 'b': ['u', 'v', 'u', 'u']});"
        "print(hash_combinations(f, ('a', 'b'), 97)[0].tolist())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == str(buckets.tolist())


def test_unseen_levels_and_crosses_get_defined_ids():
    train = pd.DataFrame({"a": list("xxyy"), "b": list("uvuv"), "n": [1.0, 2.0, 3.0, 4.0]})
    enc = WideEncoder(crosses=[("a", "b")], cross_buckets=50, numeric_buckets=2).fit(train)
    a, b, n, cross = enc.fields_
    assert [f.kind for f in enc.fields_] == ["categorical", "categorical", "numeric", "cross"]
    new = pd.DataFrame({"a": ["z", None, "x"], "b": ["u", "u", "w"], "n": [np.nan, 0.0, 9.0]})
    before = new.copy()
    ids = enc.transform(new)
    assert ids[:, 0].tolist() == [a.offset + UNSEEN_ID, a.offset + MISSING_ID, a.offset + 2]
    assert ids[2, 1] == b.offset + UNSEEN_ID
    assert ids[0, 2] == n.offset + MISSING_ID and ids[1, 2] == n.offset + 1  # below every edge
    assert ids[2, 2] == n.offset + n.size - 1  # above every edge: the last bucket
    # the unseen combination ("x", "w") lands in its hash bucket, inside the cross's range
    assert ids[2, 3] == cross.offset + zlib.crc32(b"a=x\x1fb=w") % 50
    assert (ids >= 0).all() and (ids < enc.n_ids_).all()
    pd.testing.assert_frame_equal(new, before)  # not modified


def test_check_crosses_names_the_bad_column():
    roles = {"brand": "categorical", "price": "numeric"}
    with pytest.raises(ValueError, match="'colour'"):
        check_crosses([("brand", "colour")], roles)
    with pytest.raises(ValueError, match=r"'price'.*'numeric'"):
        check_crosses([("brand", "price")], roles)
    with pytest.raises(ValueError, match="at least two"):
        check_crosses([("brand",)], roles)


def test_propose_crosses_finds_the_planted_interaction():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({c: rng.choice(list("pqrs"), n) for c in "abc"})
    effect = {("p", "p"): 1.0, ("q", "r"): -1.0, ("s", "s"): 0.8}
    y = np.array([effect.get((a, b), 0.0) for a, b in zip(frame.a, frame.b)])
    y += 0.5 * (frame.c == "p") + rng.normal(0, 0.3, n)
    assert propose_crosses(frame, y, ["a", "b", "c"]) == [("a", "b")]
    assert propose_crosses(frame, None, ["a", "b", "c"]) == []


def _awkward_frame(n: int, seed: int, unseen: bool) -> pd.DataFrame:
    """Cells a wide encoder must read alike a row at a time and in bulk."""
    rng = np.random.default_rng(seed)

    def pick(*cells):
        out = np.empty(n, dtype=object)
        out[:] = [cells[i] for i in rng.integers(0, len(cells), n)]
        return out

    extra = ("never", 7) if unseen else ()
    floats = [0.0, -0.0, 0.5, 1.0, 2.5, 3.0, -7.25, 1e6, 3.4e38, 1e39, -1e39, np.inf, -np.inf]
    floats += [np.nan, float(np.finfo(np.float32).max), 1e-300, *rng.normal(size=20)]
    big = [2**53 + 1, 2**62 + 3, -(2**63), 2**63 - 1, 0, 1, -5]
    categories = ["b", "a", 1, 2.5, "1"] + (["new"] if unseen else [])
    return pd.DataFrame(
        {
            "mixed": pick("a", "b", 1, "1", 1.0, "1.0", True, "True", None, np.nan, pd.NA,
                          "nan", "", " a", "\x00NA", float("nan"), *extra),
            "cat": pd.Categorical(pick(*categories, None), categories=categories),
            "text": pd.Series(pick("x", "y", "z", None, *(("w",) if unseen else ())),
                              dtype="str"),
            "ints": rng.integers(0, 4 + 2 * unseen, n),
            "floats_cat": pick(0.5, 1.0, 2.0, np.nan, -0.0, 0.0),
            "flags": rng.random(n) < 0.5,
            "num": pick(*floats).astype(np.float64),
            "num32": np.float32(pick(*np.clip(floats, -3e38, 3e38))),  # NaN kept
            "num_int": pick(*big).astype(np.int64),
            "num_uint": pick(0, 3, 2**64 - 1, 2**63 + 1, 2**53 + 1).astype(np.uint64),
            "num_bool": rng.random(n) < 0.3,
            "num_nullable": pd.array(pick(1, 2, 3, None, 10**6), dtype="Int64"),
            "num_text": pick(" 3.5", "1e3", "2", None, "inf", "-1e40", "-0", "7 ", np.nan),
            "num_objects": pick(1, 2.5, None, np.nan, 10**40, -3, True),
        }
    )  # fmt: skip


_AWKWARD_ROLES = {
    **dict.fromkeys(["mixed", "cat", "text", "ints", "floats_cat", "flags"], "categorical"),
    **dict.fromkeys(["num", "num32", "num_int", "num_uint", "num_bool", "num_nullable",
                     "num_text", "num_objects"], "numeric"),
}  # fmt: skip


def _assert_few_rows_ids_are_the_batch_ids(enc, X):
    from scipy import sparse

    from blend.features.validation import FEW_ROWS

    assert len(X) > FEW_ROWS  # the batch path
    batch = enc.transform(X)
    assert batch.dtype == np.int32
    assert enc._few_ids(X.iloc[[0]]) is not None  # a row at a time: the few-rows path
    for i in range(len(X)):
        one = enc.transform(X.iloc[[i]])
        assert one.dtype == np.int32 and one.flags.c_contiguous
        np.testing.assert_array_equal(one, batch[i : i + 1], err_msg=f"row {i}")
    for rows in (X.iloc[3:8], X.iloc[[5, 0, 5, 40, 2]], X.iloc[len(X) - FEW_ROWS :]):
        np.testing.assert_array_equal(enc.transform(rows), batch[rows.index.to_numpy()])
    # one_hot: the matrix the batch construction gives for the same ids
    rows = X.iloc[:5]
    ids = enc.transform(rows)
    expected = sparse.csr_matrix(
        (np.ones(ids.size), ids.ravel(), np.arange(0, ids.size + 1, ids.shape[1])),
        shape=(5, enc.n_ids_),
    )
    expected.sum_duplicates()
    got = enc.one_hot(rows)
    for part in ("data", "indices", "indptr"):
        a, b = getattr(got, part), getattr(expected, part)
        assert a.dtype == b.dtype and np.array_equal(a, b), part
    np.testing.assert_array_equal(enc.one_hot(X)[:5].toarray(), got.toarray())


def test_few_rows_ids_equal_the_batch_ids_for_awkward_cells():
    """Missing values of every kind, unseen levels, 1 vs "1", categorical dtypes, numbers
    stored as strings, inf and values beyond float32, booleans, 2- and 3-column crosses: a
    row at a time (the few-rows path) as in a frame of more than FEW_ROWS rows."""
    train = _awkward_frame(200, 0, unseen=False)
    test = _awkward_frame(150, 1, unseen=True)
    crosses = [("mixed", "cat"), ("text", "ints", "flags"), ("cat", "floats_cat")]
    enc = WideEncoder(_AWKWARD_ROLES, crosses=crosses, cross_buckets=37).fit(train)
    ids = enc.transform(test)
    assert (ids == enc.fields_[0].offset + UNSEEN_ID).any()  # unseen levels are exercised
    assert (ids == enc.fields_[0].offset + MISSING_ID).any()
    for X in (train, test):
        _assert_few_rows_ids_are_the_batch_ids(enc, X)
    # an unrelated repeated column name changes nothing; another column order neither
    doubled = test.copy()
    doubled.insert(0, "other", 0)
    doubled.insert(3, "other", "x", allow_duplicates=True)
    _assert_few_rows_ids_are_the_batch_ids(enc, doubled)
    _assert_few_rows_ids_are_the_batch_ids(enc, test[test.columns[::-1]])


def test_few_rows_ids_equal_the_batch_ids_on_clothing(clothing_small):
    X, y, _ = clothing_small
    X = X.drop(columns=["photo_front", "photo_back"])
    y = np.asarray(y, dtype=float)
    for crosses in ("auto", [("brand", "condition", "size"), ("category", "style")]):
        enc = WideEncoder(crosses=crosses, numeric_buckets=20).fit(X, y)
        assert any(f.kind == "cross" for f in enc.fields_)
        _assert_few_rows_ids_are_the_batch_ids(enc, X)
    enc = WideEncoder(crosses=None, gbdt_leaves=True, gbdt_params={"n_estimators": 5},
                      random_state=0).fit(X, y)  # fmt: skip
    assert any(f.kind == "gbdt" for f in enc.fields_)
    _assert_few_rows_ids_are_the_batch_ids(enc, X.iloc[:80])


def test_few_rows_keep_the_batch_errors():
    train = _awkward_frame(100, 0, unseen=False)
    enc = WideEncoder(_AWKWARD_ROLES, crosses=None).fit(train)
    bad = train.copy()
    bad["num_text"] = bad["num_text"].astype(object)
    bad.loc[7, "num_text"] = "12 kg"
    with pytest.raises(ValueError, match=r"'num_text'.*'12 kg'") as batch:
        enc.transform(bad)
    with pytest.raises(ValueError, match=r"'num_text'.*'12 kg'") as few:
        enc.transform(bad.iloc[[7]])
    assert str(few.value) == str(batch.value)
    np.testing.assert_array_equal(enc.transform(bad.iloc[[6]]), enc.transform(train)[6:7])


# ---------------------------------------------------------------- the joint graph
def test_joint_output_is_the_sum_of_wide_and_deep_logits(joint, tabular):
    X, _ = tabular
    arrays = joint.encoder_.transform(X.iloc[:20])
    wide = _sub_output(joint.model_, "wide_linear", arrays)
    deep = _sub_output(joint.model_, "output_logit", arrays)
    assert np.abs(wide).max() > 0 and np.abs(deep).max() > 0  # both parts trained
    expected = (wide + deep).ravel() * joint.target_scale_[0] + joint.target_mean_[0]
    np.testing.assert_allclose(joint.predict(X.iloc[:20]), expected, rtol=1e-4, atol=1e-4)


def test_ablations_keep_only_their_part(tabular):
    from blend import WideDeepRegressor

    X, y = tabular
    wide_only = WideDeepRegressor(crosses=None, **{**FAST, "deep": None}).fit(X, y)
    names = {layer.name for layer in wide_only.model_.layers}
    assert names == {"wide", "wide_linear", "output"}
    arrays = wide_only.encoder_.transform(X.iloc[:10])
    wide = _sub_output(wide_only.model_, "wide_linear", arrays).ravel()
    expected = wide * wide_only.target_scale_[0] + wide_only.target_mean_[0]
    np.testing.assert_allclose(wide_only.predict(X.iloc[:10]), expected, rtol=1e-4, atol=1e-4)

    deep_only = WideDeepRegressor(wide=False, **FAST).fit(X, y)
    assert "wide_linear" not in {layer.name for layer in deep_only.model_.layers}
    assert "wide" not in deep_only.encoder_.transform(X.iloc[:2])
    with pytest.raises(ValueError, match="no wide part"):
        deep_only.wide_importance()
    with pytest.raises(ValueError, match="nothing to train"):
        WideDeepRegressor(deep=None, wide=False).fit(X, y)


def test_bad_cross_raises_value_error_naming_the_column(tabular):
    from blend import WideDeepRegressor

    X, y = tabular
    with pytest.raises(ValueError, match="'colour'"):
        WideDeepRegressor(crosses=[("brand", "colour")], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="'seller_rating'"):
        WideDeepRegressor(crosses=[("brand", "seller_rating")], **FAST).fit(X, y)


def test_wide_weights_and_importance_by_name(joint):
    weights = joint.wide_weights()
    cross = weights[weights["feature"] == "brand x condition"]
    assert len(cross) > 10 and cross["level"].str.contains("brand=").all()
    assert set(weights["kind"]) == {"categorical", "numeric", "cross"}
    assert weights["count"].sum() == 300 * len(joint.encoder_.wide.fields_)
    importance = joint.wide_importance()
    assert set(importance["feature"]) == set(TABULAR) | {"brand x condition"}
    assert importance["importance"].is_monotonic_decreasing
    assert np.isclose(importance["share"].sum(), 1.0)


def test_wide_l2_auto_is_a_ridge_of_a_fixed_number_of_rows(joint, tabular):
    from blend import WideDeepRegressor
    from blend.members.wide_deep.estimators import WIDE_PSEUDO_ROWS

    X, y = tabular
    assert joint.get_params()["wide_l2"] == "auto"
    # a joint model from its convex start: the start is the ridge of k rows' worth over the
    # fit rows, and training adds no penalty on the wide weights alone
    assert joint.model_.get_layer("wide_linear").l2 == 0.0
    assert np.isclose(joint._init_l2(), WIDE_PSEUDO_ROWS / len(X))
    # wide parts trained without that start keep the penalty
    for params in ({"deep": None}, {"wide_init": "zeros"}):
        model = WideDeepRegressor(crosses=None, **{**FAST, "epochs": 1, **params}).fit(X, y)
        assert np.isclose(model.model_.get_layer("wide_linear").l2, WIDE_PSEUDO_ROWS / len(X))
    explicit = WideDeepRegressor(crosses=None, wide_l2=0.0, **{**FAST, "epochs": 1}).fit(X, y)
    assert explicit.model_.get_layer("wide_linear").l2 == 0.0
    ftrl = WideDeepRegressor(crosses=None, wide_optimizer="ftrl", **{**FAST, "epochs": 1})
    assert ftrl.fit(X, y)._wide_l2_value() == 0.0  # FTRL keeps its own (none by default)
    for bad in ("ridge", -1.0):
        with pytest.raises(ValueError, match="'wide_l2' parameter"):
            WideDeepRegressor(wide_l2=bad, **FAST).fit(X, y)


def _onehot(model, X):
    from sklearn.preprocessing import OneHotEncoder

    ids = model.encoder_.wide.transform(X)
    return OneHotEncoder(handle_unknown="ignore").fit_transform(ids)


FROZEN = {**FAST, "epochs": 1, "learning_rate": 1e-9, "validation_fraction": 0.0}  # init only


def test_convex_init_starts_at_the_ridge_solution_with_the_training_penalty(tabular):
    from sklearn.linear_model import Ridge

    from blend import WideDeepRegressor
    from blend.members.wide_deep.estimators import WIDE_PSEUDO_ROWS

    X, y = tabular
    crosses = [("brand", "condition")]
    # Keras: mean((s*z + m - y)**2) + l2*sum(w**2) with l2 = k/n  <=>  ridge with alpha k/s**2
    alpha = WIDE_PSEUDO_ROWS / np.var(y.astype(np.float32))
    for deep in (None, "mlp"):  # wide alone (its bias) and joint (the head's bias, deep at 0)
        model = WideDeepRegressor(crosses=crosses, **{**FROZEN, "deep": deep}).fit(X, y)
        onehot = _onehot(model, X)
        ridge = Ridge(alpha=alpha).fit(onehot, y)
        np.testing.assert_allclose(model.predict(X), ridge.predict(onehot), atol=2e-3)
    zeros = WideDeepRegressor(crosses=crosses, wide_init="zeros", **{**FROZEN, "deep": None})
    kernel = zeros.fit(X, y).model_.get_layer("wide_linear").kernel
    assert np.abs(np.asarray(kernel)).max() < 1e-6  # the old start: all-zero wide weights
    with pytest.raises(ValueError, match="'wide_init' parameter"):
        WideDeepRegressor(wide_init="ridge", **FAST).fit(X, y)


def test_convex_init_of_a_classifier_is_l2_logistic_regression(tabular):
    from sklearn.linear_model import LogisticRegression

    from blend import WideDeepClassifier
    from blend.members.wide_deep.estimators import WIDE_PSEUDO_ROWS

    X, y = tabular
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    model = WideDeepClassifier(crosses=None, **FROZEN).fit(X, labels)
    onehot = _onehot(model, X)
    reference = LogisticRegression(C=1 / (2 * WIDE_PSEUDO_ROWS), max_iter=1000)
    expected = reference.fit(onehot, labels).predict_proba(onehot)
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=2e-3)


# ---------------------------------------------------------------- GBDT leaves and optimizers
def test_gbdt_leaves_become_wide_features(tabular):
    from blend import WideDeepRegressor

    X, y = tabular
    model = WideDeepRegressor(
        deep=None, crosses=None, gbdt_leaves=True, gbdt_params={"n_estimators": 5},
        epochs=3, random_state=0,
    ).fit(X, y)  # fmt: skip
    trees = [f for f in model.encoder_.wide.fields_ if f.kind == "gbdt"]
    assert len(trees) == 5 and all(f.size == 31 for f in trees)  # depth 4: node ids < 31
    ids = model.encoder_.wide.transform(X)
    leaf_ids = ids[:, -5:] - np.array([f.offset for f in trees])
    booster = model.encoder_.wide.gbdt_
    np.testing.assert_array_equal(leaf_ids, booster[-1].apply(booster[0].transform(X)))
    assert "gbdt" in set(model.wide_importance()["kind"])
    assert np.isfinite(model.predict(X.iloc[:5])).all()


def test_ftrl_for_the_wide_part_and_adam_for_the_deep_part(tabular):
    import keras

    from blend import WideDeepRegressor

    X, y = tabular
    model = WideDeepRegressor(crosses=[("brand", "condition")], wide_optimizer="ftrl",
                              wide_l1=0.5, **FAST).fit(X, y)  # fmt: skip
    optimizer = model.model_.optimizer
    assert isinstance(optimizer, keras.optimizers.MultiOptimizer)
    kinds = sorted(type(o).__name__ for o in optimizer.optimizers)
    assert kinds == ["Adam", "Ftrl"]
    kernel = keras.ops.convert_to_numpy(model.model_.get_layer("wide_linear").kernel)
    hit = model.encoder_.wide.id_counts_ > 0
    assert (kernel[hit] != 0).any()  # FTRL trained the wide weights...
    assert (kernel[hit] == 0).any()  # ...and its L1 set some of them exactly to 0


def test_wide_learning_rate_without_a_wide_optimizer(tabular):
    import keras

    from blend import WideDeepRegressor

    X, y = tabular
    X, y = X.iloc[:200], y[:200]
    # the default: one optimizer for both parts
    single = WideDeepRegressor(crosses=None, **FAST).fit(X, y)
    assert isinstance(single.model_.optimizer, keras.optimizers.Adam)
    # a wide rate alone: a copy of the deep optimizer's kind trains the wide weights at it
    paced = WideDeepRegressor(crosses=None, learning_rate=3e-3, wide_learning_rate=1e-5, **FAST)
    optimizer = paced.fit(X, y).model_.optimizer
    assert isinstance(optimizer, keras.optimizers.MultiOptimizer)
    pairs = sorted(
        (float(keras.ops.convert_to_numpy(o.learning_rate)), o) for o in optimizer.optimizers
    )
    (wide_rate, wide), (deep_rate, deep) = pairs
    assert isinstance(deep, keras.optimizers.Adam) and type(wide) is type(deep)
    np.testing.assert_allclose([wide_rate, deep_rate], [1e-5, 3e-3], rtol=1e-6)
    assert not wide.use_ema
    # which variables it trains: the wide kernel moved less than at the deep rate
    start = WideDeepRegressor(crosses=None, learning_rate=3e-3, **FAST)
    start.set_params(epochs=1, learning_rate=1e-12)  # the convex start, same rows
    begin = _wide_kernel(start.fit(X, y))
    moved = np.abs(_wide_kernel(paced) - begin).max()
    assert 0 < moved < np.abs(_wide_kernel(single) - begin).max() / 10


def _wide_kernel(model):
    import keras

    return keras.ops.convert_to_numpy(model.model_.get_layer("wide_linear").kernel)


# ---------------------------------------------------------------- classification, clone, pickle
def test_classifier_probabilities_binary_and_multiclass(tabular):
    from blend import WideDeepClassifier

    X, y = tabular
    labels = np.where(y > np.median(y), "high", "low")
    clf = WideDeepClassifier(crosses=[("brand", "condition")], **FAST).fit(X, labels)
    proba = clf.predict_proba(X.iloc[:7])
    assert proba.shape == (7, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X.iloc[:7])) <= {"high", "low"}
    assert "weight" in clf.wide_weights().columns

    three = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    multi = WideDeepClassifier(deep=None, crosses="auto", wide_optimizer="ftrl", epochs=3,
                               random_state=0).fit(X, three)  # fmt: skip
    proba = multi.predict_proba(X.iloc[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert {"weight_0", "weight_1", "weight_2"} <= set(multi.wide_weights().columns)


def test_clone_pickle_and_save(joint, tabular, tmp_path):
    import blend

    X, _ = tabular
    twin = clone(joint)
    assert twin.get_params() == joint.get_params() and not hasattr(twin, "model_")
    assert twin.get_params()["model__units"] == 16
    expected = joint.predict(X.iloc[:10])
    restored = pickle.loads(pickle.dumps(joint))
    np.testing.assert_allclose(restored.predict(X.iloc[:10]), expected, rtol=1e-6)
    loaded = blend.load(blend.save(joint, tmp_path / "wide_deep.blend"))
    np.testing.assert_allclose(loaded.predict(X.iloc[:10]), expected, rtol=1e-6)
    assert joint._blend_expensive is True
    assert not hasattr(joint, "_wide_target")  # the training target is not kept


def test_image_descriptors_feed_the_wide_part(clothing_small, tmp_path):
    """Photos give the wide part standardized descriptors with one weight each."""
    from scipy import sparse
    from sklearn.linear_model import Ridge

    import blend
    from blend import WideDeepRegressor
    from blend.members.wide_deep.estimators import WIDE_PSEUDO_ROWS

    X, y, _ = clothing_small
    X = X[["brand", "condition", "photo_front"]]
    y = np.asarray(y, dtype=float)
    model = WideDeepRegressor(crosses=None, wide_images=True, **{**FROZEN, "deep": None})
    model.fit(X, y)
    wide = model.encoder_.wide
    assert wide.dense_names_ and all(n.startswith("photo_front:") for n in wide.dense_names_)
    assert "photo_front:blemish_peak" in wide.dense_names_
    dense = wide.transform_dense(X)
    assert dense.shape == (len(X), len(wide.dense_names_)) and dense.dtype == np.float32
    assert np.allclose(dense.mean(axis=0), 0, atol=1e-4)  # standardized on the fit rows
    # the convex start is ridge over [one-hot ids | descriptors] with the training penalty
    design = sparse.hstack([_onehot(model, X), sparse.csr_matrix(dense)], format="csr")
    ridge = Ridge(alpha=WIDE_PSEUDO_ROWS / np.var(y.astype(np.float32))).fit(design, y)
    np.testing.assert_allclose(model.predict(X), ridge.predict(design), atol=2e-3)
    importance = model.wide_importance()
    assert (importance["kind"] == "image").sum() == len(wide.dense_names_)
    weights = model.wide_weights()
    assert set(weights.loc[weights["kind"] == "image", "level"]) == {"per std"}
    # the joint model trains both blocks
    joint = WideDeepRegressor(crosses=None, wide_images=True, **FAST).fit(X, y)
    assert "wide_dense" in joint.encoder_.transform(X.iloc[:2])
    loaded = blend.load(blend.save(joint, tmp_path / "images.blend"))
    np.testing.assert_allclose(loaded.predict(X.iloc[:5]), joint.predict(X.iloc[:5]), rtol=1e-6)
    default = WideDeepRegressor(crosses=None, **{**FROZEN, "deep": None})  # the default: on
    assert default.fit(X, y).encoder_.wide.dense_names_ == wide.dense_names_
    plain = WideDeepRegressor(crosses=None, wide_images=False, **{**FROZEN, "deep": None})
    assert not plain.fit(X, y).encoder_.wide.dense_names_
    with pytest.raises(ValueError, match="'wide_images' parameter"):
        WideDeepRegressor(wide_images="yes", **FAST).fit(X, y)


def test_image_files_feed_both_parts(clothing_paths):
    """Photos on disk: the deep part streams them, the wide part describes them."""
    from blend import WideDeepRegressor

    X, y, _ = clothing_paths
    X = X[["brand", "condition", "photo_front"]]
    model = WideDeepRegressor(crosses=None, wide_images=True, **{**FAST, "epochs": 1}).fit(X, y)
    assert model.encoder_.wide.dense_names_
    assert np.isfinite(model.predict(X.iloc[:3])).all()
