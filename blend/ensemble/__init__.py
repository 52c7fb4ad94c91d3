"""The blender: out-of-fold predictions of every member, weights, diversity, fast prediction.

- :mod:`~blend.ensemble.blender`: :class:`BlendRegressor` and :class:`BlendClassifier`, whose
  fit plans, executes and assembles member x fold tasks:

  - :mod:`~blend.ensemble.plan`: which tasks (member x fold, final fits) and in which order;
  - :mod:`~blend.ensemble.tasks`: the task and result records and the (cacheable) task function;
  - :mod:`~blend.ensemble.execute`: runs tasks through joblib, retrying after dead workers;
  - :mod:`~blend.ensemble.assemble`: the out-of-fold matrix, failures, final models, leaderboard;
  - :mod:`~blend.ensemble.outputs`: a member's predictions as a matrix; fold-model averages;

- :mod:`~blend.ensemble.weights`: weights from an out-of-fold prediction matrix (pure functions);
- :mod:`~blend.ensemble.diversity`: error decompositions and pairwise measures (pure functions);
- :mod:`~blend.ensemble.fast_predict` and :mod:`~blend.ensemble.packed_trees`: the small-batch
  predict path of the members.
"""
