"""One branch per role, merged into a multi-input functional graph.

:func:`build_body` turns :class:`~blend.members.deep.inputs.InputSpec`
objects into Keras inputs and the
merged feature vector (everything before the output head); :func:`build_model` adds a head.
Named graphs choose the block family used by the branches and the trunk:

``"auto"``
    metadata MLP, Conv1D text (or a bag of n-grams, see below), a residual separable
    convnet on images, and a residual dense trunk: separable convolutions keep the image
    branch cheap on CPUs, and the residual trunk trains as easily as a shallow one.
``"mlp"``
    dense layers only: mean-pooled token embeddings; images average-pooled and flattened.
``"resnet"``
    residual blocks with full convolutions on images and a residual dense trunk.
``"separable"``
    depthwise-separable convolutions on images and text, plain dense trunk.
``"inception"``
    inception modules on images.

Text read as a bag of n-grams (inputs with the role ``"bag"``, chosen by the estimators'
``text`` parameter) goes through :func:`bag_encoder`, dense layers over the TF-IDF weights,
whatever the graph; the graph's text kind applies to token sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers

from blend.members.deep import GRAPHS
from blend.members.deep.blocks import (
    apply_shared,
    conv_block,
    dense_block,
    derive_seed,
    glorot,
    inception_module,
    residual_block,
    separable_conv_block,
)
from blend.members.deep.inputs import InputSpec

__all__ = [
    "GRAPHS",
    "bag_encoder",
    "build_body",
    "build_model",
    "image_encoder",
    "make_inputs",
    "metadata_branch",
    "regression_head",
    "text_encoder",
]

# Per named graph: image encoder kind, text encoder kind, residual trunk or not.
_GRAPH_PARTS = {
    "auto": ("separable", "conv", True),  # keys: GRAPHS (blend.members.deep)
    "mlp": ("pool", "pool", False),
    "resnet": ("resnet", "conv", True),
    "separable": ("separable", "separable", False),
    "inception": ("inception", "conv", False),
}


def make_inputs(specs: Sequence[InputSpec]) -> dict[str, keras.KerasTensor]:
    """One ``keras.Input`` per spec, named (and keyed) by the spec name."""
    return {s.name: keras.Input(shape=s.shape, dtype=s.dtype, name=s.name) for s in specs}


def embedding_dim(vocab_size: int, maximum: int = 16) -> int:
    """A rule-of-thumb embedding width: ``1.6 * vocab**0.56`` (fast.ai), capped."""
    return int(max(2, min(maximum, round(1.6 * vocab_size**0.56))))


def _embedding(vocab_size: int, dim: int, seed: int | None, name: str, **options):
    """``layers.Embedding`` with Keras' default initializer (uniform in +-0.05), seeded."""
    init = "uniform"
    if seed is not None:
        init = keras.initializers.RandomUniform(-0.05, 0.05, seed=derive_seed(seed, name))
    return layers.Embedding(vocab_size, dim, embeddings_initializer=init, name=name, **options)


def metadata_branch(
    specs: Sequence[InputSpec],
    inputs: dict,
    *,
    units: int = 64,
    max_embedding_dim: int = 16,
    name: str = "meta",
    seed: int | None = None,
):
    """Categorical embeddings (ids 0 = missing, 1 = unseen) and numerics -> one Dense layer.

    Returns ``None`` when there is neither a categorical nor a numeric input.
    """
    parts = []
    for spec in specs:
        if spec.role == "categorical":
            dim = embedding_dim(spec.vocab_size, max_embedding_dim)
            embed = _embedding(spec.vocab_size, dim, seed, f"{spec.name}_embed")
            e = embed(inputs[spec.name])
            parts.append(layers.Flatten(name=f"{spec.name}_flat")(e))
        elif spec.role == "numeric":
            parts.append(inputs[spec.name])
    if not parts:
        return None
    x = parts[0] if len(parts) == 1 else layers.Concatenate(name=f"{name}_concat")(parts)
    return dense_block(x, units, name=name, seed=derive_seed(seed, name))


