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


def test_tensorflows_malloc_thresholds_are_set_back_after_a_fit(monkeypatch):
    """TensorFlow's generator dataset lowers glibc's trim threshold for the whole process (and
    freezes the mmap threshold), which slows later numpy work; each fit on that backend sets
    both back: the user's MALLOC_*_THRESHOLD_ where set, else where glibc's own end up."""
    from blend.members.deep import allocator, estimators

    calls = []

    def mallopt(param, value):
        calls.append((param, value))
        return 1

    monkeypatch.setattr(allocator, "_glibc_mallopt", lambda: mallopt)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert allocator.restore_thresholds("jax") is False and calls == []
    assert allocator.restore_thresholds("tensorflow") is True
    assert sorted(calls) == [(-3, 32 * 1024 * 1024), (-1, 64 * 1024 * 1024)]
    calls.clear()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    allocator.restore_thresholds("tensorflow")
    assert (-1, 1048576) in calls and (-3, 32 * 1024 * 1024) in calls

    seen = []
    monkeypatch.setattr(estimators, "restore_thresholds", seen.append)
    X, y = _data()
    KerasGraphRegressor(epochs=1, random_state=0, **TINY).fit(X, y)
    assert seen == [keras.backend.backend()]


def test_malloc_thresholds_are_left_alone_off_glibc(monkeypatch):
    from blend.members.deep import allocator

    allocator._glibc_mallopt.cache_clear()
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    try:
        assert allocator._glibc_mallopt() is None
        assert allocator.restore_thresholds("tensorflow") is False
    finally:
        allocator._glibc_mallopt.cache_clear()
