"""Safe model files: round trips with identical predictions, and refusal of unsafe files."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import blend
from blend.io import ModelVersionWarning, UnsafeModelError, read_manifest


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=120),
            "b": rng.normal(size=120),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], 120)),
        }
    )
    y = 2 * X["a"] - X["b"] + (X["c"] == "x") + rng.normal(scale=0.1, size=120)
    return X, y


def _encoder():
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["c"]), remainder="passthrough"
    )


@pytest.fixture(scope="module")
def rf_pipeline(data):
    X, y = data
    return make_pipeline(_encoder(), RandomForestRegressor(n_estimators=5, random_state=0)).fit(
        X, y
    )


@pytest.fixture(scope="module")
def xgb_pipeline(data):
    xgboost = pytest.importorskip("xgboost")
    X, y = data
    model = xgboost.XGBRegressor(n_estimators=8, max_depth=3, random_state=0)
    return make_pipeline(_encoder(), model).fit(X, y)


@pytest.fixture(scope="module")
def keras_model():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(2,), name="x")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def _keras_holder(model):
    """A scikit-learn object with a Keras model as a fitted attribute, like the deep members."""
    holder = DummyRegressor().fit(np.zeros((2, 1)), [0.0, 1.0])
    holder.model_ = model
    holder.history_ = {"loss": [1.0, 0.5]}
    return holder


def _roundtrip(obj, tmp_path, name="model.blend"):
    path = blend.save(obj, tmp_path / name)
    return blend.load(path), path


def _rewrite(path: Path, replace: dict[str, bytes], *, fix_digest: bool = True, extra=None):
    """Rewrite a model archive with some members replaced (as an attacker would)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    for name, data in replace.items():
        members[name] = data
        if fix_digest and name != "manifest.json":
            manifest["members"][name]["sha256"] = hashlib.sha256(data).hexdigest()
    if "manifest.json" not in replace:
        members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**members, **(extra or {})}.items():
            archive.writestr(name, data)


class _MakeMarker:
    """Unpickling this calls ``open(marker, "w")``: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# -- round trips ---------------------------------------------------------------------------------


def test_sklearn_pipeline_round_trip(data, tmp_path):
    X, y = data
    model = make_pipeline(StandardScaler(), Ridge(alpha=0.5)).fit(X[["a", "b"]], y)
    loaded, path = _roundtrip(model, tmp_path)
    assert np.array_equal(loaded.predict(X[["a", "b"]]), model.predict(X[["a", "b"]]))
    manifest = read_manifest(path)
    assert manifest["format"] == "blend-model"
    assert {"blend", "keras", "xgboost", "sklearn", "numpy", "python"} <= set(manifest["versions"])
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"manifest.json", "graph.skops"}


def test_tree_and_xgboost_pipelines_round_trip(data, rf_pipeline, xgb_pipeline, tmp_path):
    X, _ = data
    for model in (rf_pipeline, xgb_pipeline):
        loaded, path = _roundtrip(model, tmp_path)
        assert np.array_equal(loaded.predict(X), model.predict(X))
    with zipfile.ZipFile(path) as archive:
        assert "xgboost/0.ubj" in archive.namelist()
    assert loaded[-1].get_params()["n_estimators"] == 8


def test_ratio_featurizer_round_trips(data, tmp_path):
    """The default library's xgboost_ratios member: featurizer with a fitted ratio block."""
    xgboost = pytest.importorskip("xgboost")
    X, y = data
    model = xgboost.XGBRegressor(n_estimators=8, max_depth=3, random_state=0)
    pipeline = blend.make_tree_pipeline(model, ratio_columns=2).fit(X, y)
    loaded, _ = _roundtrip(pipeline, tmp_path)
    assert list(loaded[0].get_feature_names_out())[-1] == "a/b"
    assert np.array_equal(loaded.predict(X), pipeline.predict(X))


def test_keras_holder_round_trip_and_user_object_untouched(keras_model, tmp_path):
    holder = _keras_holder(keras_model)
    before = dict(vars(holder))
    loaded, path = _roundtrip(holder, tmp_path)
    assert vars(holder) == before and holder.model_ is keras_model  # never mutated
    x = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    assert np.array_equal(np.asarray(loaded.model_(x)), np.asarray(keras_model(x)))
    assert loaded.history_ == {"loss": [1.0, 0.5]}
    with zipfile.ZipFile(path) as archive:
        assert "keras/0.keras" in archive.namelist()


