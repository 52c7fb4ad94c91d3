"""Safe model files: ``save(estimator, path)`` and ``load(path)``.

A blend model file is one zip archive (``.blend`` by convention) that never holds a pickle:

==================  ===================================================================
member              content
==================  ===================================================================
``manifest.json``   format version, library versions, the estimator's class, the list of
                    members with their kind and SHA-256 digest
``graph.skops``     the estimator's object graph in the ``skops`` format (no code runs on
                    load; every type it names is checked against blend's allowlist)
``keras/N.keras``   each Keras model, loaded with ``keras.saving.load_model(safe_mode=True)``
                    (``Lambda`` layers and arbitrary code are refused)
``xgboost/N.ubj``   each XGBoost ``Booster`` in XGBoost's own binary JSON (UBJSON) format
==================  ===================================================================

How it works: a generic walker goes through the estimator's attributes (``__getstate__`` or
``__dict__``, and every list, tuple and dict inside) without knowing the estimator's internals.
It replaces each ``keras.Model`` and each ``xgboost.Booster`` with a small reference object
that names its member file, and each pandas ``DataFrame``, ``Series``, ``Index`` or
``CategoricalDtype`` with a plain encoding (numpy arrays of numeric dtypes and JSON lists of
strings, with the dtypes). The user's estimator is never modified: objects that hold something
to replace are shallow-copied. What remains is dumped with ``skops.io``. Loading reverses this:
the member files are checked (names, digests, file signatures), the skops graph is audited
against the allowlist before anything is constructed, and the references are replaced by the
loaded models. The same Keras model or booster referenced twice is stored once and loads as one
object.

Limits: Keras models that share layers with each other are stored separately, so they no
longer share weights after loading; Keras models load with ``compile=False`` (the optimizer
state is not restored; prediction is unaffected); pandas ``MultiIndex`` and object columns that
hold anything but strings and numbers are refused at save time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import os
import platform
import sys
import tempfile
import types
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "ModelVersionWarning",
    "UnsafeModelError",
    "load",
    "save",
]

FORMAT_NAME = "blend-model"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_GRAPH = "graph.skops"
_LIBRARIES = ("blend", "keras", "xgboost", "sklearn", "numpy", "scipy", "pandas", "skops")


class UnsafeModelError(ValueError):
    """A model file that blend refuses to load because loading it could run code or it is
    corrupted (unexpected members, a pickle, a type outside the allowlist, a bad digest)."""


class ModelVersionWarning(UserWarning):
    """The model file was written with a different major version of a library."""


# ---------------------------------------------------------------------------------------------
# Placeholders stored in the skops graph instead of objects skops cannot store safely.
# They are plain classes of this module, so they are on the allowlist.


class _MemberRef:
    """Reference to a member file of the archive (a Keras model or an XGBoost booster)."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name


class _PandasValue:
    """A pandas object encoded as numpy arrays and JSON lists (see ``_encode_pandas``)."""

    def __init__(self, payload: dict) -> None:
        self.payload = payload


# ---------------------------------------------------------------------------------------------
# The allowlist of types the skops graph may name.

_TRUSTED_ROOTS = ("blend", "sklearn", "numpy", "scipy", "pandas", "xgboost")
# module path parts that read or write files, run tests or compile code
_DENIED_PARTS = {
    "io",
    "_io",
    "npyio",
    "_npyio_impl",
    "_datasource",
    "testing",
    "_testing",
    "tests",
    "conftest",
    "f2py",
    "distutils",
    "ctypeslib",
    "_pytesttester",
    "cli",
    "datasets",
    "plotting",
    "clipboard",
    "tracker",
    "collective",
    "computation",
    "dask",
    "spark",
}
# callables that read or write files or evaluate strings
_DENIED_NAMES = {
    "load",
    "loads",
    "save",
    "savez",
    "savez_compressed",
    "savetxt",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "tofile",
    "memmap",
    "open",
    "eval",
    "exec",
    "system",
    "fromregex",
    "DataSource",
    "query",
}
_BUILTINS_OK = {
    "builtins." + n
    for n in (
        "dict list tuple set frozenset int float complex str bytes bytearray bool slice "
        "range object type NoneType"
    ).split()
}
_OTHER_OK = {"collections.OrderedDict", "collections.defaultdict", "collections.Counter"}
# this module's own placeholders (its name, "io", is otherwise a denied part)
_OWN_OK = {f"{__name__}._MemberRef", f"{__name__}._PandasValue"}


