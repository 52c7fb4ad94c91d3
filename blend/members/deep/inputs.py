"""DataFrame -> Keras inputs: vocabularies, a tokenizer, numeric scaling, images, streaming.

All string-to-index work happens here, in numpy/pandas, so the Keras graphs stay
backend-agnostic and the fitted state is plain Python/numpy (picklable, JSON-friendly).

One Keras input per

* categorical column (``cat_<column>``, int32 ids of shape ``(1,)``: 0 = missing,
  1 = out of vocabulary, 2.. = levels seen in fit),
* all numeric columns together (``num``, float32 of shape ``(k,)``: values clipped to the
  fit's 0.1% / 99.9% quantiles, then standardized, with NaN/inf read as the fit mean; then
  one missing-indicator per column that had missing values in fit),
* text column read as a sequence (``txt_<column>``, int32 token ids padded with 0 to
  ``sequence_length``; ids 0 and 1 are padding and out-of-vocabulary),
* text column read as a bag of n-grams (``bag_<column>``, float32 of shape ``(n_terms,)``: the
  TF-IDF weights of the unigrams and bigrams kept in fit, each row scaled to unit length;
  :meth:`InputEncoder.transform` can return it as a sparse matrix, densified per batch),
* image column (``img_<column>``, the raw pixels, ``uint8`` or ``float32``; scaling happens in
  the model through a ``Rescaling`` layer with the spec's ``scale``/``offset``).

Columns of one *shared group* share an encoder in the model; text columns of a group also share
one vocabulary.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from blend.features.images import image_shape, read_images
from blend.features.validation import (
    category_values,
    check_columns,
    numeric_block,
    numeric_values,
    text_values,
)
from blend.roles import columns_with, image_source, resolve_roles

__all__ = [
    "InputEncoder",
    "InputSpec",
    "choose_text_mode",
    "ngrams",
    "tokenize",
]  # FrameDataset: see __getattr__

PAD, OOV = 0, 1
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Longest automatic sequence length; longer texts are truncated (their start is kept).
_MAX_AUTO_LENGTH = 256
# Standardized numerics are clipped to this many standard deviations: a value near float32's
# limit would otherwise overflow to inf inside the network and every prediction would be NaN.
_MAX_Z = 1e6
# Numerics are clipped to these training quantiles (both tails) before standardizing.
_CLIP_QUANTILE = 0.001
TEXT_MODES = ("auto", "bag", "sequence")
# text="auto": below this many samples per mean word of a text, a bag of n-grams reads it
# better than a sequence model (Chollet, Deep Learning with Python, 2nd ed., section 11.3).
BAG_RATIO = 1500
# A bag's n-grams must occur in this many training rows: rarer ones only memorize rows.
_BAG_MIN_DF = 2
# A bag keeps at most one n-gram per this many training rows (and at least _BAG_MIN_TERMS):
# its dense layer has a weight per n-gram and unit, and with more n-grams than the rows can
# inform it memorizes the rare ones (bench/bench_multitask.py measures the cap).
_ROWS_PER_TERM = 16
_BAG_MIN_TERMS = 100


@dataclass(frozen=True)
class InputSpec:
    """What one Keras input holds.

    Attributes
    ----------
    name : str
        The Keras input name and the key of :meth:`InputEncoder.transform`'s dict.
    role : str
        ``"categorical"``, ``"numeric"``, ``"text"`` (token ids), ``"bag"`` (a text column's
        TF-IDF n-gram weights) or ``"image"``.
    columns : tuple of str
        The DataFrame column(s) it reads.
    shape : tuple of int
        Per-row shape.
    dtype : str
        ``"int32"``, ``"float32"`` or ``"uint8"``.
    vocab_size : int or None
        Embedding table size (ids ``< vocab_size``) for categorical and text inputs; the
        number of n-grams for bag inputs.
    group : str or None
        Inputs with the same group share one encoder (and text inputs one vocabulary).
    source : str or None
        Images only: ``"array"`` (pixels in cells) or ``"path"`` (files, streamed).
    scale, offset : float
        Images only: the model reads ``pixels * scale + offset``.
    """

    name: str
    role: str
    columns: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    vocab_size: int | None = None
    group: str | None = None
    source: str | None = None
    scale: float = 1.0
    offset: float = 0.0


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens (letters and digits, with an optional ``'s``-style suffix)."""
    return _TOKEN.findall(text.lower())


