"""scikit-learn estimators around multi-input Keras graphs.

:class:`KerasGraphRegressor`, :class:`KerasGraphClassifier` and
:class:`KerasMultiTaskEstimator` read a DataFrame (roles inferred or given), encode it with
:class:`~blend.members.deep.inputs.InputEncoder`, build a functional
graph (:func:`build_body` plus a
head), train it with Adam, early stopping and learning-rate reduction on a validation split,
and predict through a compiled function (``model.predict`` builds a data pipeline per call,
which dominates the cost of predicting a few rows).

Extending: subclasses (e.g. the wide-and-deep estimators) override
:meth:`KerasGraphBase._build_model` (and, when they need extra inputs,
:meth:`KerasGraphBase._make_encoder`). See :class:`KerasGraphBase`.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from blend.features.validation import FrameInputMixin, check_class_labels, check_target
from blend.members.deep import GRAPHS
from blend.members.deep.allocator import restore_thresholds
from blend.members.deep.devices import keras_backend, training_device
from blend.members.deep.inputs import TEXT_MODES, InputEncoder, InputSpec

__all__ = [
    "KerasGraphBase",
    "KerasGraphClassifier",
    "KerasGraphRegressor",
    "KerasMultiTaskEstimator",
]

ROUTES = ("model__", "fit__", "optimizer__", "encoder__", "compile__")
TASK_TYPES = ("regression", "binary", "multiclass")
# Rows per compiled forward call at predict time (bounds memory for large inputs).
_PREDICT_CHUNK = 4096
# Below this many validation rows, early stopping is too noisy: train all epochs instead.
_MIN_VALIDATION_ROWS = 8
# Steps the weight average spans (Keras's default ema_momentum, 0.99; see _weight_averaging).
_EMA_STEPS = 100
# The multi-task network's bag-of-n-grams layer: build_body's default width per head, capped.
_BAG_UNITS, _MAX_BAG_UNITS = 64, 256


def _keras():
    """The ``keras`` module, imported on first use (``import blend`` stays free of Keras)."""
    import keras

    return keras


@contextlib.contextmanager
def _quiet_tensorflow(verbose):
    """Hide TensorFlow's logger warnings (tf.function retracing) unless ``verbose``.

    Each fit builds a new train function and each model its own compiled predict function, so
    TensorFlow warns about "excessive retracing" though nothing is wrong.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    if not verbose:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _weight_averaging(steps_per_epoch: int, epochs: int, routed: dict) -> dict:
    """The default optimizer options for an exponential moving average of the weights.

    Polyak averaging over the last ~``_EMA_STEPS`` steps (Keras's default momentum, 0.99)
    smooths the noise of the last minibatches out of the weights that are validated,
    early-stopped and kept (``bench/bench_wide_deep.py --ema-ablation`` compares it with
    training without). The horizon is at most a tenth of the training run, so a short run is
    not pulled back toward its initial weights; under two steps there is nothing to average.
    ``optimizer__use_ema`` (and ``ema_momentum``) override it.
    """
    if "use_ema" in routed:
        return {}
    horizon = min(_EMA_STEPS, epochs * steps_per_epoch / 10)
    if horizon < 2:
        return {}
    return {"use_ema": True, "ema_momentum": 1.0 - 1.0 / horizon}


def _averages_weights(optimizer) -> bool:
    """Whether the optimizer (or one inside a MultiOptimizer) keeps an average of the weights."""
    inner = getattr(optimizer, "optimizers", None) or [optimizer]
    return any(getattr(opt, "use_ema", False) for opt in inner)


def _check_finite_weights(model, name: str, history, learning_rate) -> None:
    """Raise when training diverged: a model with NaN/inf weights predicts NaN for every row."""
    if all(np.isfinite(w.numpy()).all() for w in model.weights):
        return
    losses = [float(v) for v in history.history.get("loss", [])]
    bad = next((i for i, v in enumerate(losses) if not np.isfinite(v)), len(losses) - 1)
    raise FloatingPointError(
        f"{name} training diverged: the loss became {losses[bad] if losses else 'NaN'} in "
        f"epoch {bad + 1} and the weights are NaN or infinite. Lower learning_rate (now "
        f"{learning_rate!r}), scale extreme inputs, or use optimizer='adam'."
    )


