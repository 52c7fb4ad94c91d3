"""Wide & deep members: a sparse linear part trained jointly with a multi-input Keras graph.

:mod:`~blend.members.wide_deep.estimators` holds the estimators, :mod:`~.layers` the Keras
layer that sums one weight per wide id, and :mod:`~.inputs` the joint input encoder. Importing
this package does not import Keras.
"""

from __future__ import annotations

import importlib

_LAZY = {"WideDeepRegressor": ".estimators", "WideDeepClassifier": ".estimators"}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)
