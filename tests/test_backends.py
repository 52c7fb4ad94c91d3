"""Keras backends: model files move between backends, and the deep members run on each.

The deep test modules run a second time under ``KERAS_BACKEND=jax`` in CI (``make test-jax``);
this module checks what a single backend run cannot: a file saved under one backend loads and
predicts under the other, to float32 rounding.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

import blend

TABULAR = ["brand", "category", "condition", "seller_rating", "days_listed", "description"]


def _current_backend() -> str:
    import keras

    return keras.backend.backend()


def _other_backend() -> str:
    """The backend the file is loaded under: JAX from TensorFlow, TensorFlow from anything else."""
    other = "jax" if _current_backend() == "tensorflow" else "tensorflow"
    if importlib.util.find_spec(other) is None:
        # CI installs both backends (the Makefile's test extras): a missing one there is a
        # broken install, not a reason to skip.
        if os.environ.get("CI"):
            pytest.fail(f"the {other} backend is not installed; `make test` installs it")
        pytest.skip(f"the {other} backend is not installed (pip install -e '.[jax]')")
    return other


def _predict_under(backend: str, path, X: pd.DataFrame, folder, method: str = "predict"):
    """Load ``path`` in a fresh process running ``backend`` and return its ``method`` on ``X``."""
    X.to_pickle(folder / "X.pkl")
    code = (
        "import sys, numpy as np, pandas as pd, keras, blend\n"
        "assert keras.backend.backend() == sys.argv[3], keras.backend.backend()\n"
        "m = blend.load(sys.argv[1])\n"
        f"np.save(sys.argv[2] + '/out.npy', m.{method}(pd.read_pickle(sys.argv[2] + '/X.pkl')))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(folder), backend], check=True, env=env
    )
    return np.load(folder / "out.npy", allow_pickle=False)


@pytest.fixture(scope="module")
def tabular(clothing_small):
    X, y, _ = clothing_small
    return X[TABULAR].iloc[:150], y.iloc[:150]


def test_keras_graph_file_moves_between_backends(tabular, tmp_path):
    from blend.members.deep.devices import training_device
    from blend.members.deep.estimators import KerasGraphClassifier, KerasGraphRegressor

    other = _other_backend()
    X, y = tabular
    reg = KerasGraphRegressor(epochs=2, random_state=0).fit(X, y)
    assert reg.backend_ == _current_backend()
    assert reg.device_ == training_device()
    path = blend.save(reg, tmp_path / "reg.blend")
    np.testing.assert_allclose(
        _predict_under(other, path, X, tmp_path), reg.predict(X), rtol=1e-5, atol=1e-5
    )

    labels = pd.Series(np.where(y > y.median(), "high", "low"), index=y.index)
    clf = KerasGraphClassifier(epochs=2, random_state=0).fit(X, labels)
    path = blend.save(clf, tmp_path / "clf.blend")
    proba = _predict_under(other, path, X, tmp_path, "predict_proba")
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_blend_with_wide_deep_and_tree_members_moves_between_backends(tabular, tmp_path):
    from blend.ensemble.blender import BlendRegressor
    from blend.features.tree import make_tree_pipeline
    from blend.members.deep.estimators import KerasGraphRegressor
    from blend.members.wide_deep.estimators import WideDeepRegressor

    other = _other_backend()
    X, y = tabular
    members = [
        ("rf", make_tree_pipeline(RandomForestRegressor(n_estimators=5, random_state=0))),
        ("deep", KerasGraphRegressor(epochs=1, random_state=0)),
        ("wide_deep", WideDeepRegressor(epochs=1, random_state=0)),
    ]
    model = BlendRegressor(members, method="nnls", cv=2, random_state=0).fit(X, y)
    path = blend.save(model, tmp_path / "blend.blend")
    np.testing.assert_allclose(
        _predict_under(other, path, X, tmp_path), model.predict(X), rtol=1e-5, atol=1e-5
    )


def test_deep_predictions_do_not_depend_on_the_batch(tabular):
    """Every backend: one row predicts the same bits alone, in a batch, or in another order."""
    from blend.members.deep.estimators import KerasGraphRegressor

    X, y = tabular
    reg = KerasGraphRegressor(epochs=1, random_state=0).fit(X, y)
    full = reg.predict(X)
    rows = np.concatenate([reg.predict(X.iloc[[i]]) for i in range(0, len(X), 7)])
    assert np.array_equal(rows, full[::7])
    order = np.random.default_rng(0).permutation(len(X))
    assert np.array_equal(reg.predict(X.iloc[order]), full[order])


def test_backend_is_the_one_asked_for():
    """The suite runs under the backend CI asks for (a silent fallback would test nothing new)."""
    wanted = os.environ.get("KERAS_BACKEND", "tensorflow")
    assert _current_backend() == wanted


def test_training_device_follows_what_keras_sees(monkeypatch):
    import keras

    from blend.members.deep.devices import training_device

    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["CPU:0", "GPU:0", "GPU:1"])
    assert training_device() == "gpu:0"
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["cpu:0"])
    assert training_device() == "cpu:0"
