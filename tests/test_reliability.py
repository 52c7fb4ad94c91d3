"""Reliability across modules: faults, resumable fits, reproducibility, security, quiet start-up.

Each test exercises the public API the way a user (or an attacker) would: members that raise
or diverge, a fit killed from outside and resumed, the same seed in two fits and in a fresh
process, tampered model files, output paths that escape their folder, and TensorFlow's
start-up and retracing chatter.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge

import blend
from blend import BlendRegressor, make_tree_pipeline
from blend.io import UnsafeModelError

ROOT = Path(__file__).resolve().parents[1]

# Small widths for every Keras model: tracing cost, not accuracy, is what these tests pay for.
TINY = {
    "model__units": 8,
    "model__meta_units": 8,
    "model__text_filters": 4,
    "model__text_embedding_dim": 4,
    "batch_size": 64,
}


def _clean_env(**extra: str) -> dict:
    """The user's environment: no TF_CPP_MIN_LOG_LEVEL set by the test runner."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    return {**env, **extra}


@pytest.fixture(scope="module")
def tabular():
    """80 clothing listings without the photos (the image path is covered in test_deep_*)."""
    from blend.datasets import make_clothing

    X, y, _ = make_clothing(80, random_state=3)
    return X.drop(columns=["photo_front", "photo_back"]), y


# ------------------------------------------------------------------------ faults


class _FlakyMember(RegressorMixin, BaseEstimator):
    """Fits on most folds but raises on the one that holds out row ``marker`` (mid-fit)."""

    def __init__(self, marker: int = 0):
        self.marker = marker

    def fit(self, X, y):
        rows = X.index if isinstance(X, pd.DataFrame) else np.asarray(X)[:, -1]
        if self.marker not in set(rows):
            raise RuntimeError("flaky member lost its database connection")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class _DiesInWorker(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        os._exit(3)  # the worker process dies mid-fit


def _diverging_keras():
    from blend import KerasGraphRegressor

    # SGD at a huge learning rate: the loss is finite after the first step, then inf/NaN.
    return KerasGraphRegressor(
        graph="mlp",
        epochs=3,
        optimizer="sgd",
        learning_rate=1e12,
        validation_fraction=0.0,
        random_state=0,
        compile__run_eagerly=True,
        **TINY,
    )


def test_raising_and_diverging_members_are_reported_and_blend_goes_on(tabular):
    X, y = tabular
    before = X.copy()
    members = [
        ("forest", make_tree_pipeline(RandomForestRegressor(10, random_state=0))),
        ("flaky", _FlakyMember(marker=int(X.index[7]))),  # raises on one fold of three
        ("deep", _diverging_keras()),
    ]
    with pytest.warns(UserWarning) as record:
        model = BlendRegressor(members, cv=3, random_state=0, n_jobs=1).fit(X, y)
    messages = " ".join(str(w.message) for w in record)
    assert "'flaky'" in messages and "'deep'" in messages
    board = model.leaderboard_.set_index("member")
    assert board.loc["flaky", "status"] == "failed"
    assert "database connection" in board.loc["flaky", "why"]
    assert board.loc["deep", "status"] == "failed"
    assert "NaN" in board.loc["deep", "why"] or "diverg" in board.loc["deep", "why"]
    assert board.loc["forest", "status"] == "kept" and model.weights_["forest"] == 1.0
    pred = model.predict(X)
    assert np.isfinite(pred).all()
    pd.testing.assert_frame_equal(X, before)


def test_diverging_keras_member_raises_a_clear_error_in_fit(tabular):
    X, y = tabular
    with pytest.raises((FloatingPointError, ValueError), match=r"(?i)diverg|NaN"):
        _diverging_keras().fit(X, y)


@pytest.mark.slow
def test_dead_worker_and_raising_member_in_one_parallel_fit():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=(90, 3)), np.arange(90)])  # last column: row ids
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=90)
    members = [
        ("ridge", Ridge()),
        ("flaky", _FlakyMember(marker=7)),
        ("dies", _DiesInWorker()),
    ]
    with pytest.warns(UserWarning):
        model = BlendRegressor(members, cv=3, n_jobs=2, random_state=0).fit(X, y)
    board = model.leaderboard_.set_index("member")
    assert board.loc["dies", "status"] == "failed" and "worker died" in board.loc["dies", "why"]
    assert board.loc["flaky", "status"] == "failed" and "database" in board.loc["flaky", "why"]
    assert model.weights_ == {"ridge": 1.0}
    assert np.isfinite(model.predict(X)).all()


