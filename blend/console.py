"""Process set-up for blend's own programs: the ``blend`` command and the ``pipelines/`` scripts.

The library itself never writes the environment, seeds global random generators or touches
stderr; a program that owns its process may. :func:`setup_console` is called first thing by
those programs, before anything imports Keras, and only sets what the user has not set.
"""

from __future__ import annotations

import os

__all__ = ["CONSOLE_DEFAULTS", "setup_console"]

# Environment defaults for blend's programs (an explicit value in the environment wins).
CONSOLE_DEFAULTS = {
    # TensorFlow's C++ log: errors only (no per-op info and warning lines).
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # TensorFlow's oneDNN graph rewrites off. With them on, TensorFlow prints its "oneDNN
    # custom operations are on" notice before its logging starts (TF_CPP_MIN_LOG_LEVEL cannot
    # hide it), and Grappler's remapper fuses a residual block's Dense + Add + ReLU into a node
    # that its MLIR import rejects: about ten "E0000 ... tfg_optimizer{...} failed:
    # INVALID_ARGUMENT: Node .../Relu has an empty op name" lines per trained model. They are
    # harmless (Grappler keeps the unoptimized graph) but look like errors. The graph itself
    # is not changed to dodge the fusion (a bias-free second Dense would), because that would
    # change the model for every backend to work around one TensorFlow build option.
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # Plots are written to files, never shown.
    "MPLBACKEND": "Agg",
}


def setup_console() -> None:
    """Quiet TensorFlow's start-up and graph-optimizer logs and draw plots off-screen.

    Sets each of :data:`CONSOLE_DEFAULTS` that the environment does not set already. Call it at
    the start of a program's ``main``, before Keras is imported (TensorFlow reads these
    variables once, when it loads). A library never calls it: importing or fitting blend's
    estimators leaves the environment as it was.
    """
    for name, value in CONSOLE_DEFAULTS.items():
        os.environ.setdefault(name, value)
