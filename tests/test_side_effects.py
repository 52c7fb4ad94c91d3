"""The deep members leave the process as they found it: no global seeding, no environment writes.

scikit-learn and Keras estimators change no process-wide state when they fit; the deep members
seed their own layers, splits and batch order from ``random_state`` instead.
"""

# ruff: noqa: NPY002 - the global NumPy state is what these tests watch and set
from __future__ import annotations

import os
import random

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from blend import KerasGraphRegressor, WideDeepRegressor  # noqa: E402

TINY = {"model__units": 8, "model__meta_units": 8, "batch_size": 16, "validation_fraction": 0}


def _data(n=40):
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(list("xyz"), size=n)})
    return X, X["a"] * 2.0 + (X["c"] == "x")


def _keras_global_seed_state():
    """The state of Keras' global seed generator (None until something draws from it)."""
    from keras.src.backend.common import global_state

    generator = global_state.get_global_attribute("global_seed_generator")
    return None if generator is None else keras.ops.convert_to_numpy(generator.state).tolist()


def _global_state():
    return (
        np.random.get_state()[1].tolist(),
        np.random.get_state()[2],
        random.getstate(),
        _keras_global_seed_state(),
        {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: KerasGraphRegressor(epochs=2, random_state=0, **TINY),
        lambda: WideDeepRegressor(epochs=2, random_state=0, max_crosses=1, **TINY),
    ],
    ids=["KerasGraphRegressor", "WideDeepRegressor"],
)
def test_fit_and_predict_leave_global_random_state_and_environment_alone(make):
    X, y = _data()
    make().fit(X, y)  # first fit: Keras and the backend are imported and warmed up
    before = _global_state()
    model = make().fit(X, y)
    model.predict(X.iloc[:3])
    after = _global_state()
    for name, old, new in zip(["numpy", "numpy pos", "random", "keras", "environ"], before, after):
        assert old == new, name


def test_same_seed_same_predictions_whatever_the_global_seeds():
    X, y = _data()
    saved = np.random.get_state(), random.getstate()
    try:
        np.random.seed(1)
        random.seed(1)
        first = KerasGraphRegressor(epochs=2, random_state=0, **TINY).fit(X, y).predict(X)
        np.random.seed(2)
        random.seed(2)
        keras.utils.set_random_seed(2)
        second = KerasGraphRegressor(epochs=2, random_state=0, **TINY).fit(X, y).predict(X)
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
    np.testing.assert_array_equal(first, second)
    other = KerasGraphRegressor(epochs=2, random_state=1, **TINY).fit(X, y).predict(X)
    assert not np.array_equal(first, other)
