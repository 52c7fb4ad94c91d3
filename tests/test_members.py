import importlib.util
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from blend import MixedFeaturizer, default_members
from blend.members.defaults import MIN_ROWS_DEEP

HAS_DEEP = importlib.util.find_spec("blend.members.deep.estimators") is not None


def names(library):
    return [name for name, _ in library]


def test_regression_library_is_unfitted_named_and_cloneable(clothing_small):
    X, y, _ = clothing_small
    library = default_members(X, y, random_state=0)
    # below MIN_ROWS_DEEP (no network) the forests stay, text and images or not
    assert names(library)[:3] == ["xgboost", "random_forest", "extra_trees"]
    assert len(set(names(library))) == len(library)
    for name, member in library:
        assert is_regressor(member), name
        clone(member)  # a proper estimator: get_params/set_params round trip
    xgb = dict(library)["xgboost"]
    assert isinstance(xgb, Pipeline) and isinstance(xgb[0], MixedFeaturizer)
    assert not hasattr(xgb[-1], "estimator_")
    assert xgb.get_params()["model__random_state"] == 0


def test_classification_library(clothing_small):
    X, y, _ = clothing_small
    label = np.where(y > y.median(), "dear", "cheap")
    library = default_members(X, label, task="classification", random_state=1)
    assert all(is_classifier(member) for _, member in library)


def test_tiny_data_leaves_out_the_network(clothing_small):
    X, y, _ = clothing_small
    assert len(X) < MIN_ROWS_DEEP
    assert not {"keras_graph", "wide_deep"} & set(names(default_members(X, y)))


@pytest.mark.skipif(not HAS_DEEP, reason="blend.members.deep.estimators not available")
def test_enough_rows_bring_in_the_network():
    from blend.datasets import make_clothing

    X, y, _ = make_clothing(MIN_ROWS_DEEP, random_state=0)
    library = dict(default_members(X, y, random_state=0))
    from blend import KerasGraphRegressor, WideDeepRegressor

    # the network is the wide-and-deep joint model, photos or not
    assert "keras_graph" not in library and isinstance(library["wide_deep"], WideDeepRegressor)
    assert library["wide_deep"].get_params()["random_state"] == 0
    # text and photos with the network: no forests; XGBoost gives way to CatBoost when that
    # is installed, and otherwise keeps its early-stopped model
    assert "random_forest" not in library and "extra_trees" not in library
    # photos beside other columns: the additive member joins (regression); CatBoost over every
    # column gives way to it and to CatBoost started from the linear model
    assert library["additive_boost"].get_params()["random_state"] == 0
    if importlib.util.find_spec("catboost"):
        assert "xgboost" not in library and "catboost" not in library
        assert "linear_boost" in library
    else:
        assert library["xgboost"][-1].refit is False
    classes = dict(default_members(X, y > y.median(), task="classification"))
    assert "additive_boost" not in classes  # regression only
    no_photos = dict(default_members(X.drop(columns=["photo_front", "photo_back"]), y))
    assert "additive_boost" not in no_photos
    if importlib.util.find_spec("catboost"):
        assert "catboost" in no_photos
    tabular = dict(default_members(X.drop(columns=["description", "photo_front",
                                                   "photo_back"]), y))  # fmt: skip
    assert {"random_forest", "extra_trees"} <= set(tabular) and tabular["xgboost"][-1].refit
    assert "keras_graph" not in tabular and isinstance(tabular["wide_deep"], WideDeepRegressor)
    text_only = dict(default_members(X[["description"]], y))
    # no categorical or numeric column for the wide part: the plain graph
    assert "wide_deep" not in text_only
    assert isinstance(text_only["keras_graph"], KerasGraphRegressor)


def test_roles_reach_every_tree_member(clothing_small):
    X, y, _ = clothing_small
    roles = {"description": "ignore", "photo_front": "ignore", "photo_back": "ignore"}
    for name, member in default_members(X, y, roles=roles):
        if isinstance(member, Pipeline):
            assert member[0].roles["description"] == "ignore", name


