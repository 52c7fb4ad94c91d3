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


def compile_forward(model: keras.Model) -> Callable[[dict], object]:
    """Return ``f(inputs) -> outputs`` running ``model(inputs, training=False)`` compiled.

    TensorFlow: a ``tf.function`` traced once with a free batch dimension (the same row predicts
    the same bits whatever the batch sizes before it).
    JAX: ``jax.jit`` over ``model.stateless_call`` with the current weights (rebuild it after
    the weights change). Torch, other backends and models compiled with ``run_eagerly=True``:
    the eager call (under ``torch.no_grad`` for torch).
    """
    backend = keras.backend.backend()
    if getattr(model, "run_eagerly", False):
        backend = "eager"  # the user asked for eager execution (debugging, tiny models)
    if backend == "tensorflow":
        import tensorflow as tf

        # One trace with a free batch dimension: a trace for the first batch's exact shape and
        # a relaxed retrace later can differ in the last float32 bit, which would make a row's
        # prediction depend on the batch sizes predicted before.
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

        return run
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def forward_jax(trainable, non_trainable, inputs):
            outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
            return outputs

        return lambda inputs: keras.tree.map_structure(
            np.asarray, forward_jax(trainable, non_trainable, inputs)
        )

    def forward_eager(inputs):
        if backend == "torch":
            import torch

            with torch.no_grad():
                outputs = model(inputs, training=False)
        else:
            outputs = model(inputs, training=False)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)

    return forward_eager