# ------------------------------------------------------------------------ resumable fits

_RESUME_HELPERS = '''
"""Members for the resume test: each fit appends a line to $RESUME_LOG."""
import os
import time

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge


class Logged(RegressorMixin, BaseEstimator):
    def __init__(self, tag="a", alpha=1.0):
        self.tag = tag
        self.alpha = alpha

    def fit(self, X, y):
        log = os.environ["RESUME_LOG"]
        pause_at = int(os.environ.get("RESUME_PAUSE_AT", "0"))
        done = sum(1 for _ in open(log)) if os.path.exists(log) else 0
        if pause_at and done >= pause_at:
            open(log + ".paused", "w").close()
            time.sleep(600)  # the test kills the process here
        self.model_ = Ridge(alpha=self.alpha).fit(X, y)
        with open(log, "a") as f:
            f.write(f"{self.tag} {len(X)} {float(np.asarray(X)[:, 0].sum())!r}\\n")
        return self

    def predict(self, X):
        return self.model_.predict(X)
'''

_RESUME_SCRIPT = """
import sys
import numpy as np
from sklearn.datasets import make_friedman1
from blend import BlendRegressor
from resume_helpers import Logged

X, y = make_friedman1(150, noise=0.5, random_state=0)
members = [("a", Logged("a")), ("b", Logged("b", 3.0)), ("c", Logged("c", 10.0))]
model = BlendRegressor(members, method="nnls", cv=4, memory=sys.argv[1], n_jobs=1,
                       random_state=0).fit(X, y)
np.save(sys.argv[2], model.predict(X))
print(model.leaderboard_[["member", "n_fits", "cached_fits"]].to_string())
"""


