"""Shared fixtures. Small data everywhere: the whole suite must stay under 20 minutes on 2 cores."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

from blend.datasets import make_clothing


@pytest.fixture(scope="session")
def clothing_small():
    """300 listings with every modality: (X, y, noise_std)."""
    return make_clothing(300, random_state=0)


@pytest.fixture(scope="session")
def clothing_paths(tmp_path_factory):
    """60 listings whose photos are PNG files on disk."""
    folder = tmp_path_factory.mktemp("photos")
    return make_clothing(60, random_state=1, image_dir=folder)
