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
    "diversity": ".diversity",
    "MixedFeaturizer": ".featurize",
    "make_tree_pipeline": ".featurize",
    "default_members": ".members",
    "KerasGraphRegressor": ".deep.estimators",
    "KerasGraphClassifier": ".deep.estimators",
    "KerasMultiTaskEstimator": ".deep.estimators",
    "WideDeepRegressor": ".wide_deep",
    "WideDeepClassifier": ".wide_deep",
    "WideLinearRegressor": ".linear",
    "WideLinearClassifier": ".linear",
    "LinearBoostRegressor": ".linear_boost",
    "AdditiveBoostRegressor": ".additive_boost",
    "LinearBoostClassifier": ".linear_boost",
    "BlendRegressor": ".blender",
    "BlendClassifier": ".blender",
    "save": ".persist",
    "load": ".persist",
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
    from .additive_boost import AdditiveBoostRegressor
    from .blender import BlendClassifier, BlendRegressor
    from .deep.estimators import (
        KerasGraphClassifier,
        KerasGraphRegressor,
        KerasMultiTaskEstimator,
    )
    from .featurize import MixedFeaturizer, make_tree_pipeline
    from .linear import WideLinearClassifier, WideLinearRegressor
    from .linear_boost import LinearBoostClassifier, LinearBoostRegressor
    from .members import default_members
    from .persist import load, save
    from .roles import infer_roles
    from .wide_deep import WideDeepClassifier, WideDeepRegressor
