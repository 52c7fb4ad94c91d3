"""Deep members: Keras 3 building blocks, multi-input graphs and scikit-learn estimators.

Importing :mod:`blend.members.deep.inputs` does not import Keras; :mod:`blend.members.deep.blocks`,
:mod:`blend.members.deep.branches` and :mod:`blend.members.deep.estimators` do.
"""

from __future__ import annotations

import importlib

# The named graphs of blend.members.deep.branches.build_body; here, so that the estimators
# validate ``graph`` without importing Keras.
GRAPHS = ("auto", "mlp", "resnet", "separable", "inception")

_LAZY = {
    "InputEncoder": ".inputs",
    "InputSpec": ".inputs",
    "residual_block": ".blocks",
    "separable_conv_block": ".blocks",
    "inception_module": ".blocks",
    "dense_block": ".blocks",
    "apply_shared": ".blocks",
    "build_body": ".branches",
    "build_model": ".branches",
    "KerasGraphRegressor": ".estimators",
    "KerasGraphClassifier": ".estimators",
    "KerasMultiTaskEstimator": ".estimators",
}
__all__ = sorted([*_LAZY, "GRAPHS"])


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'blend.members.deep' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
