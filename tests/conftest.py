"""Shared fixtures. Small data everywhere: the whole suite must stay under 20 minutes on 2 cores."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from blend.console import setup_console

# The test process runs as blend's programs do (set before anything loads TensorFlow): the
# subprocesses that tests start inherit the same TensorFlow settings, so a model computes the
# same bits in both.
setup_console()

import pytest  # noqa: E402 - after the process set-up above

from blend.datasets import make_clothing  # noqa: E402


@pytest.fixture(scope="session")
def clothing_small():
    """300 listings with every modality: (X, y, noise_std)."""
    return make_clothing(300, random_state=0)


@pytest.fixture(scope="session")
def clothing_paths(tmp_path_factory):
    """60 listings whose photos are PNG files on disk."""
    folder = tmp_path_factory.mktemp("photos")
    return make_clothing(60, random_state=1, image_dir=folder)