# The constructor parameters every Keras graph estimator shares, validated by
# ``BaseEstimator._validate_params`` at the start of ``fit``. Routed ``model__*``, ``fit__*``,
# ``optimizer__*``, ``compile__*`` and ``encoder__*`` options are not constructor parameters:
# their consumers (build_body, keras.Model.fit, the optimizer, the encoder) check them.
OPTIMIZER_CONSTRAINT = [str, type, HasMethods(["apply_gradients", "get_config"])]
_BASE_CONSTRAINTS = {
    "roles": [dict, None],
    "graph": [StrOptions(set(GRAPHS)), callable],
    "shared": [None, "boolean", list, tuple],
    "text": [StrOptions(set(TEXT_MODES))],
    "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "optimizer": OPTIMIZER_CONSTRAINT,
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
    "patience": [Interval(numbers.Integral, 0, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose", StrOptions({"auto"})],
}


class KerasGraphBase(FrameInputMixin, BaseEstimator):
    """Shared fit/predict machinery for the Keras graph estimators.

    Subclass hooks
    --------------
    ``_build_model(self, specs: list[InputSpec]) -> keras.Model``
        Build the uncompiled model. The default is ``build_body(specs, self.graph,
        **model__options)`` followed by ``self._make_outputs(features)``. A wide-and-deep
        subclass overrides it, computes its wide logits and passes them as
        ``self._make_outputs(features, extra_logits={output_name: logit_tensor})``: they are
        added to the head's pre-activation outputs (``self._output_names()`` lists the names;
        a single-output estimator uses ``"output"``).
    ``_make_encoder(self) -> InputEncoder``
        The encoder (anything with ``fit(X)``, ``transform(X, skip=())``, ``specs_``,
        ``streamed`` and ``read_images``) fitted in ``fit``.

    Everything the subclass learns must live in ``model_`` (Keras state) or plain Python /
    numpy attributes, so estimators pickle and :mod:`blend.io` can save them.
    """

    _blend_expensive = True
    _parameter_constraints: ClassVar[dict] = dict(_BASE_CONSTRAINTS)

    # ------------------------------------------------------------------ parameters
    def _store(self, routed: dict) -> None:
        for key, value in routed.items():
            if not key.startswith(ROUTES):
                raise TypeError(
                    f"{type(self).__name__} got an unexpected keyword argument {key!r}. "
                    f"Routed parameters start with one of {', '.join(ROUTES)}."
                )
            setattr(self, key, value)

    def get_params(self, deep: bool = True) -> dict:
        params = super().get_params(deep=False)
        params.update({k: v for k, v in vars(self).items() if k.startswith(ROUTES)})
        return params

    def set_params(self, **params):
        routed = {k: params.pop(k) for k in list(params) if k.startswith(ROUTES)}
        for key, value in routed.items():
            setattr(self, key, value)
        return super().set_params(**params) if params else self

    def _routed(self, prefix: str) -> dict:
        return {
            k[len(prefix) :]: v
            for k, v in self.get_params(deep=False).items()
            if k.startswith(prefix)
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN numerics are imputed with an indicator
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ hooks
    def _make_encoder(self) -> InputEncoder:
        return InputEncoder(
            self.roles, shared=self.shared, text=self.text, **self._routed("encoder__")
        )

    def _build_model(self, specs: list[InputSpec]):
        """Build the uncompiled Keras model from the input specs (override to extend)."""
        from blend.members.deep.branches import build_body

        keras = _keras()
        if callable(self.graph):
            model = self.graph(specs)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"graph={self.graph!r} returned {type(model).__name__}; a graph callable "
                    "must return a keras.Model taking the inputs named by the specs."
                )
            return model
        options = {
            "seed": self._layer_seed("body"),
            **self._model_defaults(),
            **self._routed("model__"),
        }
        inputs, features = build_body(specs, self.graph, **options)
        return keras.Model(inputs, self._make_outputs(features), name=self._model_name())

    def _model_name(self) -> str:
        return type(self).__name__.lower()

    def _model_defaults(self) -> dict:
        """Defaults for :func:`build_body` options that ``model__*`` parameters override."""
        return {}

    def _output_names(self) -> list[str]:
        return ["output"]

    def _make_outputs(self, features, extra_logits: Mapping | None = None):
        """Heads over ``features``; ``extra_logits`` are added before each activation."""
        raise NotImplementedError(f"{type(self).__name__} must define _make_outputs.")

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        """Checks across parameters that ``_parameter_constraints`` cannot express (hook)."""

    # ------------------------------------------------------------------ fit
    def _encode_targets(self, y, X: pd.DataFrame):
        """Return the training targets (array, or dict per output) and set target attributes."""
        raise NotImplementedError(f"{type(self).__name__} must define _encode_targets.")

    def _losses(self):
        raise NotImplementedError(f"{type(self).__name__} must define _losses.")

    def _loss_weights(self):
        return None

    def _make_optimizer(self, steps_per_epoch: int = 1):
        keras = _keras()
        optimizer = self.optimizer
        routed = self._routed("optimizer__")
        # An optimizer instance that already averages keeps its own settings.
        own = isinstance(optimizer, keras.optimizers.Optimizer) and optimizer.use_ema
        averaging = {} if own else _weight_averaging(steps_per_epoch, self.epochs, routed)
        options = {"learning_rate": self.learning_rate, **averaging, **routed}
        if isinstance(optimizer, str):
            return keras.optimizers.get({"class_name": optimizer, "config": options})
        if isinstance(optimizer, type):
            return optimizer(**options)
        if isinstance(optimizer, keras.optimizers.Optimizer):
            # A fresh copy: never train (or mutate) the user's optimizer instance.
            return type(optimizer).from_config({**optimizer.get_config(), **options})
        raise TypeError(f"optimizer must be a name, a class or an Optimizer, got {optimizer!r}.")

    def _warm_start(self, model, X, targets, weights, train_rows) -> None:
        """Set initial weights from the training rows before ``fit`` (subclasses; no-op)."""

    def _seed(self) -> int:
        """The fit's root seed: drawn once per ``fit`` from ``random_state``.

        Every random choice of the fit derives from it (validation split, batch order, layer
        initializers, dropout masks, the wide encoder's trees), through local generators only.
        """
        seed = getattr(self, "_fit_seed", None)
        if seed is None:
            seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        return seed

    def _layer_seed(self, *keys) -> int:
        """A seed for one part of the graph, derived from the fit's seed and ``keys``."""
        from blend.members.deep.blocks import derive_seed

        return derive_seed(self._seed(), "graph", *keys)

    def _initializer(self, *keys):
        """A seeded Glorot-uniform kernel initializer for one layer of the head."""
        from blend.members.deep.blocks import glorot

        return glorot(self._layer_seed(), *keys)

    def _split(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Training rows and validation rows (``None`` when there are too few to validate)."""
        n_val = round(n * self.validation_fraction)
        if n_val < _MIN_VALIDATION_ROWS or n - n_val < 2:
            return np.arange(n), None
        order = np.random.default_rng(seed).permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _callbacks(self, optimizer, validated: bool) -> list:
        keras = _keras()
        callbacks = [keras.callbacks.TerminateOnNaN()]  # stop at the first NaN loss
        if _averages_weights(optimizer):
            # Before EarlyStopping: validation, the best-epoch snapshot and the final model
            # all use the averaged weights.
            callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
        if validated and self.patience > 0:
            callbacks.append(self._early_stopping())
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    factor=0.5, patience=max(1, self.patience // 2), min_lr=1e-5
                )
            )
        return callbacks

    def _output_scale(self) -> dict | None:
        """``{output: factor}`` on the training rows' sample weights, read at every batch
        (a callback may change it between epochs); ``None``: unscaled."""
        return None

    def _early_stopping(self):
        """The early-stopping callback (restores the best validated weights at the end)."""
        return _keras().callbacks.EarlyStopping(
            patience=self.patience, restore_best_weights=True, min_delta=1e-5
        )

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the graph on a DataFrame (or a numeric array) and a target.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
        y : array-like
        sample_weight : array of shape (n_samples,), optional
        **fit_params
            Passed on to ``keras.Model.fit`` (after the ``fit__`` routed parameters).

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._check_X_fit(X)
        targets = self._encode_targets(y, X)
        weights = self._sample_weights(sample_weight, len(X), targets)
        self.__dict__.pop("_fit_seed", None)
        self._fit_seed = self._seed()
        try:
            self._fit_graph(X, targets, weights, fit_params)
        finally:
            del self._fit_seed
        return self

    def _fit_graph(self, X: pd.DataFrame, targets, weights, fit_params: dict) -> None:
        """Encode, build, compile and train (``fit`` after its checks)."""
        from blend.members.deep.inputs import FrameDataset

        keras = _keras()
        seed = self._seed()
        encoder = self._make_encoder().fit(X)
        self.encoder_ = encoder
        self.roles_ = dict(encoder.roles_)
        self.text_mode_ = dict(getattr(encoder, "text_modes_", {}))
        train_rows, val_rows = self._split(len(X), seed)

        model = self._build_model(encoder.specs_)
        self._warm_start(model, X, targets, weights, train_rows)
        # XLA on TensorFlow CPU costs more compile time than it saves on these small graphs;
        # JAX without jit would run eagerly (orders of magnitude slower), so it keeps "auto".
        jit = "auto" if keras.backend.backend() != "tensorflow" else False
        compile_options = {"jit_compile": jit, **self._routed("compile__")}
        steps_per_epoch = -(-len(train_rows) // self.batch_size)
        optimizer = self._make_optimizer(steps_per_epoch)
        model.compile(
            optimizer=optimizer,
            loss=self._losses(),
            loss_weights=self._loss_weights(),
            **compile_options,
        )
        options = {
            "epochs": self.epochs,
            "verbose": self.verbose,
            # The dataset draws its own batch order (below); Keras' shuffle of a PyDataset's
            # batches would draw from Python's global random module.
            "shuffle": False,
            **self._routed("fit__"),
            **fit_params,
        }
        callbacks = self._callbacks(optimizer, val_rows is not None)
        options["callbacks"] = callbacks + list(options.get("callbacks") or [])

        def take(t, rows):
            if t is None:
                return None
            return {k: v[rows] for k, v in t.items()} if isinstance(t, dict) else t[rows]

        def dataset(rows, shuffle):
            # Batches in an order drawn from ``seed`` (a local generator, reshuffled every
            # epoch): Keras' own shuffling would draw from the backend's global random state.
            return FrameDataset(
                encoder,
                X.iloc[rows],
                take(targets, rows),
                take(weights, rows),
                batch_size=self.batch_size,
                shuffle=shuffle,
                seed=seed,
            )

        train = dataset(train_rows, True)
        train.output_scale = self._output_scale()
        val = dataset(val_rows, False) if val_rows is not None else None
        with _quiet_tensorflow(self.verbose):
            history = model.fit(train, validation_data=val, **options)
        restore_thresholds(keras_backend())  # TensorFlow's data op lowered it (see module)
        _check_finite_weights(model, type(self).__name__, history, self.learning_rate)
        self.model_ = model
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.backend_, self.device_ = keras_backend(), training_device()
        self._forward = None

    def _sample_weights(self, sample_weight, n: int, targets) -> np.ndarray | None:
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if len(weights) != n:
            raise ValueError(
                f"sample_weight has {len(weights)} values but X has {n} rows; pass one per row."
            )
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError("sample_weight must be finite and non-negative.")
        if not weights.any():
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return weights.astype(np.float32)

    # ------------------------------------------------------------------ predict
    def _raw_predict(self, X):
        """Model outputs for ``X`` (array, or dict per output), through the compiled path."""
        X = self._check_X_predict(X)
        if getattr(self, "_forward", None) is None:
            from blend.members.deep.compiled_predict import compile_forward

            self._forward = compile_forward(self.model_)
        chunks = []
        for start in range(0, max(len(X), 1), _PREDICT_CHUNK):
            part = X.iloc[start : start + _PREDICT_CHUNK]
            with _quiet_tensorflow(self.verbose):
                chunks.append(self._forward(self.encoder_.transform(part)))
        if len(X) == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        if isinstance(chunks[0], dict):
            return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        return np.concatenate(chunks)

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state.pop("_forward", None)  # compiled function: rebuilt on first predict
        return state


def _base_params(obj, roles, graph, shared, text, epochs, batch_size, learning_rate, optimizer,
                 validation_fraction, patience, random_state, verbose):  # fmt: skip
    obj.roles = roles
    obj.graph = graph
    obj.shared = shared
    obj.text = text
    obj.epochs = epochs
    obj.batch_size = batch_size
    obj.learning_rate = learning_rate
    obj.optimizer = optimizer
    obj.validation_fraction = validation_fraction
    obj.patience = patience
    obj.random_state = random_state
    obj.verbose = verbose


_PARAMS_DOC = """
    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides; other columns are inferred (:func:`blend.infer_roles`).
    graph : str or callable, default="auto"
        ``"auto"``, ``"mlp"``, ``"resnet"``, ``"separable"``, ``"inception"`` (see
        :mod:`blend.members.deep.branches`), or ``graph(specs) -> keras.Model``: your own functional
        graph over inputs named ``spec.name``, ending in the outputs this estimator expects.
    shared : None, False or list of column lists, default=None
        Columns sharing one encoder. ``None``: image columns of the same shape share one.
    text : {"auto", "bag", "sequence"}, default="auto"
        How text columns are read. ``"sequence"``: token ids through an embedding and the
        graph's sequence encoder (a Conv1D by default). ``"bag"``: the TF-IDF weights of the
        column's unigrams and bigrams (the most frequent in the training rows: at most one per
        16 rows and ``encoder__max_tokens``) through a dense layer with dropout. ``"auto"``:
        a bag where the training rows divided by the column's mean words is below 1,500, a
        sequence beyond (Chollet, *Deep Learning with Python*, 2nd ed., section 11.3);
        ``text_mode_`` records the choice.
    epochs : int, default=200
        Maximum epochs; early stopping on the validation split usually ends training sooner.
    batch_size : int, default=256
    learning_rate : float, default=3e-3
    optimizer : str, class or keras Optimizer, default="adam"
        Trained with an exponential moving average of its weights (Keras's ``use_ema``, over
        the last ~100 steps, fewer in short runs): validation, early stopping and the final
        model use the averaged weights. ``optimizer__use_ema=False`` trains without it,
        ``optimizer__ema_momentum`` sets your own momentum.
    validation_fraction : float, default=0.1
        Rows held out for early stopping (``restore_best_weights``) and learning-rate
        reduction; ``0`` trains all ``epochs`` on every row.
    patience : int, default=10
        Epochs without validation improvement before stopping (the learning rate halves after
        ``patience // 2``).
    random_state : int, RandomState or None
        Seeds the validation split, the batch order and every random layer of the named
        graphs (initializers, dropout, image mirroring), through local generators: the same
        seed gives identical predictions on CPU, and fitting leaves the global random states
        of Python, NumPy and the backend as they were. A ``graph`` callable seeds its own
        layers (e.g. ``kernel_initializer=keras.initializers.GlorotUniform(seed=0)``).
    verbose : int, default=0
    **routed
        ``model__<option>`` (to :func:`~blend.members.deep.branches.build_body`,
        e.g. ``model__units``,
        ``model__text="lstm"``), ``optimizer__<option>``, ``fit__<option>`` (to
        ``keras.Model.fit``, e.g. ``fit__callbacks``), ``compile__<option>`` and
        ``encoder__<option>`` (to :class:`~blend.members.deep.inputs.InputEncoder`, e.g.
        ``encoder__max_tokens``).
"""

_ATTRIBUTES_DOC = """
    model_ : keras.Model
        The trained graph.
    encoder_ : InputEncoder
        The fitted input encoder (vocabularies, scaling, image shapes).
    roles_ : dict
        The resolved ``{column: role}`` mapping.
    text_mode_ : dict
        ``{text column: "bag" or "sequence"}``: how each text column was read (see ``text``).
    history_ : dict of lists
        Per-epoch training (and validation) losses.
    backend_ : str
        The Keras backend the model was trained on (its file loads on any backend).
    device_ : str
        Where it was trained, for example ``"cpu:0"`` or ``"gpu:0"``: Keras' default, the
        first accelerator it sees (:mod:`blend.members.deep.devices`).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
"""


class KerasGraphRegressor(RegressorMixin, KerasGraphBase):
    __doc__ = f"""A multi-input Keras graph regressor trained from a DataFrame.

    The target is standardized inside the model (a final ``Rescaling`` layer maps the head's
    output back), so the defaults work for any target scale. ``y`` may be 2-D (several
    outputs).
    {_PARAMS_DOC}
    loss : str or keras loss, default="mse"

    Attributes
    ----------
    {_ATTRIBUTES_DOC}

    Examples
    --------
    >>> from blend import KerasGraphRegressor
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(200, random_state=0)
    >>> reg = KerasGraphRegressor(epochs=2, random_state=0).fit(X, y)
    >>> reg.predict(X.iloc[:3]).shape
    (3,)
    """

    def __init__(
        self,
        *,
        roles=None,
        graph="auto",
        shared=None,
        text="auto",
        epochs=200,
        batch_size=256,
        learning_rate=3e-3,
        optimizer="adam",
        validation_fraction=0.1,
        patience=10,
        random_state=None,
        verbose=0,
        loss="mse",
        **routed,
    ):
        _base_params(self, roles, graph, shared, text, epochs, batch_size, learning_rate,
                     optimizer, validation_fraction, patience, random_state, verbose)  # fmt: skip
        self.loss = loss
        self._store(routed)

    _parameter_constraints: ClassVar[dict] = {**_BASE_CONSTRAINTS, "loss": [str, callable]}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _encode_targets(self, y, X):
        y = check_target(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"A regressor needs a numeric target; y has dtype {y.dtype}. "
                    "Use KerasGraphClassifier for labels."
                ) from error
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass one target per row.")
        self._y_ndim = y.ndim
        y = y.reshape(len(y), -1).astype(np.float32)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity; drop or fill those rows before fitting.")
        self.n_outputs_ = y.shape[1]
        self.target_mean_ = y.mean(axis=0).astype(float).tolist()
        std = y.std(axis=0)
        # A constant column gets scale 0: the output is exactly the constant, not constant + z.
        self.target_scale_ = np.where(std > 1e-12, std, 0.0).astype(float).tolist()
        return y

    def _losses(self):
        return self.loss

    def _make_outputs(self, features, extra_logits=None):
        from keras import layers

        z = layers.Dense(
            self.n_outputs_,
            kernel_initializer=self._initializer("output_logit"),
            name="output_logit",
        )(features)
        if extra_logits and extra_logits.get("output") is not None:
            z = layers.Add(name="output_sum")([z, extra_logits["output"]])
        return layers.Rescaling(self.target_scale_, self.target_mean_, name="output")(z)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape ``(n,)`` (or ``(n, n_outputs)`` for a 2-D ``y``)."""
        out = self._raw_predict(X).astype(np.float64)
        return out.ravel() if self._y_ndim == 1 else out


class KerasGraphClassifier(ClassifierMixin, KerasGraphBase):
    __doc__ = f"""A multi-input Keras graph classifier trained from a DataFrame.

    Binary problems use one sigmoid unit, others a softmax. Labels may be strings or
    integers.
    {_PARAMS_DOC}
    class_weight : None, "balanced" or dict, default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray
    {_ATTRIBUTES_DOC}

    Examples
    --------
    >>> from blend import KerasGraphClassifier
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(200, random_state=0)
    >>> clf = KerasGraphClassifier(epochs=2, random_state=0).fit(X, y > y.median())
    >>> clf.predict_proba(X.iloc[:2]).shape
    (2, 2)
    """

    def __init__(
        self,
        *,
        roles=None,
        graph="auto",
        shared=None,
        text="auto",
        epochs=200,
        batch_size=256,
        learning_rate=3e-3,
        optimizer="adam",
        validation_fraction=0.1,
        patience=10,
        random_state=None,
        verbose=0,
        class_weight=None,
        **routed,
    ):
        _base_params(self, roles, graph, shared, text, epochs, batch_size, learning_rate,
                     optimizer, validation_fraction, patience, random_state, verbose)  # fmt: skip
        self.class_weight = class_weight
        self._store(routed)

    _parameter_constraints: ClassVar[dict] = {
        **_BASE_CONSTRAINTS,
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }

    def _encode_targets(self, y, X):
        self.classes_, codes = check_class_labels(
            y, len(X), who="KerasGraphClassifier", regressor="KerasGraphRegressor",
            hint=" For several targets use KerasMultiTaskEstimator.", stacklevel=4,
        )  # fmt: skip
        self._codes = codes
        if len(self.classes_) == 2:
            return codes.astype(np.float32).reshape(-1, 1)
        return codes.astype(np.int32)

    def _sample_weights(self, sample_weight, n, targets):
        weights = super()._sample_weights(sample_weight, n, targets)
        if self.class_weight is None:
            return weights
        k = len(self.classes_)
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            counts = np.bincount(self._codes, minlength=k)
            per_class = n / (k * np.maximum(counts, 1))
        else:  # a dict (the parameter constraints allow nothing else)
            unknown = [c for c in self.class_weight if c not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight names classes {unknown} that y does not contain; "
                    f"classes are {self.classes_.tolist()}."
                )
            per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_])
        row = per_class[self._codes].astype(np.float32)
        return row if weights is None else weights * row

    def _losses(self):
        return (
            "binary_crossentropy" if len(self.classes_) == 2 else "sparse_categorical_crossentropy"
        )

    def _make_outputs(self, features, extra_logits=None):
        from keras import layers

        k = len(self.classes_)
        z = layers.Dense(
            1 if k == 2 else k,
            kernel_initializer=self._initializer("output_logit"),
            name="output_logit",
        )(features)
        if extra_logits and extra_logits.get("output") is not None:
            z = layers.Add(name="output_sum")([z, extra_logits["output"]])
        return layers.Activation("sigmoid" if k == 2 else "softmax", name="output")(z)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)`` in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        p = self._raw_predict(X).astype(np.float64)
        if len(self.classes_) == 2:
            p = p.reshape(-1, 1)
            p = np.hstack([1.0 - p, p])
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most probable class per row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def infer_task(series: pd.Series) -> str:
    """``"regression"``, ``"binary"`` or ``"multiclass"`` from a target column's dtype.

    Floats are regression; booleans, categoricals and strings are binary (two values) or
    multiclass; integers are binary with two distinct values, else regression (pass
    ``tasks=`` to say otherwise).
    """
    values = series.dropna()
    n_unique = values.nunique()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "binary"
    if pd.api.types.is_float_dtype(dtype):
        return "regression"
    if pd.api.types.is_integer_dtype(dtype):
        return "binary" if n_unique == 2 else "regression"
    return "binary" if n_unique == 2 else "multiclass"


