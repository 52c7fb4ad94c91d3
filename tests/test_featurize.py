import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from PIL import Image
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from blend import MixedFeaturizer, make_tree_pipeline
from blend.features.image_descriptors import image_descriptor_names, image_descriptors
from blend.members.xgboost import EarlyStoppedXGBClassifier, EarlyStoppedXGBRegressor


def dense(matrix):
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def small_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
            "text": [f"warm wool coat number {i % 7} with a small hole" for i in range(n)],
        }
    )


# ----------------------------------------------------------------------------- roles


def test_numeric_keeps_nan_or_imputes_with_indicator():
    X = pd.DataFrame({"x": [1.0, np.nan, 3.0, 0.0], "s": ["1", "2", " 3", None]})
    roles = {"x": "numeric", "s": "numeric"}
    kept = MixedFeaturizer(roles=roles).fit_transform(X)
    assert np.isnan(kept[1, 0]) and kept[3, 0] == 0.0
    assert list(kept[:3, 1]) == [1.0, 2.0, 3.0] and np.isnan(kept[3, 1])
    imputer = MixedFeaturizer(roles=roles, missing="impute").fit(X)
    out = imputer.transform(X)
    assert not np.isnan(out).any()
    names = list(imputer.get_feature_names_out())
    assert names == ["x", "x__missing", "s", "s__missing"]
    assert out[1, 0] == 1.0 and out[1, 1] == 1.0  # median of 1, 3, 0 is 1


def test_ordinal_keeps_category_order_and_maps_unseen_to_nan():
    X = pd.DataFrame(
        {"q": pd.Categorical(["lo", "hi", "mid", "lo"], ["lo", "mid", "hi"], ordered=True)}
    )
    features = MixedFeaturizer().fit(X)
    assert list(features.transform(X)[:, 0]) == [0.0, 2.0, 1.0, 0.0]
    new = pd.DataFrame({"q": ["hi", "unknown", None]})
    out = features.transform(new)[:, 0]
    assert out[0] == 2.0 and np.isnan(out[1]) and np.isnan(out[2])
    assert features.feature_types_ == ["c"]
    imputed = MixedFeaturizer(missing="impute").fit(X).transform(new)[:, 0]
    assert list(imputed) == [2.0, -1.0, -1.0]


def test_unordered_levels_are_numbered_by_frequency():
    X = pd.DataFrame({"c": ["b", "a", "b", "c", "b", "a"]})
    out = MixedFeaturizer(roles={"c": "categorical"}).fit_transform(X)[:, 0]
    assert list(out) == [0.0, 1.0, 0.0, 2.0, 0.0, 1.0]


def test_onehot_with_unseen_level_and_max_categories():
    X = pd.DataFrame({"c": ["a", "b", "a", "c", "a", "b"]})
    features = MixedFeaturizer(
        roles={"c": "categorical"}, categorical="onehot", max_categories=2
    ).fit(X)
    assert list(features.get_feature_names_out()) == ["c=a", "c=b"]
    out = features.transform(pd.DataFrame({"c": ["b", "zzz", "c"]}))
    np.testing.assert_array_equal(out, [[0, 1], [0, 0], [0, 0]])


@pytest.mark.parametrize("categorical", ["ordinal", "onehot"])
def test_few_rows_encode_like_a_large_batch(categorical):
    # small inputs take a dict lookup, large ones pandas' indexer: the codes must agree
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"c": rng.choice(["a", "b", "c", "d"], size=200)})
    new = pd.DataFrame({"c": list(rng.choice(["a", "b", "zzz", None], size=100))})
    features = MixedFeaturizer(
        roles={"c": "categorical"}, categorical=categorical, max_categories=3
    ).fit(train)
    batch = dense(features.transform(new))
    rows = np.vstack([dense(features.transform(new.iloc[[i]])) for i in range(len(new))])
    np.testing.assert_array_equal(rows, batch)
    assert np.isnan(batch).any() if categorical == "ordinal" else (batch.sum(axis=1) == 0).any()


def test_mixed_types_in_categorical_column_share_a_level():
    X = pd.DataFrame({"c": pd.Series([1, "1", 2, "2", "x", None], dtype=object)})
    out = MixedFeaturizer(roles={"c": "categorical"}).fit_transform(X)[:, 0]
    assert out[0] == out[1] and out[2] == out[3] and np.isnan(out[5])