def _resolve(qualname: str) -> Any:
    """Import the longest module prefix of ``qualname`` and get the rest as attributes."""
    parts = qualname.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(qualname)


def _type_allowed(qualname: str) -> bool:
    """Whether a fully qualified type or function name from a skops graph may be loaded.

    Only classes and functions of blend, scikit-learn, numpy, scipy, pandas and xgboost are
    accepted, outside of their file-reading, testing and code-compiling modules; the module is
    only imported after the name passed these checks.
    """
    if qualname in _BUILTINS_OK or qualname in _OTHER_OK or qualname in _OWN_OK:
        return True
    parts = qualname.split(".")
    if parts[0] not in _TRUSTED_ROOTS or len(parts) < 2:
        return False
    if any(p in _DENIED_PARTS for p in parts[:-1]) or parts[-1] in _DENIED_NAMES:
        return False
    if any(p.startswith("read_") or p.startswith("to_") for p in parts[1:]):
        return False
    try:
        obj = _resolve(qualname)
    except (ImportError, AttributeError):
        return False
    module = getattr(obj, "__module__", None) or ""
    if isinstance(obj, type) or callable(obj):
        # the object must really live in a trusted package (no re-exported os.system)
        root = module.split(".")[0]
        if root not in _TRUSTED_ROOTS and not isinstance(obj, np.ufunc):
            return False
        return not any(p in _DENIED_PARTS for p in module.split("."))
    return False


