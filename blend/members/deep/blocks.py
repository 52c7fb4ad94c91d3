"""Keras 3 building blocks: small functions from Keras tensors to Keras tensors.

Every block is backend-agnostic (``keras.layers`` only) and names its layers from ``name`` so
graphs stay readable in ``model.summary()``.

Seeding: every block takes ``seed``. With an integer, each of its random layers (initializers,
dropout, augmentation) gets its own seed derived from it and the layer's role
(:func:`derive_seed`), so the same seed builds the same weights and draws the same masks without
touching any global random state. With ``None``, Keras' defaults apply (initializers then draw
their seeds from Python's :mod:`random`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import keras
from keras import layers

__all__ = [
    "apply_shared",
    "conv_block",
    "dense_block",
    "derive_seed",
    "glorot",
    "inception_module",
    "residual_block",
    "separable_conv_block",
]


# Faster-moving batch statistics than Keras' 0.99: small tabular-scale datasets give few steps
# per epoch, and with 0.99 the inference-mode statistics lag the weights for many epochs
# (validation loss far above training loss early on, which misleads early stopping).
BN_MOMENTUM = 0.9


def _n(name: str | None, suffix: str) -> str | None:
    return None if name is None else f"{name}_{suffix}"


def derive_seed(seed: int | None, *keys: object) -> int | None:
    """A seed for one part of a graph: a stable hash of ``seed`` and ``keys`` (or ``None``).

    The same ``(seed, keys)`` gives the same value in every process (no Python ``hash``), and
    different keys give unrelated seeds, so layers seeded this way do not share random streams.

    Examples
    --------
    >>> from blend.members.deep.blocks import derive_seed
    >>> derive_seed(0, "trunk1") == derive_seed(0, "trunk1") != derive_seed(0, "trunk2")
    True
    >>> derive_seed(None, "trunk1") is None
    True
    """
    if seed is None:
        return None
    text = "/".join([str(int(seed)), *(str(k) for k in keys)])
    digest = hashlib.blake2b(text.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def glorot(seed: int | None, *keys: object):
    """Keras' default kernel initializer (Glorot uniform), seeded by :func:`derive_seed`."""
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=derive_seed(seed, *keys))


def dense_block(
    x,
    units: int,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    name: str | None = None,
    seed: int | None = None,
):
    """Dense -> (BatchNormalization) -> activation -> (Dropout).

    Examples
    --------
    >>> import keras
    >>> from blend.members.deep.blocks import dense_block
    >>> dense_block(keras.Input((8,)), 16).shape
    (None, 16)
    """
    x = layers.Dense(
        units,
        use_bias=not batch_norm,
        kernel_initializer=glorot(seed, "dense"),
        name=_n(name, "dense"),
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=_n(name, "bn"))(x)
    x = layers.Activation(activation, name=_n(name, "act"))(x)
    if dropout:
        x = layers.Dropout(dropout, seed=derive_seed(seed, "drop"), name=_n(name, "drop"))(x)
    return x


def conv_block(
    x,
    filters: int,
    kernel_size: int = 3,
    *,
    strides: int = 1,
    activation: str = "relu",
    name: str | None = None,
    seed: int | None = None,
):
    """Conv (1D or 2D, matching the input rank) -> BatchNormalization -> activation."""
    conv = layers.Conv2D if len(x.shape) == 4 else layers.Conv1D
    x = conv(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=glorot(seed, "conv"),
        name=_n(name, "conv"),
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=_n(name, "bn"))(x)
    return layers.Activation(activation, name=_n(name, "act"))(x)


def separable_conv_block(
    x,
    filters: int,
    kernel_size: int = 3,
    *,
    strides: int = 1,
    activation: str | None = "relu",
    name: str | None = None,
    seed: int | None = None,
):
    """Depthwise-separable convolution -> BatchNormalization -> activation.

    Works on 2-D feature maps ``(batch, H, W, C)`` and on sequences ``(batch, T, C)``. The
    convolution has no bias because batch normalization supplies the shift.

    Examples
    --------
    >>> import keras
    >>> from blend.members.deep.blocks import separable_conv_block
    >>> separable_conv_block(keras.Input((32, 32, 3)), 16, strides=2).shape
    (None, 16, 16, 16)
    """
    conv = layers.SeparableConv2D if len(x.shape) == 4 else layers.SeparableConv1D
    x = conv(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        depthwise_initializer=glorot(seed, "depthwise"),
        pointwise_initializer=glorot(seed, "pointwise"),
        name=_n(name, "sepconv"),
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=_n(name, "bn"))(x)
    if activation is not None:
        x = layers.Activation(activation, name=_n(name, "act"))(x)
    return x


