"""scikit-learn's estimator checks on numeric input, for the Keras graph estimators.

Tiny eager models (1 epoch, 8 units) keep this fast; every expected failure says why.
"""

import pytest

pytest.importorskip("keras")

# ~120 checks x a few tiny fits each: about 2 minutes on 2 idle cores.
pytestmark = pytest.mark.slow

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from blend.members.deep.estimators import KerasGraphClassifier, KerasGraphRegressor  # noqa: E402
from blend.members.wide_deep.estimators import WideDeepClassifier, WideDeepRegressor  # noqa: E402

TINY = {
    "epochs": 1,
    "graph": "mlp",
    "random_state": 0,
    "model__units": 8,
    "model__meta_units": 8,
    "model__depth": 0,
    "compile__run_eagerly": True,
}

_ROUTED = (
    "the estimators take routed keyword parameters (model__*, fit__*, optimizer__*, ...) "
    "through **routed, as scikeras and keras.wrappers do"
)
_ACCURACY = (
    "one epoch of an 8-unit network (kept tiny so this file stays fast) does not reach the "
    "check's accuracy threshold; accuracy is measured in bench/bench_deep.py"
)
EXPECTED_FAILURES = {
    "check_no_attributes_set_in_init": f"{_ROUTED}: routed parameters are attributes set in "
    "__init__ that the signature does not name",
    "check_do_not_raise_errors_in_init_or_set_params": f"{_ROUTED}: the check passes a "
    "literal keyword named 'routed', which is rejected as an unknown parameter",
    "check_sample_weight_equivalence_on_dense_data": "stochastic mini-batch training: a "
    "weight of 2 and a duplicated row give different batches, hence different weights",
    "check_dict_unchanged": "the first predict caches the compiled inference function in the "
    "private attribute _forward (dropped when pickling)",
    "check_regressors_train": _ACCURACY,
    "check_classifiers_train": _ACCURACY,
    "check_class_weight_classifiers": _ACCURACY,
}


def _expected(estimator):
    if isinstance(estimator, (WideDeepRegressor, WideDeepClassifier)):
        # The wide part starts at its exact convex solution (wide_init="convex"), so one epoch
        # of the tiny joint model passes the accuracy checks.
        return {k: v for k, v in EXPECTED_FAILURES.items() if v != _ACCURACY}
    return EXPECTED_FAILURES


WIDE_TINY = {**{k: v for k, v in TINY.items() if k != "graph"}, "deep": "mlp"}


@parametrize_with_checks(
    [
        KerasGraphRegressor(**TINY),
        KerasGraphClassifier(**TINY),
        WideDeepRegressor(**WIDE_TINY),
        WideDeepClassifier(**WIDE_TINY),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