def _vet_graph(data: bytes) -> list[str]:
    """Names the graph needs trusted, after checking every one against the allowlist."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    refused = sorted(name for name in untrusted if not _type_allowed(name))
    if refused:
        raise UnsafeModelError(
            f"The model graph names types blend does not load: {refused}. Only classes of "
            f"blend, scikit-learn, numpy, scipy, pandas and xgboost are allowed; this file was "
            "not written by blend.save or was tampered with."
        )
    return list(untrusted)


# ---------------------------------------------------------------------------------------------
# pandas encoding


def _json_scalar(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return _json_scalar(value.item(), where)
    import pandas as pd  # a hard dependency; imported here to keep `import blend` light

    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(
        f"{where}: cannot save a pandas value of type {type(value).__name__} safely; only "
        "strings, numbers and missing values are supported in object columns."
    )


def _encode_values(values: Any, where: str) -> dict:
    """Encode a 1-d pandas array / Index values with their dtype."""
    import pandas as pd

    if isinstance(values, pd.arrays.NumpyExtensionArray):
        values = values.to_numpy()
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cat = pd.Categorical(values)
        return {
            "kind": "categorical",
            "categories": _encode_values(pd.Index(cat.categories), where),
            "ordered": bool(cat.ordered),
            "codes": np.asarray(cat.codes),
        }
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        return {"kind": "numpy", "values": np.asarray(values)}
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biuf":
        arr = pd.array(values)
        mask = np.asarray(arr.isna())
        data = arr.to_numpy(dtype=dtype.numpy_dtype, na_value=0)
        return {"kind": "masked", "dtype": str(dtype), "values": data, "mask": mask}
    if (isinstance(dtype, np.dtype) and dtype.kind == "O") or pd.api.types.is_string_dtype(dtype):
        items = [_json_scalar(v, where) for v in np.asarray(values, dtype=object)]
        return {"kind": "object", "dtype": str(dtype), "values": items}
    raise TypeError(f"{where}: cannot save pandas dtype {dtype!s} safely.")


def _decode_values(enc: dict) -> Any:
    import pandas as pd

    kind = enc["kind"]
    if kind == "categorical":
        categories = pd.Index(_decode_values(enc["categories"]))
        return pd.Categorical.from_codes(enc["codes"], categories, ordered=enc["ordered"])
    if kind == "numpy":
        return enc["values"]
    if kind == "masked":
        data = pd.array(enc["values"], dtype=enc["dtype"])
        data[np.asarray(enc["mask"], dtype=bool)] = pd.NA
        return data
    if kind == "object":
        dtype = enc["dtype"]
        if dtype == "object":
            return np.array(enc["values"], dtype=object)
        return pd.array(enc["values"], dtype=dtype)
    raise UnsafeModelError(f"Unknown pandas encoding {kind!r} in the model file.")


def _encode_name(name: Any, where: str) -> Any:
    if isinstance(name, tuple):
        return {"tuple": [_json_scalar(n, where) for n in name]}
    return _json_scalar(name, where)


def _decode_name(name: Any) -> Any:
    if isinstance(name, dict) and "tuple" in name:
        return tuple(name["tuple"])
    return name


def _encode_index(index: Any, where: str) -> dict:
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        raise TypeError(f"{where}: cannot save a pandas MultiIndex; reset it before saving.")
    if isinstance(index, pd.RangeIndex):
        return {
            "kind": "range",
            "start": index.start,
            "stop": index.stop,
            "step": index.step,
            "name": _encode_name(index.name, where),
        }
    return {
        "kind": "index",
        "values": _encode_values(index, where),
        "name": _encode_name(index.name, where),
    }


def _decode_index(enc: dict) -> Any:
    import pandas as pd

    name = _decode_name(enc["name"])
    if enc["kind"] == "range":
        return pd.RangeIndex(enc["start"], enc["stop"], enc["step"], name=name)
    return pd.Index(_decode_values(enc["values"]), name=name)


def _encode_pandas(obj: Any, where: str) -> _PandasValue:
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        payload = {
            "type": "DataFrame",
            "index": _encode_index(obj.index, where),
            "columns": _encode_index(obj.columns, where),
            "data": [
                _encode_values(obj.iloc[:, i].array, f"{where}[{obj.columns[i]!r}]")
                for i in range(obj.shape[1])
            ],
        }
    elif isinstance(obj, pd.Series):
        payload = {
            "type": "Series",
            "index": _encode_index(obj.index, where),
            "name": _encode_name(obj.name, where),
            "data": _encode_values(obj.array, where),
        }
    elif isinstance(obj, pd.Index):
        payload = {"type": "Index", "index": _encode_index(obj, where)}
    elif isinstance(obj, pd.CategoricalDtype):
        categories = None if obj.categories is None else _encode_index(obj.categories, where)
        payload = {"type": "CategoricalDtype", "categories": categories, "ordered": obj.ordered}
    else:
        raise TypeError(f"{where}: cannot save pandas {type(obj).__name__} safely.")
    return _PandasValue(payload)


def _decode_pandas(value: _PandasValue) -> Any:
    import pandas as pd

    p = value.payload
    kind = p["type"]
    if kind == "DataFrame":
        columns = _decode_index(p["columns"])
        index = _decode_index(p["index"])
        data = {i: _decode_values(col) for i, col in enumerate(p["data"])}
        frame = pd.DataFrame(data, index=index)
        frame.columns = columns
        return frame
    if kind == "Series":
        return pd.Series(
            _decode_values(p["data"]),
            index=_decode_index(p["index"]),
            name=_decode_name(p["name"]),
        )
    if kind == "Index":
        return _decode_index(p["index"])
    if kind == "CategoricalDtype":
        categories = None if p["categories"] is None else _decode_index(p["categories"])
        return pd.CategoricalDtype(categories, ordered=p["ordered"])
    raise UnsafeModelError(f"Unknown pandas encoding {kind!r} in the model file.")


# ---------------------------------------------------------------------------------------------
# The walker


def _module_root(obj: Any) -> str:
    return (type(obj).__module__ or "").split(".")[0]


def _is_keras_model(obj: Any) -> bool:
    if "keras" not in sys.modules or _module_root(obj) not in {"keras", "blend", "tf_keras"}:
        return False
    import keras

    return isinstance(obj, keras.Model)


def _is_booster(obj: Any) -> bool:
    if "xgboost" not in sys.modules:
        return False
    import xgboost

    return isinstance(obj, xgboost.Booster)


_FOREIGN_ROOTS = {"keras", "tensorflow", "tf_keras", "jax", "jaxlib", "torch", "xgboost"}
_FUNCTIONS = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
    np.ufunc,
)
_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), np.ndarray, np.generic)


@dataclass
class _SaveContext:
    members: dict[str, bytes] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    memo: dict[int, Any] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)  # keeps memoised ids alive

    def add(self, kind: str, ext: str, data: bytes) -> _MemberRef:
        count = sum(1 for k in self.kinds.values() if k == kind)
        name = f"{kind}/{count}.{ext}"
        self.members[name] = data
        self.kinds[name] = kind
        return _MemberRef(kind, name)


def _keras_bytes(model: Any, where: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        data = Path(path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        config = json.loads(archive.read("config.json"))
    if _has_lambda(config):
        raise TypeError(
            f"{where}: the Keras model has a Lambda layer, which holds Python code that "
            "blend.load refuses (Keras safe mode). Replace it with a registered custom layer "
            "(keras.saving.register_keras_serializable)."
        )
    return data


def _has_lambda(config: Any) -> bool:
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            return True
        return any(_has_lambda(v) for v in config.values())
    if isinstance(config, list):
        return any(_has_lambda(v) for v in config)
    return False


def _object_state(obj: Any) -> dict | None:
    getstate = getattr(obj, "__getstate__", None)
    state = getstate() if getstate is not None else getattr(obj, "__dict__", None)
    return state if isinstance(state, dict) else None


def _encode(obj: Any, ctx: _SaveContext, where: str) -> Any:
    """Return ``obj`` or a copy of it whose Keras models, boosters and pandas objects are
    replaced by safe placeholders; ``obj`` itself is never modified."""
    if isinstance(obj, (*_ATOMS, type, *_FUNCTIONS)):
        return obj
    key = id(obj)
    if key in ctx.memo:
        return ctx.memo[key]
    ctx.keep.append(obj)
    result = _encode_new(obj, ctx, where)
    ctx.memo[key] = result
    return result


def _encode_new(obj: Any, ctx: _SaveContext, where: str) -> Any:
    root = _module_root(obj)
    if _is_keras_model(obj):
        return ctx.add("keras", "keras", _keras_bytes(obj, where))
    if _is_booster(obj):
        return ctx.add("xgboost", "ubj", bytes(obj.save_raw("ubj")))
    if root == "pandas":
        return _encode_pandas(obj, where)
    if root in _FOREIGN_ROOTS and not hasattr(obj, "get_params"):
        raise TypeError(
            f"{where}: cannot save an object of type {type(obj).__module__}."
            f"{type(obj).__qualname__} safely. Only Keras models and XGBoost boosters are "
            "supported from these libraries; drop this attribute in __getstate__ (and rebuild "
            "it lazily) or store plain numbers instead."
        )
    if type(obj) in (list, tuple, set, frozenset):
        items = [_encode(v, ctx, f"{where}[{i}]") for i, v in enumerate(obj)]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        return type(obj)(items)
    if isinstance(obj, dict) and type(obj).__module__ in {"builtins", "collections"}:
        new = {k: _encode(v, ctx, f"{where}[{k!r}]") for k, v in obj.items()}
        if all(new[k] is v for k, v in obj.items()):
            return obj
        out = type(obj)() if type(obj) is not dict else {}
        if hasattr(obj, "default_factory"):
            out.default_factory = obj.default_factory
        out.update(new)
        return out
    state = _object_state(obj)
    if state is None:
        return obj
    new_state = {k: _encode(v, ctx, f"{where}.{k}") for k, v in state.items()}
    if all(new_state[k] is v for k, v in state.items()):
        return obj
    if hasattr(obj, "__slots__") and not hasattr(obj, "__dict__"):  # pragma: no cover
        raise TypeError(f"{where}: cannot save {type(obj).__name__} (uses __slots__).")
    clone = type(obj).__new__(type(obj))
    clone.__dict__.update(new_state)
    return clone


class _Loader:
    """Replaces references in a freshly loaded graph (objects we own, so mutation is fine)."""

    def __init__(self, archive: zipfile.ZipFile, manifest: dict) -> None:
        self.archive = archive
        self.manifest = manifest
        self.loaded: dict[str, Any] = {}
        self.seen: set[int] = set()

    def member(self, ref: _MemberRef) -> Any:
        if ref.name not in self.loaded:
            info = self.manifest["members"].get(ref.name)
            if info is None or info["kind"] != ref.kind:
                raise UnsafeModelError(f"The model graph refers to an unknown member {ref.name!r}.")
            data = _read_member(self.archive, ref.name, info)
            self.loaded[ref.name] = _LOADERS[ref.kind](data, ref.name)
        return self.loaded[ref.name]

    def resolve(self, obj: Any) -> Any:
        if isinstance(obj, _MemberRef):
            return self.member(obj)
        if isinstance(obj, _PandasValue):
            return _decode_pandas(obj)
        if isinstance(obj, (*_ATOMS, type, *_FUNCTIONS)) or id(obj) in self.seen:
            return obj
        self.seen.add(id(obj))
        if isinstance(obj, list):
            obj[:] = [self.resolve(v) for v in obj]
        elif isinstance(obj, (tuple, set, frozenset)):
            items = [self.resolve(v) for v in obj]
            if any(a is not b for a, b in zip(items, obj)):
                return type(obj)(items) if not hasattr(obj, "_fields") else type(obj)(*items)
        elif isinstance(obj, dict):
            for k, v in list(obj.items()):
                obj[k] = self.resolve(v)
        elif hasattr(obj, "__dict__") and not isinstance(obj, _FUNCTIONS):
            for k, v in list(vars(obj).items()):
                new = self.resolve(v)
                if new is not v:
                    obj.__dict__[k] = new
        return obj


def _load_keras(data: bytes, name: str) -> Any:
    if not data.startswith(b"PK"):
        raise UnsafeModelError(_not_format(name, data, "a .keras zip archive"))
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        Path(path).write_bytes(data)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except ValueError as err:
            if "safe_mode" in str(err) or "Lambda" in str(err):
                raise UnsafeModelError(
                    f"Refusing to load {name}: it holds code (a Lambda layer or a custom "
                    f"function) that Keras' safe mode does not load. ({err})"
                ) from err
            raise


def _load_booster(data: bytes, name: str) -> Any:
    if not data.startswith(b"{"):
        raise UnsafeModelError(_not_format(name, data, "an XGBoost UBJSON model"))
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(data))
    return booster


_LOADERS = {"keras": _load_keras, "xgboost": _load_booster}


def _not_format(name: str, data: bytes, expected: str) -> str:
    if data[:1] == b"\x80" or data[:1] in (b"(", b"c", b"]", b"}"):
        what = "looks like a Python pickle, which blend never writes and never loads"
    else:
        what = f"starts with {data[:8]!r}"
    return f"Refusing to load {name!r}: it is not {expected} ({what})."


# ---------------------------------------------------------------------------------------------
# Versions and manifest


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        if lib in {"keras", "xgboost"} and lib not in sys.modules:
            # do not import heavy libraries just to record them; read the installed metadata
            out[lib] = _dist_version({"keras": "keras", "xgboost": "xgboost"}[lib])
            continue
        try:
            out[lib] = importlib.import_module(lib).__version__
        except ImportError:
            out[lib] = None
    return out


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    for dist in (name, f"{name}-cpu"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _major(version: str | None) -> str | None:
    return None if not version else str(version).split(".")[0]


def _check_versions(saved: dict) -> None:
    current = _versions()
    for lib, version in saved.items():
        if lib == "python" or version is None or current.get(lib) is None:
            continue
        if _major(version) != _major(current[lib]):
            warnings.warn(
                f"This model was saved with {lib} {version} and is loaded with {lib} "
                f"{current[lib]} (a different major version); predictions may differ or "
                "loading may fail. Re-train and save it with the installed versions, or "
                f"install {lib}=={version}.",
                ModelVersionWarning,
                stacklevel=3,
            )


def _check_name(name: str) -> None:
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or name.startswith("/")
        or path.is_absolute()
        or ".." in path.parts
        or ":" in name
        or "\x00" in name
    ):
        raise UnsafeModelError(
            f"Refusing to load: the archive member name {name!r} escapes the model folder "
            "(path traversal)."
        )


def _read_member(archive: zipfile.ZipFile, name: str, info: dict) -> bytes:
    data = archive.read(name)
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.get("sha256"):
        raise UnsafeModelError(
            f"Refusing to load: member {name!r} does not match the digest in the manifest "
            "(the file is corrupted or was modified after saving)."
        )
    return data


# ---------------------------------------------------------------------------------------------
# Public API


def save(estimator: Any, path: str | os.PathLike) -> Path:
    """Save a fitted estimator to a safe model file.

    The file is a zip archive holding a JSON manifest, the estimator's object graph in the
    ``skops`` format, each Keras model as a ``.keras`` file and each XGBoost booster in
    XGBoost's own format. No pickle is written, so :func:`load` never runs code from the file.

    Parameters
    ----------
    estimator : object
        Any blend or scikit-learn estimator (or a list/dict of them), fitted or not.
    path : str or path-like
        Where to write the file (``.blend`` by convention). Its folder must exist.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If the estimator holds an object that cannot be stored safely; the message names the
        attribute (for example ``estimator.history_``) and what to do.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> import blend, numpy as np, tempfile, os
    >>> model = Ridge().fit(np.eye(3), [1.0, 2.0, 3.0])
    >>> path = blend.save(model, os.path.join(tempfile.mkdtemp(), "ridge.blend"))
    >>> np.array_equal(blend.load(path).predict(np.eye(3)), model.predict(np.eye(3)))
    True
    """
    import skops.io as sio

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save to {str(path)!r}: the folder {str(path.parent)!r} does not exist."
        )
    ctx = _SaveContext()
    graph = _encode(estimator, ctx, type(estimator).__name__)
    try:
        graph_bytes = sio.dumps(graph, compression=zipfile.ZIP_DEFLATED)
    except Exception as err:  # skops raises several types for unsupported objects
        raise TypeError(
            f"Cannot save {type(estimator).__name__} safely: {err}. Store plain numbers, "
            "arrays or scikit-learn objects in fitted attributes."
        ) from err
    untrusted = sio.get_untrusted_types(data=graph_bytes)
    refused = sorted(name for name in untrusted if not _type_allowed(name))
    if refused:
        raise TypeError(
            f"Cannot save {type(estimator).__name__} safely: it holds objects of types "
            f"{refused}, which blend.load would refuse (only blend, scikit-learn, numpy, scipy, "
            "pandas and xgboost classes are allowed). Drop them in __getstate__ or store plain "
            "values."
        )
    members = {_GRAPH: graph_bytes, **ctx.members}
    kinds = {_GRAPH: "skops", **ctx.kinds}
    cls = type(estimator)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "estimator": f"{cls.__module__}.{cls.__qualname__}",
        "versions": _versions(),
        "members": {
            name: {"kind": kinds[name], "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in members.items()
        },
    }
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest, indent=2))
        for name, data in members.items():
            archive.writestr(name, data)
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written model file
    return path


def read_manifest(path: str | os.PathLike) -> dict:
    """Return the JSON manifest of a model file without loading the model."""
    with _open_archive(path) as archive:
        return _manifest(archive)


def _open_archive(path: str | os.PathLike) -> zipfile.ZipFile:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            head = fh.read(8)
        raise UnsafeModelError(_not_format(str(path), head, "a blend model file (a zip archive)"))
    return zipfile.ZipFile(path)


def _manifest(archive: zipfile.ZipFile) -> dict:
    for name in archive.namelist():
        _check_name(name)
    try:
        manifest = json.loads(archive.read(_MANIFEST))
    except KeyError:
        raise UnsafeModelError("Not a blend model file: it has no manifest.json.") from None
    except json.JSONDecodeError as err:
        raise UnsafeModelError(f"The model file's manifest.json is not valid JSON: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise UnsafeModelError("Not a blend model file: the manifest names another format.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise UnsafeModelError(
            f"The model file has format version {version!r}; this blend reads up to "
            f"{FORMAT_VERSION}. Upgrade blend to load it."
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or _GRAPH not in members:
        raise UnsafeModelError("The model file's manifest does not list its members.")
    names = set(archive.namelist()) - {_MANIFEST}
    if names != set(members):
        raise UnsafeModelError(
            "The model file's members do not match its manifest (unexpected: "
            f"{sorted(names - set(members))}, missing: {sorted(set(members) - names)})."
        )
    for name, info in members.items():
        _check_name(name)
        if not isinstance(info, dict) or info.get("kind") not in {"skops", *_LOADERS}:
            raise UnsafeModelError(f"Member {name!r} has an unknown kind in the manifest.")
    return manifest


def load(path: str | os.PathLike) -> Any:
    """Load an estimator saved with :func:`save` without running code from the file.

    Every member is checked before use: names may not leave the archive, digests must match the
    manifest, the object graph may only name allowlisted blend/scikit-learn/numpy/scipy/pandas/
    xgboost types (checked before any object is built), Keras models load in safe mode and
    pickles are refused.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    object
        The estimator, ready to ``predict``.

    Raises
    ------
    UnsafeModelError
        If the file could run code on load, is corrupted, or is not a blend model file.

    Warns
    -----
    ModelVersionWarning
        If the file was written with a different major version of blend, Keras, XGBoost,
        scikit-learn, numpy, scipy, pandas or skops.

    Examples
    --------
    >>> import blend
    >>> model = blend.load("model.blend")  # doctest: +SKIP
    """
    with _open_archive(path) as archive:
        manifest = _manifest(archive)
        _check_versions(manifest.get("versions") or {})
        data = _read_member(archive, _GRAPH, manifest["members"][_GRAPH])
        if not data.startswith(b"PK"):
            raise UnsafeModelError(_not_format(_GRAPH, data, "a skops archive"))
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            for name in inner.namelist():
                _check_name(name)
                if name != "schema.json" and not name.endswith((".npy", ".bin")):
                    raise UnsafeModelError(f"{_GRAPH} holds an unexpected file {name!r}.")
        trusted = _vet_graph(data)
        import skops.io as sio  # imported late: it enumerates every scikit-learn estimator

        graph = sio.loads(data, trusted=trusted)
        return _Loader(archive, manifest).resolve(graph)
