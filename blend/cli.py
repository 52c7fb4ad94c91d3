"""The ``blend`` command: train a blend from a TOML config, predict with a saved model, report.

Usage::

    blend train CONFIG.toml [--output FOLDER] [-v]
    blend predict MODEL DATA.csv -o predictions.csv [--proba] [--interval 0.9 | --set 0.9]
    blend report MODEL [--output FOLDER] [--data DATA.csv --target COLUMN]

Exit codes: 0 success, 2 usage or configuration error (the message names the key and its line),
1 runtime failure (data that cannot be read, a fit that fails, an unsafe model file).

A config (paths are relative to the config file's folder)::

    [data]
    path = "diamonds.csv"          # CSV (optionally .gz) or parquet
    target = "price"
    task = "regression"             # or "classification"; inferred from the target if omitted
    test_size = 0.2                 # held-out share for metrics.json (0: none)
    drop = ["id"]                   # columns to ignore
    max_rows = 5000                 # optional random subsample

    [roles]                         # optional role overrides: column = role
    cut = "categorical"

    [blend]                         # BlendRegressor / BlendClassifier parameters, checked
    method = "caruana"              # by the blender's own parameter validation
    cv = 5
    random_state = 0                # also seeds every [[members]] model

    [output]
    folder = "runs/diamonds"
    model = "model.blend"           # file names stay inside the folder

    [[members]]                     # none: the blender's default_members
    name = "xgb"
    kind = "xgboost"                # `blend train --help` lists the kinds
    params = { estimator__max_depth = 6 }   # set_params on the kind's model

Every ``kind`` is built by :data:`blend.members.kinds.MEMBER_KINDS`, the registry
:func:`~blend.members.default_members` builds its members with: ``kind = "catboost"`` is the
CatBoost member of the default library, with the same settings for the data's roles and size.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    import tomli as tomllib

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

SECTIONS = {"data", "roles", "blend", "output", "members"}
DATA_KEYS = {
    "path": str,
    "target": str,
    "task": str,
    "test_size": float,
    "drop": list,
    "max_rows": int,
    "random_state": int,
}
OUTPUT_KEYS = {"folder": str, "model": str}
MEMBER_KEYS = {"name": str, "kind": str, "params": dict}
TASKS = ("regression", "classification")


class ConfigError(Exception):
    """A configuration problem; ``str()`` names the file, the line and the key."""


class UsageError(Exception):
    """A bad command-line argument (exit code 2)."""


# ---------------------------------------------------------------------------------------------
# Config reading and validation


def _find_line(text: str, path: Sequence[str | int]) -> int | None:
    """Best-effort line number (1-based) of a key in TOML text, e.g. ("members", 1, "params",
    "max_depth") or ("blend", "method")."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    header = re.compile(r"^\s*\[")
    rest = list(path)
    if rest and isinstance(rest[0], str):
        section = rest[0]
        index = rest[1] if len(rest) > 1 and isinstance(rest[1], int) else None
        if index is not None:
            pattern = re.compile(rf"^\s*\[\[\s*{re.escape(section)}\s*\]\]")
            hits = [i for i, line in enumerate(lines) if pattern.match(line)]
            if index >= len(hits):
                return hits[-1] + 1 if hits else None
            start = hits[index]
            rest = rest[2:]
        else:
            pattern = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
            hits = [i for i, line in enumerate(lines) if pattern.match(line)]
            if hits:
                start = hits[0]
                rest = rest[1:]
            else:  # a top-level key, or a dotted/inline table
                end = next((i for i, line in enumerate(lines) if header.match(line)), len(lines))
        following = [i for i in range(start + 1, len(lines)) if header.match(lines[i])]
        end = min(end, following[0]) if following else end
        if not rest:
            return start + 1
    found = start
    for key in rest:
        if isinstance(key, int):
            continue
        pattern = re.compile(rf"(^|[{{,\s.]){re.escape(str(key))}\s*=")
        hit = next((i for i in range(found, end) if pattern.search(lines[i])), None)
        if hit is None:
            hit = next((i for i in range(found, end) if str(key) in lines[i]), None)
        if hit is None:
            return found + 1
        found = hit
    return found + 1


class _Config:
    """Validated config values with file/line-aware errors."""

    def __init__(self, path: Path, text: str, raw: dict) -> None:
        self.path = path
        self.text = text
        self.raw = raw

    def error(self, key_path: Sequence[str | int], message: str) -> ConfigError:
        line = _find_line(self.text, key_path)
        shown = ".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in key_path).replace(
            ".[", "["
        )
        where = f"{self.path}, line {line}" if line else str(self.path)
        return ConfigError(f"{where}: {shown}: {message}")

    def check_keys(self, table: dict, allowed: dict | set, key_path: list) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise self.error(
                    [*key_path, key],
                    f"unknown key.{hint} Allowed keys: {', '.join(sorted(allowed))}.",
                )

    def check_types(self, table: dict, types: dict, key_path: list) -> None:
        for key, value in table.items():
            expected = types[key]
            ok = isinstance(value, expected) and not (
                expected in (int, float) and isinstance(value, bool)
            )
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                raise self.error(
                    [*key_path, key],
                    f"expected {expected.__name__}, got {type(value).__name__} {value!r}.",
                )


