"""LightGBM and CatBoost members: early stopping inside ``fit``, state kept as native bytes.

Both boosters are optional (``pip install blend[boost]``). Like the XGBoost wrappers of
:mod:`blend.members.xgboost`, these split off a validation share in ``fit`` to find the number of
trees. Unlike them they take plain keyword ``params`` rather than a booster object, and keep
the fitted model as the library's own serialized format (LightGBM's model text, CatBoost's
``cbm`` bytes) in ``model_bytes_``: pickling, :func:`blend.save` and ``joblib`` then carry
bytes, never a foreign object, and no foreign class has to be trusted when loading. The live
booster is rebuilt from those bytes on first use after loading.
"""

from __future__ import annotations

import inspect
import os
from abc import abstractmethod
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from blend.features.validation import FEW_ROWS
from blend.members import oblivious_trees
from blend.members.early_stopping import (
    EARLY_STOPPING_ROUNDS,
    MAX_TREES,
    VALIDATION_FRACTION,
    EarlyStoppedBooster,
    Rows,
)

__all__ = [
    "CatBoostMemberClassifier",
    "CatBoostMemberRegressor",
    "LightGBMMemberClassifier",
    "LightGBMMemberRegressor",
]

_LIVE = "_live_model"


# LightGBM's names for its thread count (any of them set by the user wins)
_THREAD_ALIASES = {"n_jobs", "num_threads", "num_thread", "nthread", "nthreads"}


def available_threads() -> int:
    """Threads this process should give a booster: ``OMP_NUM_THREADS`` if set, else all cores.

    joblib's workers run with ``OMP_NUM_THREADS = cores // n_jobs``. XGBoost honours it, but
    LightGBM's default (``n_jobs=None``: all physical cores) and CatBoost's (``thread_count=-1``)
    do not: two blender workers would then run four spinning OpenMP threads on two cores, and
    oversubscribed OpenMP threads slow a fit down many times over.
    """
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    return threads if threads > 0 else (os.cpu_count() or 1)


