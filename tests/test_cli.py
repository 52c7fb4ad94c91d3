"""The ``blend`` command, run in subprocesses as a user would, plus config errors in-process."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blend.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, load_config, main

pytest.importorskip("blend.ensemble.blender")
pytest.importorskip("blend.features.tree")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "blend"


def _blend_cmd() -> list[str]:
    """The installed console script when there is one, else ``python -m blend.cli``."""
    if SCRIPT.exists():
        return [str(SCRIPT)]
    return [sys.executable, "-m", "blend.cli"]


def run_blend(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [*_blend_cmd(), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


CONFIG = """\
[data]
path = "diamonds.csv"
target = "price"
test_size = 0.25
random_state = 0

[roles]
cut = "categorical"

[blend]
method = "caruana"
cv = 3
random_state = 0
n_jobs = 1

[output]
folder = "out"
model = "model.blend"

[[members]]
name = "xgb"
kind = "xgboost"
params = { estimator__n_estimators = 30, estimator__max_depth = 3, estimator__n_jobs = 1 }

[[members]]
name = "rf"
kind = "random_forest"
params = { n_estimators = 10, random_state = 0, n_jobs = 1 }

[[members]]
name = "lin"
kind = "linear"
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from blend.datasets import load_diamonds

    folder = tmp_path_factory.mktemp("cli")
    X, y = load_diamonds()
    frame = X.assign(price=y).sample(400, random_state=0).reset_index(drop=True)
    frame.to_csv(folder / "diamonds.csv", index=False)
    (folder / "config.toml").write_text(CONFIG)
    return folder


@pytest.fixture(scope="module")
def trained(workdir):
    result = run_blend("train", workdir / "config.toml")
    assert result.returncode == EXIT_OK, result.stderr
    return workdir, result


