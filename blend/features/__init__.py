"""DataFrame -> matrices, one module per role or encoding.

- :mod:`~blend.features.validation`: reading cells of each role, with errors that name the column;
- :mod:`~blend.features.tree`: :class:`MixedFeaturizer` and :func:`make_tree_pipeline` for tree
  and other matrix models;
- :mod:`~blend.features.wide`: the wide (one-hot, bucketed, crossed) encoding and
  :mod:`~blend.features.crosses`, the hashed feature crosses;
- :mod:`~blend.features.text`: TF-IDF words and characters;
- :mod:`~blend.features.images` (reading image cells and files) and
  :mod:`~blend.features.image_descriptors` (compact colour, texture and blemish descriptors).

Nothing here imports a member, the blender or Keras.
"""

from blend.features.tree import MixedFeaturizer, make_tree_pipeline

__all__ = ["MixedFeaturizer", "make_tree_pipeline"]
