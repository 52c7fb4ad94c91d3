"""Process set-up for blend's own programs: the ``blend`` command and the ``pipelines/`` scripts.

The library itself never writes the environment or touches stderr; a program that owns its
process may. :func:`setup_console` is called first thing by those programs, before anything
imports Keras, and only sets what the user has not set.
"""

from __future__ import annotations

import os

__all__ = ["setup_console"]


def setup_console() -> None:
    """Quiet TensorFlow's C++ start-up log and draw plots off-screen, unless already set.

    Call it at the start of a program's ``main``, before Keras is imported; an explicit value
    in the environment wins.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
