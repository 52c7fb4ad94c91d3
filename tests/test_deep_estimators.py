"""The Keras graph estimators: fit/predict on every modality, multi-task heads, image files,
persistence, scikit-learn citizenship and bad inputs. Tiny models and 1-2 epochs throughout."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import blend  # noqa: E402
from blend.members.deep.estimators import (  # noqa: E402
    KerasGraphClassifier,
    KerasGraphRegressor,
    KerasMultiTaskEstimator,
    infer_task,
)

# Small widths for every test model (tracing cost, not accuracy, is what tests pay for).
TINY = {
    "model__units": 8,
    "model__meta_units": 8,
    "model__image_widths": (4, 8),
    "model__text_filters": 4,
    "model__text_embedding_dim": 4,
    "batch_size": 64,
}
EAGER = {"compile__run_eagerly": True}  # tiny numeric fits: skip graph tracing


def _numeric(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = X["a"] * 2 - X["b"] + rng.normal(scale=0.1, size=n)
    return X, y


@pytest.fixture(scope="module")
def fitted_regressor(clothing_small):
    X, y, _ = clothing_small
    X = X.iloc[:200]
    before = X.copy()
    est = KerasGraphRegressor(epochs=2, random_state=0, **TINY, **EAGER).fit(X, y.iloc[:200])
    pd.testing.assert_frame_equal(X, before)  # fit never mutates the user's frame
    return est, X, y.iloc[:200]


# ---------------------------------------------------------------------- regressor
def test_regressor_all_modalities(fitted_regressor):
    est, X, y = fitted_regressor
    assert est._blend_expensive is True
    pred = est.predict(X)
    assert pred.shape == (len(X),) and np.isfinite(pred).all()
    assert isinstance(est.model_, keras.Model)
    assert set(est.roles_.values()) == {"categorical", "numeric", "text", "image"}
    assert len(est.history_["loss"]) == 2 and "val_loss" in est.history_
    assert est.n_features_in_ == X.shape[1]
    assert list(est.feature_names_in_) == list(X.columns)
    # The two photos share one encoder by default.
    assert len(est.model_.get_layer("shared0_encoder")._inbound_nodes) == 2
    # The target is standardized inside the model: predictions start near its mean.
    assert abs(pred.mean() - y.mean()) < 3 * y.std()


def test_compiled_predict_matches_eager_for_rows_and_batches(fitted_regressor):
    est, X, _ = fitted_regressor
    eager = est.predict(X.iloc[:5])
    compiled = clone(est)  # same state, but predicting through the compiled function
    compiled.__dict__.update(pickle.loads(pickle.dumps(est)).__dict__)
    compiled.model_.run_eagerly = False
    batch = compiled.predict(X.iloc[:5])
    rows = np.array([compiled.predict(X.iloc[[i]])[0] for i in range(5)])
    np.testing.assert_allclose(batch, eager, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rows, batch, rtol=1e-5, atol=1e-5)


def test_pickle_and_joblib_round_trip(fitted_regressor, tmp_path):
    est, X, _ = fitted_regressor
    expected = est.predict(X.iloc[:10])
    assert est._forward is not None
    restored = pickle.loads(pickle.dumps(est))
    assert getattr(restored, "_forward", None) is None  # rebuilt lazily on predict
    np.testing.assert_allclose(restored.predict(X.iloc[:10]), expected, rtol=1e-6)
    joblib.dump(est, tmp_path / "est.joblib")
    again = joblib.load(tmp_path / "est.joblib")
    np.testing.assert_allclose(again.predict(X.iloc[:10]), expected, rtol=1e-6)


def test_keras_file_round_trip_safe_mode(fitted_regressor, tmp_path):
    est, X, _ = fitted_regressor
    path = tmp_path / "model.keras"
    est.model_.save(path)
    model = keras.saving.load_model(path, safe_mode=True)
    arrays = est.encoder_.transform(X.iloc[:4])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(arrays, training=False)).ravel(),
        est.predict(X.iloc[:4]),
        rtol=1e-5,
    )


def test_bad_inputs_at_predict(fitted_regressor):
    est, X, _ = fitted_regressor
    with pytest.raises(ValueError, match="description"):
        est.predict(X.drop(columns="description"))
    wrong = X.iloc[:3].copy()
    wrong["photo_back"] = [np.zeros((20, 20, 3), dtype=np.uint8)] * 3
    with pytest.raises(ValueError, match="photo_back"):
        est.predict(wrong)
    # Documented handling: extra and reordered columns, unseen categories, NaN/inf numerics,
    # empty or non-string text.
    odd = X.iloc[:4][list(X.columns)[::-1]].assign(extra=1)
    odd["brand"] = odd["brand"].astype(object)
    odd.loc[odd.index[0], "brand"] = "Brand Never Seen"
    odd["seller_rating"] = [np.nan, np.inf, -np.inf, 4.0]
    odd["description"] = ["", None, 12345, "brand new silk dress"]
    before = odd.copy()
    pred = est.predict(odd)
    assert np.isfinite(pred).all()
    pd.testing.assert_frame_equal(odd, before)
    with pytest.raises(ValueError, match=r"[Tt]ext"):
        est.predict(X.iloc[:2].assign(description=[np.zeros(2), "x"]))


def test_regressor_target_and_data_errors(clothing_small):
    X, y, _ = clothing_small
    X, y = X.iloc[:30], y.iloc[:30].copy()
    bad_y = y.copy()
    bad_y.iloc[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KerasGraphRegressor(epochs=1).fit(X, bad_y)
    with pytest.raises(ValueError, match="rows"):
        KerasGraphRegressor(epochs=1).fit(X, y.iloc[:10])
    with pytest.raises(ValueError, match="role"):
        KerasGraphRegressor(epochs=1, roles={"brand": "colour"}).fit(X, y)
    with pytest.raises(ValueError, match="epochs"):
        KerasGraphRegressor(epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="ignore"):
        KerasGraphRegressor(epochs=1).fit(pd.DataFrame({"a": [np.nan] * 30}), y)
    with pytest.raises(TypeError, match="unexpected keyword"):
        KerasGraphRegressor(units=3)


def test_reproducible_with_random_state():
    X, y = _numeric()
    params = {"epochs": 2, "graph": "mlp", "random_state": 3, **TINY, **EAGER}
    a = KerasGraphRegressor(**params).fit(X, y).predict(X)
    b = KerasGraphRegressor(**params).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    c = KerasGraphRegressor(**{**params, "random_state": 4}).fit(X, y).predict(X)
    assert not np.array_equal(a, c)


def _validation_rows(est, n):
    """The rows ``fit`` held out for early stopping (same seed, same draw)."""
    from sklearn.utils import check_random_state

    seed = int(check_random_state(est.random_state).randint(0, 2**31 - 1))
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: round(n * est.validation_fraction)])


@pytest.mark.parametrize("use_ema", [True, False])
def test_kept_weights_are_the_validated_ones(use_ema):
    """With weight averaging on (the default), the best epoch's validation loss was measured on
    the averaged weights, and those are the weights kept: the final model scores exactly the
    best validation loss in the history."""
    X, y = _numeric(400)
    params = {"epochs": 40, "patience": 4, "graph": "mlp", "random_state": 0, **TINY}
    if not use_ema:
        params["optimizer__use_ema"] = False
    est = KerasGraphRegressor(**params).fit(X, y)
    assert est.model_.optimizer.use_ema is use_ema
    val = _validation_rows(est, len(X))
    mse = np.mean((est.predict(X.iloc[val]) - y.to_numpy()[val]) ** 2)
    np.testing.assert_allclose(mse, min(est.history_["val_loss"]), rtol=1e-4)


def test_weight_averaging_horizon():
    from blend.members.deep.estimators import _weight_averaging

    # 100 steps (Keras's momentum 0.99), but at most a tenth of the run; nothing under two.
    assert _weight_averaging(17, 200, {}) == {"use_ema": True, "ema_momentum": 0.99}
    assert _weight_averaging(10, 5, {}) == {"use_ema": True, "ema_momentum": 1 - 1 / 5}
    assert _weight_averaging(1, 3, {}) == {}
    assert _weight_averaging(17, 200, {"use_ema": False}) == {}
    # 360 training rows in batches of 64: 6 steps an epoch, 180 in all, an 18-step average.
    X, y = _numeric(400)
    est = KerasGraphRegressor(epochs=30, patience=0, graph="mlp", **TINY).fit(X, y)
    assert est.model_.optimizer.ema_momentum == pytest.approx(1 - 1 / 18)
    # The user's own settings win, routed or on their optimizer instance (which is copied).
    mine = KerasGraphRegressor(epochs=30, optimizer__ema_momentum=0.5)._make_optimizer(6)
    assert mine.use_ema and mine.ema_momentum == pytest.approx(0.5)
    sgd = keras.optimizers.SGD(use_ema=True, ema_momentum=0.7)
    own = KerasGraphRegressor(epochs=30, optimizer=sgd)._make_optimizer(6)
    assert own is not sgd and own.ema_momentum == pytest.approx(0.7)
    plain = KerasGraphRegressor(epochs=30, optimizer=keras.optimizers.SGD())._make_optimizer(6)
    assert plain.use_ema and plain.ema_momentum == pytest.approx(1 - 1 / 18)


def test_multioutput_regression_and_numpy_input():
    X, y = _numeric()
    Y = np.column_stack([y, -y])
    est = KerasGraphRegressor(epochs=1, graph="mlp", random_state=0, **TINY, **EAGER)
    est.fit(X.to_numpy(), Y)
    assert est.predict(X.to_numpy()).shape == (len(X), 2)
    assert not hasattr(est, "feature_names_in_")
    with pytest.raises(ValueError, match="expecting 3 features"):
        est.predict(X.to_numpy()[:, :2])


def test_routed_parameters_and_callable_graph():
    X, y = _numeric()
    est = KerasGraphRegressor(epochs=1, graph="mlp", model__units=5, **EAGER)
    assert est.get_params()["model__units"] == 5
    est.set_params(model__units=7, epochs=1)
    twin = clone(est)
    assert twin.get_params()["model__units"] == 7 and twin.model__units == 7
    est.fit(X, y)
    assert est.model_.get_layer("trunk0_dense").units == 7

    def my_graph(specs):
        inputs = {s.name: keras.Input(s.shape, dtype=s.dtype, name=s.name) for s in specs}
        out = keras.layers.Dense(1)(keras.layers.Dense(4, activation="relu")(inputs["num"]))
        return keras.Model(inputs, out)

    custom = KerasGraphRegressor(graph=my_graph, epochs=1, **EAGER).fit(X, y)
    assert custom.model_.count_params() == 3 * 4 + 4 + 4 + 1
    assert custom.predict(X).shape == (len(X),)


@pytest.mark.parametrize("graph", ["resnet", "separable"])
def test_named_graphs_fit(graph):
    X, y = _numeric(40)
    est = KerasGraphRegressor(epochs=1, graph=graph, **TINY, **EAGER).fit(X, y)
    assert est.predict(X).shape == (40,)


# ---------------------------------------------------------------------- classifier
def test_classifier_string_labels_and_class_weight():
    X, y = _numeric(90)
    labels = np.where(y > 0.5, "high", np.where(y < -0.5, "low", "mid"))
    est = KerasGraphClassifier(epochs=2, random_state=0, class_weight="balanced", **TINY, **EAGER)
    est.fit(X, labels)
    assert list(est.classes_) == ["high", "low", "mid"]
    proba = est.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(est.predict(X)) <= set(est.classes_)
    with pytest.raises(ValueError, match="classes"):
        KerasGraphClassifier(epochs=1, class_weight={"nope": 2}, **EAGER).fit(X, labels)


def test_binary_classifier_integer_labels_sample_weight():
    X, y = _numeric(60)
    labels = (y > 0).astype(int).to_numpy() * 5 + 1  # labels 1 and 6
    weights = np.where(labels == 6, 2.0, 1.0)
    est = KerasGraphClassifier(epochs=1, random_state=0, **TINY, **EAGER)
    est.fit(X, labels, sample_weight=weights)
    assert list(est.classes_) == [1, 6]
    assert est.predict_proba(X).shape == (60, 2)
    assert 0 <= est.score(X, labels) <= 1
    with pytest.raises(ValueError, match="one class"):
        KerasGraphClassifier(epochs=1, **EAGER).fit(X, np.ones(60))


# ---------------------------------------------------------------------- multi-task
def test_multitask_heads(clothing_small):
    X, y, _ = clothing_small
    X = X.iloc[:120].drop(columns=["photo_front", "photo_back", "condition"])
    Y = pd.DataFrame(
        {
            "price": y.iloc[:120].to_numpy(),
            "condition": clothing_small.X["condition"].iloc[:120].astype(str).to_numpy(),
            "expensive": (y.iloc[:120] > y.median()).to_numpy(),
        },
        index=X.index,
    )
    est = KerasMultiTaskEstimator(
        epochs=1, random_state=0, loss_weights={"price": 2.0}, **TINY, **EAGER
    ).fit(X, Y)
    assert est.tasks_ == {"price": "regression", "condition": "multiclass", "expensive": "binary"}
    pred = est.predict(X.iloc[:5])
    assert list(pred.columns) == ["price", "condition", "expensive"]
    assert pred["condition"].isin(est.classes_["condition"]).all()
    proba = est.predict_proba(X.iloc[:5])
    assert proba["condition"].shape == (5, 5) and proba["expensive"].shape == (5, 2)
    assert set(est.model_.output_names) == {"price", "condition", "expensive"}
    assert -np.inf < est.score(X, Y) <= 1
    # Declared task types override inference.
    override = KerasMultiTaskEstimator(
        epochs=1, tasks={"expensive": "multiclass"}, **TINY, **EAGER
    ).fit(X, Y[["expensive"]])
    assert override.tasks_ == {"expensive": "multiclass"}


def test_multitask_bad_targets():
    X, y = _numeric(40)
    with pytest.raises(TypeError, match="DataFrame"):
        KerasMultiTaskEstimator(epochs=1).fit(X, y.to_numpy())
    with pytest.raises(ValueError, match="unknown"):
        KerasMultiTaskEstimator(epochs=1, tasks={"t": "ranking"}).fit(X, pd.DataFrame({"t": y}))
    with pytest.raises(ValueError, match="missing"):
        KerasMultiTaskEstimator(epochs=1).fit(X, pd.DataFrame({"t": y.where(y > 0)}))
    assert infer_task(pd.Series([0, 1, 1])) == "binary"
    assert infer_task(pd.Series([0.5, 1.0])) == "regression"
    assert infer_task(pd.Series(["a", "b", "c"])) == "multiclass"


# ---------------------------------------------------------------------- image files
def test_image_paths_stream_and_match_array_cells(clothing_paths):
    X, y, _ = clothing_paths
    est = KerasGraphRegressor(epochs=1, graph="mlp", random_state=0, **TINY)
    est.fit(X, y)
    assert {s.source for s in est.encoder_.specs_ if s.role == "image"} == {"path"}
    from_files = est.predict(X.iloc[:6])
    from PIL import Image

    arrays = X.iloc[:6].copy()
    for column in ("photo_front", "photo_back"):
        arrays[column] = [np.asarray(Image.open(p).convert("RGB")) for p in arrays[column]]
    np.testing.assert_allclose(est.predict(arrays), from_files, rtol=1e-5)
    missing = X.iloc[:1].copy()
    missing["photo_front"] = ["/no/such/photo.png"]
    with pytest.raises(ValueError, match="photo_front"):
        est.predict(missing)


# ---------------------------------------------------------------------- scikit-learn citizenship
def test_public_names_and_clone():
    assert blend.KerasGraphRegressor is KerasGraphRegressor
    est = KerasGraphRegressor(epochs=3, model__units=4)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert "model__units=4" in repr(est)


def test_grid_search_pipeline_and_cross_val_score():
    X, y = _numeric(60)
    base = KerasGraphRegressor(epochs=1, graph="mlp", validation_fraction=0, **TINY, **EAGER)
    search = GridSearchCV(base, {"model__units": [4, 6]}, cv=2).fit(X, y)
    assert search.best_params_["model__units"] in (4, 6)
    scores = cross_val_score(make_pipeline(StandardScaler(), clone(base)), X.to_numpy(), y, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_no_warnings_on_dataframe_round_trip():
    X, y = _numeric(40)
    est = KerasGraphRegressor(epochs=1, graph="mlp", **TINY, **EAGER).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        est.predict(X)
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X.to_numpy())