def test_nested_containers_keep_sharing(data, xgb_pipeline, keras_model, tmp_path):
    X, y = data
    frame_stats = X.describe()
    obj = {
        "members": [("xgb", xgb_pipeline), ("deep", _keras_holder(keras_model))],
        "again": (xgb_pipeline, {"model": keras_model}),
        "frame": X,
        "target": y,
        "columns": X.columns,
        "dtype": X["c"].dtype,
        "stats": frame_stats,
        "rng": np.random.default_rng(3),
    }
    loaded, path = _roundtrip(obj, tmp_path)
    name, pipe = loaded["members"][0]
    assert name == "xgb" and pipe is loaded["again"][0]  # one object, stored once
    assert loaded["again"][1]["model"] is loaded["members"][1][1].model_
    assert np.array_equal(pipe.predict(X), xgb_pipeline.predict(X))
    pd.testing.assert_frame_equal(loaded["frame"], X)
    pd.testing.assert_series_equal(loaded["target"], y)
    pd.testing.assert_frame_equal(loaded["stats"], frame_stats)
    pd.testing.assert_index_equal(loaded["columns"], X.columns)
    assert loaded["dtype"] == X["c"].dtype
    assert loaded["rng"].random() == np.random.default_rng(3).random()
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert {"xgboost/0.ubj", "keras/0.keras"} <= names
    assert "xgboost/1.ubj" not in names and "keras/1.keras" not in names


def test_pandas_string_and_nullable_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "s": pd.array(["a", None, "c"], dtype="str"),
            "o": np.array(["a", 1, None], dtype=object),
            "i": pd.array([1, None, 3], dtype="Int64"),
            "t": pd.to_datetime(["2020-01-01", "2021-01-01", None]),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    loaded, _ = _roundtrip(frame, tmp_path)
    pd.testing.assert_frame_equal(loaded, frame)


def test_fresh_process_reproduces_predictions(data, xgb_pipeline, keras_model, tmp_path):
    X, _ = data
    obj = {"xgb": xgb_pipeline, "deep": _keras_holder(keras_model)}
    path = blend.save(obj, tmp_path / "model.blend")
    x = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    X.to_pickle(tmp_path / "X.pkl")  # the test's own data, not part of the model file
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np, pandas as pd, blend\n"
        "d = sys.argv[1]\n"
        "m = blend.load(d + '/model.blend')\n"
        "np.save(d + '/p1.npy', m['xgb'].predict(pd.read_pickle(d + '/X.pkl')))\n"
        "np.save(d + '/p2.npy', np.asarray(m['deep'].model_(np.load(d + '/x.npy'))))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    assert path.exists()
    assert np.array_equal(np.load(tmp_path / "p1.npy"), xgb_pipeline.predict(X))
    assert np.array_equal(np.load(tmp_path / "p2.npy"), np.asarray(keras_model(x)))


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["graph.skops", "xgboost/0.ubj"])
def test_swapped_pickle_member_is_refused_without_running_code(xgb_pipeline, tmp_path, member):
    path = blend.save(xgb_pipeline, tmp_path / "model.blend")
    marker = tmp_path / "pwned.txt"
    payload = pickle.dumps(_MakeMarker(str(marker)))
    # the attacker also fixes the digest in the manifest, so the content checks must catch it
    _rewrite(path, {member: payload})
    with pytest.raises(UnsafeModelError, match="pickle"):
        blend.load(path)
    assert not marker.exists()


def test_swapped_keras_member_is_refused(keras_model, tmp_path):
    path = blend.save(_keras_holder(keras_model), tmp_path / "model.blend")
    marker = tmp_path / "pwned.txt"
    _rewrite(path, {"keras/0.keras": pickle.dumps(_MakeMarker(str(marker)))})
    with pytest.raises(UnsafeModelError, match="pickle"):
        blend.load(path)
    assert not marker.exists()


def test_digest_mismatch_is_refused(rf_pipeline, tmp_path):
    path = blend.save(rf_pipeline, tmp_path / "model.blend")
    _rewrite(path, {"graph.skops": b"PK garbage"}, fix_digest=False)
    with pytest.raises(UnsafeModelError, match="digest"):
        blend.load(path)


