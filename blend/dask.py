"""Scale out on Dask: the big-data path for the boosted member.

Two ways to use a Dask cluster with blend:

1. **The whole blend on a cluster.** Every parallel step of :class:`blend.BlendRegressor` /
   :class:`blend.BlendClassifier` (members x folds, refits) goes through joblib, so
   ``with joblib.parallel_backend("dask"):`` inside a ``dask.distributed.Client`` runs those
   tasks on the cluster's workers. The data still fits in the client's memory; results are
   identical to a local fit (same folds, same seeds, results assembled in task order).
2. **Data larger than one machine: XGBoost on a Dask DataFrame.** :func:`fit_xgboost_dask`
   fits a :class:`~blend.MixedFeaturizer` on a sample of the rows, featurizes every partition on
   the workers (the encoded matrix is never gathered) and trains through ``xgboost.dask``
   (XGBoost's own distributed training, one booster over all partitions).

Dask is an optional dependency: ``pip install "blend[dask]"``. The joblib path needs only
``dask[distributed]``; the XGBoost path also needs ``dask.dataframe`` (and so ``pyarrow``),
which ``xgboost.dask`` imports. Importing this module does not import Dask; the functions
import it when called.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from blend.features.tree import MixedFeaturizer

__all__ = ["DaskBoostedRegressor", "featurize_partitions", "fit_xgboost_dask"]


def _require_dask():
    try:
        import dask.array as da
        import dask.dataframe as dd
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "blend's XGBoost-on-Dask path needs dask.dataframe (dask[dataframe], with pyarrow) "
            f"and dask.distributed: pip install 'blend[dask]'. ({error})"
        ) from error
    return da, dd


def _dense_featurizer(featurizer: MixedFeaturizer | None, random_state) -> MixedFeaturizer:
    """A dense-output featurizer: partitions become dense dask array chunks."""
    if featurizer is None:
        return MixedFeaturizer(
            sparse_output=False, text_svd_components=32, random_state=random_state
        )
    if not isinstance(featurizer, MixedFeaturizer):
        raise TypeError(
            f"featurizer must be a blend.MixedFeaturizer or None; got {type(featurizer).__name__}."
        )
    # clone: never mutate the user's object; dense, because dask chunks are dense arrays here
    return clone(featurizer).set_params(sparse_output=False)


def featurize_partitions(ddf, featurizer: MixedFeaturizer, lengths: list[int] | None = None):
    """Encode every partition of a Dask DataFrame with a fitted dense featurizer.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The feature columns (extra columns are ignored by the featurizer).
    featurizer : MixedFeaturizer
        Fitted, with dense output (``sparse_output=False``).
    lengths : list of int, optional
        Rows per partition, when known (saves one pass over the data).

    Returns
    -------
    dask.array.Array
        ``(n_rows, n_features)`` float32 with known chunk sizes; each chunk is computed on
        the worker holding its partition.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from blend import MixedFeaturizer
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(120, random_state=0)
    >>> X = X.drop(columns=["photo_front", "photo_back"])
    >>> features = MixedFeaturizer(sparse_output=False).fit(X)
    >>> arr = featurize_partitions(dd.from_pandas(X, npartitions=3), features)
    >>> import numpy as np
    >>> arr.shape[0], np.array_equal(arr.compute(), features.transform(X), equal_nan=True)
    (120, True)
    """
    da, _ = _require_dask()
    from dask import delayed

    check_is_fitted(featurizer, "encoders_")
    if featurizer.sparse_output_:
        raise ValueError(
            "featurize_partitions needs a dense featurizer; fit it with sparse_output=False "
            "(and text_svd_components= for wide text)."
        )
    if lengths is None:
        lengths = [int(n) for n in ddf.map_partitions(len).compute()]
    n_out = len(featurizer.get_feature_names_out())
    transform = delayed(featurizer.transform, pure=True)
    chunks = [
        da.from_delayed(transform(part), shape=(n, n_out), dtype=np.float32)
        for part, n in zip(ddf.to_delayed(), lengths)
    ]
    return da.concatenate(chunks, axis=0)


class DaskBoostedRegressor(RegressorMixin, BaseEstimator):
    """XGBoost trained through ``xgboost.dask`` on a Dask DataFrame, predicting anywhere.

    Built by :func:`fit_xgboost_dask`, or directly: ``fit(ddf, y)`` with a Dask DataFrame of
    features and a Dask Series target (same partitions), inside an active
    ``dask.distributed.Client`` (or with ``client=``).

    Parameters
    ----------
    featurizer : MixedFeaturizer or None, default=None
        Encoding of the columns (cloned, output made dense). None: ordinal categories, NaN
        kept, text reduced to 32 SVD components per column.
    sample_rows : int, default=20000
        Rows sampled (uniformly, across partitions) to fit the featurizer's vocabularies.
    native_categorical : bool, default=True
        Tell XGBoost which columns are ordinal category codes (``feature_types="c"``), so it
        splits on sets of levels instead of code order.
    client : dask.distributed.Client or None, default=None
        None: the current default client.
    random_state : int, default=0
        Seeds the row sample, the SVD and XGBoost.
    **xgb_params
        Passed to ``xgboost.dask.DaskXGBRegressor`` (e.g. ``n_estimators``, ``max_depth``,
        ``learning_rate``, ``tree_method``).

    Attributes
    ----------
    featurizer_ : MixedFeaturizer
        Fitted on the row sample.
    booster_ : xgboost.Booster
        The trained booster (a plain local object: pickles, predicts without a cluster).
    n_features_in_ : int

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from dask.distributed import Client, LocalCluster
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(400, random_state=0)
    >>> X = X.drop(columns=["photo_front", "photo_back"])
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster):
    ...         model = DaskBoostedRegressor(n_estimators=20).fit(
    ...             dd.from_pandas(X, npartitions=2), dd.from_pandas(y, npartitions=2)
    ...         )
    >>> model.predict(X.iloc[:3]).shape
    (3,)
    """

    def __init__(
        self,
        featurizer: MixedFeaturizer | None = None,
        *,
        sample_rows: int = 20_000,
        native_categorical: bool = True,
        client=None,
        random_state: int = 0,
        **xgb_params: Any,
    ):
        self.featurizer = featurizer
        self.sample_rows = sample_rows
        self.native_categorical = native_categorical
        self.client = client
        self.random_state = random_state
        self.xgb_params = xgb_params

    # xgb_params is a **kwargs bag: expose it as one parameter for get_params / clone
    def get_params(self, deep: bool = True) -> dict:
        params = {
            "featurizer": self.featurizer,
            "sample_rows": self.sample_rows,
            "native_categorical": self.native_categorical,
            "client": self.client,
            "random_state": self.random_state,
        }
        params.update(self.xgb_params)
        return params

    def set_params(self, **params):
        own = {"featurizer", "sample_rows", "native_categorical", "client", "random_state"}
        for key, value in params.items():
            if key in own:
                setattr(self, key, value)
            else:
                self.xgb_params = {**self.xgb_params, key: value}
        return self

    def fit(self, X, y) -> DaskBoostedRegressor:
        """Fit on a Dask DataFrame ``X`` and Dask Series ``y`` with the same partitions."""
        da, dd = _require_dask()
        import xgboost.dask as dxgb
        from dask.distributed import default_client

        if not isinstance(X, dd.DataFrame):
            raise TypeError(
                f"X must be a dask DataFrame (dask.dataframe.from_pandas(X, npartitions=...)); "
                f"got {type(X).__name__}. For in-memory data use blend.make_tree_pipeline."
            )
        if not isinstance(y, (dd.Series, dd.DataFrame)):
            raise TypeError(f"y must be a dask Series aligned with X; got {type(y).__name__}.")
        if X.npartitions != y.npartitions:
            raise ValueError(
                f"X has {X.npartitions} partitions but y has {y.npartitions}; build both from "
                "one frame (ddf.drop(columns=target), ddf[target])."
            )
        if not isinstance(self.sample_rows, int) or self.sample_rows < 1:
            raise ValueError(f"sample_rows must be a positive int; got {self.sample_rows!r}.")
        client = self.client if self.client is not None else default_client()

        lengths = [int(n) for n in X.map_partitions(len).compute()]
        n_rows = sum(lengths)
        if n_rows == 0:
            raise ValueError("X has no rows.")
        frac = min(1.0, self.sample_rows / n_rows)
        sample = X if frac >= 1.0 else X.sample(frac=frac, random_state=self.random_state)
        sample = sample.compute()
        featurizer = _dense_featurizer(self.featurizer, self.random_state)
        featurizer.fit(sample)

        features = featurize_partitions(X, featurizer, lengths)
        target = y.to_dask_array(lengths=lengths).astype(np.float32)
        params = {"tree_method": "hist", "random_state": self.random_state, **self.xgb_params}
        if self.native_categorical and "c" in featurizer.feature_types_:
            params.update(feature_types=featurizer.feature_types_, enable_categorical=True)
        model = dxgb.DaskXGBRegressor(**params)
        model.client = client
        model.fit(features, target)

        self.featurizer_ = featurizer
        self.booster_ = model.get_booster()
        self.n_features_in_ = featurizer.n_features_in_
        self.feature_names_in_ = featurizer.feature_names_in_
        return self

    def predict(self, X):
        """Predict a pandas DataFrame locally, or a Dask DataFrame on the cluster.

        Returns
        -------
        ndarray of shape (n_rows,) for pandas input; dask.array.Array for Dask input.
        """
        check_is_fitted(self, "booster_")
        if isinstance(X, pd.DataFrame):
            features = self.featurizer_.transform(X)
            return np.asarray(self.booster_.inplace_predict(features), dtype=np.float64)
        _, dd = _require_dask()
        if isinstance(X, dd.DataFrame):
            import xgboost.dask as dxgb
            from dask.distributed import default_client

            client = self.client if self.client is not None else default_client()
            features = featurize_partitions(X, self.featurizer_)
            return dxgb.inplace_predict(client, self.booster_, features)
        raise TypeError(f"X must be a pandas or dask DataFrame; got {type(X).__name__}.")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["client"] = None  # a live client does not pickle; reattach with set_params
        return state


def fit_xgboost_dask(
    client, ddf, target: str, *, featurizer: MixedFeaturizer | None = None, **params: Any
) -> DaskBoostedRegressor:
    """Train the boosted member through ``xgboost.dask`` on a Dask DataFrame.

    Parameters
    ----------
    client : dask.distributed.Client
    ddf : dask.dataframe.DataFrame
        Features and the target column.
    target : str
        Name of the (numeric) target column.
    featurizer : MixedFeaturizer, optional
        See :class:`DaskBoostedRegressor`.
    **params
        ``sample_rows``, ``native_categorical``, ``random_state`` and XGBoost parameters.

    Returns
    -------
    DaskBoostedRegressor
        Fitted; ``predict`` takes pandas (local) or Dask (on the cluster) frames.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from dask.distributed import Client, LocalCluster
    >>> from blend.datasets import make_clothing
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> frame = X.drop(columns=["photo_front", "photo_back"]).assign(price=y)
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         ddf = dd.from_pandas(frame, npartitions=3)
    ...         model = fit_xgboost_dask(client, ddf, "price", n_estimators=10)
    >>> model.booster_.num_boosted_rounds()
    10
    """
    _require_dask()
    if target not in ddf.columns:
        raise ValueError(
            f"target column {target!r} is not in the frame; columns: {list(ddf.columns)}."
        )
    model = DaskBoostedRegressor(featurizer, client=client, **params)
    return model.fit(ddf.drop(columns=[target]), ddf[target])
