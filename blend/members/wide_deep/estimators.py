"""Wide & Deep joint models (Cheng et al. 2016): a sparse linear part and a deep graph, one loss.

:class:`WideDeepRegressor` and :class:`WideDeepClassifier` are the deep estimators of
:mod:`blend.members.deep.estimators` (same fit loop, routed parameters, validation, compiled predict
path, pickling) with a *wide* part added to their graph: a linear model over one-hot
categoricals, quantile-bucketized numerics, hashed crosses of categoricals and, optionally, the
leaves of boosted trees (He et al. 2014), encoded by :class:`blend.features.wide.WideEncoder`
and computed by :class:`blend.members.wide_deep.layers.WideLinear`.
The wide logit is added to the deep
head's logit *before* the output activation, so both parts train jointly on one loss.

Ablations with the same budget: ``deep=None`` trains the wide part alone, ``wide=False`` the
deep part alone.

Optimizers: by default one optimizer (``optimizer``, Adam) trains everything. With
``wide_optimizer="ftrl"`` the wide weights get FTRL-Proximal with L1 (as in the paper) and the
deep weights keep ``optimizer``, through Keras 3's ``keras.optimizers.MultiOptimizer`` (which
routes each variable by its path); it is backend-agnostic Keras code, tested here on
TensorFlow, the backend CI runs.
"""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from blend.features.wide import WIDE_DENSE, WIDE_INPUT, WideEncoder
from blend.members.deep import GRAPHS
from blend.members.deep.estimators import (
    _ATTRIBUTES_DOC,
    OPTIMIZER_CONSTRAINT,
    KerasGraphClassifier,
    KerasGraphRegressor,
    _keras,
)
from blend.members.wide_deep import layers as _wide_layers  # noqa: F401  registers WideLinear: files load anywhere
from blend.members.wide_deep.inputs import JointEncoder

__all__ = ["WideDeepClassifier", "WideDeepRegressor"]

WIDE_LAYER = "wide_linear"
WIDE_DENSE_LAYER = "wide_dense_linear"  # the image descriptors' weights
_FTRL_MAX_RATE = 0.2  # tf.estimator's linear default: min(0.2, 1 / sqrt(n_fields))
# wide_l2="auto": a ridge penalty worth this many rows per wide weight, for the wide part's
# convex start and for wide parts trained without one (wide-only, wide_init="zeros"): Adam
# moves every weight at the same pace whatever its support, so rarely-seen crosses memorize
# noise. A joint model started from the convex solution trains without it (_wide_l2_value).
WIDE_PSEUDO_ROWS = 20.0
WIDE_INITS = ("convex", "zeros")


# The wide & deep parameters, on top of the Keras graph estimators' own (``graph`` is
# ``deep`` here, where None means the wide part alone).
_WIDE_CONSTRAINTS = {
    "crosses": [None, StrOptions({"auto"}), list, tuple],
    "deep": [None, StrOptions(set(GRAPHS)), callable],
    "wide": ["boolean"],
    "wide_init": [StrOptions(set(WIDE_INITS))],
    "wide_images": ["boolean"],
    "gbdt_leaves": ["boolean"],
    "wide_optimizer": [None, *OPTIMIZER_CONSTRAINT],
    "wide_learning_rate": [None, Interval(numbers.Real, 0, None, closed="neither")],
    "wide_l1": [Interval(numbers.Real, 0, None, closed="left")],
    "wide_l2": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
    "max_crosses": [Interval(numbers.Integral, 1, None, closed="left")],
    "cross_buckets": [Interval(numbers.Integral, 2, None, closed="left")],
    "numeric_buckets": [Interval(numbers.Integral, 2, None, closed="left")],
    "gbdt_params": [None, dict],
}


def _wide_deep_constraints(base: type) -> dict:
    constraints = {**base._parameter_constraints, **_WIDE_CONSTRAINTS}
    del constraints["graph"]  # named deep here
    return constraints