def _safe_name(cfg: _Config, key_path: list, name: str) -> str:
    """A file name inside the output folder: no absolute paths, no ``..``."""
    pure = PurePath(name)
    if (
        not name
        or pure.is_absolute()
        or ".." in pure.parts
        or "\\" in name
        or name.startswith("~")
        or (len(name) > 1 and name[1] == ":")
    ):
        raise cfg.error(
            key_path,
            f"{name!r} escapes the output folder; give a plain file name such as 'model.blend'.",
        )
    return name


def _read_toml(path: Path) -> tuple[str, dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config: {err}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def _table(cfg: _Config, raw: dict, section: str, what: str) -> dict:
    table = raw.get(section, {})
    if not isinstance(table, dict):
        raise cfg.error([section], f"expected a table of {what}.")
    return table


def _check_data(cfg: _Config, raw: dict, base: Path) -> dict:
    """The [data] table: the data file (which must exist), target, task and sampling."""
    data = raw.get("data")
    if not isinstance(data, dict):
        raise cfg.error(["data"], "missing [data] table with at least path and target.")
    cfg.check_keys(data, DATA_KEYS, ["data"])
    cfg.check_types(data, DATA_KEYS, ["data"])
    for key in ("path", "target"):
        if key not in data:
            raise cfg.error(["data"], f"missing required key {key!r}.")
    data_path = (base / data["path"]).resolve()
    if not data_path.is_file():
        raise cfg.error(["data", "path"], f"no data file at {str(data_path)!r}.")
    task = data.get("task")
    if task is not None and task not in TASKS:
        raise cfg.error(["data", "task"], f"{task!r} is not 'regression' or 'classification'.")
    test_size = float(data.get("test_size", 0.2))
    if not 0.0 <= test_size < 1.0:
        raise cfg.error(["data", "test_size"], f"{test_size} is not in [0, 1).")
    drop = data.get("drop", [])
    if not all(isinstance(c, str) for c in drop):
        raise cfg.error(["data", "drop"], "expected a list of column names (strings).")
    if data.get("max_rows") is not None and data["max_rows"] < 10:
        raise cfg.error(["data", "max_rows"], "must be at least 10.")
    return {**data, "path": data_path, "task": task, "test_size": test_size, "drop": list(drop)}


def _check_roles(cfg: _Config, raw: dict) -> dict:
    """The [roles] table: column = role, roles from :data:`blend.roles.ROLES`."""
    from blend.roles import ROLES

    roles = _table(cfg, raw, "roles", "column = role")
    for column, role in roles.items():
        if role not in ROLES:
            raise cfg.error(
                ["roles", column], f"{role!r} is not a role; use one of {', '.join(ROLES)}."
            )
    return dict(roles)


def blend_classes(task: str | None) -> tuple[type, ...]:
    """The blender class(es) a task may use: both while the task is still to be inferred."""
    from blend.ensemble.blender import BlendClassifier, BlendRegressor

    if task == "regression":
        return (BlendRegressor,)
    if task == "classification":
        return (BlendClassifier,)
    return (BlendRegressor, BlendClassifier)


def check_blend_params(cfg: _Config, params: dict, task: str | None) -> None:
    """Check the [blend] table against the blender's own parameters and constraints.

    Keys are the blender's ``get_params()``; values are checked by scikit-learn's parameter
    validation (``_validate_params``), one key at a time so that the error names its key.
    """
    classes = blend_classes(task)
    allowed = sorted(set(classes[0]().get_params(deep=False)) - {"members"})
    for key, value in params.items():
        if key == "members":
            raise cfg.error(["blend", key], "members are [[members]] tables, not a [blend] key.")
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise cfg.error(
                ["blend", key],
                f"unknown key.{hint} Blender parameters: {', '.join(allowed)}.",
            )
        _check_blend_value(cfg, classes, key, value)


def _check_blend_value(cfg: _Config, classes: tuple[type, ...], key: str, value: Any) -> None:
    errors = []
    for cls in classes:
        if not hasattr(cls, "_parameter_constraints"):
            return  # an older blender: fit validates
        try:
            cls(**{key: value})._validate_params()
        except (ValueError, TypeError) as err:  # sklearn's InvalidParameterError is both
            errors.append(err)
        else:
            return
    raise cfg.error(["blend", key], f"invalid value {value!r}. {errors[0]}")


def _check_output(cfg: _Config, raw: dict, base: Path) -> tuple[Path, str]:
    output = _table(cfg, raw, "output", "folder and model")
    cfg.check_keys(output, OUTPUT_KEYS, ["output"])
    cfg.check_types(output, OUTPUT_KEYS, ["output"])
    folder = (base / output.get("folder", "blend-output")).resolve()
    return folder, _safe_name(cfg, ["output", "model"], output.get("model", "model.blend"))


def _check_member(cfg: _Config, member: Any, i: int, seen: set[str]) -> dict:
    from blend.members.kinds import MEMBER_KINDS

    key_path = ["members", i]
    if not isinstance(member, dict):
        raise cfg.error(key_path, "expected a [[members]] table.")
    cfg.check_keys(member, MEMBER_KEYS, key_path)
    cfg.check_types(member, MEMBER_KEYS, key_path)
    kinds = ", ".join(MEMBER_KINDS)
    if "kind" not in member:
        raise cfg.error(key_path, f"missing 'kind' (one of {kinds}).")
    if member["kind"] not in MEMBER_KINDS:
        close = difflib.get_close_matches(member["kind"], list(MEMBER_KINDS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise cfg.error(
            [*key_path, "kind"], f"unknown member kind {member['kind']!r}.{hint} Kinds: {kinds}."
        )
    name = member.get("name", member["kind"])
    if name in seen:
        raise cfg.error([*key_path, "name"], f"duplicate member name {name!r}.")
    if "__" in name:
        raise cfg.error([*key_path, "name"], f"{name!r} may not contain '__'.")
    seen.add(name)
    return {"name": name, "kind": member["kind"], "params": member.get("params", {})}


def _check_members(cfg: _Config, raw: dict) -> list[dict]:
    members = raw.get("members", [])
    if not isinstance(members, list):
        raise cfg.error(["members"], "expected [[members]] tables.")
    seen: set[str] = set()
    return [_check_member(cfg, member, i, seen) for i, member in enumerate(members)]


def load_config(path: str | os.PathLike) -> dict:
    """Read and validate a ``blend train`` config; return a normalized dict.

    Raises
    ------
    ConfigError
        For syntax errors (with tomllib's line and column), unknown keys, wrong types, bad
        values and paths that escape the output folder; the message names the key and line.
    """
    path = Path(path)
    text, raw = _read_toml(path)
    cfg = _Config(path, text, raw)
    cfg.check_keys(raw, SECTIONS, [])
    base = path.resolve().parent
    data = _check_data(cfg, raw, base)
    roles = _check_roles(cfg, raw)
    blend_params = dict(_table(cfg, raw, "blend", "BlendRegressor / BlendClassifier parameters"))
    check_blend_params(cfg, blend_params, data["task"])
    if isinstance(blend_params.get("memory"), str):
        blend_params["memory"] = str((base / blend_params["memory"]).resolve())
    folder, model_name = _check_output(cfg, raw, base)
    return {
        "config": cfg,
        "data_path": data["path"],
        "target": data["target"],
        "task": data["task"],
        "test_size": data["test_size"],
        "drop": data["drop"],
        "max_rows": data.get("max_rows"),
        "data_random_state": data.get("random_state", blend_params.get("random_state", 0)),
        "roles": roles,
        "blend": blend_params,
        "folder": folder,
        "model_name": model_name,
        "members": _check_members(cfg, raw),
    }


# ---------------------------------------------------------------------------------------------
# Building members: every kind comes from blend.members.kinds.MEMBER_KINDS


def _param_hint(key: str, known: list[str]) -> str:
    nested = sorted(k for k in known if k.endswith(f"__{key}"))
    close = nested[:1] or difflib.get_close_matches(key, known, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _set_params(cfg: _Config, estimator: Any, params: dict, key_path: list) -> Any:
    """Set a member's ``params`` on its model; errors name the key and the valid ones."""
    valid = sorted(estimator.get_params(deep=False))
    known = sorted(estimator.get_params(deep=True))  # with nested keys: estimator__max_depth
    for key in params:
        # strict: XGBoost would silently accept (and ignore) a misspelt keyword
        if key not in known:
            raise cfg.error(
                [*key_path, "params", key],
                f"{type(estimator).__name__} has no parameter {key!r}."
                f"{_param_hint(key, known)} Valid parameters: {', '.join(valid)}.",
            )
    try:
        estimator.set_params(**params)
    except (ValueError, TypeError) as err:
        raise cfg.error(
            [*key_path, "params"],
            f"{err}. Valid parameters of {type(estimator).__name__}: {', '.join(valid)}.",
        ) from None
    _validate_member_params(cfg, estimator, params, key_path)
    return estimator


def _validate_member_params(cfg: _Config, estimator: Any, params: dict, key_path: list) -> None:
    """scikit-learn's parameter validation, where the model declares its constraints."""
    if not params or not hasattr(estimator, "_parameter_constraints"):
        return
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as err:
        found = re.search(r"The '(\w+)' parameter", str(err))
        key = found.group(1) if found else None
        where = [*key_path, "params", key] if key in params else [*key_path, "params"]
        raise cfg.error(where, f"invalid value. {err}") from None


def build_members(settings: dict, X: Any, y: Any, task: str) -> list[tuple[str, Any]]:
    """The (name, estimator) pairs a config describes, built for the training data.

    Each ``kind`` is built by :data:`blend.members.kinds.MEMBER_KINDS` for the data's roles,
    size and task, seeded by ``[blend] random_state``; ``params`` are set on its model.
    """
    from blend.members.kinds import MEMBER_KINDS, member_context

    cfg = settings["config"]
    ctx = member_context(
        X,
        y,
        task=task,
        roles=settings["roles"] or None,
        random_state=settings["blend"].get("random_state"),
    )
    members = []
    for i, member in enumerate(settings["members"]):
        kind = MEMBER_KINDS[member["kind"]]
        if task not in kind.tasks:
            raise cfg.error(
                ["members", i, "kind"],
                f"member kind {kind.name!r} supports {' and '.join(kind.tasks)} only; this "
                f"config's task is {task}.",
            )
        model = _set_params(cfg, kind.model(ctx), member["params"], ["members", i])
        members.append((member["name"], kind.wrap(model, ctx)))
    return members


def read_table(path: str | os.PathLike) -> Any:
    """Read a CSV (optionally compressed) or parquet file into a DataFrame."""
    import pandas as pd

    path = Path(path)
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _infer_classification(y) -> bool:
    import pandas as pd

    return not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)


# ---------------------------------------------------------------------------------------------
# Commands


def _log(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    settings = load_config(args.config)
    cfg = settings["config"]
    if args.output:
        settings["folder"] = Path(args.output).resolve()
    folder: Path = settings["folder"]
    model_file = (folder / settings["model_name"]).resolve()  # follows symlinks
    if not model_file.is_relative_to(folder.resolve()):
        raise cfg.error(
            ["output", "model"],
            f"{settings['model_name']!r} escapes the output folder (it resolves to "
            f"{str(model_file)!r}); give a plain file name such as 'model.blend'.",
        )
    frame = read_table(settings["data_path"])
    target = settings["target"]
    if target not in frame.columns:
        raise cfg.error(
            ["data", "target"],
            f"column {target!r} is not in {settings['data_path'].name} "
            f"(columns: {', '.join(map(str, frame.columns[:20]))}).",
        )
    for i, column in enumerate(settings["drop"]):
        if column not in frame.columns:
            raise cfg.error(["data", "drop", i], f"column {column!r} is not in the data.")
    for column in settings["roles"]:
        if column not in frame.columns:
            raise cfg.error(["roles", column], f"column {column!r} is not in the data.")
    seed = settings["data_random_state"]
    if settings["max_rows"] and len(frame) > settings["max_rows"]:
        frame = frame.sample(settings["max_rows"], random_state=seed).sort_index()
    y = frame[target]
    if y.isna().any():
        raise ValueError(
            f"target column {target!r} has {int(y.isna().sum())} missing values; drop those rows."
        )
    X = frame.drop(columns=[target, *settings["drop"]])
    task = settings["task"] or ("classification" if _infer_classification(y) else "regression")
    classification = task == "classification"
    if settings["task"] is None:  # the task is known now: check [blend] against its class
        check_blend_params(cfg, settings["blend"], task)

    rng = np.random.default_rng(seed)
    n_test = round(settings["test_size"] * len(X))
    order = rng.permutation(len(X))
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])
    X_train, y_train = X.iloc[train_idx], y.iloc[train_idx]
    members = build_members(settings, X_train, y_train, task) or None

    (cls,) = blend_classes(task)
    params = dict(settings["blend"])
    if args.verbose:
        params["verbose"] = max(1, params.get("verbose", 0))
    model = cls(members=members, **params)
    _log(
        f"blend train: {task}, {len(X_train)} training rows, {n_test} held out, "
        f"{len(members) if members else 'default'} members",
        args.quiet,
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start

    import blend

    folder.mkdir(parents=True, exist_ok=True)
    model_path = blend.save(model, folder / settings["model_name"])
    metrics: dict[str, Any] = {
        "task": task,
        "target": target,
        "n_train": len(X_train),
        "n_test": n_test,
        "fit_seconds": round(fit_seconds, 3),
        "method": model.method,
        "weights": getattr(model, "weights_", {}),
        "ensemble_oof_loss": getattr(model, "ensemble_oof_loss_", None),
        "columns": [str(c) for c in X.columns],
    }
    y_test = y_pred = None
    if n_test:
        X_test, y_test = X.iloc[test_idx], y.iloc[test_idx]
        y_pred = model.predict(X_test)
        metrics["holdout"] = _holdout_metrics(model, X_test, y_test, y_pred, classification)
        out = X_test.index.to_frame(index=False, name="row")
        out["y_true"] = y_test.to_numpy()
        out["y_pred"] = y_pred
        out.to_csv(folder / "holdout_predictions.csv", index=False)
    from blend.report import format_leaderboard, write_report

    write_report(
        model,
        folder,
        y_true=y_test if not classification else None,
        y_pred=y_pred if not classification else None,
        metrics=metrics,
    )
    if not args.quiet:
        print(format_leaderboard(model.leaderboard_))
        if "holdout" in metrics:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics["holdout"].items())
            print(f"held-out: {shown}")
        print(f"model: {model_path}")
    return EXIT_OK


def _holdout_metrics(model, X_test, y_test, y_pred, classification: bool) -> dict:
    import numpy as np
    from sklearn import metrics as skm

    if classification:
        out = {"accuracy": float(skm.accuracy_score(y_test, y_pred))}
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(X_test), dtype=float)
            proba = proba / proba.sum(axis=1, keepdims=True)  # rows may sum to 1 +- 1e-8
            out["log_loss"] = float(skm.log_loss(y_test, proba, labels=model.classes_))
        return out
    t = np.asarray(y_test, dtype=float)
    p = np.asarray(y_pred, dtype=float).reshape(t.shape)
    return {
        "rmse": math.sqrt(float(np.mean((t - p) ** 2))),
        "mae": float(np.mean(np.abs(t - p))),
        "r2": float(skm.r2_score(t, p)),
    }


def _load_model(path: str):
    import blend

    return blend.load(path)


def cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    data_path = Path(args.data)
    if not data_path.is_file():
        raise UsageError(f"no data file at {str(data_path)!r}.")
    model = _load_model(args.model)
    frame = read_table(data_path)
    columns = getattr(model, "feature_names_in_", None)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{data_path.name} lacks the columns the model was trained on: {missing}."
            )
        frame = frame[list(columns)]
    if args.proba:
        if not hasattr(model, "predict_proba"):
            raise UsageError("--proba needs a classifier; this model is a regressor.")
        proba = model.predict_proba(frame)
        out = pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])
        out.insert(0, "prediction", model.classes_[proba.argmax(axis=1)])
    else:
        out = pd.DataFrame({"prediction": model.predict(frame)})
    _add_uncertainty(args, model, frame, out)
    output = Path(args.output)
    if output.parent and not output.parent.exists():
        raise UsageError(f"the folder of {str(output)!r} does not exist.")
    out.to_csv(output, index=False)
    _log(f"blend predict: {len(out)} predictions written to {output}", args.quiet)
    return EXIT_OK