def test_whole_file_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "model.blend"
    path.write_bytes(pickle.dumps(_MakeMarker(str(marker))))
    with pytest.raises(UnsafeModelError, match="pickle"):
        blend.load(path)
    assert not marker.exists()


def test_graph_naming_untrusted_function_is_refused(rf_pipeline, tmp_path):
    import skops.io as sio

    path = blend.save(rf_pipeline, tmp_path / "model.blend")
    evil = sio.dumps({"f": os.system, "g": [pickle.loads]})
    _rewrite(path, {"graph.skops": evil})
    with pytest.raises(UnsafeModelError, match=r"os\.system|posix\.system"):
        blend.load(path)


def test_lambda_layer_is_refused(keras_model, tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input(shape=(2,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    lambda_model = keras.Model(inputs, outputs)
    with pytest.raises(TypeError, match="Lambda"):
        blend.save(_keras_holder(lambda_model), tmp_path / "lambda.blend")
    # a file written by other means: swap a good model's .keras for the Lambda model's
    path = blend.save(_keras_holder(keras_model), tmp_path / "model.blend")
    lambda_model.save(tmp_path / "lambda.keras")
    _rewrite(path, {"keras/0.keras": (tmp_path / "lambda.keras").read_bytes()})
    with pytest.raises(UnsafeModelError, match=r"Lambda|safe"):
        blend.load(path)


def test_path_traversal_entry_is_refused(rf_pipeline, tmp_path):
    path = blend.save(rf_pipeline, tmp_path / "model.blend")
    _rewrite(path, {}, extra={"../escape.txt": b"x"})
    with pytest.raises(UnsafeModelError, match="traversal"):
        blend.load(path)


def test_unlisted_member_is_refused(rf_pipeline, tmp_path):
    path = blend.save(rf_pipeline, tmp_path / "model.blend")
    _rewrite(path, {}, extra={"extra.pkl": b"\x80\x04."})
    with pytest.raises(UnsafeModelError, match="manifest"):
        blend.load(path)


def test_major_version_mismatch_warns(rf_pipeline, data, tmp_path):
    X, _ = data
    path = blend.save(rf_pipeline, tmp_path / "model.blend")
    manifest = read_manifest(path)
    manifest["versions"]["xgboost"] = "1.7.6"
    _rewrite(path, {"manifest.json": json.dumps(manifest).encode()})
    with pytest.warns(ModelVersionWarning, match="xgboost 1.7.6"):
        loaded = blend.load(path)
    assert np.array_equal(loaded.predict(X), rf_pipeline.predict(X))


def test_newer_format_is_refused(rf_pipeline, tmp_path):
    path = blend.save(rf_pipeline, tmp_path / "model.blend")
    manifest = read_manifest(path)
    manifest["format_version"] = 99
    _rewrite(path, {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(UnsafeModelError, match="format version"):
        blend.load(path)


def test_unsupported_attribute_named_at_save(keras_model, tmp_path):
    holder = _keras_holder(keras_model)
    holder.optimizer_ = keras_model.optimizer
    with pytest.raises(TypeError, match=r"DummyRegressor\.optimizer_"):
        blend.save(holder, tmp_path / "model.blend")


def test_untrusted_class_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="_MakeMarker"):
        blend.save({"x": _MakeMarker("unused")}, tmp_path / "model.blend")
    assert not (tmp_path / "model.blend").exists()


# -- the project's own estimators ----------------------------------------------------------------


def _fresh_process_predict(path: Path, X: pd.DataFrame, folder: Path, method="predict"):
    """Load ``path`` in a new Python process and return its predictions on ``X``."""
    X.to_pickle(folder / "X.pkl")  # the test's own data, not part of the model file
    code = (
        "import sys, numpy as np, pandas as pd, blend\n"
        "m = blend.load(sys.argv[1])\n"
        f"np.save(sys.argv[2] + '/out.npy', m.{method}(pd.read_pickle(sys.argv[2] + '/X.pkl')))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", code, str(path), str(folder)], check=True, env=env)
    return np.load(folder / "out.npy", allow_pickle=False)


def test_tree_pipelines_on_mixed_data_round_trip(clothing_small, tmp_path):
    featurize = pytest.importorskip("blend.features.tree")
    xgboost = pytest.importorskip("xgboost")
    X, y, _ = clothing_small
    for model in (
        RandomForestRegressor(n_estimators=5, random_state=0),
        xgboost.XGBRegressor(n_estimators=10, max_depth=3, random_state=0),
    ):
        pipe = featurize.make_tree_pipeline(model).fit(X, y)
        loaded, _ = _roundtrip(pipe, tmp_path)
        assert np.array_equal(loaded.predict(X), pipe.predict(X))


# deep members on metadata and text only: the photo branch costs ~4x more to build and fit
TABULAR = ["brand", "category", "condition", "seller_rating", "days_listed", "description"]


@pytest.mark.backends
def test_keras_graph_estimators_round_trip(clothing_small, tmp_path):
    deep = pytest.importorskip("blend.members.deep.estimators")
    X, y, _ = clothing_small
    X, y = X[TABULAR].iloc[:150], y.iloc[:150]
    reg = deep.KerasGraphRegressor(epochs=1, random_state=0).fit(X, y)
    loaded, path = _roundtrip(reg, tmp_path)
    assert np.array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.predict(X.iloc[:1]).shape == (1,)  # compiled predict path rebuilt lazily
    labels = pd.Series(np.where(y > y.median(), "high", "low"), index=y.index)
    clf = deep.KerasGraphClassifier(epochs=1, random_state=0).fit(X[TABULAR[:5]], labels)
    loaded, _ = _roundtrip(clf, tmp_path, "clf.blend")
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(loaded.predict(X), clf.predict(X))


@pytest.mark.slow
def test_keras_graph_with_photos_round_trip(clothing_small, tmp_path):
    deep = pytest.importorskip("blend.members.deep.estimators")
    X, y, _ = clothing_small
    X, y = X[["brand", "seller_rating", "photo_front"]].iloc[:100], y.iloc[:100]
    reg = deep.KerasGraphRegressor(epochs=1, random_state=0).fit(X, y)
    loaded, _ = _roundtrip(reg, tmp_path)
    assert np.array_equal(loaded.predict(X), reg.predict(X))


@pytest.mark.backends
def test_blend_with_tree_and_deep_members_in_fresh_process(clothing_small, tmp_path):
    blender = pytest.importorskip("blend.ensemble.blender")
    deep = pytest.importorskip("blend.members.deep.estimators")
    featurize = pytest.importorskip("blend.features.tree")
    X, y, _ = clothing_small
    X, y = X[TABULAR].iloc[:150], y.iloc[:150]
    members = [
        ("rf", featurize.make_tree_pipeline(RandomForestRegressor(n_estimators=5, random_state=0))),
        ("deep", deep.KerasGraphRegressor(epochs=1, random_state=0)),
    ]
    model = blender.BlendRegressor(members, method="nnls", cv=2, random_state=0).fit(X, y)
    path = blend.save(model, tmp_path / "blend.blend")
    loaded = blend.load(path)
    pd.testing.assert_frame_equal(loaded.leaderboard_, model.leaderboard_)
    assert loaded.weights_ == model.weights_
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(_fresh_process_predict(path, X, tmp_path), model.predict(X))


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("sklearn.ensemble._forest.RandomForestRegressor", True),
        ("numpy.float64", True),
        ("blend.io._MemberRef", True),
        ("collections.OrderedDict", True),
        ("os.system", False),
        ("posix.system", False),
        ("builtins.eval", False),
        ("builtins.open", False),
        ("numpy.load", False),
        ("numpy.lib._npyio_impl.loadtxt", False),
        ("numpy.memmap", False),
        ("pandas.read_csv", False),
        ("pandas.io.pickle.read_pickle", False),
        ("pandas.core.computation.eval.eval", False),
        ("xgboost.tracker.RabitTracker", False),
        ("sklearn.datasets._base.load_iris", False),
        ("sklearn.utils._testing.ignore_warnings", False),
        ("blend.cli.main", False),
        ("subprocess.Popen", False),
        ("numpy.nosuchthing", False),
    ],
)
def test_allowlist(name, allowed):
    from blend.io import _type_allowed

    assert _type_allowed(name) is allowed
