"""The Keras layer of the wide part: one weight per feature id, summed over the fields.

``WideLinear(n_ids, units)(ids)`` with ``ids`` of shape ``(batch, n_fields)`` returns
``sum_f W[ids[:, f]] (+ b)``: exactly ``one_hot(ids) @ W``, a linear model over the sparse
one-hot features, without materializing the one-hot matrix. It is backend-agnostic
(``keras.ops.take`` and ``keras.ops.sum``) and registered for safe ``.keras`` loading.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["WideLinear"]


@keras.saving.register_keras_serializable(package="blend")
class WideLinear(keras.layers.Layer):
    """A summed ``Embedding(n_ids, units)``: the logit of a sparse linear model.

    Parameters
    ----------
    n_ids : int
        Size of the weight table (ids are ``0 .. n_ids - 1``).
    units : int, default=1
        Logits per row (one per output or class).
    use_bias : bool, default=True
    l1, l2 : float, default=0
        Weight penalties added to the loss (use these with any optimizer; FTRL has its own).

    Examples
    --------
    >>> import numpy as np
    >>> layer = WideLinear(5, use_bias=False)
    >>> layer.build((None, 2))
    >>> _ = layer.kernel.assign(np.arange(5, dtype="float32").reshape(5, 1))
    >>> np.asarray(layer(np.array([[1, 4]]))).tolist()
    [[5.0]]
    """

    def __init__(self, n_ids: int, units: int = 1, use_bias: bool = True, l1: float = 0.0,
                 l2: float = 0.0, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.n_ids = int(n_ids)
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.l1 = float(l1)
        self.l2 = float(l2)

    def build(self, input_shape) -> None:
        penalty = keras.regularizers.L1L2(self.l1, self.l2) if (self.l1 or self.l2) else None
        # Zeros: ids never hit in training (unseen hash buckets) contribute exactly nothing.
        self.kernel = self.add_weight(shape=(self.n_ids, self.units), initializer="zeros",
                                      regularizer=penalty, name="kernel")  # fmt: skip
        self.bias = (
            self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
            if self.use_bias
            else None
        )

    def call(self, ids):
        logits = ops.sum(ops.take(self.kernel, ops.cast(ids, "int32"), axis=0), axis=1)
        return logits + self.bias if self.use_bias else logits

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "n_ids": self.n_ids, "units": self.units,
                "use_bias": self.use_bias, "l1": self.l1, "l2": self.l2}  # fmt: skip