def ngrams(tokens: Sequence[str]) -> list[str]:
    """The unigrams and bigrams of a token list (a bigram is two tokens joined by a space)."""
    return [*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))]


def choose_text_mode(n_samples: int, mean_words: float) -> str:
    """``"bag"`` when ``n_samples / mean_words < 1500``, else ``"sequence"``.

    The rule of thumb of Chollet (*Deep Learning with Python*, 2nd ed., section 11.3): with
    few samples or short texts, a bag of bigrams feeding dense layers beats sequence models;
    beyond that ratio, a sequence model can learn word order. Empty texts read as sequences
    (there is nothing to bag).

    Examples
    --------
    >>> choose_text_mode(4000, 12.0), choose_text_mode(100_000, 12.0)
    ('bag', 'sequence')
    """
    if mean_words <= 0:
        return "sequence"
    return "bag" if n_samples / mean_words < BAG_RATIO else "sequence"


def _safe_name(column: object) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", str(column))
    return name or "col"


def _check_text_cells(series: pd.Series, column: str) -> None:
    for value in series:
        if isinstance(value, (np.ndarray, list, dict, tuple, set)):
            raise ValueError(
                f"Column {column!r} has role 'text' but holds a {type(value).__name__}. "
                "Store one string per cell, or give the column another role."
            )


