"""Public alias of :mod:`blend.ensemble.diversity` (decompositions and pairwise measures)."""

from blend.ensemble.diversity import *  # noqa: F403
from blend.ensemble.diversity import __all__  # noqa: F401
