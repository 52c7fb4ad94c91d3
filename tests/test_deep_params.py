"""The deep members' parameters are declared once, in ``_parameter_constraints``.

No training here: these checks run ``_validate_params`` directly, as ``blend train`` does for
estimators built from a TOML file.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from sklearn.utils._param_validation import InvalidParameterError

from blend.members.deep.estimators import (
    KerasGraphClassifier,
    KerasGraphRegressor,
    KerasMultiTaskEstimator,
)
from blend.members.wide_deep.estimators import WideDeepClassifier, WideDeepRegressor

ESTIMATORS = [
    KerasGraphRegressor,
    KerasGraphClassifier,
    KerasMultiTaskEstimator,
    WideDeepRegressor,
    WideDeepClassifier,
]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_constructor_parameter_has_a_constraint(cls):
    signature = inspect.signature(cls.__init__).parameters.values()
    named = {p.name for p in signature if p.kind == p.KEYWORD_ONLY}
    assert named == set(cls._parameter_constraints)
    cls()._validate_params()  # the defaults are valid


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("name", "value"),
    [("epochs", 0), ("batch_size", 2.5), ("learning_rate", 0), ("validation_fraction", 1.0),
     ("patience", -1), ("optimizer", 3), ("random_state", "zero"), ("roles", ["a"])],
)  # fmt: skip
def test_bad_values_name_the_parameter(cls, name, value):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of {cls.__name__}"):
        cls(**{name: value})._validate_params()


def test_routed_parameters_are_not_constructor_parameters():
    est = KerasGraphRegressor(model__units=8, fit__callbacks=[], optimizer__beta_1=0.8)
    est._validate_params()  # routed options pass through to their consumers
    assert est.get_params()["model__units"] == 8


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"graph": "transformer"}, "'graph' parameter"),
        ({"deep": "transformer"}, "'deep' parameter"),
        ({"wide": 1}, "'wide' parameter"),
        ({"wide_l2": "ridge"}, "'wide_l2' parameter"),
        ({"numeric_buckets": 1}, "'numeric_buckets' parameter"),
        ({"class_weight": "auto"}, "'class_weight' parameter"),
    ],
)
def test_estimator_specific_constraints(params, match):
    cls = {"graph": KerasGraphClassifier, "class_weight": KerasGraphClassifier}.get(
        next(iter(params)), WideDeepClassifier
    )
    with pytest.raises(InvalidParameterError, match=match):
        cls(**params)._validate_params()


def test_importing_the_deep_estimators_does_not_import_keras():
    code = (
        "import sys, blend.members.deep.estimators\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