class _NativeBooster(EarlyStoppedBooster):
    """The LightGBM and CatBoost side of the shared early-stopping rule, kept as bytes."""

    _library = ""
    _is_classifier = False
    _takes_baseline = False  # whether fit(..., baseline=) can start the trees from it

    _parameter_constraints: ClassVar[dict] = {
        **EarlyStoppedBooster._parameter_constraints,
        "params": [dict, None],
        "max_trees": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        params: dict | None = None,
        *,
        max_trees: int = MAX_TREES,
        validation_fraction: float = VALIDATION_FRACTION,
        early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        refit: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.params = params
        self.max_trees = max_trees
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.random_state = random_state

    # -- library hooks -------------------------------------------------------------------
    @abstractmethod
    def _defaults(self) -> dict:
        """Library hook: each booster family defines it."""

    @abstractmethod
    def _new_model(self, trees: int) -> Any:
        """Library hook: each booster family defines it."""

    @abstractmethod
    def _to_bytes(self, model) -> bytes:
        """Library hook: each booster family defines it."""

    @abstractmethod
    def _from_bytes(self, data: bytes) -> Any:
        """Library hook: each booster family defines it."""

    # The early-stopping hooks (see EarlyStoppedBooster): each library defines _fit_stopped;
    # rows.baseline is only ever set when _takes_baseline.
    def _fit_trees(self, n_trees: int, rows: Rows) -> Any:
        model = self._new_model(n_trees)
        model.fit(rows.X, rows.y, sample_weight=rows.weight)
        return model

    # -- shared logic --------------------------------------------------------------------
    def _import(self):
        import importlib

        try:
            return importlib.import_module(self._library)
        except ImportError as err:
            raise ImportError(
                f"{type(self).__name__} needs the {self._library!r} package, which is not "
                f"installed. Install it with `pip install {self._library}` (or "
                "`pip install blend[boost]`)."
            ) from err

    def _merged_params(self) -> dict:
        return {**self._defaults(), **(self.params or {})}

    def _fit(self, X, y: np.ndarray, sample_weight, baseline=None) -> _NativeBooster:
        self._validate_params()
        self._import()
        X = validate_data(
            self, X, accept_sparse="csr", ensure_all_finite="allow-nan", dtype=np.float64
        )
        n = X.shape[0]
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if baseline is not None:
            if not self._takes_baseline:
                raise ValueError(f"{type(self).__name__} does not take a baseline.")
            baseline = np.asarray(baseline, dtype=np.float64)
            if len(baseline) != n:
                raise ValueError(f"baseline has {len(baseline)} rows but X has {n}.")
        model, best = self._fit_early_stopped(
            Rows(X, y, weight, baseline), max_trees=self.max_trees, stratify=self._is_classifier
        )
        self.best_n_estimators_ = int(best)
        self.model_bytes_ = self._to_bytes(model)
        self.__dict__[_LIVE] = model
        return self

    def _model(self):
        check_is_fitted(self, "model_bytes_")
        live = self.__dict__.get(_LIVE)
        if live is None:
            self._import()
            live = self._from_bytes(self.model_bytes_)
            self.__dict__[_LIVE] = live
        return live

    def _checked(self, X) -> np.ndarray:
        check_is_fitted(self, "model_bytes_")
        if _plain_few_rows(X, self.n_features_in_) and not hasattr(self, "feature_names_in_"):
            # what validate_data returns for a few plain rows, without its fixed cost per call
            return X.astype(np.float64)
        return validate_data(
            self,
            X,
            reset=False,
            accept_sparse="csr",
            ensure_all_finite="allow-nan",
            dtype=np.float64,
        )

    # Keep the live booster out of every serialized form: bytes travel, objects do not.
    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        state.pop(_LIVE, None)
        return state

    def __setstate__(self, state) -> None:
        state = dict(state)
        state.pop(_LIVE, None)
        super().__setstate__(state)


def _plain_few_rows(X, n_features: int) -> bool:
    """A few rows of a float CSR matrix or 2-D array of the fitted width, without infinity:
    nothing for scikit-learn's input checks to convert or reject."""
    if not isinstance(X, np.ndarray) and getattr(X, "format", None) != "csr":
        return False
    if X.ndim != 2 or X.shape[0] > FEW_ROWS or X.shape[1] != n_features or X.dtype.kind != "f":
        return False
    values = X if isinstance(X, np.ndarray) else X.data
    return not np.isinf(values).any()


class _LightGBM(_NativeBooster):
    _library = "lightgbm"

    def _defaults(self) -> dict:
        return {
            "learning_rate": 0.03,
            "num_leaves": 63,
            "min_child_samples": 20,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "verbose": -1,
        }

    def _new_model(self, trees: int):
        lgb = self._import()
        cls = lgb.LGBMClassifier if self._is_classifier else lgb.LGBMRegressor
        params = {**self._merged_params(), "n_estimators": trees}
        if not _THREAD_ALIASES & params.keys():
            params["n_jobs"] = available_threads()
        if self.random_state is not None:
            params["random_state"] = self.random_state
        return cls(**params)

    def _fit_stopped(self, max_trees: int, train: Rows, valid: Rows) -> tuple[Any, int]:
        lgb = self._import()
        model = self._new_model(max_trees)
        if "eval_X" in inspect.signature(model.fit).parameters:  # LightGBM >= 4.7
            evaluation = {"eval_X": (valid.X,), "eval_y": (valid.y,)}
        else:
            evaluation = {"eval_set": [(valid.X, valid.y)]}
        model.fit(
            train.X,
            train.y,
            sample_weight=train.weight,
            eval_sample_weight=None if valid.weight is None else [valid.weight],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            **evaluation,
        )
        return model, int(model.best_iteration_ or model.n_estimators)

    def _to_bytes(self, model) -> bytes:
        return model.booster_.model_to_string().encode("utf-8")

    def _from_bytes(self, data: bytes):
        # A Booster predicts from the model text; no sklearn wrapper state is needed.
        lgb = self._import()
        return lgb.Booster(model_str=data.decode("utf-8"))

    def _raw_predict(self, X) -> np.ndarray:
        model = self._model()
        booster = model if not hasattr(model, "booster_") else model.booster_
        # a Booster rebuilt from model text predicts on all cores unless told otherwise
        threads = self._threads()
        return np.asarray(booster.predict(self._checked(X), num_threads=threads))

    def _threads(self) -> int:
        chosen = [v for k, v in (self.params or {}).items() if k in _THREAD_ALIASES]
        return int(chosen[0]) if chosen else available_threads()


class _CatBoost(_NativeBooster):
    _library = "catboost"
    _takes_baseline = True

    def _defaults(self) -> dict:
        return {"learning_rate": 0.08, "depth": 6, "l2_leaf_reg": 3.0}

    def _new_model(self, trees: int):
        cb = self._import()
        cls = cb.CatBoostClassifier if self._is_classifier else cb.CatBoostRegressor
        params = {
            "thread_count": available_threads(),  # the user's own params override it
            **self._merged_params(),
            "iterations": trees,
            "verbose": 0,
            "allow_writing_files": False,  # no catboost_info/ folder in the user's directory
        }
        if self.random_state is not None:
            params["random_seed"] = self.random_state
        return cls(**params)

    def _fit_stopped(self, max_trees: int, train: Rows, valid: Rows) -> tuple[Any, int]:
        model = self._new_model(max_trees)
        model.fit(
            self._pool(train),
            eval_set=self._pool(valid),
            early_stopping_rounds=self.early_stopping_rounds,
            use_best_model=True,
        )
        return model, int(model.get_best_iteration()) + 1

    def _fit_trees(self, n_trees: int, rows: Rows) -> Any:
        model = self._new_model(n_trees)
        model.fit(self._pool(rows))
        return model

    def _pool(self, rows: Rows):
        cb = self._import()
        return cb.Pool(rows.X, rows.y, weight=rows.weight, baseline=rows.baseline)

    def raw_margin(self, X) -> np.ndarray:
        """The trees' raw sum (log-odds for classifiers), without any fit baseline.

        A few rows are summed from the packed trees (:mod:`blend.members.oblivious_trees`)
        once they have reproduced CatBoost's own margins for this model, bit for bit.
        """
        model = self._model()
        X = self._checked(X)
        threads = self._thread_count()

        def own() -> np.ndarray:
            margin = model.predict(X, prediction_type="RawFormulaVal", thread_count=threads)
            return np.asarray(margin, dtype=np.float64)

        return oblivious_trees.few_rows(model, "raw", X, own, _one_or_more_columns)

    def _thread_count(self) -> int:
        return (self.params or {}).get("thread_count", available_threads())

    def _to_bytes(self, model) -> bytes:
        import os
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.cbm")
            model.save_model(path, format="cbm")
            with open(path, "rb") as handle:
                return handle.read()

    def _from_bytes(self, data: bytes):
        cb = self._import()
        model = cb.CatBoostClassifier() if self._is_classifier else cb.CatBoostRegressor()
        return model.load_model(blob=data)

    def _raw_predict(self, X) -> np.ndarray:
        model = self._model()
        X = self._checked(X)
        threads = self._thread_count()
        if self._is_classifier:
            # two classes: CatBoost's sigmoid of the packed margin; more: its own softmax
            # (an approximate exp inside CatBoost that numpy does not reproduce)
            def own() -> np.ndarray:
                return np.asarray(model.predict_proba(X, thread_count=threads))

            if len(self.classes_) != 2:
                return own()
            return oblivious_trees.few_rows(model, "proba", X, own, _binary_proba)

        def own() -> np.ndarray:
            return np.asarray(model.predict(X, thread_count=threads))

        # the raw margin unless the loss maps it (Poisson, Tweedie: the check then fails)
        return oblivious_trees.few_rows(model, "predict", X, own, _one_or_more_columns)


def _one_or_more_columns(raw: np.ndarray) -> np.ndarray:
    """CatBoost's shape of raw margins: one column flattened, several kept."""
    return raw[:, 0] if raw.shape[1] == 1 else raw


def _binary_proba(raw: np.ndarray) -> np.ndarray:
    if raw.shape[1] != 1:
        raise ValueError("not a two-class margin")
    return oblivious_trees.binary_proba(raw[:, 0])


class _RegressorMixinFit:
    # the regressors read the full sparse TF-IDF matrix (see features.tree.featurizer_for)
    _blend_reads_sparse_text = True

    def fit(self, X, y, sample_weight=None, baseline=None):
        """Pick the number of trees on a held-out split, then fit.

        ``baseline`` (CatBoost only): a starting prediction per row; the trees then fit what
        it leaves, and :meth:`predict` returns the trees' part alone (add the baseline back).
        """
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional, got shape {y.shape}.")
        return self._fit(X, y, sample_weight, baseline)

    def predict(self, X) -> np.ndarray:
        """Predicted values."""
        return self._raw_predict(X).astype(np.float64)


class _ClassifierMixinFit:
    _is_classifier = True

    def fit(self, X, y, sample_weight=None, baseline=None):
        """Encode the labels, pick the number of trees on a stratified split, then fit.

        ``baseline`` (CatBoost only): starting log-odds per row, ``(n,)`` for two classes or
        ``(n, n_classes)``; see :meth:`raw_margin`.
        """
        encoder = LabelEncoder().fit(np.asarray(y))
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"The target has a single class ({encoder.classes_[0]!r}); a classifier "
                "needs at least two."
            )
        self.classes_ = encoder.classes_
        return self._fit(X, encoder.transform(np.asarray(y)), sample_weight, baseline)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        proba = self._raw_predict(X)
        if proba.ndim == 1:  # LightGBM's Booster gives P(class 1) for two classes
            proba = np.column_stack([1.0 - proba, proba])
        return proba

    def predict(self, X) -> np.ndarray:
        """Most probable class labels."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


_PARAMS_DOC = """
    Parameters
    ----------
    params : dict, optional
        Booster options over the defaults ({defaults}); the number of trees is
        ``max_trees`` and the seed ``random_state``.
    max_trees : int, default=4000
        Upper limit on the number of trees; early stopping picks the number used.
    validation_fraction : float, default=0.1
        Share of the rows held out to pick the number of trees.
    early_stopping_rounds : int, default=100
        Stop after this many trees without improvement on the held-out rows.
    refit : bool, default=True
        Refit on all rows with the chosen number of trees (scaled by
        ``1 / (1 - validation_fraction)``); ``False`` keeps the early-stopped model.
    random_state : int or None
        Seeds the split and the booster.

    Attributes
    ----------
    best_n_estimators_ : int
        Number of trees the fitted model uses.
    model_bytes_ : bytes
        The fitted model in the library's own format ({fmt}).
    n_features_in_ : int
        Number of input columns.
