"""Shared fixtures. Small data everywhere: the whole suite must stay under 20 minutes on 2 cores."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from blend.console import setup_console

# The test process runs as blend's programs do (set before anything loads TensorFlow): the
# subprocesses that tests start inherit the same TensorFlow settings, so a model computes the
# same bits in both.
setup_console()

import pytest  # noqa: E402 - after the process set-up above

from blend.datasets import make_clothing, make_posts  # noqa: E402

# The modules that exercise the deep members: `make test` runs them (and single tests marked
# `backends` elsewhere) a second time under KERAS_BACKEND=jax.
BACKEND_MODULES = {
    "test_backends",
    "test_deep_blocks",
    "test_deep_estimators",
    "test_deep_params",
    "test_deep_sklearn_checks",
    "test_multitask",
    "test_side_effects",
    "test_text_branch",
    "test_wide_deep",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module is not None and item.module.__name__.rpartition(".")[2] in BACKEND_MODULES:
            item.add_marker(pytest.mark.backends)


@pytest.fixture(scope="session")
def clothing_small():
    """300 listings with every modality: (X, y, noise_std)."""
    return make_clothing(300, random_state=0)


@pytest.fixture(scope="session")
def posts():
    """400 posts with three author attributes to predict: (X, Y)."""
    X, Y, _ = make_posts(400, random_state=0)
    return X, Y


@pytest.fixture(scope="session")
def clothing_paths(tmp_path_factory):
    """60 listings whose photos are PNG files on disk."""
    folder = tmp_path_factory.mktemp("photos")
    return make_clothing(60, random_state=1, image_dir=folder)