class _WideDeepMixin:
    """Wide part, joint graph, two optimizers and wide-weight inspection for both tasks."""

    _blend_expensive = True

    @property
    def graph(self):
        # KerasGraphBase validates and reads `graph`; here the deep graph is called `deep`.
        return "auto" if self.deep is None else self.deep

    def _wide_params(self, crosses, deep, wide, wide_init, wide_images, gbdt_leaves,
                     wide_optimizer, wide_learning_rate, wide_l1, wide_l2, max_crosses,
                     cross_buckets, numeric_buckets, gbdt_params) -> None:  # fmt: skip
        self.crosses = crosses
        self.deep = deep
        self.wide = wide
        self.wide_init = wide_init
        self.wide_images = wide_images
        self.gbdt_leaves = gbdt_leaves
        self.wide_optimizer = wide_optimizer
        self.wide_learning_rate = wide_learning_rate
        self.wide_l1 = wide_l1
        self.wide_l2 = wide_l2
        self.max_crosses = max_crosses
        self.cross_buckets = cross_buckets
        self.numeric_buckets = numeric_buckets
        self.gbdt_params = gbdt_params

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        """The checks across parameters (each one alone is in ``_parameter_constraints``)."""
        super()._check_params()
        if self.deep is None and not self.wide:
            raise ValueError(
                "deep=None and wide=False leave nothing to train; set deep to a graph name "
                "or wide=True."
            )
        if self.gbdt_leaves and not self.wide:
            raise ValueError(
                "gbdt_leaves=True feeds tree leaves to the wide part; set wide=True, or "
                "gbdt_leaves=False."
            )

    # ------------------------------------------------------------------ hooks
    def _encode_targets(self, y, X):
        targets = super()._encode_targets(y, X)
        self._wide_target = targets  # for crosses="auto" and the trees; dropped after fit
        return targets

    def _make_encoder(self) -> JointEncoder:
        deep = super()._make_encoder() if self.deep is not None else None
        wide = None
        if self.wide:
            wide = WideEncoder(
                self.roles,
                crosses=self.crosses,
                max_crosses=self.max_crosses,
                cross_buckets=self.cross_buckets,
                numeric_buckets=self.numeric_buckets,
                images=self.wide_images,
                gbdt_leaves=self.gbdt_leaves,
                gbdt_params=self.gbdt_params,
                task=self._task,
                random_state=self._seed(),
            )
        return JointEncoder(deep, wide, getattr(self, "_wide_target", None))

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the wide and deep parts jointly (see :meth:`KerasGraphBase.fit`).

        The wide part's crosses (``"auto"``) and boosted trees are learned from all the rows
        passed, including the internal validation split; ``sample_weight`` weighs the loss only.
        """
        try:
            return super().fit(X, y, sample_weight=sample_weight, **fit_params)
        finally:
            self.__dict__.pop("_wide_target", None)

    def _warm_start(self, model, X, targets, weights, train_rows) -> None:
        """``wide_init="convex"``: start the wide part at its own optimum on the training rows.

        Alone, the wide part is a convex problem (ridge regression or L2 logistic regression on
        the one-hot ids) with the same penalty as in training, solved exactly here; its
        intercept goes to the bias of the head. The deep head's kernel starts at zero, so the
        joint model starts as the wide model and its deep part learns what the wide part
        leaves, instead of both racing from random starts (Adam moves the many rare wide
        weights as fast as the deep ones).
        """
        if not self.wide or self.wide_init == "zeros":
            return
        from scipy import sparse

        onehot = self.encoder_.wide.one_hot(X.iloc[train_rows])
        dense = self.encoder_.wide.transform_dense(X.iloc[train_rows])
        if dense is not None:
            onehot = sparse.hstack([onehot, sparse.csr_matrix(dense)], format="csr")
        rows_weight = None if weights is None else np.asarray(weights)[train_rows]
        coef, intercept = self._convex_wide(onehot, np.asarray(targets)[train_rows], rows_weight)
        n_ids = self.encoder_.wide.n_ids_
        if dense is not None:
            model.get_layer(WIDE_DENSE_LAYER).kernel.assign(coef[n_ids:].astype(np.float32))
        layer = model.get_layer(WIDE_LAYER)
        layer.kernel.assign(coef[:n_ids].astype(np.float32))
        if layer.use_bias:
            layer.bias.assign(intercept.astype(np.float32))
        else:
            head = model.get_layer("output_logit")
            head.bias.assign(intercept.astype(np.float32))
            head.kernel.assign(np.zeros(tuple(head.kernel.shape), dtype=np.float32))

    def _init_l2(self) -> float:
        """The L2 penalty (per weight, on the mean loss) of the initial convex solution."""
        return self._wide_l2_value() or self._auto_l2()  # FTRL or wide_l2=0: the "auto" one

    def _fit_rows(self) -> int:
        """Rows the wide encoder was fitted on (every row hits one id per field)."""
        wide = self.encoder_.wide
        return int(wide.id_counts_.sum() // max(len(wide.fields_), 1))

    def _auto_l2(self) -> float:
        return WIDE_PSEUDO_ROWS / max(self._fit_rows(), 1)

    def _build_model(self, specs):
        from keras import layers

        from blend.members.wide_deep.layers import WideLinear

        keras = _keras()
        deep_specs = [s for s in specs if s.name not in (WIDE_INPUT, WIDE_DENSE)]
        inputs, features = {}, None
        if self.deep is not None:
            from blend.members.deep.branches import build_body, make_inputs

            if callable(self.deep):
                inputs = make_inputs(deep_specs)
                body = self.deep(deep_specs)
                if not isinstance(body, keras.Model):
                    raise TypeError(
                        f"deep={self.deep!r} returned {type(body).__name__}; a deep callable "
                        "must return a keras.Model from the inputs named by the specs (a dict) "
                        "to a feature vector."
                    )
                features = body(inputs)
            else:
                options = {"seed": self._layer_seed("body"), **self._routed("model__")}
                inputs, features = build_body(deep_specs, self.deep, **options)
        extra = None
        if self.wide:
            (spec,) = [s for s in specs if s.name == WIDE_INPUT]
            ids = keras.Input(shape=spec.shape, dtype="int32", name=WIDE_INPUT)
            inputs[WIDE_INPUT] = ids
            ftrl = self._wide_optimizer_name() == "ftrl"
            logit = WideLinear(
                spec.vocab_size,
                self._logit_units(),
                use_bias=features is None,  # the deep head has the bias in joint models
                l1=0.0 if ftrl else self.wide_l1,
                l2=0.0 if ftrl else self._wide_l2_value(),
                name=WIDE_LAYER,
            )(ids)
            dense = [s for s in specs if s.name == WIDE_DENSE]
            if dense:
                values = keras.Input(shape=dense[0].shape, dtype="float32", name=WIDE_DENSE)
                inputs[WIDE_DENSE] = values
                penalty = 0.0 if ftrl else self._wide_l2_value()
                dense_logit = layers.Dense(
                    self._logit_units(),
                    use_bias=False,
                    kernel_initializer="zeros",
                    kernel_regularizer=keras.regularizers.L1L2(
                        0.0 if ftrl else self.wide_l1, penalty
                    ),
                    name=WIDE_DENSE_LAYER,
                )(values)
                logit = layers.Add(name="wide_logit")([logit, dense_logit])
            extra = {"output": logit}
        if features is None:
            outputs = self._activation(layers, extra["output"])
        else:
            outputs = self._make_outputs(features, extra)
        return keras.Model(inputs, outputs, name=self._model_name())

    def _wide_l2_value(self) -> float:
        """``wide_l2`` as a number: ``"auto"`` is WIDE_PSEUDO_ROWS rows' worth of ridge penalty.

        Keras adds ``l2 * sum(w**2)`` to each batch's *mean* loss, so over ``n`` rows a penalty
        of ``k / n`` shrinks a weight supported by ``c`` rows by ``c / (c + k)``: crosses seen
        a few times stay near zero, well-supported levels are barely touched. FTRL applies its
        own (per-step) L2, so ``"auto"`` means none there, as in the paper.

        A joint model started from the convex solution trains without it too: the start
        already holds the shrinkage, and while training a penalty on the wide weights alone
        only pushes their effects into the unpenalized deep part, which learns them worse.
        """
        if not (isinstance(self.wide_l2, str) and self.wide_l2 == "auto"):
            return float(self.wide_l2)
        if self._wide_optimizer_name() == "ftrl":
            return 0.0
        if self.deep is not None and self.wide_init == "convex":
            return 0.0
        return self._auto_l2()

    def _wide_optimizer_name(self) -> str | None:
        opt = self.wide_optimizer
        return opt.lower() if isinstance(opt, str) else None

    def _make_optimizer(self, steps_per_epoch: int = 1):
        keras = _keras()
        deep_optimizer = super()._make_optimizer(steps_per_epoch)
        if not self.wide:
            return deep_optimizer
        if self.wide_optimizer is None:
            if self.deep is None or self.wide_learning_rate is None:
                return deep_optimizer
            wide_optimizer = self._paced_wide_optimizer(deep_optimizer)
        else:
            wide_optimizer = self._make_wide_optimizer()
        if self.deep is None:
            return wide_optimizer
        wide_paths = f"({WIDE_LAYER}|{WIDE_DENSE_LAYER})/.*"
        routes = keras.optimizers.OptimizerMap(deep_optimizer, {wide_paths: wide_optimizer})
        return keras.optimizers.MultiOptimizer(routes)

    def _paced_wide_optimizer(self, deep_optimizer):
        """The deep optimizer's kind, without averaging, at ``wide_learning_rate``."""
        config = {
            **deep_optimizer.get_config(),
            "learning_rate": self.wide_learning_rate,
            "use_ema": False,
        }
        return type(deep_optimizer).from_config(config)

    def _make_wide_optimizer(self):
        keras = _keras()
        opt = self.wide_optimizer
        n_fields = len(self.encoder_.wide.fields_)
        rate = self.wide_learning_rate
        if self._wide_optimizer_name() == "ftrl":
            return keras.optimizers.Ftrl(
                learning_rate=rate or min(_FTRL_MAX_RATE, 1.0 / np.sqrt(n_fields)),
                l1_regularization_strength=self.wide_l1,
                l2_regularization_strength=self._wide_l2_value(),
            )
        options = {} if rate is None else {"learning_rate": rate}
        if isinstance(opt, str):
            return keras.optimizers.get({"class_name": opt, "config": options})
        if isinstance(opt, type):
            return opt(**options)
        if isinstance(opt, keras.optimizers.Optimizer):
            return type(opt).from_config({**opt.get_config(), **options})  # never mutate theirs
        raise TypeError(
            f"wide_optimizer must be None, 'ftrl', an optimizer name, class or instance; got "
            f"{opt!r}."
        )

    # ------------------------------------------------------------------ inspection
    def _wide_kernel(self) -> tuple[np.ndarray, list[str]]:
        """The wide weights, ``(n_ids, units)``, in output units, and the unit names."""
        keras = _keras()
        if not self.wide:
            raise ValueError("This model has no wide part (wide=False).")
        kernel = keras.ops.convert_to_numpy(self.model_.get_layer(WIDE_LAYER).kernel)
        return self._scale_wide(kernel.astype(np.float64))

    def _dense_kernel(self) -> np.ndarray | None:
        """The image descriptors' weights ``(n_dense, units)`` per standard deviation, or None."""
        if not self.encoder_.wide.dense_names_:
            return None
        keras = _keras()
        kernel = keras.ops.convert_to_numpy(self.model_.get_layer(WIDE_DENSE_LAYER).kernel)
        return self._scale_wide(kernel.astype(np.float64))[0]

    def wide_weights(self) -> pd.DataFrame:
        """The wide part's weights by name: one row per feature level hit in fit.

        Returns
        -------
        DataFrame
            Columns ``feature`` (column, ``"a x b"`` cross, ``gbdt_tree_<i>`` or
            ``"<image column>:<descriptor>"``), ``kind``, ``level`` (level, bucket, the
            combinations sharing a hash bucket, or ``"per std"`` for a descriptor), ``id``,
            ``count`` (fit rows with it) and ``weight`` (one ``weight_<name>`` column per
            output or class when there are several). Regression weights are in target units.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        kernel, names = self._wide_kernel()
        wide = self.encoder_.wide
        table = wide.id_names()
        dense = self._dense_kernel()
        if dense is not None:  # one row per image descriptor: its weight per standard deviation
            rows = len(wide.dense_names_)
            extra = pd.DataFrame({
                "feature": wide.dense_names_, "kind": "image", "level": "per std",
                "id": wide.n_ids_ + np.arange(rows), "count": self._fit_rows(),
            })  # fmt: skip
            table = pd.concat([table, extra], ignore_index=True)
            kernel = np.vstack([kernel, dense])
        ids = table["id"].to_numpy()
        if len(names) == 1:
            table["weight"] = kernel[ids, 0]
        else:
            for j, name in enumerate(names):
                table[f"weight_{name}"] = kernel[ids, j]
        return table

    def wide_importance(self) -> pd.DataFrame:
        """How much each wide feature moves the output: which crosses matter.

        The importance of a feature is the standard deviation, over the fit rows, of its
        contribution to the output's logit (target units for regression; the root mean
        square over outputs or classes when there are several). A cross whose importance is
        near 0 memorizes nothing the other features do not.

        Returns
        -------
        DataFrame
            ``feature``, ``kind``, ``importance``, ``share`` (of the summed importances) and
            ``levels`` (ids hit in fit; 1 for an image descriptor), sorted by importance.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        kernel, _ = self._wide_kernel()
        wide = self.encoder_.wide
        rows = []
        for field in wide.fields_:
            part = slice(field.offset, field.offset + field.size)
            counts = wide.id_counts_[part].astype(np.float64)
            weights = kernel[part]
            share = counts / max(counts.sum(), 1.0)
            mean = share @ weights
            variance = share @ (weights**2) - mean**2
            importance = float(np.sqrt(max(float(np.mean(variance)), 0.0)))
            rows.append((field.name, field.kind, importance, int((counts > 0).sum())))
        dense = self._dense_kernel()
        if dense is not None:  # standardized on the fit rows: the contribution's std is |w|
            for name, weights in zip(wide.dense_names_, dense):
                rows.append((name, "image", float(np.sqrt(np.mean(weights**2))), 1))
        table = pd.DataFrame(rows, columns=["feature", "kind", "importance", "levels"])
        total = table["importance"].sum()
        table.insert(3, "share", table["importance"] / total if total > 0 else 0.0)
        return table.sort_values("importance", ascending=False, ignore_index=True)


