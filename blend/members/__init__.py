"""The member families, one module each, and :func:`default_members`, the default portfolio.

- :mod:`~blend.members.xgboost`, :mod:`~blend.members.gbm` (LightGBM, CatBoost): boosted trees
  that pick their number of trees by early stopping;
- :mod:`~blend.members.linear`: ridge / logistic models over the wide encoding;
- :mod:`~blend.members.linear_boost`, :mod:`~blend.members.additive_boost`: linear + trees hybrids;
- :mod:`~blend.members.deep`: Keras 3 multi-input graphs; :mod:`~blend.members.wide_deep`: a wide
  linear part trained jointly with such a graph;
- :mod:`~blend.members.kinds`: how each kind of member is built (:data:`MEMBER_KINDS`, the registry
  ``blend train`` reads too);
- :mod:`~blend.members.defaults`: which of them join a blend by default, as a table
  (:data:`DEFAULT_MEMBERS`; ``print(describe_defaults())``).

Importing this package imports neither Keras nor the optional boosters.
"""

from blend.members.defaults import DEFAULT_MEMBERS, default_members, describe_defaults
from blend.members.kinds import MEMBER_KINDS

__all__ = ["DEFAULT_MEMBERS", "MEMBER_KINDS", "default_members", "describe_defaults"]