class InputEncoder:
    """Turn a DataFrame into one array per Keras input, with the state learned in ``fit``.

    Parameters
    ----------
    roles : dict, optional
        ``{column: role}`` overrides; other columns are inferred with
        :func:`blend.infer_roles`. Columns with the role ``"ignore"`` are dropped.
    max_tokens : int, default=10000
        Text vocabulary size: token ids (including the padding and out-of-vocabulary ids) for
        a sequence, n-grams (the most frequent in fit) for a bag.
    sequence_length : int, optional
        Tokens per text; by default the 99th percentile of the fit texts' lengths (at most 256).
    shared : None, False or list of lists of columns, default=None
        Which columns share one encoder. ``None``: image columns of the same shape share one;
        ``False``: nothing is shared; a list such as ``[["q1", "q2"]]`` declares the groups
        (columns of a group must have the same role, and for images the same shape).
    text : {"sequence", "bag", "auto"}, default="sequence"
        How text columns are read: ``"sequence"`` as padded token ids (for an embedding and a
        sequence model), ``"bag"`` as the TF-IDF weights of their unigrams and bigrams (for
        dense layers; the n-grams in most fit rows, at most ``max_tokens`` and one per 16 fit
        rows, 100 at least), ``"auto"`` per column (or shared group) by
        :func:`choose_text_mode` on the fit rows.

    Attributes
    ----------
    roles_ : dict
        The resolved ``{column: role}`` mapping.
    specs_ : list of InputSpec
        One spec per Keras input, in a fixed order.
    columns_ : list of str
        The columns read (every role but ``"ignore"``).
    text_modes_ : dict
        ``{text column: "bag" or "sequence"}``, the reading chosen for each text column.

    Examples
    --------
    >>> import pandas as pd
    >>> from blend.members.deep.inputs import InputEncoder
    >>> df = pd.DataFrame({"size": ["S", "M", None], "price": [1.0, None, 3.0]})
    >>> enc = InputEncoder().fit(df)
    >>> [s.name for s in enc.specs_]
    ['cat_size', 'num']
    >>> enc.transform(pd.DataFrame({"size": ["XL"], "price": [2.0]}))["cat_size"].tolist()
    [[1]]
    """

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        *,
        max_tokens: int = 10_000,
        sequence_length: int | None = None,
        shared: bool | Sequence[Sequence[str]] | None = None,
        text: str = "sequence",
    ) -> None:
        self.roles = roles
        self.max_tokens = max_tokens
        self.sequence_length = sequence_length
        self.shared = shared
        self.text = text

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame) -> InputEncoder:
        """Learn vocabularies, numeric statistics, sequence length and image shapes."""
        self._check_options()
        if len(X) == 0:
            raise ValueError("Cannot fit on an empty DataFrame (0 rows).")
        roles = resolve_roles(X, self.roles)
        self.roles_ = roles
        self.columns_ = [c for c, r in roles.items() if r != "ignore"]
        if not self.columns_:
            raise ValueError(
                "No usable column: every column has the role 'ignore'. Pass roles={column: role} "
                "for the columns the model should read."
            )
        groups = self._groups(X, roles)
        self._group_of = {c: g for g, cols in groups.items() for c in cols}
        self._lookups = None

        used: set[str] = set()

        def unique(name: str) -> str:
            base, i = name, 1
            while name in used:
                i += 1
                name = f"{base}_{i}"
            used.add(name)
            return name

        self.specs_ = [
            *self._fit_categorical(X, roles, unique),
            *self._fit_numeric(X, roles, unique),
            *self._fit_text(X, roles, unique),
            *self._fit_images(X, roles, unique),
        ]
        return self

    def _check_options(self) -> None:
        if not isinstance(self.max_tokens, (int, np.integer)) or self.max_tokens < 3:
            raise ValueError(f"max_tokens must be an integer >= 3, got {self.max_tokens!r}.")
        if self.sequence_length is not None and (
            not isinstance(self.sequence_length, (int, np.integer)) or self.sequence_length < 1
        ):
            raise ValueError(
                f"sequence_length must be a positive integer or None, got {self.sequence_length!r}."
            )
        if self.text not in TEXT_MODES:
            raise ValueError(f"text must be one of {TEXT_MODES}, got {self.text!r}.")

    def _fit_categorical(self, X: pd.DataFrame, roles: dict, unique) -> list[InputSpec]:
        """One vocabulary per categorical column, levels by decreasing count."""
        self.vocabularies_: dict[str, list[str]] = {}
        specs = []
        for column in columns_with(roles, "categorical"):
            values = category_values(X[column])
            counts = Counter(v for v in values if v is not None)
            levels = sorted(counts, key=lambda v: (-counts[v], v))
            self.vocabularies_[column] = levels
            specs.append(
                InputSpec(
                    unique(f"cat_{_safe_name(column)}"),
                    "categorical",
                    (column,),
                    (1,),
                    "int32",
                    vocab_size=len(levels) + 2,
                )
            )
        return specs

    def _fit_numeric(self, X: pd.DataFrame, roles: dict, unique) -> list[InputSpec]:
        """Clipping range, mean and scale per numeric column; one input for all of them."""
        numeric = columns_with(roles, "numeric")
        self.numeric_columns_ = numeric
        self.means_, self.scales_, self.indicator_columns_ = [], [], []
        self.clip_ranges_ = []
        for column in numeric:
            values = numeric_values(X[column], column)
            finite = values[np.isfinite(values)]
            # Winsorize at the 0.1% / 99.9% quantiles: one wrong entry (a 59 mm diamond) would
            # otherwise stretch the scale in fit, or drive a prediction far off at predict.
            lo, hi = (
                np.quantile(finite, [_CLIP_QUANTILE, 1 - _CLIP_QUANTILE]) if len(finite) else (0, 0)
            )
            self.clip_ranges_.append((float(lo), float(hi)))
            finite = np.clip(finite, lo, hi)
            mean = float(finite.mean()) if len(finite) else 0.0
            std = float(finite.std()) if len(finite) > 1 else 0.0
            self.means_.append(mean)
            self.scales_.append(std if std > 1e-12 else 1.0)
            if len(finite) < len(values):
                self.indicator_columns_.append(column)
        if not numeric:
            return []
        width = len(numeric) + len(self.indicator_columns_)
        return [InputSpec(unique("num"), "numeric", tuple(numeric), (width,), "float32")]

    def _fit_text(self, X: pd.DataFrame, roles: dict, unique) -> list[InputSpec]:
        """Per shared group (or text column): its reading, and a vocabulary for it."""
        self.token_vocabularies_: dict[str, list[str]] = {}
        self.bag_vocabularies_: dict[str, list[str]] = {}
        self.bag_idf_: dict[str, list[float]] = {}
        self.text_modes_: dict[str, str] = {}
        text_columns = columns_with(roles, "text")
        tokens = {}
        for column in text_columns:
            _check_text_cells(X[column], column)
            tokens[column] = [tokenize(t) for t in text_values(X[column])]
        keys = {c: self._group_of.get(c, c) for c in text_columns}
        modes = {}
        for key in dict.fromkeys(keys.values()):
            members = [c for c in text_columns if keys[c] == key]
            words = np.mean([len(t) for c in members for t in tokens[c]])
            mode = self.text if self.text != "auto" else choose_text_mode(len(X), float(words))
            modes[key] = mode
            if mode == "bag":
                self._fit_bag(key, [t for c in members for t in tokens[c]], len(X))
            else:
                counts = Counter(w for c in members for t in tokens[c] for w in t)
                ranked = sorted(counts, key=lambda w: (-counts[w], w))
                self.token_vocabularies_[key] = ranked[: self.max_tokens - 2]
        self.text_modes_ = {c: modes[keys[c]] for c in text_columns}
        sequences = [len(t) for c in text_columns if modes[keys[c]] != "bag" for t in tokens[c]]
        self.sequence_length_ = self._sequence_length(sequences)
        return [self._text_spec(column, modes[keys[column]], unique) for column in text_columns]

    def _fit_bag(self, key: str, documents: list[list[str]], n_rows: int) -> None:
        """The most frequent n-grams (in two rows or more) and their IDF.

        At most ``max_tokens``, and at most one per 16 training rows (100 at least).
        """
        df = Counter(g for tokens in documents for g in set(ngrams(tokens)))
        kept = [g for g, k in df.items() if k >= _BAG_MIN_DF] or list(df) or [""]
        size = min(self.max_tokens, max(_BAG_MIN_TERMS, n_rows // _ROWS_PER_TERM))
        terms = sorted(kept, key=lambda g: (-df.get(g, 0), g))[:size]
        n = len(documents)
        # Smoothed IDF (as scikit-learn's TfidfVectorizer): log((1 + n) / (1 + df)) + 1.
        self.bag_vocabularies_[key] = terms
        self.bag_idf_[key] = [math.log((1 + n) / (1 + df.get(g, 0))) + 1.0 for g in terms]

    def _text_spec(self, column: str, mode: str, unique) -> InputSpec:
        key = self._group_of.get(column, column)
        if mode == "bag":
            size = len(self.bag_vocabularies_[key])
            name, role, shape, dtype = f"bag_{_safe_name(column)}", "bag", (size,), "float32"
        else:
            size = len(self.token_vocabularies_[key]) + 2
            name, role, dtype = f"txt_{_safe_name(column)}", "text", "int32"
            shape = (self.sequence_length_,)
        return InputSpec(unique(name), role, (column,), shape, dtype, vocab_size=size,
                         group=self._group_of.get(column))  # fmt: skip

    def _sequence_length(self, lengths: list[int]) -> int:
        """``sequence_length``, or the 99th percentile of the texts' lengths (capped)."""
        if self.sequence_length is not None:
            return int(self.sequence_length)
        if not lengths:
            return 1
        return int(min(_MAX_AUTO_LENGTH, max(1, math.ceil(np.percentile(lengths, 99)))))

    def _fit_images(self, X: pd.DataFrame, roles: dict, unique) -> list[InputSpec]:
        """Shape, dtype and pixel scaling per image column, from the fit data."""
        specs = []
        for column in columns_with(roles, "image"):
            source = image_source(X[column])
            shape = image_shape(X[column], column)
            sample = read_images(X[column].iloc[:256], shape, column)
            if sample.dtype == np.uint8:
                scale, offset, dtype = 1.0 / 255.0, 0.0, "uint8"
            else:
                mean, std = float(sample.mean()), float(sample.std())
                std = std if std > 1e-12 else 1.0
                scale, offset, dtype = 1.0 / std, -mean / std, "float32"
            specs.append(
                InputSpec(
                    unique(f"img_{_safe_name(column)}"),
                    "image",
                    (column,),
                    shape,
                    dtype,
                    group=self._group_of.get(column),
                    source=source,
                    scale=scale,
                    offset=offset,
                )
            )
        return specs

    def _groups(self, X: pd.DataFrame, roles: dict[str, str]) -> dict[str, list[str]]:
        shared = self.shared
        if shared is False:
            return {}
        if shared is None or shared is True:
            by_shape: dict[tuple, list[str]] = {}
            for column in columns_with(roles, "image"):
                by_shape.setdefault(image_shape(X[column], column), []).append(column)
            cols = [c for c in by_shape.values() if len(c) > 1]
            return {f"shared{i}": c for i, c in enumerate(cols)}
        if isinstance(shared, (str, bytes)) or not all(
            isinstance(g, Sequence) and not isinstance(g, str) for g in shared
        ):
            raise TypeError(
                "shared must be None, False, or a list of column lists such as "
                f"[['photo_front', 'photo_back']]; got {shared!r}."
            )
        groups, seen = {}, set()
        for i, group in enumerate(shared):
            group = list(group)
            for column in group:
                if column not in roles:
                    raise ValueError(f"shared names column {column!r}, which the data lacks.")
                if column in seen:
                    raise ValueError(f"Column {column!r} appears in two shared groups.")
                seen.add(column)
            kinds = {roles[c] for c in group}
            if len(group) < 2 or len(kinds) != 1 or kinds - {"text", "image"}:
                raise ValueError(
                    f"Shared group {group} must list at least two columns with the same role, "
                    f"'text' or 'image' (roles: {[roles[c] for c in group]})."
                )
            if kinds == {"image"} and len({image_shape(X[c], c) for c in group}) > 1:
                raise ValueError(
                    f"Image columns {group} have different shapes and cannot share an encoder. "
                    "Resize them, or drop the group from shared."
                )
            groups[f"shared{i}"] = group
        return groups

    # ------------------------------------------------------------------ transform
    def _check_fitted(self) -> None:
        if not hasattr(self, "specs_"):
            raise ValueError("This InputEncoder is not fitted yet; call fit(X) first.")

    @property
    def streamed(self) -> list[InputSpec]:
        """Specs of image inputs read from files (streamed batch by batch)."""
        self._check_fitted()
        return [s for s in self.specs_ if s.role == "image" and s.source == "path"]

    def transform(
        self, X: pd.DataFrame, *, skip: Sequence[str] = (), sparse: bool = False
    ) -> dict[str, np.ndarray]:
        """One array per Keras input (keys are the spec names), without modifying ``X``.

        ``skip`` lists input names not to compute (e.g. image files streamed later).
        ``sparse=True`` returns bag-of-n-gram inputs as ``scipy.sparse`` CSR matrices (a
        training set's bags stay small; batches are densified one at a time).
        """
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"Expected a pandas DataFrame, got {type(X).__name__}.")
        check_columns(X, self.columns_, who="the encoder")
        out: dict[str, np.ndarray] = {}
        for spec in self.specs_:
            if spec.name in skip:
                continue
            if spec.role == "categorical":
                out[spec.name] = self._categorical(X[spec.columns[0]], spec.columns[0])
            elif spec.role == "numeric":
                out[spec.name] = self._numeric(X)
            elif spec.role == "text":
                out[spec.name] = self._text(X[spec.columns[0]], spec.columns[0])
            elif spec.role == "bag":
                bag = self._bag(X[spec.columns[0]], spec.columns[0])
                out[spec.name] = bag if sparse else bag.toarray()
            else:
                out[spec.name] = self.read_images(spec, X[spec.columns[0]])
        return out

    def read_images(self, spec: InputSpec, cells: pd.Series | Sequence[object]) -> np.ndarray:
        """The pixels of an image input for the given cells, in the spec's dtype."""
        images = read_images(cells, spec.shape, spec.columns[0])
        return images if images.dtype == np.dtype(spec.dtype) else images.astype(spec.dtype)

    def _tables(self) -> dict:
        # Lookup tables derived from the vocabularies; cached, and dropped when pickling.
        if self._lookups is None:
            tables: dict = {
                c: dict(zip(v, range(2, len(v) + 2))) for c, v in self.vocabularies_.items()
            }
            for key, words in self.token_vocabularies_.items():
                tables[("text", key)] = dict(zip(words, range(2, len(words) + 2)))
            for key, terms in getattr(self, "bag_vocabularies_", {}).items():
                tables[("bag", key)] = dict(zip(terms, range(len(terms))))
            self._lookups = tables
        return self._lookups

    def _categorical(self, series: pd.Series, column: str) -> np.ndarray:
        table = self._tables()[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            # Map the (few) categories once, then index by the codes: fast for any row count.
            # ``.array`` gives the Categorical itself (no per-call Series built: one-row predict).
            values = series.array
            level_ids = np.array(
                [table.get(str(c), OOV) for c in values.categories] + [PAD], dtype=np.int32
            )
            ids = level_ids[values.codes]  # code -1 (missing) -> last = PAD
        else:
            ids = np.array(
                [PAD if v is None else table.get(v, OOV) for v in category_values(series)],
                dtype=np.int32,
            )
        return ids.reshape(-1, 1)

    def _numeric(self, X: pd.DataFrame) -> np.ndarray:
        n = len(X)
        k = len(self.numeric_columns_)
        ranges = getattr(self, "clip_ranges_", None)  # absent in encoders saved before 0.2
        out = np.zeros((n, k + len(self.indicator_columns_)), dtype=np.float32)
        if not k:
            return out
        # all columns at once, each cell computed as column by column (elementwise, same order)
        values = numeric_block(X, self.numeric_columns_)
        missing = np.isnan(values)
        if ranges is not None:
            bounds = np.asarray(ranges, dtype=np.float64).reshape(k, 2)
            values = np.clip(values, bounds[:, 0], bounds[:, 1])
        means = np.asarray(self.means_, dtype=np.float64)[:k]
        scales = np.asarray(self.scales_, dtype=np.float64)[:k]
        z = np.clip((values - means) / scales, -_MAX_Z, _MAX_Z)
        out[:, :k] = np.where(missing, 0.0, z)
        for i, column in enumerate(self.indicator_columns_):
            out[:, k + i] = missing[:, self.numeric_columns_.index(column)]
        return out

    def _text(self, series: pd.Series, column: str) -> np.ndarray:
        _check_text_cells(series, column)
        ids_of = self._tables()[("text", self._group_of.get(column, column))]
        length = self.sequence_length_
        out = np.zeros((len(series), length), dtype=np.int32)
        for i, text in enumerate(text_values(series)):
            ids = [ids_of.get(w, OOV) for w in tokenize(text)[:length]]
            out[i, : len(ids)] = ids
        return out

    def _bag(self, series: pd.Series, column: str):
        """TF-IDF weights of the fit's n-grams, each row scaled to unit length (CSR, float32)."""
        from scipy import sparse

        _check_text_cells(series, column)
        key = self._group_of.get(column, column)
        index_of = self._tables()[("bag", key)]
        idf = np.asarray(self.bag_idf_[key], dtype=np.float64)
        rows, cols = [], []
        for i, text in enumerate(text_values(series)):
            ids = [index_of[g] for g in ngrams(tokenize(text)) if g in index_of]
            rows.extend([i] * len(ids))
            cols.extend(ids)
        shape = (len(series), len(idf))
        counts = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=shape)
        counts.sum_duplicates()
        weights = counts.multiply(idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(weights.multiply(weights).sum(axis=1)).ravel())
        scale = sparse.diags(1.0 / np.where(norms > 0, norms, 1.0))
        return (scale @ weights).astype(np.float32).tocsr()

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lookups"] = None  # caches rebuilt on demand
        return state


def _transform_sparse(encoder, X: pd.DataFrame, skip: Sequence[str]) -> dict:
    """``encoder.transform`` with bags kept sparse, where the encoder offers it."""
    try:
        return encoder.transform(X, skip=skip, sparse=True)
    except TypeError:  # an encoder of one's own, without ``sparse``
        return encoder.transform(X, skip=skip)


def _dense(values):
    return values.toarray() if hasattr(values, "toarray") else values


def _make_dataset_class():
    import keras

    class _FrameDataset(keras.utils.PyDataset):
        """Batches of encoded inputs whose image files are decoded one batch at a time.

        Non-image inputs are encoded once up front (they are small); image columns given as
        file paths are read, resized and stacked per batch, so image sets larger than memory
        train.
        """

        def __init__(
            self,
            encoder: InputEncoder,
            X: pd.DataFrame,
            y=None,
            sample_weight=None,
            *,
            batch_size: int = 256,
            shuffle: bool = False,
            seed: int = 0,
            **kwargs,
        ) -> None:
            super().__init__(**kwargs)
            self.encoder = encoder
            self.streamed = encoder.streamed
            skip = [s.name for s in self.streamed]
            self.arrays = _transform_sparse(encoder, X, skip)
            self.cells = {s.name: X[s.columns[0]].to_numpy(dtype=object) for s in self.streamed}
            self.y = y
            self.sample_weight = sample_weight
            self.batch_size = int(batch_size)
            self.shuffle = shuffle
            self.n = len(X)
            self._rng = np.random.default_rng(seed)
            self.order = self._rng.permutation(self.n) if shuffle else np.arange(self.n)
            # {output: factor} on the sample weights of a dict target, read at every batch
            # (a multi-task callback drops a head that has stopped improving); None: as given.
            self.output_scale = None

        def __len__(self) -> int:
            return max(1, math.ceil(self.n / self.batch_size))

        def __getitem__(self, index: int):
            rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
            x = {k: _dense(v[rows]) for k, v in self.arrays.items()}
            for spec in self.streamed:
                x[spec.name] = self.encoder.read_images(spec, self.cells[spec.name][rows])
            if self.y is None:
                return (x,)
            y = (
                {k: v[rows] for k, v in self.y.items()}
                if isinstance(self.y, dict)
                else self.y[rows]
            )
            if self.output_scale is not None and isinstance(y, dict):
                w = np.ones(len(rows), np.float32) if self.sample_weight is None else None
                w = self.sample_weight[rows] if w is None else w
                return x, y, {k: w * np.float32(self.output_scale.get(k, 1.0)) for k in y}
            if self.sample_weight is None:
                return x, y
            return x, y, self.sample_weight[rows]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.order = self._rng.permutation(self.n)

    return _FrameDataset


def __getattr__(name: str):
    # FrameDataset subclasses keras.utils.PyDataset; build it on first use so importing this
    # module does not import Keras.
    if name == "FrameDataset":
        cls = _make_dataset_class()
        globals()["FrameDataset"] = cls
        return cls
    raise AttributeError(name)
