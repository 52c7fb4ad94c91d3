"""A compiled inference function for a Keras model: the only backend-specific
code of the deep members.

``model.predict`` builds a data pipeline on every call, which costs far more than the model
itself when a few rows are predicted; a compiled function calls the model directly. The
function returned here takes a dict of numpy arrays and returns numpy arrays with the model's
output structure.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

__all__ = ["compile_forward"]

# Rows per call, on every backend: each call sees the same shape, so a row predicts the same
# bits whatever batch it arrives in (matrix kernels pick their blocking by the batch size, and a
# wide input such as a bag of n-grams shows it in the last bit). Small, because a padded one-row
# call costs a block's work (an image branch notices from 16 rows on).
PREDICT_BLOCK = 8


def compile_forward(model: keras.Model) -> Callable[[dict], object]:
    """Return ``f(inputs) -> outputs`` running ``model(inputs, training=False)`` compiled.

    TensorFlow: a ``tf.function`` traced once with a free batch dimension (the same row predicts
    the same bits whatever the batch sizes before it).
    JAX: ``jax.jit`` over ``model.stateless_call`` with the current weights (rebuild it after
    the weights change). Torch, other backends and models compiled with ``run_eagerly=True``:
    the eager call (under ``torch.no_grad`` for torch). The batch is cut into blocks of
    :data:`PREDICT_BLOCK` rows, the last one padded, so that one compiled shape serves every
    batch size and a row's prediction does not depend on the batch it came in.
    """
    backend = keras.backend.backend()
    if getattr(model, "run_eagerly", False):
        backend = "eager"  # the user asked for eager execution (debugging, tiny models)
    if backend == "tensorflow":
        import tensorflow as tf

        # One trace with a free batch dimension (custom graphs may be called with other
        # shapes); the blocks below keep the batch size it runs at fixed.
        specs = {t.name: tf.TensorSpec((None, *t.shape[1:]), t.dtype) for t in model.inputs}

        @tf.function(input_signature=[specs])
        def forward(inputs):
            return model(inputs, training=False)

        @tf.function(reduce_retracing=True)
        def forward_any(inputs):  # inputs not named like the model's (a custom graph)
            return model(inputs, training=False)

        def run(inputs):
            if isinstance(inputs, dict) and set(inputs) == set(specs):
                inputs = {k: tf.convert_to_tensor(v, specs[k].dtype) for k, v in inputs.items()}
                outputs = forward(inputs)
            else:
                outputs = forward_any(inputs)
            return keras.tree.map_structure(lambda t: t.numpy(), outputs)

        return in_blocks(run)
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def forward_jax(trainable, non_trainable, inputs):
            outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
            return outputs

        return in_blocks(
            lambda inputs: keras.tree.map_structure(
                np.asarray, forward_jax(trainable, non_trainable, inputs)
            )
        )

    def forward_eager(inputs):
        if backend == "torch":
            import torch

            with torch.no_grad():
                outputs = model(inputs, training=False)
        else:
            outputs = model(inputs, training=False)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)

    return in_blocks(forward_eager)


def in_blocks(forward: Callable[[object], object], block: int = PREDICT_BLOCK):
    """Wrap ``forward`` to run on fixed-size blocks of rows and stitch the outputs back.

    The last block is padded by repeating its last row (always a valid input, whatever the
    input's dtype or vocabulary), and the padded rows' outputs are dropped.
    """

    def run(inputs):
        n = len(keras.tree.flatten(inputs)[0])
        outputs = []
        for start in range(0, n, block):
            size = min(block, n - start)

            def cut(array, start=start, size=size):
                part = np.asarray(array)[start : start + size]
                if size < block:
                    part = np.concatenate([part, np.repeat(part[-1:], block - size, axis=0)])
                return part

            out = forward(keras.tree.map_structure(cut, inputs))
            outputs.append(keras.tree.map_structure(lambda o, size=size: o[:size], out))
        return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *outputs)

    return run