def _add_uncertainty(args: argparse.Namespace, model, frame, out) -> None:
    """``--interval``: ``lower``/``upper`` columns; ``--set``: the classes of the set, joined
    by ``|`` (see :mod:`blend.ensemble.uncertainty`)."""
    from blend.ensemble.uncertainty import check_coverage

    for option in ("interval", "set"):
        if getattr(args, option) is not None:
            try:
                check_coverage(getattr(args, option))
            except ValueError as err:
                raise UsageError(f"--{option}: {err}") from None
    if args.interval is not None:
        if not hasattr(model, "predict_interval"):
            raise UsageError("--interval needs a regressor; use --set for a classifier.")
        lower, upper = model.predict_interval(frame, args.interval)
        if lower.ndim != 1:
            raise UsageError("--interval supports single-output regressors only.")
        out["lower"], out["upper"] = lower, upper
    if args.set is not None:
        if not hasattr(model, "predict_set"):
            raise UsageError("--set needs a classifier; use --interval for a regressor.")
        sets = model.predict_set(frame, args.set)
        classes = [str(c) for c in model.classes_]
        out["set"] = ["|".join(c for c, keep in zip(classes, row) if keep) for row in sets]


def cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from blend.report import format_leaderboard, write_report

    model_path = Path(args.model)
    model = _load_model(args.model)
    folder = Path(args.output) if args.output else model_path.parent
    y_true = y_pred = rows = None
    if args.data:
        if not args.target:
            raise UsageError("--data needs --target (the column holding the true values).")
        frame = read_table(args.data)
        if args.target not in frame.columns:
            raise UsageError(f"--target {args.target!r} is not a column of {args.data}.")
        y_true = frame[args.target]
        rows = frame.drop(columns=[args.target])
        y_pred = model.predict(rows)
    elif (model_path.parent / "holdout_predictions.csv").is_file():
        held = pd.read_csv(model_path.parent / "holdout_predictions.csv")
        y_true, y_pred = held["y_true"], held["y_pred"]
    classification = not hasattr(model, "diversity_") or "ambiguity" not in model.diversity_
    written = write_report(
        model,
        folder,
        y_true=None if classification else y_true,
        y_pred=None if classification else y_pred,
        X=rows,
    )
    print(format_leaderboard(model.leaderboard_))
    for kind, path in written.items():
        _log(f"{kind}: {path}", args.quiet)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """``blend explain MODEL DATA -o contributions.csv``: one row of contributions per row."""
    data_path = Path(args.data)
    if not data_path.is_file():
        raise UsageError(f"no data file at {str(data_path)!r}.")
    model = _load_model(args.model)
    if not hasattr(model, "explain"):
        raise UsageError(f"{type(model).__name__} cannot explain; it needs a saved blend.")
    frame = read_table(data_path)
    output = Path(args.output)
    if output.parent and not output.parent.exists():
        raise UsageError(f"the folder of {str(output)!r} does not exist.")
    target = args.target
    if target is not None and hasattr(model, "classes_"):
        labels = {str(c): c for c in model.classes_}
        if target not in labels:
            raise UsageError(f"--target {target!r} is not a class; classes: {list(labels)}.")
        target = labels[target]
    try:
        parts = model.explain(frame, target=target, trees=args.trees)
    except ValueError as err:
        raise UsageError(str(err)) from None
    parts.to_csv(output, index=False)
    _log(f"blend explain: {len(parts)} rows of contributions written to {output}", args.quiet)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Argument parsing