def test_text_tfidf_is_sparse_named_and_tolerates_nan_and_empty():
    X = pd.DataFrame(
        {"t": ["red wool coat", "", np.nan, "blue wool scarf", None, "red silk dress"] * 5}
    )
    features = MixedFeaturizer(roles={"t": "text"}).fit(X)
    out = features.transform(X)
    assert sp.issparse(out)
    names = list(features.get_feature_names_out())
    assert names[:2] == ["t__n_chars", "t__n_words"]
    assert "t__w_wool" in names and any(n.startswith("t__c_") for n in names)
    wool = names.index("t__w_wool")
    assert out[0, wool] > 0 and out[1, wool] == 0
    # Empty and missing texts are empty documents; their length is a stored zero.
    assert out[2, 0] == 0 and out[2].nnz >= 2


def test_text_with_no_vocabulary_gives_length_features_only():
    X = pd.DataFrame({"t": [np.nan, "", None, ""]})
    features = MixedFeaturizer(roles={"t": "text"}).fit(X)
    assert list(features.get_feature_names_out()) == ["t__n_chars", "t__n_words"]
    assert features.transform(X).shape == (4, 2)


def test_text_svd_gives_dense_components():
    X = small_frame(80)
    features = MixedFeaturizer(text_svd_components=5, random_state=0).fit(X)
    out = features.transform(X)
    assert isinstance(out, np.ndarray)
    names = list(features.get_feature_names_out())
    assert names[-5:] == [f"text__svd{i}" for i in range(5)]


def test_image_descriptors_are_finite_and_named(clothing_small):
    X, _, _ = clothing_small
    features = MixedFeaturizer(roles={c: "ignore" for c in X.columns if "photo" not in c})
    out = features.fit_transform(X)
    names = list(features.get_feature_names_out())
    per_image = len(image_descriptor_names((32, 32, 3), 4))
    blemishes = sum(n.startswith("blemish_") for n in image_descriptor_names((32, 32, 3), 4))
    assert out.shape == (len(X), 2 * per_image + blemishes) and len(names) == out.shape[1]
    assert np.isfinite(out).all()
    assert names[0].startswith("photo_front__") and names[-1].startswith("photo_front|photo_back")