"""


class LightGBMMemberRegressor(_RegressorMixinFit, RegressorMixin, _LightGBM):
    __doc__ = (
        "LightGBM regression with early stopping on an internal split (optional member).\n"
        + _PARAMS_DOC.format(
            defaults="learning rate 0.03, 63 leaves, row and column subsampling 0.8",
            fmt="LightGBM model text",
        )
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from blend.members.gbm import LightGBMMemberRegressor
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); y = X[:, 0] * 2
    >>> LightGBMMemberRegressor(random_state=0).fit(X, y).predict(X[:2]).shape
    (2,)
    """
    )


class LightGBMMemberClassifier(_ClassifierMixinFit, ClassifierMixin, _LightGBM):
    __doc__ = (
        "LightGBM classification with early stopping on a stratified split (optional member).\n"
        + _PARAMS_DOC.format(
            defaults="learning rate 0.03, 63 leaves, row and column subsampling 0.8",
            fmt="LightGBM model text",
        )
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from blend.members.gbm import LightGBMMemberClassifier
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); y = np.where(X[:, 0] > 0, "a", "b")
    >>> LightGBMMemberClassifier(random_state=0).fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    """
    )


class CatBoostMemberRegressor(_RegressorMixinFit, RegressorMixin, _CatBoost):
    __doc__ = (
        "CatBoost regression (symmetric trees) with early stopping on an internal split.\n"
        + _PARAMS_DOC.format(
            defaults="learning rate 0.08, depth 6, l2_leaf_reg 3", fmt="CatBoost cbm bytes"
        )
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from blend.members.gbm import CatBoostMemberRegressor
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); y = X[:, 0] * 2
    >>> CatBoostMemberRegressor(random_state=0).fit(X, y).predict(X[:2]).shape
    (2,)
    """
    )


class CatBoostMemberClassifier(_ClassifierMixinFit, ClassifierMixin, _CatBoost):
    __doc__ = (
        "CatBoost classification with early stopping on a stratified split (optional member).\n"
        + _PARAMS_DOC.format(
            defaults="learning rate 0.08, depth 6, l2_leaf_reg 3", fmt="CatBoost cbm bytes"
        )
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from blend.members.gbm import CatBoostMemberClassifier
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); y = np.where(X[:, 0] > 0, "a", "b")
    >>> CatBoostMemberClassifier(random_state=0).fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    """
    )
