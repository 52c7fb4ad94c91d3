"""blend: hybrid wide-and-deep ensembles in one scikit-learn API.

Public names load lazily, so ``import blend`` stays fast and does not import TensorFlow until a
deep model is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it (relative to the package)
_LAZY = {
    "infer_roles": ".roles",
    "datasets": ".datasets",
    "diversity": ".ensemble.diversity",
    "MixedFeaturizer": ".features.tree",
    "make_tree_pipeline": ".features.tree",
    "default_members": ".members.defaults",
    "KerasGraphRegressor": ".members.deep.estimators",
    "KerasGraphClassifier": ".members.deep.estimators",
    "KerasMultiTaskEstimator": ".members.deep.estimators",
    "WideDeepRegressor": ".members.wide_deep.estimators",
    "WideDeepClassifier": ".members.wide_deep.estimators",
    "WideLinearRegressor": ".members.linear",
    "WideLinearClassifier": ".members.linear",
    "LinearBoostRegressor": ".members.linear_boost",
    "AdditiveBoostRegressor": ".members.additive_boost",
    "LinearBoostClassifier": ".members.linear_boost",
    "BlendRegressor": ".ensemble.blender",
    "BlendClassifier": ".ensemble.blender",
    "save": ".io",
    "load": ".io",
}
_MODULES = {"datasets", "diversity"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'blend' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name], __name__)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import datasets, diversity
    from .ensemble.blender import BlendClassifier, BlendRegressor
    from .features.tree import MixedFeaturizer, make_tree_pipeline
    from .io import load, save
    from .members.additive_boost import AdditiveBoostRegressor
    from .members.deep.estimators import (
        KerasGraphClassifier,
        KerasGraphRegressor,
        KerasMultiTaskEstimator,
    )
    from .members.defaults import default_members
    from .members.linear import WideLinearClassifier, WideLinearRegressor
    from .members.linear_boost import LinearBoostClassifier, LinearBoostRegressor
    from .members.wide_deep.estimators import WideDeepClassifier, WideDeepRegressor
    from .roles import infer_roles
