"""Blend on a Dask cluster: a LocalCluster of 2 worker processes on loopback.

- A blend fit under ``joblib.parallel_backend("dask")`` predicts exactly what the local fit
  predicts (``np.array_equal``: same folds, seeds, single-threaded members, and results
  assembled in task order, so there is no floating-point reordering to tolerate).
- A worker process killed in the middle of a member's fit is survived: the scheduler
  reschedules the task on a live worker and the blend completes with every member.

Not tested: a member that kills *every* worker it runs on. The scheduler then marks its task
``KilledWorker``, and joblib 1.6's dask backend never calls the batch callback for a future in
state "error" (``DaskDistributedBackend._collect``), so ``Parallel`` waits forever.
- The XGBoost-on-Dask path (``blend.dask``) when ``dask.dataframe`` is importable.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from blend import BlendRegressor, make_tree_pipeline  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster start and worker restarts: ~20-40 s on 2 cores


class DiesInWorker(RegressorMixin, BaseEstimator):
    """A decision tree whose fit kills its own (worker) process once.

    The first fit creates ``marker`` and exits; later fits (the scheduler's retry) train
    normally. Never dies in
    ``guard_pid`` (the test process), so a local fit cannot kill pytest.
    """

    def __init__(self, marker: str = "", guard_pid: int = 0, max_depth: int = 3):
        self.marker = marker
        self.guard_pid = guard_pid
        self.max_depth = max_depth

    def fit(self, X, y):
        if os.getpid() != self.guard_pid:
            if not os.path.exists(self.marker):
                with open(self.marker, "w") as handle:
                    handle.write(str(os.getpid()))
                os._exit(3)
        self.tree_ = DecisionTreeRegressor(max_depth=self.max_depth, random_state=0).fit(X, y)
        return self

    def predict(self, X):
        return self.tree_.predict(X)


@pytest.fixture(scope="module")
def client():
    # a task may kill 2 workers before it fails (KilledWorker); the retry test needs 1
    with dask.config.set({"distributed.scheduler.allowed-failures": 2}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            silence_logs=50,
        )
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


@pytest.fixture(scope="module")
def data(clothing_small):
    X, y, _ = clothing_small
    # photos cost image descriptors on every fold; the cluster path is what is tested here
    return X.drop(columns=["photo_front", "photo_back"]).iloc[:160], y.iloc[:160]


def tree_members() -> list:
    from xgboost import XGBRegressor

    return [
        (
            "xgb",
            make_tree_pipeline(
                XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1, random_state=0)
            ),
        ),
        (
            "forest",
            make_tree_pipeline(RandomForestRegressor(n_estimators=10, n_jobs=1, random_state=0)),
        ),
    ]


def test_dask_fit_equals_local_fit(client, data):
    X, y = data
    blend = BlendRegressor(tree_members(), cv=3, random_state=0)
    local = clone(blend).fit(X, y)
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            remote = clone(blend).fit(X, y)
    ran_on = {task["worker"] for task in stream.data}
    assert len(stream.data) >= 2 * 3, "the members x folds tasks did not run on the cluster"
    assert ran_on <= set(client.scheduler_info()["workers"])
    assert local.weights_ == remote.weights_
    np.testing.assert_array_equal(local.oof_predictions_, remote.oof_predictions_)
    assert np.array_equal(local.predict(X), remote.predict(X))


def test_worker_killed_mid_fit_is_survived(client, data, tmp_path):
    X, y = data
    marker = tmp_path / "died-once"
    members = [
        *tree_members()[:1],
        ("dies_once", make_tree_pipeline(DiesInWorker(str(marker), guard_pid=os.getpid()))),
    ]
    blend = BlendRegressor(members, cv=3, random_state=0)
    with joblib.parallel_backend("dask"):
        blend.fit(X, y)
    assert marker.exists(), "no worker died: the test did not exercise the fault"
    assert int(marker.read_text()) != os.getpid()
    board = blend.leaderboard_.set_index("member")
    assert (board["status"] != "failed").all(), board.to_dict()
    assert blend.predict(X.iloc[:5]).shape == (5,)
    client.wait_for_workers(2, timeout=60)


def test_xgboost_dask_path(client, data):
    dd = pytest.importorskip("dask.dataframe")  # needs pyarrow (dask[dataframe])
    from blend.dask import DaskBoostedRegressor, fit_xgboost_dask

    X, y = data
    frame = X.assign(price=y.to_numpy())
    ddf = dd.from_pandas(frame, npartitions=4)
    model = fit_xgboost_dask(client, ddf, "price", n_estimators=60, max_depth=3, sample_rows=500)
    assert isinstance(model, DaskBoostedRegressor)
    local = model.predict(X)
    assert local.shape == (len(X),)
    on_cluster = model.predict(ddf.drop(columns=["price"])).compute()
    np.testing.assert_allclose(on_cluster, local, rtol=1e-6)
    # it learned something: training error well below the spread of the target
    assert np.sqrt(np.mean((local - y.to_numpy()) ** 2)) < 0.8 * y.std()
    with pytest.raises(TypeError, match="dask DataFrame"):
        DaskBoostedRegressor().fit(X, y)
    with pytest.raises(ValueError, match="target column"):
        fit_xgboost_dask(client, ddf, "nope")
