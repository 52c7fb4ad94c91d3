"""The blender's parts on their own: parameters, task plan, OOF assembly (no member is fitted)."""

import inspect
import pathlib

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError

from blend.ensemble.assemble import assemble_oof, collect_final_fits, weighting_rows
from blend.ensemble.blender import BlendClassifier, BlendRegressor
from blend.ensemble.plan import plan_tasks
from blend.ensemble.tasks import TaskResult


class Deep(RegressorMixin, BaseEstimator):
    _blend_expensive = True

    def fit(self, X, y):
        return self


def _splits(n=40, k=4):
    return [(tr, te) for tr, te in KFold(k).split(np.zeros((n, 1)))]


# ---------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("cls", [BlendRegressor, BlendClassifier])
def test_every_parameter_is_declared_once_and_its_default_is_valid(cls):
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(cls._parameter_constraints) == params
    cls()._validate_params()


@pytest.mark.parametrize(
    "params",
    [
        {"metric": "mae", "cv": 3, "n_jobs": 2, "random_state": 0},
        {"metric": "mse", "cv": KFold(3), "expensive_folds": None, "verbose": 1},
        {"metric": lambda y, p: 0.0, "memory": "cache", "on_error": "raise"},
        {"memory": pathlib.Path("cache"), "final_estimator": Ridge(), "method": "stacking"},
        {"memory": joblib.Memory(None, verbose=0), "cheap_folds": "shared", "prune": True},
    ],
)
def test_valid_regressor_parameters_pass(params):
    BlendRegressor(**params)._validate_params()


@pytest.mark.parametrize(
    ("cls", "params", "name"),
    [
        (BlendRegressor, {"method": "vote"}, "method"),
        (BlendRegressor, {"metric": "log_loss"}, "metric"),
        (BlendClassifier, {"metric": "rmse"}, "metric"),
        (BlendRegressor, {"cv": 1}, "cv"),
        (BlendRegressor, {"cheap_folds": "some"}, "cheap_folds"),
        (BlendRegressor, {"on_error": "shout"}, "on_error"),
        (BlendRegressor, {"expensive_folds": 0}, "expensive_folds"),
        (BlendRegressor, {"prune_threshold": 1.5}, "prune_threshold"),
        (BlendRegressor, {"memory": 3}, "memory"),
        (BlendRegressor, {"n_jobs": "many"}, "n_jobs"),
        (BlendRegressor, {"final_estimator": "ridge"}, "final_estimator"),
    ],
)
def test_invalid_parameters_name_the_parameter(cls, params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        cls(**params)._validate_params()
    assert issubclass(InvalidParameterError, ValueError)


# ---------------------------------------------------------------------------------- plan


def _plan(members, **kw):
    options = {
        "cheap_folds": "all",
        "expensive_folds": 1,
        "refit": True,
        "expensive_refit": False,
        "eager": False,
    }
    return plan_tasks(np.zeros((40, 1)), members, _splits(), **{**options, **kw})


def test_expensive_members_fit_the_last_folds_and_go_first():
    plan = _plan([("ridge", Ridge()), ("deep", Deep())], expensive_refit=True)
    keys = [t.key for t in plan.tasks]
    assert keys == [("deep", None), ("deep", 3)] + [("ridge", f) for f in range(4)]
    assert plan.final_fit == {"ridge": True, "deep": True}
    assert not plan.shared
    assert [t.keep_model for t in plan.tasks] == [True, True] + [False] * 4


def test_eager_final_fits_start_with_the_folds():
    plan = _plan([("a", Ridge()), ("b", Ridge())], eager=True)
    keys = [t.key for t in plan.tasks]
    assert keys[:2] == [("a", None), ("b", None)] and len(keys) == 10
    assert _plan([("a", Ridge())], refit=False).final_fit == {"a": False}


def test_shared_folds_put_cheap_members_on_the_holdout():
    plan = _plan([("ridge", Ridge()), ("deep", Deep())], cheap_folds="shared")
    assert plan.shared
    assert sorted(t.key for t in plan.tasks) == [("deep", 3), ("ridge", 3)]
    assert plan.final_fit_task("ridge").fold is None


# ------------------------------------------------------------------------------ assemble


def _result(name, fold, pred=None, **kw):
    return TaskResult((name, fold), pred=pred, fit_seconds=1.0, predict_seconds=0.5, **kw)


def test_oof_matrix_failures_and_log():
    splits = [(np.array([2, 3]), np.array([0, 1])), (np.array([0, 1]), np.array([2, 3]))]
    results = [
        _result("a", 0, np.ones((2, 1))),
        _result("a", 1, np.full((2, 1), 2.0)),
        _result("b", 0, np.ones((2, 1))),
        TaskResult(("b", 1), error="ValueError: bad", error_kind="ValueError"),
        _result("a", None, model="final"),
    ]
    oof = assemble_oof(["a", "b"], results, splits, n_rows=4, n_outputs=1)
    assert oof.predictions[:, 0, 0].tolist() == [1.0, 1.0, 2.0, 2.0]
    assert np.isnan(oof.predictions[:, 1, 0]).all()
    assert oof.errors == {"b": "fold 1: ValueError: bad"}
    assert oof.surviving(["a", "b"]) == [0]
    assert weighting_rows(oof.predictions, [0]).tolist() == [0, 1, 2, 3]
    assert [row["stage"] for row in oof.log] == ["out-of-fold"] * 4 + ["refit"]
    assert oof.stats["a"].n_fits == 2 and oof.stats["a"].fit_seconds == 2.0
    models, errors = collect_final_fits(["a"], oof.final_fits, [], oof.stats)
    assert models == {"a": "final"} and not errors and oof.stats["a"].n_fits == 3


def test_every_member_failing_keeps_the_error_type():
    results = [TaskResult(("a", 0), error="TypeError: no", error_kind="TypeError")]
    oof = assemble_oof(["a"], results, _splits(), n_rows=40, n_outputs=1)
    with pytest.raises(TypeError, match="Every member failed"):
        oof.surviving(["a"])