class _Parser(argparse.ArgumentParser):
    # Text rendered (lazily: it may import heavy modules) after the help, kept as written.
    more_help: Callable[[], str] | None = None

    def error(self, message: str):  # argparse exits 2 on usage errors, as documented
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"blend: error: {message}\n")

    def format_help(self) -> str:
        text = super().format_help()
        return text + "\n" + self.more_help() + "\n" if self.more_help else text


def _kinds_help() -> str:
    from blend.members.kinds import describe_kinds

    kinds = "\n".join("  " + line for line in describe_kinds().splitlines())
    return f"member kinds ([[members]] kind = ..., from blend.members.kinds.MEMBER_KINDS):\n{kinds}"


EPILOG = "exit codes: 0 success, 2 usage or configuration error, 1 runtime failure"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="blend",
        description="Train, apply and inspect diversity-aware blends of trees and Keras models.",
        epilog=EPILOG,
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser(
        "train",
        help="fit a blend from a TOML config",
        description="Fit a blend described by a TOML config; write the model, leaderboard.csv, "
        "metrics.json and plots into the output folder. See `python -m pydoc blend.cli` for "
        "the config format.",
        epilog=EPILOG,
    )
    train.add_argument("config", help="the TOML config file")
    train.add_argument("--output", help="output folder (overrides [output] folder)")
    train.add_argument("-v", "--verbose", action="store_true", help="show fit progress")
    train.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    train.set_defaults(func=cmd_train)
    train.more_help = _kinds_help

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Load a model file safely and write one prediction per row of DATA.",
        epilog=EPILOG,
    )
    predict.add_argument("model", help="a model file written by `blend train` or blend.save")
    predict.add_argument("data", help="CSV or parquet file with the training columns")
    predict.add_argument("-o", "--output", required=True, help="CSV file to write")
    predict.add_argument("--proba", action="store_true", help="add class probabilities")
    predict.add_argument(
        "--interval",
        type=float,
        metavar="COVERAGE",
        help="regressor: add lower/upper columns of the conformal interval, e.g. 0.9",
    )
    predict.add_argument(
        "--set",
        type=float,
        metavar="COVERAGE",
        help="classifier: add the conformal prediction set (classes joined by |), e.g. 0.9",
    )
    predict.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    predict.set_defaults(func=cmd_predict)

    report = sub.add_parser(
        "report",
        help="print the leaderboard and write plots",
        description="Print a saved blend's leaderboard and write leaderboard.csv, the error "
        "correlation heat map, the decomposition bar chart and (with held-out data) predicted "
        "vs true.",
        epilog=EPILOG,
    )
    report.add_argument("model", help="a saved blend model file")
    report.add_argument("--output", help="folder for the files (default: the model's folder)")
    report.add_argument("--data", help="labelled data for the predicted-vs-true plot")
    report.add_argument("--target", help="the target column of --data")
    report.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    report.set_defaults(func=cmd_report)

    explain = sub.add_parser(
        "explain",
        help="per-row contributions of each input column",
        description="Write, for each row of DATA, the baseline, each input column's "
        "contribution, the unattributed gap and the prediction (baseline + contributions + "
        "gap = prediction; classifiers: the probability of one class).",
        epilog=EPILOG,
    )
    explain.add_argument("model", help="a saved blend model file (weighted, not stacking)")
    explain.add_argument("data", help="CSV or parquet file with the training columns")
    explain.add_argument("-o", "--output", required=True, help="CSV file to write")
    explain.add_argument(
        "--target", help="classifier: the class explained (default: positive / predicted)"
    )
    explain.add_argument(
        "--trees",
        choices=("shap", "saabas"),
        default="shap",
        help="boosters: exact TreeSHAP (default) or the faster Saabas paths",
    )
    explain.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    explain.set_defaults(func=cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``blend`` console script; returns the exit code."""
    from blend.console import setup_console

    setup_console()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, UsageError) as err:
        if args.debug:
            raise
        print(f"blend: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("blend: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        print(f"blend: failed: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
