"""The blender: out-of-fold predictions of every member, weights, diversity, fast prediction.

- :mod:`~blend.ensemble.blender`: :class:`BlendRegressor` and :class:`BlendClassifier`;
- :mod:`~blend.ensemble.weights`: weights from an out-of-fold prediction matrix (pure functions);
- :mod:`~blend.ensemble.diversity`: error decompositions and pairwise measures (pure functions);
- :mod:`~blend.ensemble.fast_predict` and :mod:`~blend.ensemble.packed_trees`: the small-batch
  predict path of the members.
"""
