"""The shared early-stopping rule and the parameter tables of the boosting and linear members."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from blend.members.additive_boost import AdditiveBoostRegressor
from blend.members.early_stopping import (
    FALLBACK_TREES,
    MIN_ROWS_FOR_SPLIT,
    EarlyStoppedBooster,
    Rows,
    refit_trees,
    validation_split,
)
from blend.members.gbm import (
    CatBoostMemberClassifier,
    CatBoostMemberRegressor,
    LightGBMMemberClassifier,
    LightGBMMemberRegressor,
)
from blend.members.linear import WideLinearClassifier, WideLinearRegressor
from blend.members.linear_boost import LinearBoostClassifier, LinearBoostRegressor
from blend.members.xgboost import EarlyStoppedXGBClassifier, EarlyStoppedXGBRegressor

ESTIMATORS = [
    EarlyStoppedXGBRegressor,
    EarlyStoppedXGBClassifier,
    LightGBMMemberRegressor,
    LightGBMMemberClassifier,
    CatBoostMemberRegressor,
    CatBoostMemberClassifier,
    WideLinearRegressor,
    WideLinearClassifier,
    LinearBoostRegressor,
    LinearBoostClassifier,
    AdditiveBoostRegressor,
]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_parameter_is_declared_and_defaults_are_valid(cls):
    model = cls()
    assert set(cls._parameter_constraints) == set(model.get_params(deep=False))
    model._validate_params()  # the defaults pass


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_seed_is_named(cls):
    with pytest.raises(InvalidParameterError, match="'random_state' parameter"):
        cls(random_state=-1)._validate_params()


@pytest.mark.parametrize(
    "cls, params",
    [
        (EarlyStoppedXGBRegressor, {"estimator": "xgboost"}),
        (EarlyStoppedXGBRegressor, {"refit": "yes"}),
        (LightGBMMemberRegressor, {"max_trees": 0}),
        (CatBoostMemberClassifier, {"validation_fraction": 0.5}),
        (CatBoostMemberRegressor, {"early_stopping_rounds": 0}),
        (WideLinearRegressor, {"crosses": "all"}),
        (WideLinearClassifier, {"numeric_buckets": 1}),
        (LinearBoostRegressor, {"params": [("depth", 3)]}),
        (AdditiveBoostRegressor, {"cv": 1}),
        (AdditiveBoostRegressor, {"learning_rate": 1.5}),
    ],
)
def test_bad_values_are_named(cls, params):
    (name,) = params
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of {cls.__name__}"):
        cls(**params)._validate_params()


def test_toml_like_values_are_accepted():
    """A TOML table gives lists where Python code would pass tuples."""
    WideLinearRegressor(crosses=[["brand", "condition"]], alphas=[0.1, 1.0])._validate_params()
    AdditiveBoostRegressor(tree_roles=["image", "text"], learning_rate=1)._validate_params()
    LightGBMMemberRegressor({"num_leaves": 15}, max_trees=50, refit=False)._validate_params()


def test_validation_split_stratifies_when_every_class_can_be_split():
    labels = np.array([0] * 900 + [1] * 100)
    train, valid = validation_split(1000, 0.1, None, labels)
    assert len(valid) == 100 and np.bincount(labels[valid]).tolist() == [90, 10]
    assert np.array_equal(valid, validation_split(1000, 0.1, 0, labels)[1])  # None -> seed 0
    lonely = labels.copy()
    lonely[0] = 2  # a class with one row cannot be stratified: a plain split
    train, valid = validation_split(1000, 0.1, 0, lonely)
    assert len(np.intersect1d(train, valid)) == 0 and len(train) + len(valid) == 1000


def test_refit_trees_scales_with_the_held_out_share():
    assert refit_trees(90, 0.1) == 100
    assert refit_trees(1, 0.4) == 2
    assert refit_trees(0, 0.1) == 1


class _Counting(EarlyStoppedBooster):
    """Records the calls the rule makes; 'models' are tuples describing the fit."""

    def __init__(self, *, validation_fraction=0.1, early_stopping_rounds=5, refit=True,
                 random_state=None):  # fmt: skip
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.random_state = random_state

    def _fit_trees(self, n_trees, rows):
        return ("plain", n_trees, rows.X.shape[0])

    def _fit_stopped(self, max_trees, train, valid):
        return ("stopped", max_trees, train.X.shape[0], valid.X.shape[0]), 40


@pytest.mark.parametrize(
    "n, refit, expected",
    [
        (MIN_ROWS_FOR_SPLIT - 1, True, (("plain", FALLBACK_TREES, 199), FALLBACK_TREES)),
        (1000, True, (("plain", refit_trees(40, 0.1), 1000), refit_trees(40, 0.1))),
        (1000, False, (("stopped", 500, 900, 100), 40)),
    ],
)
def test_the_rule_splits_stops_and_refits(n, refit, expected):
    X = np.zeros((n, 2))
    rows = Rows(X, np.arange(n) % 2, np.ones(n), np.zeros(n))
    result = _Counting(refit=refit)._fit_early_stopped(rows, max_trees=500, stratify=True)
    assert result == expected


def test_few_rows_never_exceed_the_maximum():
    rows = Rows(np.zeros((50, 1)), np.zeros(50))
    assert _Counting()._fit_early_stopped(rows, max_trees=7, stratify=False)[1] == 7


def test_rows_take_keeps_weights_and_baselines_aligned():
    rows = Rows(np.arange(10.0)[:, None], np.arange(10.0), np.arange(10.0), None)
    part = rows.take(np.array([3, 1]))
    assert part.X.ravel().tolist() == part.y.tolist() == part.weight.tolist() == [3.0, 1.0]
    assert part.baseline is None