def residual_block(
    x,
    filters: int,
    *,
    kernel_size: int = 3,
    strides: int = 1,
    kind: str = "separable",
    activation: str = "relu",
    dropout: float = 0.0,
    name: str | None = None,
    seed: int | None = None,
):
    """Two transformations whose output is added to the block's input.

    On feature maps (rank 4) or sequences (rank 3) the transformations are convolutions
    (``kind="separable"`` or ``"conv"``) with batch normalization; on vectors (rank 2) they are
    Dense layers. When the shape changes (other width, or ``strides > 1``) the shortcut is a
    linear projection: a strided 1x1 convolution, or a Dense layer, so the sum is defined.

    Examples
    --------
    >>> import keras
    >>> from blend.members.deep.blocks import residual_block
    >>> residual_block(keras.Input((16, 16, 8)), 32, strides=2).shape
    (None, 8, 8, 32)
    >>> residual_block(keras.Input((10,)), 10).shape
    (None, 10)
    """
    rank = len(x.shape)
    shortcut = x
    if rank == 2:
        y = layers.Dense(
            filters,
            activation=activation,
            kernel_initializer=glorot(seed, "dense1"),
            name=_n(name, "dense1"),
        )(x)
        if dropout:
            y = layers.Dropout(dropout, seed=derive_seed(seed, "drop"), name=_n(name, "drop"))(y)
        y = layers.Dense(
            filters, kernel_initializer=glorot(seed, "dense2"), name=_n(name, "dense2")
        )(y)
        if x.shape[-1] != filters:
            shortcut = layers.Dense(
                filters,
                use_bias=False,
                kernel_initializer=glorot(seed, "proj"),
                name=_n(name, "proj"),
            )(x)
    elif rank in (3, 4):
        if kind == "separable":
            y = separable_conv_block(
                x,
                filters,
                kernel_size,
                strides=strides,
                activation=activation,
                name=_n(name, "a"),
                seed=derive_seed(seed, "a"),
            )
            y = separable_conv_block(
                y,
                filters,
                kernel_size,
                activation=None,
                name=_n(name, "b"),
                seed=derive_seed(seed, "b"),
            )
        elif kind == "conv":
            y = conv_block(
                x,
                filters,
                kernel_size,
                strides=strides,
                activation=activation,
                name=_n(name, "a"),
                seed=derive_seed(seed, "a"),
            )
            conv = layers.Conv2D if rank == 4 else layers.Conv1D
            y = conv(
                filters,
                kernel_size,
                padding="same",
                use_bias=False,
                kernel_initializer=glorot(seed, "b_conv"),
                name=_n(name, "b_conv"),
            )(y)
            y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=_n(name, "b_bn"))(y)
        else:
            raise ValueError(f"kind must be 'separable' or 'conv', got {kind!r}.")
        if dropout:
            y = layers.Dropout(dropout, seed=derive_seed(seed, "drop"), name=_n(name, "drop"))(y)
        if strides != 1 or x.shape[-1] != filters:
            conv = layers.Conv2D if rank == 4 else layers.Conv1D
            shortcut = conv(
                filters,
                1,
                strides=strides,
                padding="same",
                use_bias=False,
                kernel_initializer=glorot(seed, "proj"),
                name=_n(name, "proj"),
            )(x)
    else:
        raise ValueError(f"residual_block needs a rank 2, 3 or 4 tensor, got shape {x.shape}.")
    y = layers.Add(name=_n(name, "add"))([shortcut, y])
    return layers.Activation(activation, name=_n(name, "out"))(y)


def inception_module(
    x,
    filters: int | Sequence[int],
    *,
    strides: int = 1,
    name: str | None = None,
    seed: int | None = None,
):
    """Four parallel branches over one input, concatenated on the channel axis.

    Branches: a 1x1 convolution; 1x1 then 3x3; 1x1 then two 3x3 (a 5x5 receptive field); and
    3x3 max pooling then 1x1. Every branch downsamples by ``strides`` (in its last spatial
    operation) so their outputs line up. ``filters`` is one width for all branches or four.

    Examples
    --------
    >>> import keras
    >>> from blend.members.deep.blocks import inception_module
    >>> inception_module(keras.Input((32, 32, 3)), 8, strides=2).shape
    (None, 16, 16, 32)
    """
    if len(x.shape) != 4:
        raise ValueError(f"inception_module needs (batch, H, W, C) input, got shape {x.shape}.")
    f1, f2, f3, f4 = (filters,) * 4 if isinstance(filters, int) else tuple(filters)

    def conv(t, f, k, s, suffix):
        return conv_block(t, f, k, strides=s, name=_n(name, suffix), seed=derive_seed(seed, suffix))

    b1 = conv(x, f1, 1, strides, "b1")
    b2 = conv(conv(x, f2, 1, 1, "b2a"), f2, 3, strides, "b2b")
    b3 = conv(conv(conv(x, f3, 1, 1, "b3a"), f3, 3, 1, "b3b"), f3, 3, strides, "b3c")
    b4 = layers.MaxPooling2D(3, strides=strides, padding="same", name=_n(name, "b4pool"))(x)
    b4 = conv(b4, f4, 1, 1, "b4b")
    return layers.Concatenate(name=_n(name, "concat"))([b1, b2, b3, b4])


def apply_shared(encoder: keras.Model, tensors: Sequence, *, merge: str | None = None):
    """Apply one encoder model to several inputs (its weights are shared between them).

    Parameters
    ----------
    encoder : keras.Model
        A model used as a layer: each call reuses the same weights.
    tensors : sequence of Keras tensors
        Inputs of the same shape (front and back photos; two questions).
    merge : None, "concat" or "symmetric"
        ``None`` returns the list of encodings; ``"concat"`` concatenates them in order;
        ``"symmetric"`` concatenates their elementwise mean and max, which does not depend on
        the order of the inputs (two sentences whose order does not matter; a stain visible on
        either photo).

    Examples
    --------
    >>> import keras
    >>> from blend.members.deep.blocks import apply_shared
    >>> enc = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> a, b = keras.Input((4,)), keras.Input((4,))
    >>> apply_shared(enc, [a, b], merge="symmetric").shape
    (None, 6)
    """
    encoded = [encoder(t) for t in tensors]
    if merge is None:
        return encoded
    if len(encoded) == 1:
        return encoded[0]
    if merge == "concat":
        return layers.Concatenate()(encoded)
    if merge == "symmetric":
        return layers.Concatenate()([layers.Average()(encoded), layers.Maximum()(encoded)])
    raise ValueError(f"merge must be None, 'concat' or 'symmetric', got {merge!r}.")