_WIDE_PARAMS_DOC = """
    crosses : None, "auto" or list of tuples of column names, default="auto"
        Crossed categorical columns for the wide part, e.g. ``[("brand", "condition")]``,
        each hashed into ``cross_buckets`` buckets (a combination unseen in fit lands in its
        hash bucket; its weight is 0 unless a seen combination shares the bucket). ``"auto"``:
        the pairs of categorical columns whose interaction is significant for the target
        (two-way ANOVA F test, p < 0.01), at most ``max_crosses``. ``None``: no crosses.
    deep : None, str or callable, default="auto"
        The deep part: a named graph of :func:`blend.members.deep.branches.build_body` (``"auto"``,
        ``"mlp"``, ...), a callable ``deep(specs) -> keras.Model`` from the inputs (a dict
        named by ``spec.name``) to a feature vector, or ``None`` for the wide part alone.
    wide : bool, default=True
        ``False`` trains the deep part alone (an ablation).
    wide_images : bool, default=True
        Image columns also feed the wide part: about 130 generic descriptors per column
        (colour, texture, layout and blemish statistics), standardized, each with one linear
        weight (input ``"wide_dense"``), beside the deep part's convnet. A stain a few pixels
        wide is what the convnet learns worst from a few thousand photos, and the blemish
        descriptors (``blemish_hue`` above all) flag it directly. ``False`` leaves the photos
        to the deep part.
    wide_init : {"convex", "zeros"}, default="convex"
        ``"convex"``: before training, the wide weights are set to the exact solution of the
        wide part alone on the training rows (ridge regression or L2 logistic regression on
        the one-hot features, with the training penalty) and the deep head starts at zero, so
        joint training starts from the wide model and the deep part learns what it leaves.
        ``"zeros"``: both parts start from the usual initialization (all-zero wide weights).
    gbdt_leaves : bool, default=False
        Add the leaf of each tree of an XGBoost model (fitted on the same rows first) as a
        wide feature (He et al. 2014).
    wide_optimizer : None, "ftrl", str, class or keras Optimizer, default=None
        ``None``: ``optimizer`` trains the wide weights too (at ``wide_learning_rate``, when
        given, through a copy of it). ``"ftrl"``: FTRL-Proximal with ``wide_l1``/``wide_l2``
        as its regularization (the paper's choice); other optimizers get
        ``wide_l1``/``wide_l2`` as weight penalties. The deep part keeps ``optimizer``.
    wide_learning_rate : float, optional
        The wide weights' learning rate; FTRL defaults to ``min(0.2, 1/sqrt(n_fields))``, the
        others to ``learning_rate``. A slow wide rate keeps the wide part near its convex
        start while the deep part learns what it leaves. That helps when the wide features
        carry the true effects and hurts when they only approximate them (a smooth numeric
        effect cut into buckets), so it is off by default.
    wide_l1 : float, default=0
        L1 penalty on the wide weights (FTRL: its L1 strength).
    wide_l2 : float or "auto", default="auto"
        L2 penalty on the wide weights (FTRL: its L2 strength). ``"auto"``: a ridge penalty
        worth 20 training rows per weight (``20 / n_rows``), so rare crosses do not memorize
        noise, in the convex start and in wide parts trained without one; none while a
        joint model trains from its convex start (the start holds the shrinkage, and a
        penalty on the wide part alone shifts its effects into the deep part, which learns
        them worse); none with FTRL.
    max_crosses : int, default=8
        The most crosses ``crosses="auto"`` proposes.
    cross_buckets : int, default=1000
        Hash buckets per cross.
    numeric_buckets : int, default=10
        Quantile buckets per numeric column in the wide part.
    gbdt_params : dict, optional
        XGBoost options over ``n_estimators=50, max_depth=4, learning_rate=0.1,
        subsample=0.8``."""

