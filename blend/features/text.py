"""One text column -> sparse TF-IDF of words and character n-grams, plus length counts.

Words catch vocabulary ("cashmere", "small hole"); character n-grams catch spelling variants
and word pieces. Both are fitted per column so every output feature names its source column.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from blend.features.validation import same_bits, verified_shortcut

__all__ = ["TextEncoder", "dense_to_csr", "stack_few_rows"]

# Up to this many texts, a fitted vectorizer's TF-IDF is computed here (see _few_rows_tfidf).
FEW_TEXTS = 64


class TextEncoder:
    """Fit/transform one column of strings (missing values already read as "").

    Parameters
    ----------
    max_words : int
        Largest word (1-2 gram) vocabulary; 0 turns words off.
    max_chars : int
        Largest character 4-gram (within word boundaries) vocabulary; 0 turns them off.
        (One n-gram length keeps tokenizing, which runs in Python, cheap.)
    min_df : int
        Minimum number of documents a term must appear in, lowered on tiny data.
    """

    def __init__(self, max_words: int, max_chars: int, min_df: int = 2) -> None:
        self.max_words = max_words
        self.max_chars = max_chars
        self.min_df = min_df

    def _vectorizers(self, n_docs: int) -> list[tuple[str, TfidfVectorizer]]:
        min_df = self.min_df if n_docs >= 10 * self.min_df else 1
        common = {"sublinear_tf": True, "dtype": np.float32, "min_df": min_df}
        found = []
        if self.max_words:
            found.append(
                (
                    "w",
                    TfidfVectorizer(ngram_range=(1, 2), max_features=self.max_words, **common),
                )
            )
        if self.max_chars:
            found.append(
                (
                    "c",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(4, 4),
                        max_features=self.max_chars,
                        **common,
                    ),
                )
            )
        return found

    def fit_transform(self, texts: list[str]) -> sp.csr_matrix:
        self.vectorizers_ = []
        blocks = [_lengths(texts)]
        for prefix, vectorizer in self._vectorizers(len(texts)):
            try:
                blocks.append(vectorizer.fit_transform(texts).tocsr())
            except ValueError:
                # Empty vocabulary (every text empty or stop words only): no features from it.
                continue
            self.vectorizers_.append((prefix, vectorizer))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        blocks = [_lengths(texts)]
        if len(texts) <= FEW_TEXTS:
            blocks += [_tfidf(vectorizer, texts) for _, vectorizer in self.vectorizers_]
            return stack_few_rows(blocks)
        blocks += [vectorizer.transform(texts).tocsr() for _, vectorizer in self.vectorizers_]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def feature_names(self) -> list[str]:
        names = ["n_chars", "n_words"]
        for prefix, vectorizer in self.vectorizers_:
            names += [f"{prefix}_{term}" for term in vectorizer.get_feature_names_out()]
        return names


def _lengths(texts: list[str]) -> sp.csr_matrix:
    """Character and word counts, stored explicitly (a zero length is a value, not missing)."""
    counts = np.array([(len(t), len(t.split())) for t in texts], dtype=np.float32).reshape(-1, 2)
    return dense_to_csr(counts)


def dense_to_csr(block: np.ndarray) -> sp.csr_matrix:
    """A CSR copy of a dense block that stores every entry, zeros and NaN included.

    Sparse-aware boosters (XGBoost) read an absent entry as *missing*; storing zeros keeps a
    numeric zero distinct from a missing value.
    """
    n, m = block.shape
    return sp.csr_matrix(
        (
            np.ascontiguousarray(block, dtype=np.float32).ravel(),
            np.tile(np.arange(m, dtype=np.int32), n),
            np.arange(0, n * m + 1, m, dtype=np.int64),
        ),
        shape=(n, m),
    )


def stack_few_rows(blocks: list, dtype: type | None = np.float32) -> sp.csr_matrix:
    """``sp.hstack`` of the blocks as CSR (dense blocks storing every entry, as
    :func:`dense_to_csr` does), built directly: the same data, indices
    and row order, without a sparse matrix per block (which dominates a one-row transform).
    ``dtype=None`` keeps the blocks' common type (as ``sp.hstack`` without a dtype).
    """
    n = blocks[0].shape[0]
    data, indices, rows = [], [], []
    offset = 0
    for block in _dense_runs_joined(blocks):
        width = block.shape[1]
        if sp.issparse(block):
            block = block.tocsr()
            data.append(block.data if dtype is None else block.data.astype(dtype, copy=False))
            indices.append(block.indices.astype(np.int64) + offset)
            if n > 1:
                rows.append(np.repeat(np.arange(n), np.diff(block.indptr)))
        else:
            data.append(np.ascontiguousarray(block, dtype=dtype).ravel())
            columns = np.arange(offset, offset + width, dtype=np.int64)
            indices.append(columns if n == 1 else np.tile(columns, n))
            if n > 1:
                rows.append(np.repeat(np.arange(n), width))
        offset += width
    data, indices = np.concatenate(data), np.concatenate(indices)
    if n == 1:  # one row: the blocks' entries are already in order
        indptr = np.array([0, len(data)])
    else:
        row = np.concatenate(rows)
        order = np.argsort(row, kind="stable")  # by row, blocks (columns) in order within a row
        data, indices = data[order], indices[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n))])
    index_dtype = np.int32 if offset <= np.iinfo(np.int32).max else np.int64
    return sp.csr_matrix(
        (data, indices.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, offset)
    )


def _dense_runs_joined(blocks: list) -> list:
    """The blocks with each run of adjacent dense blocks joined into one (``np.hstack``: the
    common type, as the data's concatenation would give): one-column blocks (numeric and
    ordinal columns) would otherwise cost a few numpy calls each."""
    out: list = []
    run: list = []
    for block in [*blocks, None]:
        if block is not None and not sp.issparse(block):
            run.append(block)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else np.hstack(run))
            run = []
        if block is not None:
            out.append(block)
    return out


# ------------------------------------------------------------------ TF-IDF of a few texts
def _tfidf(vectorizer: TfidfVectorizer, texts: list[str]) -> sp.csr_matrix:
    """``vectorizer.transform(texts)`` as CSR; a few texts computed by :func:`_few_rows_tfidf`.

    scikit-learn's transform costs a fraction of a millisecond per call whatever the number of
    texts (input checks, sparse conversions), which dominates a one-row prediction. The
    shortcut is checked against scikit-learn's own transform on first use
    (:func:`~blend.features.validation.verified_shortcut`).
    """

    def own() -> sp.csr_matrix:
        return vectorizer.transform(texts).tocsr()

    if not _few_rows_apply(vectorizer):
        return own()
    return verified_shortcut(vectorizer, lambda: _few_rows_tfidf(vectorizer, texts), own, same_bits)


def _few_rows_apply(vectorizer: TfidfVectorizer) -> bool:
    return vectorizer.norm in ("l2", None) and isinstance(vectorizer.vocabulary_, dict)


def _few_rows_tfidf(vectorizer: TfidfVectorizer, texts: list[str]) -> sp.csr_matrix:
    """TF-IDF as scikit-learn computes it: term counts (columns sorted), ``log(tf) + 1`` when
    sublinear, times ``idf_``, each row divided by its L2 norm (squares summed in float64,
    one after another)."""
    vocabulary = vectorizer.vocabulary_
    analyzer = vectorizer.build_analyzer()
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for text in texts:
        found: dict[int, int] = {}
        for term in analyzer(text):
            j = vocabulary.get(term)
            if j is not None:
                found[j] = found.get(j, 0) + 1
        columns = sorted(found)
        indices += columns
        counts += [found[j] for j in columns]
        indptr.append(len(indices))
    data = np.asarray(counts, dtype=vectorizer.dtype)
    columns = np.asarray(indices, dtype=np.int32)
    if vectorizer.binary:
        data.fill(1)
    if vectorizer.sublinear_tf:
        np.log(data, data)
        data += 1.0
    if vectorizer.use_idf:
        data *= vectorizer.idf_[columns]
    if vectorizer.norm == "l2":
        for start, stop in itertools.pairwise(indptr):
            row = data[start:stop]
            total = np.cumsum((row * row).astype(np.float64))[-1] if stop > start else 0.0
            if total != 0.0:
                row[:] = row.astype(np.float64) / np.sqrt(total)
    return sp.csr_matrix(
        (data, columns, np.asarray(indptr, dtype=np.int32)),
        shape=(len(texts), len(vocabulary)),
    )