def text_encoder(
    spec: InputSpec,
    *,
    kind: str = "conv",
    embedding_dim: int = 32,
    filters: int = 64,
    name: str | None = None,
    seed: int | None = None,
) -> keras.Model:
    """Token ids -> Embedding -> a 1D convnet (or LSTM, or mean pooling) -> a vector.

    ``kind``: ``"conv"`` (Conv1D + global max pooling: finds keywords anywhere, cheap),
    ``"separable"`` (separable Conv1D), ``"lstm"`` (an LSTM reading the padded sequence with
    masking) or ``"pool"`` (mean of the token embeddings, then a dense layer).
    """
    name = name or f"{spec.name}_encoder"
    tokens = keras.Input(shape=spec.shape, dtype="int32", name=f"{name}_tokens")
    x = _embedding(spec.vocab_size, embedding_dim, seed, f"{name}_embed", mask_zero=kind == "lstm")(
        tokens
    )
    if kind == "conv":
        x = conv_block(x, filters, 3, name=f"{name}_c1", seed=derive_seed(seed, "c1"))
        x = layers.GlobalMaxPooling1D(name=f"{name}_pool")(x)
    elif kind == "separable":
        x = separable_conv_block(x, filters, 3, name=f"{name}_c1", seed=derive_seed(seed, "c1"))
        x = layers.GlobalMaxPooling1D(name=f"{name}_pool")(x)
    elif kind == "lstm":
        recurrent = "orthogonal"
        if seed is not None:
            recurrent = keras.initializers.Orthogonal(seed=derive_seed(seed, "lstm_recurrent"))
        x = layers.LSTM(
            filters,
            kernel_initializer=glorot(seed, "lstm"),
            recurrent_initializer=recurrent,
            seed=derive_seed(seed, "lstm_dropout"),
            name=f"{name}_lstm",
        )(x)
    elif kind == "pool":
        x = layers.GlobalAveragePooling1D(name=f"{name}_pool")(x)
        x = layers.Dense(
            filters,
            activation="relu",
            kernel_initializer=glorot(seed, "dense"),
            name=f"{name}_dense",
        )(x)
    else:
        raise ValueError(f"text kind must be 'conv', 'separable', 'lstm' or 'pool', got {kind!r}.")
    return keras.Model(tokens, x, name=name)


def bag_encoder(
    spec: InputSpec,
    *,
    units: int = 64,
    dropout: float = 0.5,
    name: str | None = None,
    seed: int | None = None,
) -> keras.Model:
    """TF-IDF n-gram weights -> a dense layer (ReLU) -> dropout -> a vector.

    A bag-of-bigrams model in the style of Chollet (*Deep Learning with Python*, 2nd ed.,
    section 11.3): one wide dense layer reads which words and word pairs occur, and dropout
    keeps it from memorizing the training rows' rare terms.
    """
    name = name or f"{spec.name}_encoder"
    bag = keras.Input(shape=spec.shape, dtype="float32", name=f"{name}_terms")
    x = layers.Dense(
        units, activation="relu", kernel_initializer=glorot(seed, "dense"), name=f"{name}_dense"
    )(bag)
    if dropout:
        x = layers.Dropout(dropout, seed=derive_seed(seed, "dropout"), name=f"{name}_drop")(x)
    return keras.Model(bag, x, name=name)