_COMMON_PARAMS_DOC = """
    roles : dict, optional
        ``{column: role}`` overrides; other columns are inferred (:func:`blend.infer_roles`).
        The wide part reads categorical and numeric columns; text and images go to the deep
        part."""

_TRAINING_DOC = """
    shared, text, epochs, batch_size, learning_rate, optimizer, validation_fraction, patience,
    random_state, verbose, **routed
        As in :class:`~blend.KerasGraphRegressor` (``text`` says how the deep part reads text
        columns: ``"auto"``, ``"bag"`` or ``"sequence"``; ``model__<option>`` goes to
        :func:`~blend.members.deep.branches.build_body` when ``deep`` is a name)."""

_INSPECT_DOC = """
    encoder_ : JointEncoder
        The fitted encoders: ``encoder_.deep`` (``InputEncoder``) and ``encoder_.wide``
        (:class:`~blend.features.wide.WideEncoder`, with ``crosses_``, ``fields_`` and the
        fitted trees ``gbdt_``)."""


class WideDeepRegressor(_WideDeepMixin, KerasGraphRegressor):
    __doc__ = f"""Wide & Deep regressor: a sparse linear part and a deep graph trained jointly.

    The wide logit (one-hot categoricals, bucketized numerics, hashed crosses, optional tree
    leaves) is added to the deep head's output before the target's rescaling; both parts
    follow the gradient of one mean squared error.

    Parameters
    ----------{_COMMON_PARAMS_DOC}{_WIDE_PARAMS_DOC}
    loss : str or keras loss, default="mse"{_TRAINING_DOC}

    Attributes
    ----------
    {_ATTRIBUTES_DOC.strip()}{_INSPECT_DOC}

    Examples
    --------
    >>> from blend import WideDeepRegressor
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> X = X[["brand", "condition", "category", "seller_rating"]]
    >>> model = WideDeepRegressor(crosses=[("brand", "condition")], epochs=3, random_state=0)
    >>> model.fit(X, y).predict(X.iloc[:2]).shape
    (2,)
    >>> model.wide_importance()["feature"].isin(["brand x condition"]).any()
    np.True_
    """

    _task = "regression"
    _parameter_constraints: ClassVar[dict] = _wide_deep_constraints(KerasGraphRegressor)

    def __init__(
        self,
        *,
        roles=None,
        crosses="auto",
        deep="auto",
        wide=True,
        wide_init="convex",
        wide_images=True,
        gbdt_leaves=False,
        wide_optimizer=None,
        wide_learning_rate=None,
        wide_l1=0.0,
        wide_l2="auto",
        max_crosses=8,
        cross_buckets=1000,
        numeric_buckets=10,
        gbdt_params=None,
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
        self.roles = roles
        self._wide_params(crosses, deep, wide, wide_init, wide_images, gbdt_leaves,
                          wide_optimizer, wide_learning_rate, wide_l1, wide_l2, max_crosses,
                          cross_buckets, numeric_buckets, gbdt_params)  # fmt: skip
        self.shared = shared
        self.text = text
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose
        self.loss = loss
        self._store(routed)

    def _logit_units(self) -> int:
        return self.n_outputs_

    def _activation(self, layers, logits):
        return layers.Rescaling(self.target_scale_, self.target_mean_, name="output")(logits)

    def _convex_wide(self, onehot, y, weights) -> tuple[np.ndarray, np.ndarray]:
        """Ridge on the standardized target; the penalty is the Keras one in those units.

        Keras minimizes ``mean((scale * z + mean - y)**2) + l2 * sum(w**2)``, which is ridge on
        ``(y - mean) / scale`` with ``alpha = n * l2 / scale**2`` (one per output).
        """
        from sklearn.linear_model import Ridge

        scale = np.asarray(self.target_scale_, dtype=np.float64)
        coef = np.zeros((onehot.shape[1], len(scale)))
        intercept = np.zeros(len(scale))
        fit = scale > 0  # a constant output is the constant whatever the logit
        if fit.any():
            z = (y[:, fit] - np.asarray(self.target_mean_)[fit]) / scale[fit]
            alpha = len(y) * self._init_l2() / scale[fit] ** 2
            ridge = Ridge(alpha=alpha, fit_intercept=True, solver="sparse_cg", tol=1e-6)
            ridge.fit(onehot, z, sample_weight=weights)
            coef[:, fit] = np.reshape(ridge.coef_, (int(fit.sum()), -1)).T
            intercept[fit] = np.reshape(ridge.intercept_, -1)
        return coef, intercept

    def _scale_wide(self, kernel: np.ndarray) -> tuple[np.ndarray, list[str]]:
        names = [str(j) for j in range(self.n_outputs_)]
        return kernel * np.asarray(self.target_scale_), names


class WideDeepClassifier(_WideDeepMixin, KerasGraphClassifier):
    __doc__ = f"""Wide & Deep classifier: a sparse linear part and a deep graph trained jointly.

    The wide logits are added to the deep head's logits before the sigmoid (two classes) or
    softmax; both parts follow the gradient of one cross-entropy. Labels may be strings or
    integers.

    Parameters
    ----------{_COMMON_PARAMS_DOC}{_WIDE_PARAMS_DOC}
    class_weight : None, "balanced" or dict, default=None
        Weights per class, multiplied into ``sample_weight``.{_TRAINING_DOC}

    Attributes
    ----------
    classes_ : ndarray
    {_ATTRIBUTES_DOC.strip()}{_INSPECT_DOC}

    Examples
    --------
    >>> from blend import WideDeepClassifier
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> X = X[["brand", "condition", "category", "seller_rating"]]
    >>> clf = WideDeepClassifier(epochs=3, random_state=0).fit(X, y > y.median())
    >>> clf.predict_proba(X.iloc[:2]).shape
    (2, 2)
    """

    _task = "classification"
    _parameter_constraints: ClassVar[dict] = _wide_deep_constraints(KerasGraphClassifier)

    def __init__(
        self,
        *,
        roles=None,
        crosses="auto",
        deep="auto",
        wide=True,
        wide_init="convex",
        wide_images=True,
        gbdt_leaves=False,
        wide_optimizer=None,
        wide_learning_rate=None,
        wide_l1=0.0,
        wide_l2="auto",
        max_crosses=8,
        cross_buckets=1000,
        numeric_buckets=10,
        gbdt_params=None,
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
        self.roles = roles
        self._wide_params(crosses, deep, wide, wide_init, wide_images, gbdt_leaves,
                          wide_optimizer, wide_learning_rate, wide_l1, wide_l2, max_crosses,
                          cross_buckets, numeric_buckets, gbdt_params)  # fmt: skip
        self.shared = shared
        self.text = text
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight
        self._store(routed)

    def _logit_units(self) -> int:
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _activation(self, layers, logits):
        activation = "sigmoid" if len(self.classes_) == 2 else "softmax"
        return layers.Activation(activation, name="output")(logits)

    def _convex_wide(self, onehot, y, weights) -> tuple[np.ndarray, np.ndarray]:
        """L2 logistic regression; ``C = 1 / (2 n l2)`` is the Keras penalty on the mean loss."""
        from sklearn.linear_model import LogisticRegression

        codes = y.reshape(len(y), -1)[:, 0].astype(np.int64)
        model = LogisticRegression(C=1.0 / (2.0 * len(codes) * self._init_l2()), max_iter=300)
        model.fit(onehot, codes, sample_weight=weights)
        return model.coef_.T, model.intercept_

    def _scale_wide(self, kernel: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if kernel.shape[1] == 1:
            return kernel, [str(self.classes_[1])]
        return kernel, [str(c) for c in self.classes_]