def _write_config(folder: Path, text: str, name: str = "bad.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_help_for_every_command():
    for args in ([], ["train"], ["predict"], ["report"]):
        result = run_blend(*args, "--help")
        assert result.returncode == EXIT_OK, result.stderr
        assert "usage: blend" in result.stdout
        assert "exit codes" in result.stdout
    assert run_blend().returncode == EXIT_USAGE  # no command
    assert run_blend("frobnicate").returncode == EXIT_USAGE


def test_train_writes_model_and_report(trained):
    folder, result = trained
    out = folder / "out"
    for name in (
        "model.blend",
        "leaderboard.csv",
        "metrics.json",
        "error_correlation.png",
        "ambiguity.png",
        "predicted_vs_true.png",
        "holdout_predictions.csv",
    ):
        assert (out / name).is_file(), name
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["member"]) == {"xgb", "rf", "lin"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["n_test"] == 100
    assert 0 < metrics["holdout"]["rmse"] < pd.read_csv(folder / "diamonds.csv")["price"].std()
    assert abs(sum(metrics["weights"].values()) - 1) < 1e-9
    assert "xgb" in result.stdout and "held-out" in result.stdout


def test_predict_in_fresh_process_reproduces_training_predictions(trained):
    folder, _ = trained
    held = pd.read_csv(folder / "out" / "holdout_predictions.csv")
    data = pd.read_csv(folder / "diamonds.csv").iloc[held["row"]]
    data.drop(columns=["price"]).to_csv(folder / "new.csv", index=False)
    result = run_blend(
        "predict", folder / "out" / "model.blend", folder / "new.csv", "-o", folder / "pred.csv"
    )
    assert result.returncode == EXIT_OK, result.stderr
    predicted = pd.read_csv(folder / "pred.csv")["prediction"].to_numpy()
    # the in-memory model's predictions, written by `blend train` before saving mattered
    assert np.array_equal(predicted, held["y_pred"].to_numpy())


def test_report_prints_leaderboard_and_writes_plots(trained, tmp_path):
    folder, _ = trained
    result = run_blend("report", folder / "out" / "model.blend", "--output", tmp_path / "rep")
    assert result.returncode == EXIT_OK, result.stderr
    assert re.search(r"^\s*rf\s", result.stdout, flags=re.M)
    for name in ("leaderboard.csv", "error_correlation.png", "ambiguity.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 1000 or name.endswith(".csv")
    # held-out predictions next to the model give the scatter plot too
    assert (tmp_path / "rep" / "predicted_vs_true.png").is_file()


def test_predict_refuses_unsafe_model_with_exit_1(workdir, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.blend"
    evil.write_bytes(pickle.dumps(_Marker(str(marker))))
    result = run_blend("predict", evil, workdir / "diamonds.csv", "-o", tmp_path / "p.csv")
    assert result.returncode == EXIT_FAILURE
    assert "pickle" in result.stderr
    assert not marker.exists() and not (tmp_path / "p.csv").exists()


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_bad_config_exit_code_in_subprocess(workdir):
    bad = _write_config(workdir, CONFIG.replace("cv = 3", "cv = 3\nmethd = 'nnls'"))
    result = run_blend("train", bad)
    assert result.returncode == EXIT_USAGE
    line = bad.read_text().splitlines().index("methd = 'nnls'") + 1
    assert f"line {line}" in result.stderr and "methd" in result.stderr
    assert "Did you mean 'method'" in result.stderr


# -- config errors, in-process (fast) -----------------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ('method = "caruana"', 'method = "best"', 'method = "best"', "must be a str among"),
        ("cv = 3", "cv = 'three'", "cv = 'three'", "The 'cv' parameter"),
        ("cv = 3", "cv = 1", "cv = 1", "range [2, inf)"),
        ("n_jobs = 1", "n_jobz = 1", "n_jobz", "Did you mean 'n_jobs'"),
        ('kind = "random_forest"', 'kind = "random_frost"', "random_frost", "random_forest"),
        ("estimator__max_depth = 3,", "estimator__max_dept = 3,", "max_dept", "max_dept"),
        ("estimator__n_jobs = 1", "n_jobs = 1", "n_jobs = 1 }", "'estimator__n_jobs'"),
        ("n_estimators = 10,", "n_estimators = -1,", "n_estimators = -1", "n_estimators"),
        ('cut = "categorical"', 'cut = "colour"', 'cut = "colour"', "not a role"),
        ('model = "model.blend"', 'model = "../../escape.blend"', "escape.blend", "escapes"),
        ('model = "model.blend"', 'model = "/tmp/abs.blend"', "abs.blend", "escapes"),
        ('target = "price"', 'target = "prize"', 'target = "prize"', "not in diamonds.csv"),
        ("test_size = 0.25", "test_size = 1.5", "test_size = 1.5", "not in [0, 1)"),
    ],
)
def test_config_errors_name_key_and_line(workdir, capsys, old, new, needle, message):
    text = CONFIG.replace(old, new)
    assert text != CONFIG
    bad = _write_config(workdir, text, "bad_inproc.toml")
    code = main(["train", str(bad)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert f"line {_line_of(text, needle)}" in err, err
    assert message in err
    assert not (workdir / "escape.blend").exists() and not Path("/tmp/abs.blend").exists()


def test_toml_syntax_error_has_line(workdir, capsys):
    text = CONFIG.replace("cv = 3", "cv = = 3")
    bad = _write_config(workdir, text, "syntax.toml")
    assert main(["train", str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "invalid TOML" in err and f"line {_line_of(text, 'cv = = 3')}" in err


def test_missing_sections_and_files(workdir, capsys):
    assert main(["train", str(workdir / "nope.toml")]) == EXIT_USAGE
    assert "no such config file" in capsys.readouterr().err
    bad = _write_config(workdir, "[output]\nfolder = 'x'\n", "nodata.toml")
    assert main(["train", str(bad)]) == EXIT_USAGE
    assert "[data]" in capsys.readouterr().err or "data" in capsys.readouterr().err
    bad = _write_config(workdir, CONFIG.replace("diamonds.csv", "missing.csv"), "nofile.toml")
    assert main(["train", str(bad)]) == EXIT_USAGE
    assert "no data file" in capsys.readouterr().err
    assert main(["predict", "m.blend", str(workdir / "missing.csv"), "-o", "p.csv"]) == EXIT_USAGE


def test_load_config_normalizes(workdir):
    settings = load_config(workdir / "config.toml")
    assert settings["folder"] == (workdir / "out").resolve()
    assert [m["name"] for m in settings["members"]] == ["xgb", "rf", "lin"]
    assert settings["roles"] == {"cut": "categorical"}
    assert settings["blend"]["cv"] == 3


def test_example_configs_are_valid():
    examples = sorted((ROOT / "examples").glob("*.toml"))
    assert examples, "examples/*.toml missing"
    for path in examples:
        settings = load_config(path)
        assert settings["members"]


def test_output_override_keeps_name_checks(workdir, tmp_path):
    # --output moves the folder; file names in the config are still checked
    text = CONFIG.replace('model = "model.blend"', 'model = "sub/../../x.blend"')
    bad = _write_config(workdir, text, "override.toml")
    assert main(["train", str(bad), "--output", str(tmp_path)]) == EXIT_USAGE
    assert not any(tmp_path.parent.glob("x.blend"))
    shutil.rmtree(tmp_path, ignore_errors=True)


CLASSIFY = """\
[data]
path = "diamonds.csv"
target = "cut"
test_size = 0.2
drop = ["price"]

[blend]
cv = 3
random_state = 0

[output]
folder = "out_cls"

[[members]]
kind = "random_forest"
params = { n_estimators = 10, random_state = 0 }

[[members]]
kind = "linear"
params = { C = 0.1 }  # cut is nearly separable from depth and table
"""


def test_classification_train_and_predict_proba_in_process(workdir, capsys):
    config = _write_config(workdir, CLASSIFY, "classify.toml")
    assert main(["train", str(config), "-q"]) == EXIT_OK, capsys.readouterr().err
    out = workdir / "out_cls"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification" and 0 <= metrics["holdout"]["accuracy"] <= 1
    assert (out / "cross_entropy.png").is_file() and not (out / "predicted_vs_true.png").exists()
    data = pd.read_csv(workdir / "diamonds.csv").head(20)
    code = main(["predict", str(out / "model.blend"), str(workdir / "diamonds.csv"),
                 "-o", str(workdir / "proba.csv"), "--proba", "-q"])  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr().err
    proba = pd.read_csv(workdir / "proba.csv")
    classes = sorted(data["cut"].unique())
    assert set(proba["prediction"]) <= set(pd.read_csv(workdir / "diamonds.csv")["cut"])
    assert {f"proba_{c}" for c in classes} <= set(proba.columns)
    assert np.allclose(proba.filter(like="proba_").sum(axis=1), 1.0)


def _train_frame(settings: dict) -> tuple[pd.DataFrame, pd.Series]:
    data = pd.read_csv(settings["data_path"])
    return data.drop(columns=[settings["target"]]), data[settings["target"]]


def test_deep_member_kinds_build(workdir):
    pytest.importorskip("blend.members.deep.estimators")
    pytest.importorskip("blend.members.wide_deep.estimators")
    from blend.cli import build_members

    text = CONFIG + (
        '\n[[members]]\nname = "deep"\nkind = "keras_graph"\nparams = { epochs = 3 }\n'
        '\n[[members]]\nname = "wd"\nkind = "wide_deep"\nparams = { epochs = 2, wide_l2 = 0.1 }\n'
    )
    settings = load_config(_write_config(workdir, text, "deep.toml"))
    X, y = _train_frame(settings)
    members = dict(build_members(settings, X, y, "regression"))
    assert type(members["deep"]).__name__ == "KerasGraphRegressor"
    assert members["deep"].get_params()["epochs"] == 3
    # the members read the resolved roles, with the config's overrides
    assert members["deep"].get_params()["roles"]["cut"] == "categorical"
    assert members["deep"].get_params()["random_state"] == 0  # [blend] random_state
    assert type(members["wd"]).__name__ == "WideDeepRegressor"
    assert members["wd"].get_params()["wide_l2"] == 0.1
    clf = dict(build_members(settings, X, y > y.median(), "classification"))
    assert type(clf["wd"]).__name__ == "WideDeepClassifier"


def test_wide_linear_member_kind_builds_and_trains(workdir):
    from blend.cli import build_members

    text = CONFIG + (
        '\n[[members]]\nname = "crossed"\nkind = "wide_linear"\n'
        'params = { numeric_buckets = 8, crosses = [["cut", "color"]] }\n'
    )
    settings = load_config(_write_config(workdir, text, "wide_linear.toml"))
    X, y = _train_frame(settings)
    members = dict(build_members(settings, X, y, "regression"))
    model = members["crossed"]
    assert type(model).__name__ == "WideLinearRegressor"
    assert model.get_params()["roles"]["cut"] == "categorical"
    assert model.get_params()["crosses"] == [["cut", "color"]]
    model.fit(X, np.log(y))
    assert model.coefficients()["feature"].str.startswith("cut x color=").any()
    classifiers = dict(build_members(settings, X, y > y.median(), "classification"))
    assert type(classifiers["crossed"]).__name__ == "WideLinearClassifier"


def test_cli_kinds_build_what_default_members_builds(workdir):
    """A member kind built by the CLI is the default library's member of that kind."""
    from blend.cli import build_members
    from blend.members.defaults import DEFAULT_MEMBERS, default_members

    settings = load_config(workdir / "config.toml")
    X, y = _train_frame(settings)
    defaults = dict(default_members(X, y, roles=settings["roles"], random_state=0))
    kinds = {rule.name: rule.kind for rule in DEFAULT_MEMBERS}
    settings["members"] = [{"name": n, "kind": kinds[n], "params": {}} for n in defaults]
    built = dict(build_members(settings, X, y, "regression"))
    for name, member in defaults.items():
        assert repr(built[name].get_params(deep=True)) == repr(member.get_params(deep=True)), name


# -- every member kind trains through `blend train` ---------------------------------------------

# Small settings per kind so that each fit takes seconds.
KIND_PARAMS = {
    "xgboost": "{ estimator__n_estimators = 20, estimator__n_jobs = 1 }",
    "xgboost_ratios": "{ estimator__n_estimators = 20, estimator__n_jobs = 1 }",
    "random_forest": "{ n_estimators = 10, n_jobs = 1 }",
    "extra_trees": "{ n_estimators = 10, n_jobs = 1 }",
    "hist_gradient_boosting": "{ max_iter = 20 }",
    "catboost": "{ max_trees = 20 }",
    "lightgbm": "{ max_trees = 20 }",
    "linear": "{}",
    "wide_linear": "{}",
    "linear_boost": "{ params = { depth = 4, learning_rate = 0.3 } }",
    "additive_boost": "{ cv = 2 }",
    "keras_graph": "{ epochs = 1, batch_size = 64 }",
    "keras_multitask": "{ epochs = 1, batch_size = 64 }",
    "wide_deep": "{ epochs = 1, batch_size = 64 }",
}
KIND_CONFIG = """\
[data]
path = "clothing.csv"
target = "price"
test_size = 0.2

[blend]
cv = 2
random_state = 0
n_jobs = 1

[output]
folder = "out_{kind}"

[[members]]
kind = "{kind}"
params = {params}
"""


@pytest.fixture(scope="module")
def clothing_dir(tmp_path_factory):
    """250 listings with text and photo files: every member kind has something to read."""
    from blend.datasets import make_clothing

    folder = tmp_path_factory.mktemp("clothing")
    X, y, _ = make_clothing(250, random_state=0, image_dir=folder / "photos")
    X.assign(price=y).to_csv(folder / "clothing.csv", index=False)
    return folder


def test_every_member_kind_has_test_params():
    from blend.members.defaults import DEFAULT_MEMBERS
    from blend.members.kinds import MEMBER_KINDS

    assert set(KIND_PARAMS) == set(MEMBER_KINDS)
    assert {rule.kind for rule in DEFAULT_MEMBERS} <= set(MEMBER_KINDS)


@pytest.mark.parametrize("kind", list(KIND_PARAMS))
def test_train_builds_every_member_kind(clothing_dir, capsys, kind):
    from blend.members.kinds import MEMBER_KINDS

    if kind in ("keras_graph", "keras_multitask", "wide_deep"):
        pytest.importorskip("blend.members.deep.estimators")
    for package in ("catboost", "lightgbm"):
        if package in kind or kind == "linear_boost":
            pytest.importorskip("catboost" if kind == "linear_boost" else package)
    text = KIND_CONFIG.format(kind=kind, params=KIND_PARAMS[kind])
    config = _write_config(clothing_dir, text, f"{kind}.toml")
    code = main(["train", str(config), "-q"])
    if kind == "keras_multitask":  # one head per target column: the command has one target
        assert code != EXIT_OK
        assert "needs a target with several columns" in capsys.readouterr().err
        return
    assert code == EXIT_OK, capsys.readouterr().err
    metrics = json.loads((clothing_dir / f"out_{kind}" / "metrics.json").read_text())
    assert metrics["task"] == "regression" and np.isfinite(metrics["holdout"]["rmse"])
    assert metrics["weights"] == {kind: 1.0}
    assert kind in MEMBER_KINDS


def test_regression_only_kind_in_classification_config(clothing_dir, capsys):
    text = KIND_CONFIG.format(kind="additive_boost", params="{}").replace(
        'target = "price"', 'target = "condition"'
    )
    config = _write_config(clothing_dir, text, "additive_cls.toml")
    assert main(["train", str(config), "-q"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "additive_boost" in err and "regression only" in err
    assert f"line {_line_of(text, 'kind = ')}" in err


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ("on_error = 'loud'", "on_error", "must be a str among"),
        ("ensemble_size = 0", "ensemble_size", "range [1, inf)"),
        ("prune = 'yes'", "prune", "must be an instance of 'bool'"),
        ("n_bag = 3", "n_bag", "Did you mean 'n_bags'"),
        ("members = []", "members", "[[members]]"),
    ],
)
def test_bad_blend_section_exits_2_naming_the_key(workdir, capsys, entry, key, message):
    text = CONFIG.replace("cv = 3", f"cv = 3\n{entry}")
    bad = _write_config(workdir, text, "bad_blend.toml")
    assert main(["train", str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"blend.{key}" in err and f"line {_line_of(text, entry)}" in err, err
    assert message in err, err


def test_blend_section_is_checked_against_the_inferred_task(workdir, capsys):
    # no [data] task: a classifier's metric is fine at load time, wrong for a regression
    text = CONFIG.replace("cv = 3", "cv = 3\nmetric = 'log_loss'")
    settings = load_config(_write_config(workdir, text, "metric.toml"))
    assert settings["blend"]["metric"] == "log_loss"
    assert main(["train", str(workdir / "metric.toml")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "blend.metric" in err and "The 'metric' parameter of BlendRegressor" in err, err