class KerasMultiTaskEstimator(KerasGraphBase):
    __doc__ = f"""One multi-input body, one head per target column.

    ``y`` is a DataFrame with one column per task (a *head*; a 2-D numeric array gives heads
    named by position, as a blender passes a multi-output target). Each head is ``"regression"``
    (linear, mean squared error), ``"binary"`` (sigmoid, binary cross-entropy) or
    ``"multiclass"`` (softmax, sparse categorical cross-entropy), inferred from the column
    dtypes (:func:`infer_task`) or given with ``tasks``.

    Training is set up so that one network does the work of one network per head
    (:mod:`blend.members.deep.multitask` says why): every head starts at its training prior and
    its loss is divided by its loss there, so each head's weighted loss starts at 1; early
    stopping is per head (a head that stops improving leaves the loss, and predicts from its
    own best epoch), and training stops when no head improves. Text read as a bag of n-grams
    gets a dense layer 64 units wide per head (256 at most; ``model__bag_units`` overrides).
    {_PARAMS_DOC}
    tasks : dict, optional
        ``{{column: task type}}`` overriding inference.
    loss_weights : dict, optional
        ``{{column: weight}}`` multiplying the default weight of the heads named (1 for the
        others). The default weight of a head is one over its loss at initialisation
        (``head_baseline_loss_``).

    Attributes
    ----------
    tasks_ : dict
        ``{{column: task type}}``.
    classes_ : dict
        ``{{column: ndarray of labels}}`` for the classification heads.
    head_baseline_loss_ : dict
        ``{{column: loss of predicting the training prior}}`` (the variance of a regression
        target, the entropy of a class distribution): each head's loss at initialisation.
    head_best_epoch_ : dict
        ``{{column: epoch}}`` (from 1) where each head's validation loss was lowest; empty
        without validation.
    best_epoch_ : int or None
        The epoch of the weights kept (lowest sum of normalized validation losses). A head
        whose own best epoch differs predicts with a copy of the body at that epoch, inside
        ``model_``.
    {_ATTRIBUTES_DOC}

    Examples
    --------
    >>> import pandas as pd
    >>> from blend import KerasMultiTaskEstimator
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(200, random_state=0)
    >>> Y = pd.DataFrame({{"price": y, "expensive": y > y.median()}})
    >>> est = KerasMultiTaskEstimator(epochs=2, random_state=0).fit(X, Y)
    >>> est.predict(X.iloc[:2]).columns.tolist()
    ['price', 'expensive']
    >>> sorted(est.score_per_head(X, Y))
    ['expensive', 'price']
    """

    def __init__(
        self,
        *,
        roles=None,
        graph="auto",
        shared=None,
        text="auto",
        epochs=200,
        batch_size=256,
        learning_rate=3e-3,
        optimizer="adam",
        validation_fraction=0.1,
        patience=10,
        random_state=None,
        verbose=0,
        tasks=None,
        loss_weights=None,
        **routed,
    ):
        _base_params(self, roles, graph, shared, text, epochs, batch_size, learning_rate,
                     optimizer, validation_fraction, patience, random_state, verbose)  # fmt: skip
        self.tasks = tasks
        self.loss_weights = loss_weights
        self._store(routed)

    _parameter_constraints: ClassVar[dict] = {
        **_BASE_CONSTRAINTS,
        "tasks": [None, dict],
        "loss_weights": [None, dict],
    }

    def _output_names(self) -> list[str]:
        return list(self._heads)

    def _encode_targets(self, y, X):
        from blend.members.deep.multitask import baseline_loss

        y = _target_frame(y, len(X))
        tasks = _check_tasks(self.tasks, y)
        self.tasks_, self.classes_, self._heads = {}, {}, {}
        self.target_mean_, self.target_scale_ = {}, {}
        self.head_baseline_loss_, self._priors = {}, {}
        targets = {}
        used = set()
        for column in y.columns:
            task = tasks.get(column) or infer_task(y[column])
            head = _head_name(column, used)
            self.tasks_[column] = task
            self._heads[head] = column
            if task == "regression":
                targets[head] = self._regression_target(y[column], column)
                scale = self.target_scale_[column]
            else:
                targets[head] = self._class_target(y[column], column, task)
                scale = 1.0
            self.head_baseline_loss_[column] = baseline_loss(task, targets[head], scale)
        return targets

    def _regression_target(self, series: pd.Series, column) -> np.ndarray:
        try:
            values = check_target(series.astype(np.float64), name=f"y[{column!r}]")
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Head {column!r} is a regression head but its target is not numeric and "
                f"finite ({error}); declare it with tasks={{{column!r}: 'multiclass'}} or fix "
                "the column."
            ) from error
        values = values.astype(np.float32).reshape(-1, 1)
        self.target_mean_[column] = float(values.mean())
        std = float(values.std())
        self.target_scale_[column] = std if std > 1e-12 else 1.0
        return values

    def _class_target(self, series: pd.Series, column, task: str) -> np.ndarray:
        from blend.members.deep.multitask import prior_logits

        classes, codes = np.unique(series.to_numpy(), return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"Head {column!r} has only one class ({classes[0]!r}).")
        if task == "binary" and len(classes) != 2:
            raise ValueError(
                f"Head {column!r} is declared 'binary' but has {len(classes)} classes; "
                "declare it 'multiclass'."
            )
        self.classes_[column] = classes
        self._priors[column] = prior_logits(task, codes)
        if task == "binary":
            return codes.astype(np.float32).reshape(-1, 1)
        return codes.astype(np.int32)

    def _losses(self):
        losses = {
            "regression": "mse",
            "binary": "binary_crossentropy",
            "multiclass": "sparse_categorical_crossentropy",
        }
        return {head: losses[self.tasks_[column]] for head, column in self._heads.items()}

    def _loss_weights(self):
        """Each head's loss over its loss at initialisation, times ``loss_weights``."""
        given = dict(self.loss_weights or {})
        unknown = set(given) - set(self.tasks_)
        if unknown:
            raise ValueError(
                f"loss_weights names head(s) {sorted(unknown, key=str)}, which y does not have "
                f"(heads: {list(self.tasks_)})."
            )
        return {
            head: float(given.get(column, 1.0)) / self.head_baseline_loss_[column]
            for head, column in self._heads.items()
        }

    def _early_stopping(self):
        from blend.members.deep.multitask import head_early_stopping

        self._stopper = head_early_stopping(
            self._heads, self._loss_weights(), self.patience, gates=self._gates
        )
        return self._stopper

    def _output_scale(self) -> dict:
        return self._gates  # a head that stopped improving leaves the training loss

    def _model_defaults(self) -> dict:
        # One shared text layer serves every head: as wide as a single-task network's per head.
        return {"bag_units": min(_MAX_BAG_UNITS, _BAG_UNITS * len(self._heads))}

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit every head on one body (see :meth:`KerasGraphBase.fit`).

        Parameters
        ----------
        X : DataFrame
        y : DataFrame
            One column per head, no missing values.
        sample_weight : array of shape (n_samples,), optional

        Returns
        -------
        self
        """
        from blend.members.deep.multitask import assemble_checkpoints

        self._stopper, self._gates = None, {}
        try:
            super().fit(X, y, sample_weight=sample_weight, **fit_params)
            stopper = self._stopper
            self.head_best_epoch_ = dict(stopper.best_epochs) if stopper else {}
            self.best_epoch_ = (stopper.best_epoch or None) if stopper else None
            if self.best_epoch_:
                self.model_ = assemble_checkpoints(
                    self.model_, stopper.head_weights, self.best_epoch_
                )
                stopper.head_weights = {}
        finally:
            for name in ("_stopper", "_priors", "_gates"):
                self.__dict__.pop(name, None)
        return self

    def _make_outputs(self, features, extra_logits=None):
        import keras
        from keras import layers

        extra_logits = extra_logits or {}
        outputs = {}
        for head, column in self._heads.items():
            task = self.tasks_[column]
            units = len(self.classes_[column]) if task == "multiclass" else 1
            prior = self._priors.get(column)
            bias = "zeros" if prior is None else keras.initializers.Constant(prior)
            z = layers.Dense(
                units,
                kernel_initializer=self._initializer(head),
                bias_initializer=bias,
                name=f"{head}_logit",
            )(features)
            if extra_logits.get(head) is not None:
                z = layers.Add(name=f"{head}_sum")([z, extra_logits[head]])
            if task == "regression":
                scale, mean = self.target_scale_[column], self.target_mean_[column]
                outputs[head] = layers.Rescaling(scale, mean, name=head)(z)
            else:
                act = "sigmoid" if task == "binary" else "softmax"
                outputs[head] = layers.Activation(act, name=head)(z)
        return outputs

    def _proba(self, raw: dict, head: str, column: str) -> np.ndarray:
        p = np.asarray(raw[head], dtype=np.float64)
        if self.tasks_[column] == "binary":
            p = np.hstack([1.0 - p.reshape(-1, 1), p.reshape(-1, 1)])
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> pd.DataFrame:
        """One column per task: values for regression heads, labels for the others."""
        raw = self._raw_predict(X)
        out = {}
        for head, column in self._heads.items():
            if self.tasks_[column] == "regression":
                out[column] = np.asarray(raw[head], dtype=np.float64).ravel()
            else:
                out[column] = self.classes_[column][self._proba(raw, head, column).argmax(1)]
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(out, index=index)

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        """``{column: (n, n_classes) probabilities}`` for every classification head."""
        raw = self._raw_predict(X)
        return {
            column: self._proba(raw, head, column)
            for head, column in self._heads.items()
            if self.tasks_[column] != "regression"
        }

    def score_per_head(self, X, y) -> dict:
        """``{column: score}`` per head: R² for regression heads, accuracy for the others.

        Parameters
        ----------
        X : DataFrame
        y : DataFrame
            One column per head (other columns are ignored).

        Returns
        -------
        dict
        """
        from blend.members.deep.multitask import score_heads

        check_is_fitted(self, "model_")
        y = y.to_frame() if isinstance(y, pd.Series) else y
        return score_heads(self.tasks_, y, self.predict(X))

    def score(self, X, y) -> float:
        """The mean over heads of :meth:`score_per_head` (R² or accuracy)."""
        return float(np.mean(list(self.score_per_head(X, y).values())))


def _target_frame(y, n: int) -> pd.DataFrame:
    """``y`` as a DataFrame with ``n`` rows and no missing value, or an error naming the head.

    A 2-D array (a blender's multi-output target) gives heads named by column position.
    """
    if isinstance(y, pd.Series):
        y = y.to_frame()
    if isinstance(y, np.ndarray) and y.ndim == 2:
        y = pd.DataFrame(y)
    if not isinstance(y, pd.DataFrame):
        raise TypeError(
            f"KerasMultiTaskEstimator needs y as a DataFrame (one column per head), got "
            f"{type(y).__name__}."
        )
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}; pass one target row per row of X.")
    for column in y.columns:
        missing = int(y[column].isna().sum())
        if missing:
            raise ValueError(
                f"Head {column!r}: the target column has {missing} missing value(s); drop "
                "those rows or fill them before fitting."
            )
    return y


def _check_tasks(tasks, y: pd.DataFrame) -> dict:
    """``tasks`` checked against ``y``'s columns and the supported head kinds."""
    tasks = dict(tasks or {})
    for column, task in tasks.items():
        if column not in y.columns:
            raise ValueError(
                f"tasks names head {column!r}, which is not a column of y (columns: "
                f"{list(y.columns)})."
            )
        if task not in TASK_TYPES:
            raise ValueError(
                f"Head {column!r}: task type {task!r} is unknown; the supported head kinds are "
                f"{TASK_TYPES}."
            )
    return tasks


def _head_name(column: object, used: set[str]) -> str:
    import re

    base = re.sub(r"[^0-9A-Za-z_]", "_", str(column)) or "task"
    base = f"y{base}" if base[0].isdigit() else base  # output names start with a letter
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}_{i}"
    used.add(name)
    return name