def _log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_killed_fit_resumes_without_refitting_finished_tasks(tmp_path, monkeypatch):
    (tmp_path / "resume_helpers.py").write_text(_RESUME_HELPERS)
    script = tmp_path / "fit.py"
    script.write_text(_RESUME_SCRIPT)
    cache, log = tmp_path / "cache", tmp_path / "fits.log"
    env = _clean_env(RESUME_LOG=str(log), TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    cmd = [sys.executable, str(script), str(cache), str(tmp_path / "pred.npy")]

    # 1. kill the process (SIGKILL, from outside) while it fits its 6th of 12 member x fold tasks
    proc = subprocess.Popen(
        cmd, env={**env, "RESUME_PAUSE_AT": "5"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 240
    while not Path(str(log) + ".paused").exists():
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "the fit never reached its 6th task"
        time.sleep(0.2)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    first = _log_lines(log)
    assert len(first) == 5

    # 2. the same fit again resumes: only the 7 unfinished tasks and the final refits run
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    second = _log_lines(log)[len(first) :]
    oof_second = [line for line in second if int(line.split()[1]) < 150]
    refits = [line for line in second if int(line.split()[1]) == 150]
    assert len(oof_second) == 12 - 5
    assert not set(oof_second) & set(first), "a finished task was fitted again"
    tags = [line.split()[0] for line in refits]  # one final fit per member with weight
    assert 1 <= len(tags) == len(set(tags)) <= 3

    # 3. and gives the predictions of an uninterrupted fit
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("RESUME_LOG", str(tmp_path / "in_process.log"))
    import importlib

    helpers = importlib.import_module("resume_helpers")
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(150, noise=0.5, random_state=0)
    members = [(t, helpers.Logged(t, a)) for t, a in (("a", 1.0), ("b", 3.0), ("c", 10.0))]
    fresh = BlendRegressor(members, method="nnls", cv=4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), fresh.predict(X))
    sys.modules.pop("resume_helpers", None)


# ------------------------------------------------------------------------ reproducibility


def _mixed_members(seed: int = 0) -> list:
    xgboost = pytest.importorskip("xgboost")
    from blend import KerasGraphRegressor, WideDeepRegressor

    return [
        (
            "xgb",
            make_tree_pipeline(
                xgboost.XGBRegressor(n_estimators=20, max_depth=3, random_state=seed, n_jobs=1)
            ),
        ),
        ("deep", KerasGraphRegressor(graph="mlp", epochs=2, random_state=seed, **TINY)),
        (
            "wide_deep",
            WideDeepRegressor(epochs=2, random_state=seed, max_crosses=2, **TINY),
        ),
    ]


@pytest.fixture(scope="module")
def mixed_blend(tabular):
    X, y = tabular
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean fit emits no warning at all
        # ... except Keras' own on the JAX backend: its Variable.__array__ lacks numpy 2's
        # `copy` keyword (keras 3.15), which EarlyStopping's get_weights trips. Python hides
        # DeprecationWarnings raised inside libraries, so a user sees none of it.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"keras\.")
        model = BlendRegressor(_mixed_members(), method="mean", cv=2, random_state=0).fit(X, y)
    return model


@pytest.mark.backends
def test_predictions_do_not_depend_on_earlier_batch_sizes(mixed_blend, tabular):
    X, _ = tabular
    member = dict(mixed_blend.members_)["wide_deep"]
    fresh = pickle.loads(pickle.dumps(member))  # no compiled function yet
    direct = fresh.predict(X)
    used = pickle.loads(pickle.dumps(member))
    used.predict(X.iloc[:40])
    used.predict(X.iloc[:3])
    np.testing.assert_array_equal(used.predict(X), direct)


@pytest.mark.slow
@pytest.mark.backends
def test_same_seed_gives_bitwise_identical_predictions_across_fits_and_processes(
    mixed_blend, tabular, tmp_path
):
    X, y = tabular
    first = mixed_blend.predict(X)
    second = BlendRegressor(_mixed_members(), method="mean", cv=2, random_state=0).fit(X, y)
    assert set(second.leaderboard_["status"]) == {"kept"}
    np.testing.assert_array_equal(second.predict(X), first)
    for name, member in mixed_blend.members_:
        np.testing.assert_array_equal(dict(second.members_)[name].predict(X), member.predict(X))

    path = blend.save(mixed_blend, tmp_path / "model.blend")
    X.to_pickle(tmp_path / "X.pkl")  # the test's own data, not part of the model file
    code = (
        "import sys, numpy as np, pandas as pd, blend\n"
        "m = blend.load(sys.argv[1])\n"
        "np.save(sys.argv[2], m.predict(pd.read_pickle(sys.argv[3])))\n"
    )
    out = tmp_path / "fresh.npy"
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(out), str(tmp_path / "X.pkl")],
        env=_clean_env(TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(out), first)
    np.testing.assert_array_equal(blend.load(path).predict(X), first)


# ------------------------------------------------------------------------ security


class _Marker:
    """Unpickling this runs ``open(marker, "w")``: the file existing proves code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _swap(path: Path, target: Path, name: str, data: bytes) -> None:
    """Write ``target``: ``path`` with member ``name`` replaced and its digest fixed up."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    members[name] = data
    manifest["members"][name]["sha256"] = hashlib.sha256(data).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for n, d in members.items():
            archive.writestr(n, d)


@pytest.fixture(scope="module")
def saved_blend(tmp_path_factory, mixed_blend):
    """The mixed blend on disk: skops graph, XGBoost booster and Keras archive members."""
    return blend.save(mixed_blend, tmp_path_factory.mktemp("saved") / "model.blend")


def test_every_archive_member_swapped_for_a_pickle_is_refused_without_running_it(
    saved_blend, tmp_path
):
    with zipfile.ZipFile(saved_blend) as archive:
        names = [n for n in archive.namelist() if n != "manifest.json"]
    assert any(n.endswith(".keras") for n in names) and "graph.skops" in names
    assert any(n.endswith(".ubj") for n in names)
    for name in names:
        for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
            marker = tmp_path / f"ran-{protocol}-{name.replace('/', '_')}"
            evil = tmp_path / "evil.blend"
            _swap(saved_blend, evil, name, pickle.dumps(_Marker(str(marker)), protocol=protocol))
            with pytest.raises(UnsafeModelError, match="pickle"):
                blend.load(evil)
            assert not marker.exists(), f"unpickling code ran for {name} (protocol {protocol})"


def test_object_array_smuggled_into_the_skops_graph_is_refused(saved_blend, tmp_path):
    with zipfile.ZipFile(saved_blend) as archive:
        graph = archive.read("graph.skops")
    inner = zipfile.ZipFile(io.BytesIO(graph))
    arrays = [n for n in inner.namelist() if n.endswith(".npy")]
    marker = tmp_path / "ran"
    payload = io.BytesIO()
    np.save(payload, np.array([_Marker(str(marker))], dtype=object), allow_pickle=True)
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w") as out:
        for n in inner.namelist():
            out.writestr(n, payload.getvalue() if n == arrays[0] else inner.read(n))
    evil = tmp_path / "evil.blend"
    _swap(saved_blend, evil, "graph.skops", rebuilt.getvalue())
    with pytest.raises(ValueError, match=r"(?i)pickle|object"):
        blend.load(evil)
    assert not marker.exists()


_CLI_CONFIG = """\
[data]
path = "data.csv"
target = "y"
test_size = 0.25

[blend]
cv = 2
random_state = 0

[output]
folder = "out"
model = "{model}"

[[members]]
name = "lin"
kind = "linear"
"""


@pytest.fixture()
def cli_folder(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    frame["y"] = frame["a"] - frame["b"]
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(
    "model",
    [
        "../model.blend",
        "sub/../../model.blend",
        "/tmp/model.blend",
        "~/model.blend",
        "..\\\\model.blend",
        "C:/model.blend",
    ],
)
def test_train_config_refuses_model_names_escaping_the_folder(cli_folder, model):
    from blend.cli import ConfigError, load_config

    (cli_folder / "c.toml").write_text(_CLI_CONFIG.format(model=model))
    with pytest.raises(ConfigError, match="escapes the output folder"):
        load_config(cli_folder / "c.toml")


def test_train_refuses_symlink_escaping_the_output_folder(cli_folder, capsys):
    from blend.cli import EXIT_OK, main

    outside = cli_folder / "outside"
    outside.mkdir()
    (cli_folder / "out").mkdir()
    (cli_folder / "out" / "link").symlink_to(outside, target_is_directory=True)
    (cli_folder / "c.toml").write_text(_CLI_CONFIG.format(model="link/model.blend"))
    code = main(["train", str(cli_folder / "c.toml"), "-q"])
    assert not (outside / "model.blend").exists(), "the model was written outside the folder"
    assert code != EXIT_OK
    assert "escapes the output folder" in capsys.readouterr().err


# ------------------------------------------------------------------------ quiet start-up

_CHATTER_SCRIPT = """
import sys, warnings
from blend.console import setup_console

setup_console()  # as blend's programs do, before Keras is imported
import numpy as np, pandas as pd
import blend
from blend import KerasGraphRegressor

rng = np.random.default_rng(0)
X = pd.DataFrame({"a": rng.normal(size=30), "c": list("xyz") * 10})
y = X["a"] * 2.0
models = []
for seed in range(3):  # several fits in one process: Keras builds a new train function each
    models.append(KerasGraphRegressor(graph="mlp", epochs=1, random_state=seed,
                                      model__units=4, model__meta_units=4).fit(X, y))
for model in models:
    for n in (1, 2, 3, 5, 8, 13):  # new batch sizes: the compiled predict path retraces
        assert np.isfinite(model.predict(X.iloc[:n])).all()
blend.load(blend.save(models[0], sys.argv[1])).predict(X.iloc[:4])
print("ok")
"""

_CHATTER = (
    "cpu_feature_guard", "absl", "oneDNN", "retracing", "I0000", "W0000", "E0000", "WARNING",
)  # fmt: skip


@pytest.mark.slow
def test_tensorflow_chatter_does_not_reach_the_user_of_a_program(tmp_path):
    """A program that calls setup_console (the CLI, the pipelines) prints no TensorFlow log."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHATTER_SCRIPT), str(tmp_path / "m.blend")],
        env=_clean_env(PYTHONWARNINGS="default"),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
    noisy = [line for line in done.stderr.splitlines() if any(c in line for c in _CHATTER)]
    assert not noisy, "\n".join(noisy[:10])