def test_xgboost_member_learns_from_all_modalities(clothing_small):
    X, y, _ = clothing_small
    from xgboost import XGBRegressor

    from blend.members.xgboost import default_xgb_params

    member = clone(dict(default_members(X, y, random_state=0))["xgboost"])
    # Same defaults with fewer, larger steps: unit tests must stay fast.
    small = {**default_xgb_params(wide=True), "n_estimators": 200, "learning_rate": 0.2}
    small["n_jobs"] = 1  # OpenMP threads crawl when the test machine is oversubscribed
    member.set_params(model__estimator=XGBRegressor(**small), model__early_stopping_rounds=20)
    X_train, y_train = X.iloc[:240], y.iloc[:240]  # >= 200 rows: early stopping is used
    member.fit(X_train, y_train)
    error = np.sqrt(np.mean((member.predict(X.iloc[240:]) - y.iloc[240:]) ** 2))
    assert error < y.std()  # better than predicting the mean
    assert member[-1].best_n_estimators_ >= 1
    restored = pickle.loads(pickle.dumps(member))
    np.testing.assert_allclose(restored.predict(X.head(5)), member.predict(X.head(5)))


def test_forest_member_fits_without_text_or_images():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=80), "b": pd.Categorical(rng.choice(["x", "y"], size=80))}
    )
    y = X["a"] * 3
    forest = dict(default_members(X, y, random_state=0))["random_forest"]
    forest.set_params(model__n_estimators=10).fit(X, y)
    assert forest.predict(X).shape == (80,)
    assert not any("__" in n for n in forest[0].get_feature_names_out())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ranking"}, "task"),
        ({"y": ["a", "b"] * 150}, "numeric target"),
        ({"y": np.zeros(300), "task": "classification"}, "two classes"),
        ({"y": np.zeros(10)}, "rows"),
    ],
)
def test_bad_arguments_raise(clothing_small, kwargs, message):
    X, _, _ = clothing_small
    with pytest.raises(ValueError, match=message):
        default_members(X, **kwargs)


def test_all_ignored_columns_raise():
    X = pd.DataFrame({"id": [f"SKU{i}" for i in range(40)]})
    with pytest.raises(ValueError, match="ignore"):
        default_members(X)


def test_large_tables_keep_one_forest():
    """From LARGE_TABLE_ROWS rows the library keeps fewer extra trees and no random forest."""
    from blend.members.defaults import FOREST_TREES, LARGE_FOREST_TREES, LARGE_TABLE_ROWS

    rng = np.random.default_rng(0)
    big = pd.DataFrame(
        {"a": rng.normal(size=LARGE_TABLE_ROWS), "b": rng.normal(size=LARGE_TABLE_ROWS)}
    )
    members = dict(default_members(big, random_state=0))
    assert "extra_trees" in members and "random_forest" not in members
    assert members["extra_trees"][-1].n_estimators == LARGE_FOREST_TREES
    small = dict(default_members(big.iloc[:1000], random_state=0))
    assert "random_forest" in small and "extra_trees" in small
    assert small["extra_trees"][-1].n_estimators == FOREST_TREES > LARGE_FOREST_TREES


def test_ratio_booster_joins_numeric_tables_only(clothing_small):
    from blend.members.defaults import MAX_RATIO_COLUMNS

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "length": rng.uniform(1, 5, 300),
            "width": rng.uniform(1, 5, 300),
            "rooms": rng.integers(1, 4, 300),  # a count: no ratios with it
            "kind": pd.Categorical(rng.choice(["a", "b"], 300)),
        }
    )
    library = dict(default_members(X, random_state=0))
    assert names(default_members(X))[:2] == ["xgboost", "xgboost_ratios"]
    ratios = library["xgboost_ratios"]
    assert ratios[0].ratio_columns == MAX_RATIO_COLUMNS
    assert library["xgboost"][0].ratio_columns == 0
    ratios.fit(X, X["length"] / X["width"])
    assert ratios[0].ratios_.columns == ["length", "width"]
    # one continuous column, or text and images widening the matrix: no ratio member
    assert "xgboost_ratios" not in names(default_members(X.drop(columns="width")))
    clothing, _, _ = clothing_small
    assert "xgboost_ratios" not in names(default_members(clothing))


def test_several_outputs_keep_the_members_that_predict_them(clothing_small):
    X, y, _ = clothing_small
    Y = np.column_stack([y, 2.0 * y - X["days_listed"] / 365])
    library = dict(default_members(X, Y, random_state=0))
    assert not {"catboost", "lightgbm", "linear_boost", "additive_boost"} & set(library)
    assert {"xgboost", "linear"} <= set(library)
    for name in ("xgboost", "linear"):
        member = clone(library[name])
        if name == "xgboost":
            member.set_params(model__estimator__n_estimators=30)
        assert member.fit(X, Y).predict(X.head(3)).shape == (3, 2), name
    # one output: the single-output members are back
    assert "additive_boost" in dict(default_members(X, y))