def image_encoder(
    spec: InputSpec,
    *,
    kind: str = "separable",
    widths: Sequence[int] = (16, 32, 64),
    flip: bool = True,
    name: str | None = None,
    seed: int | None = None,
) -> keras.Model:
    """Pixels -> Rescaling -> (random mirroring while training) -> a convnet -> pooled vector.

    ``kind``: ``"separable"`` (a conv stem, strided for images of 32 pixels or more, then
    residual separable blocks with batch
    normalization, each halving the resolution), ``"resnet"`` (the same with full
    convolutions), ``"inception"`` (inception modules) or ``"pool"`` (average pooling to
    about 8x8, flattened, one Dense layer: no convolutions). Every stage is pooled (average
    and max) into the output: average pooling sees global properties (colour, wear), max
    pooling small local ones (a stain), and early stages keep the fine detail.
    """
    name = name or f"{spec.name}_encoder"
    pixels = keras.Input(shape=spec.shape, dtype=spec.dtype, name=f"{name}_pixels")
    x = layers.Rescaling(spec.scale, spec.offset, name=f"{name}_scale")(pixels)
    if flip:
        # Mirror images during training only: a cheap augmentation for small image sets.
        x = layers.RandomFlip("horizontal", seed=derive_seed(seed, "flip"), name=f"{name}_flip")(x)
    widths = list(widths)
    if kind == "pool":
        factor = max(1, min(spec.shape[0], spec.shape[1]) // 8)
        x = layers.AveragePooling2D(factor, name=f"{name}_pool")(x)
        x = layers.Flatten(name=f"{name}_flat")(x)
        x = layers.Dense(
            widths[-1],
            activation="relu",
            kernel_initializer=glorot(seed, "dense"),
            name=f"{name}_dense",
        )(x)
        return keras.Model(pixels, x, name=name)
    # A strided stem: small photos rarely need full-resolution features, and it quarters the
    # cost of every later stage.
    stem_strides = 2 if min(spec.shape[0], spec.shape[1]) >= 32 else 1
    x = conv_block(
        x, widths[0], 3, strides=stem_strides, name=f"{name}_stem", seed=derive_seed(seed, "stem")
    )
    stages = [x]
    for i, width in enumerate(widths[1:] if kind != "inception" else widths):
        stage_seed = derive_seed(seed, "stage", i)
        if kind == "separable":
            x = residual_block(
                x, width, strides=2, kind="separable", name=f"{name}_res{i}", seed=stage_seed
            )
        elif kind == "resnet":
            x = residual_block(
                x, width, strides=2, kind="conv", name=f"{name}_res{i}", seed=stage_seed
            )
        elif kind == "inception":
            x = inception_module(
                x, max(4, width // 4), strides=2, name=f"{name}_inc{i}", seed=stage_seed
            )
        else:
            raise ValueError(
                f"image kind must be 'separable', 'resnet', 'inception' or 'pool', got {kind!r}."
            )
        stages.append(x)
    # Pool every stage, not only the last: early, high-resolution features see small details
    # (a stain a few pixels wide, speckles) that later stages blur away.
    pooled = []
    for i, stage in enumerate(stages):
        pooled.append(layers.GlobalAveragePooling2D(name=f"{name}_gap{i}")(stage))
        pooled.append(layers.GlobalMaxPooling2D(name=f"{name}_gmp{i}")(stage))
    return keras.Model(pixels, layers.Concatenate(name=f"{name}_pool")(pooled), name=name)


def build_body(
    specs: Sequence[InputSpec],
    graph: str = "auto",
    *,
    units: int = 128,
    depth: int = 1,
    dropout: float = 0.0,
    meta_units: int = 64,
    max_embedding_dim: int = 16,
    text: str | None = None,
    text_embedding_dim: int = 32,
    text_filters: int = 64,
    bag_units: int = 64,
    bag_dropout: float = 0.5,
    image: str | None = None,
    image_widths: Sequence[int] = (16, 32, 64),
    image_flip: bool = True,
    seed: int | None = None,
):
    """The multi-input body: one branch per role, merged, then a trunk.

    Parameters
    ----------
    specs : list of InputSpec
        From :class:`~blend.members.deep.inputs.InputEncoder` (``encoder.specs_``).
    graph : str, default="auto"
        A named graph from :data:`GRAPHS` (see the module docstring).
    units, depth, dropout : int, int, float
        Trunk width, number of residual (or plain dense) blocks after the first dense layer,
        and dropout in the trunk.
    meta_units, max_embedding_dim : int
        Width of the metadata branch's dense layer; largest categorical embedding.
    text, text_embedding_dim, text_filters :
        Override the graph's text encoder kind for token sequences (``"conv"``,
        ``"separable"``, ``"lstm"``, ``"pool"``) and its sizes.
    bag_units, bag_dropout : int, float
        Width and dropout of :func:`bag_encoder`, for text read as a bag of n-grams.
    image, image_widths, image_flip :
        Override the graph's image encoder kind, its stage widths, and whether images are
        mirrored at random while training (on by default).
    seed : int, optional
        Seeds every random layer (initializers, dropout, mirroring), each with its own seed
        derived from this one and its name (:func:`~blend.members.deep.blocks.derive_seed`):
        the same seed builds the same graph, and no global random state is read or changed.
        ``None``: Keras' defaults.

    Returns
    -------
    inputs : dict
        ``{spec.name: keras.Input}``.
    features : KerasTensor
        The merged feature vector, ``(batch, units)``; add a head to make a model.

    Notes
    -----
    Inputs of one shared group (``spec.group``) go through a single encoder model (the same
    weights) and are merged order-invariantly (elementwise mean and max).

    Examples
    --------
    >>> import pandas as pd
    >>> from blend.members.deep.inputs import InputEncoder
    >>> from blend.members.deep.branches import build_body
    >>> enc = InputEncoder().fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    >>> inputs, features = build_body(enc.specs_, units=8)
    >>> sorted(inputs), features.shape
    (['cat_b', 'num'], (None, 8))
    """
    if graph not in _GRAPH_PARTS:
        raise ValueError(f"Unknown graph {graph!r}. Use one of {GRAPHS} or a callable.")
    image_kind, text_kind, residual = _GRAPH_PARTS[graph]
    image_kind = image or image_kind
    text_kind = text or text_kind
    specs = list(specs)
    if not specs:
        raise ValueError("build_body needs at least one input spec.")
    inputs = make_inputs(specs)

    branches = []
    meta = metadata_branch(
        specs,
        inputs,
        units=meta_units,
        max_embedding_dim=max_embedding_dim,
        name="meta",
        seed=seed,
    )
    if meta is not None:
        branches.append(meta)

    done: set[str] = set()
    for spec in specs:
        if spec.role not in ("text", "bag", "image") or spec.name in done:
            continue
        members = [s for s in specs if spec.group is not None and s.group == spec.group]
        members = members or [spec]
        done.update(s.name for s in members)
        encoder_name = f"{spec.group}_encoder" if spec.group else f"{spec.name}_encoder"
        branch_seed = derive_seed(seed, encoder_name)
        if spec.role == "bag":
            encoder = bag_encoder(
                spec, units=bag_units, dropout=bag_dropout, name=encoder_name, seed=branch_seed
            )
        elif spec.role == "text":
            encoder = text_encoder(
                spec,
                kind=text_kind,
                embedding_dim=text_embedding_dim,
                filters=text_filters,
                name=encoder_name,
                seed=branch_seed,
            )
        else:
            encoder = image_encoder(
                spec,
                kind=image_kind,
                widths=image_widths,
                flip=image_flip,
                name=encoder_name,
                seed=branch_seed,
            )
        branches.append(apply_shared(encoder, [inputs[s.name] for s in members], merge="symmetric"))

    x = branches[0] if len(branches) == 1 else layers.Concatenate(name="merge")(branches)
    x = dense_block(x, units, dropout=dropout, name="trunk0", seed=derive_seed(seed, "trunk0"))
    for i in range(1, depth + 1):
        block = residual_block if residual else dense_block
        x = block(x, units, dropout=dropout, name=f"trunk{i}", seed=derive_seed(seed, f"trunk{i}"))
    return inputs, x


def regression_head(features, n_outputs: int = 1, *, name: str = "output", seed=None):
    """A linear output layer (``n_outputs`` units)."""
    return layers.Dense(n_outputs, kernel_initializer=glorot(seed, name), name=name)(features)


def build_model(
    specs: Sequence[InputSpec],
    graph: str = "auto",
    *,
    head: Callable | None = None,
    name: str = "blend_graph",
    **options,
) -> keras.Model:
    """:func:`build_body` plus a head: ``head(features) -> outputs`` (default: one linear unit).

    Examples
    --------
    >>> import pandas as pd
    >>> from blend.members.deep.inputs import InputEncoder
    >>> from blend.members.deep.branches import build_model
    >>> enc = InputEncoder().fit(pd.DataFrame({"a": [1.0, 2.0]}))
    >>> build_model(enc.specs_, "mlp", units=4).output.shape
    (None, 1)
    """
    inputs, features = build_body(specs, graph, **options)
    outputs = head(features) if head else regression_head(features, seed=options.get("seed"))
    return keras.Model(inputs, outputs, name=name)