def test_image_descriptors_see_pattern_and_wear():
    size = 32
    yy, _ = np.mgrid[0:size, 0:size]
    plain = np.full((size, size, 3), 120, dtype=np.uint8)
    striped = plain.copy()
    striped[(yy // 3) % 2 == 0] = 40
    noisy = np.clip(plain + np.random.default_rng(0).normal(0, 20, plain.shape), 0, 255)
    batch = np.stack([plain, striped, noisy.astype(np.uint8)])
    names = image_descriptor_names(batch.shape[1:], 8)
    feats = dict(zip(names, image_descriptors(batch).T))
    # Horizontal stripes: vertical gradients, no horizontal ones.
    assert feats["grad_y_mean"][1] > 5 * feats["grad_x_mean"][1]
    assert feats["residual_energy"][2] > feats["residual_energy"][0]


def test_blemish_descriptors_single_out_a_local_spot_not_a_pattern():
    size = 32
    yy, xx = np.mgrid[0:size, 0:size]
    photo = np.full((size, size, 3), 235, dtype=np.uint8)  # light background
    shirt = (abs(yy - 16) < 12) & (abs(xx - 16) < 10)
    photo[shirt] = (60, 90, 160)
    striped = photo.copy()
    striped[shirt & ((yy // 2) % 2 == 0)] = (33, 50, 88)  # an even pattern over the object
    stained = photo.copy()
    stained[(yy - 15) ** 2 + (xx - 17) ** 2 < 9] = (90, 60, 30)  # a small dark spot
    batch = np.stack([photo, striped, stained, striped.copy()])
    batch[3][(yy - 15) ** 2 + (xx - 17) ** 2 < 9] = (90, 60, 30)
    names = image_descriptor_names(batch.shape[1:], 4)
    feats = dict(zip(names, image_descriptors(batch, 4).T))
    peak = feats["blemish_peak"]
    assert peak[0] < 0.01 and peak[1] < 0.05  # plain and evenly patterned: no blemish
    assert peak[2] > 0.1 and peak[3] > peak[1] + 0.05  # the spot stands out, pattern or not
    assert feats["blemish_dark"][2] > 0.05 and feats["blemish_bright"][2] < 0.01
    assert feats["blemish_area"][2] > 0 == feats["blemish_area"][0]


def test_hue_blemish_sees_a_stain_of_another_colour_not_a_darker_print():
    """A print in a darker shade of the dye and a soft shadow keep the hue; a stain does not."""
    size = 32
    yy, xx = np.mgrid[0:size, 0:size]
    photo = np.full((size, size, 3), 235, dtype=np.uint8)
    shirt = (abs(yy - 16) < 12) & (abs(xx - 16) < 10)
    photo[shirt] = (190, 150, 60)
    printed = photo.copy()
    blob = (yy - 15) ** 2 + (xx - 17) ** 2 < 9
    printed[shirt & blob] = (95, 75, 30)  # the same dye at half strength, a spot-sized print
    stained = photo.copy()
    stained[blob] = (60, 90, 160)  # a blue spot on the mustard shirt
    shaded = photo.copy()
    shaded[shirt & (xx > 16)] = (152, 120, 48)  # a shadow over half of the shirt
    batch = np.stack([photo, printed, stained, shaded])
    names = image_descriptor_names(batch.shape[1:], 4)
    feats = dict(zip(names, image_descriptors(batch, 4).T))
    hue, peak = feats["blemish_hue"], feats["blemish_peak"]
    # the brightness departure rates the print like the stain; the hue tells them apart
    assert peak[1] > 0.5 * peak[2] > 0.05
    assert hue[0] < 0.01 and hue[2] > 0.1 and hue[2] > 4 * max(hue[1], hue[3])
    gray = image_descriptor_names((32, 32, 1), 4)
    assert "blemish_hue" not in gray and "blemish_peak" in gray


def test_same_shaped_image_columns_add_the_largest_blemish_over_views():
    """A stain on either photo is one feature: the maximum over the views of each blemish."""
    rng = np.random.default_rng(0)
    size = 32
    yy, xx = np.mgrid[0:size, 0:size]
    plain = np.full((size, size, 3), 235, dtype=np.uint8)
    plain[(abs(yy - 16) < 12) & (abs(xx - 16) < 10)] = (60, 90, 160)
    stained = plain.copy()
    stained[(yy - 15) ** 2 + (xx - 17) ** 2 < 9] = (90, 60, 30)
    side = rng.integers(0, 3, size=12)  # 0: clean, 1: stain in front, 2: stain at the back
    X = pd.DataFrame(
        {
            "front": [stained if s == 1 else plain for s in side],
            "back": [stained if s == 2 else plain for s in side],
            "thumb": [plain[::4, ::4] for _ in side],  # another shape: not a view of these
            "price": rng.normal(size=12),
        }
    )
    features = MixedFeaturizer().fit(X)
    names = list(features.get_feature_names_out())
    assert [v.columns for v in features.image_views_] == [["front", "back"]]
    out = features.transform(X)
    hue = out[:, names.index("front|back__max_blemish_hue")]
    front = out[:, names.index("front__blemish_hue")]
    back = out[:, names.index("back__blemish_hue")]
    np.testing.assert_array_equal(hue, np.maximum(front, back))
    assert (hue[side > 0] > 0.1).all() and (hue[side == 0] < 0.01).all()
    assert not any(n.startswith("thumb|") or "|thumb" in n for n in names)
    one = MixedFeaturizer().fit(X.drop(columns="back"))
    assert one.image_views_ == [] and not any("__max_" in n for n in one.get_feature_names_out())


def test_image_paths_and_arrays_give_identical_features(clothing_paths):
    X, _, _ = clothing_paths
    arrays = X.copy()
    for column in ("photo_front", "photo_back"):
        arrays[column] = [np.asarray(Image.open(p).convert("RGB")) for p in X[column]]
    only = {c: "ignore" for c in X.columns if "photo" not in c}
    from_paths = MixedFeaturizer(roles=only).fit_transform(X)
    from_arrays = MixedFeaturizer(roles=only).fit_transform(arrays)
    np.testing.assert_array_equal(from_paths, from_arrays)


# ----------------------------------------------------------------------------- paths and names


def test_sparse_and_dense_outputs_agree(clothing_small):
    X, _, _ = clothing_small
    sparse = MixedFeaturizer(sparse_output=True).fit_transform(X)
    dense_out = MixedFeaturizer(sparse_output=False).fit_transform(X)
    assert sp.issparse(sparse) and isinstance(dense_out, np.ndarray)
    np.testing.assert_array_equal(sparse.toarray(), dense_out)
    assert dense_out.dtype == np.float32


def test_sparse_output_stores_numeric_zeros_and_nan_explicitly():
    X = pd.DataFrame({"x": [0.0, np.nan, 2.0], "t": ["a b c", "d e f", "a d e"]})
    out = MixedFeaturizer(roles={"t": "text"}).fit_transform(X)
    assert sp.issparse(out)
    column = out[:, 0]
    assert column.nnz == 3  # 0.0 and NaN are stored, so XGBoost reads 0 as a value
    assert column.data[0] == 0.0 and np.isnan(column.data[1])


def test_auto_output_is_dense_without_text():
    X = small_frame().drop(columns="text")
    assert isinstance(MixedFeaturizer().fit_transform(X), np.ndarray)


def test_feature_names_name_their_source_column(clothing_small):
    X, y, _ = clothing_small
    features = MixedFeaturizer().fit(X, y)
    names = features.get_feature_names_out()
    assert len(names) == features.transform(X.head(3)).shape[1]
    assert len(set(names)) == len(names)
    used = [c for c, r in features.roles_.items() if r != "ignore"]
    views = "photo_front|photo_back__max_"  # the largest blemish over the two photos
    assert all(any(n == c or n.startswith(f"{c}__") for c in used) or n.startswith(views)
               for n in names)  # fmt: skip
    assert sum(n.startswith(views) for n in names) == 5


def test_reordered_and_extra_columns_are_fine_missing_ones_raise():
    X = small_frame()
    features = MixedFeaturizer().fit(X)
    expected = dense(features.transform(X))
    shuffled = X[["text", "cat", "num"]].assign(extra=1)
    np.testing.assert_array_equal(dense(features.transform(shuffled)), expected)
    with pytest.raises(ValueError, match="cat"):
        features.transform(X.drop(columns="cat"))


def test_pickle_and_clone_round_trip(clothing_small):
    X = clothing_small[0].head(100)
    features = MixedFeaturizer(text_max_chars=50).fit(X)
    restored = pickle.loads(pickle.dumps(features))
    np.testing.assert_array_equal(dense(restored.transform(X)), dense(features.transform(X)))
    fresh = clone(features)
    assert fresh.get_params() == features.get_params()
    assert not hasattr(fresh, "encoders_")


def test_inside_column_transformer_and_pipeline():
    X = small_frame(80)
    y = X["num"].to_numpy() * 2
    ct = ColumnTransformer(
        [("mixed", MixedFeaturizer(sparse_output=False), ["cat", "text"])],
        remainder="passthrough",
    )
    out = ct.fit_transform(X)
    assert out.shape[0] == 80
    assert any(name.startswith("mixed__text__") for name in ct.get_feature_names_out())
    model = Pipeline([("f", MixedFeaturizer()), ("m", Ridge())]).fit(X.drop(columns="text"), y)
    assert model.predict(X.drop(columns="text")).shape == (80,)


def test_pandas_output_for_dense_matrices():
    X = small_frame().drop(columns="text")
    out = MixedFeaturizer().set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == ["num", "cat"]


# ----------------------------------------------------------------------------- bad input


def test_images_of_another_size_raise_naming_the_column():
    X = pd.DataFrame({"img": [np.zeros((8, 8, 3), dtype=np.uint8)] * 4})
    features = MixedFeaturizer().fit(X)
    with pytest.raises(ValueError, match="img"):
        features.transform(pd.DataFrame({"img": [np.zeros((16, 16, 3), dtype=np.uint8)]}))


def test_all_nan_columns_are_ignored_or_kept_when_forced():
    X = small_frame().assign(empty=np.nan)
    features = MixedFeaturizer().fit(X)
    assert features.roles_["empty"] == "ignore"
    assert "empty" not in features.get_feature_names_out()
    forced = MixedFeaturizer(roles={"empty": "numeric"}, missing="impute").fit(X)
    out = dense(forced.transform(X))
    names = list(forced.get_feature_names_out())
    assert (out[:, names.index("empty")] == 0).all()


def test_non_numeric_value_in_numeric_column_raises_naming_it():
    X = small_frame()
    features = MixedFeaturizer().fit(X)
    bad = X.astype({"num": object})
    bad.loc[3, "num"] = "oops"
    with pytest.raises(ValueError, match="'num'"):
        features.transform(bad)


@pytest.mark.parametrize(
    "params",
    [
        {"categorical": "target"},
        {"missing": "drop"},
        {"sparse_output": "yes"},
        {"text_max_words": -1},
        {"text_svd_components": 0},
        {"image_grid": 0},
        {"ratio_columns": -1},
        {"ratio_columns": 2.5},
    ],
)
def test_bad_parameters_raise(params):
    with pytest.raises(ValueError):
        MixedFeaturizer(**params).fit(small_frame())


def test_only_ignored_columns_raise():
    X = pd.DataFrame({"id": [f"SKU{i}" for i in range(30)]})
    with pytest.raises(ValueError, match="ignore"):
        MixedFeaturizer().fit(X)


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MixedFeaturizer().transform(small_frame())


def ratio_frame():
    rng = np.random.default_rng(0)
    a = rng.uniform(1, 5, size=40)
    b = rng.uniform(1, 5, size=40)
    b[3], b[5] = 0.0, np.nan
    return pd.DataFrame(
        {
            "a": a,
            "flag": rng.integers(0, 2, size=40),  # a flag: too few levels for a ratio
            "b": b,
            "c": rng.normal(size=40),
            "cat": pd.Categorical(rng.choice(["x", "y"], size=40)),
        }
    )


def test_ratios_of_numeric_columns_are_named_and_exact():
    X = ratio_frame()
    original = X.copy()
    features = MixedFeaturizer(ratio_columns=2).fit(X)
    names = list(features.get_feature_names_out())
    # the first two numeric columns with 10+ levels: "flag" is skipped, "c" is beyond the limit
    assert names == ["a", "flag", "b", "c", "cat", "a/b"]
    assert features.ratios_.columns == ["a", "b"]
    assert features.feature_types_[-1] == "q"
    out = features.transform(X)
    expected = (X["a"] / X["b"]).to_numpy()
    keep = np.isfinite(expected)
    np.testing.assert_allclose(out[keep, -1], expected[keep], rtol=1e-6)
    assert np.isnan(out[3, -1]) and np.isnan(out[5, -1])  # zero and missing denominators
    pd.testing.assert_frame_equal(X, original)
    every = MixedFeaturizer(ratio_columns=10).fit(X)
    assert list(every.get_feature_names_out())[-3:] == ["a/b", "a/c", "b/c"]


def test_imputed_ratios_use_the_training_median_and_few_columns_give_none():
    X = ratio_frame()
    features = MixedFeaturizer(ratio_columns=2, missing="impute").fit(X)
    ratios = (X["a"] / X["b"].where(X["b"] != 0)).to_numpy()
    median = np.nanmedian(ratios)
    new = X.iloc[[3, 5, 0]]
    out = features.transform(new)[:, -1]
    np.testing.assert_allclose(out, [median, median, ratios[0]], rtol=1e-6)
    assert MixedFeaturizer(ratio_columns=1).fit(X).ratios_ is None  # a ratio needs two
    assert MixedFeaturizer().fit(X).ratios_ is None  # off by default
    with_ratios = MixedFeaturizer(ratio_columns=3).fit(X)
    assert pickle.loads(pickle.dumps(with_ratios)).transform(X).shape[1] == 5 + 3


def test_ratios_let_a_booster_learn_a_ratio_target():
    """A target that is a ratio: one split per step on a/b, a staircase on a and b."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.uniform(1, 10, 600), "b": rng.uniform(1, 10, 600)})
    y = X["a"] / X["b"]
    model = EarlyStoppedXGBRegressor(random_state=0)
    scores = []
    for ratio_columns in (0, 2):
        pipe = make_tree_pipeline(model, ratio_columns=ratio_columns).fit(X[:400], y[:400])
        scores.append(np.sqrt(np.mean((pipe.predict(X[400:]) - y[400:]) ** 2)))
    assert scores[1] < 0.3 * scores[0], scores


# ----------------------------------------------------------------------------- pipelines


def test_make_tree_pipeline_configures_each_model(clothing_small):
    from xgboost import XGBClassifier, XGBRegressor

    X, y, _ = clothing_small
    X, y = X.head(120), y.head(120)
    label = (y > y.median()).map({True: "dear", False: "cheap"})
    cases = [
        (XGBRegressor(n_estimators=20, n_jobs=1), y, True),
        (XGBClassifier(n_estimators=20, n_jobs=1), (y > y.median()).astype(int), True),
        (RandomForestRegressor(n_estimators=10, random_state=0), y, False),
        (RandomForestClassifier(n_estimators=10, random_state=0), label, False),
        (ExtraTreesRegressor(n_estimators=10, random_state=0), y, False),
        (HistGradientBoostingRegressor(max_iter=20), y, False),
        (Ridge(), y, False),
    ]
    for estimator, target, sparse_expected in cases:
        pipe = make_tree_pipeline(estimator)
        # One OpenMP thread: HistGradientBoosting crawls on an oversubscribed machine.
        with threadpool_limits(limits=1, user_api="openmp"):
            pipe.fit(X, target)
        assert pipe.predict(X.head(5)).shape == (5,)
        assert pipe.named_steps["features"].sparse_output_ is sparse_expected
    ridge = make_tree_pipeline(Ridge()).fit(X, y)
    assert ridge.named_steps["features"].missing == "impute"
    assert not np.isnan(ridge[:-1].transform(X)).any()


def test_make_tree_pipeline_rejects_non_estimators():
    with pytest.raises(TypeError):
        make_tree_pipeline("xgboost")


def test_tree_pipeline_pickles_and_clones(clothing_small):
    X, y = clothing_small[0].head(100), clothing_small[1].head(100)
    pipe = make_tree_pipeline(RandomForestRegressor(n_estimators=5, random_state=0)).fit(X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    assert clone(pipe).get_params()["model__n_estimators"] == 5


# ----------------------------------------------------------------------------- early stopping


def test_early_stopped_xgb_regressor_picks_trees_and_clones():
    from xgboost import XGBRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = X[:, 0] * 2 + rng.normal(0, 0.1, 400)
    booster = XGBRegressor(n_estimators=500, learning_rate=0.3, max_depth=3, n_jobs=1)
    model = EarlyStoppedXGBRegressor(booster, random_state=0, early_stopping_rounds=20)
    model.fit(X, y)
    assert 1 <= model.best_n_estimators_ < 500
    assert model.estimator_.n_estimators == model.best_n_estimators_
    assert np.sqrt(np.mean((model.predict(X) - y) ** 2)) < 0.5
    params = clone(model).get_params()
    assert params["early_stopping_rounds"] == 20 and params["estimator__max_depth"] == 3
    again = clone(model).fit(X, y)
    np.testing.assert_allclose(again.predict(X), model.predict(X))


def test_early_stopped_xgb_classifier_with_string_labels_and_tiny_data():
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    booster = XGBClassifier(n_estimators=1000, learning_rate=0.3, max_depth=3, n_jobs=1)
    model = EarlyStoppedXGBClassifier(
        booster, random_state=0, early_stopping_rounds=10, refit=False
    )
    model.fit(X, y)
    assert set(model.predict(X)) <= {"yes", "no"}
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1, rtol=1e-5)
    assert (model.predict(X) == y).mean() > 0.9
    tiny = EarlyStoppedXGBClassifier(booster, random_state=0).fit(X[:50], y[:50])
    assert tiny.best_n_estimators_ == 300
    with pytest.raises(ValueError, match="single class"):
        EarlyStoppedXGBClassifier().fit(X, np.zeros(300))


def test_early_stopped_xgb_bad_parameters():
    X, y = np.zeros((300, 2)), np.zeros(300)
    with pytest.raises(ValueError, match="validation_fraction"):
        EarlyStoppedXGBRegressor(validation_fraction=0.9).fit(X, y)
    with pytest.raises(ValueError, match="early_stopping_rounds"):
        EarlyStoppedXGBRegressor(early_stopping_rounds=0).fit(X, y)


def test_image_descriptors_of_a_row_do_not_depend_on_its_batch():
    """Bit for bit: the blend's one-row predictions must equal its batch predictions."""
    from blend.datasets import make_clothing

    X, _, _ = make_clothing(40, random_state=3)
    images = np.stack(X["photo_front"].to_numpy())
    batch = image_descriptors(images)
    alone = np.concatenate([image_descriptors(images[i : i + 1]) for i in range(len(images))])
    assert np.array_equal(alone, batch)
