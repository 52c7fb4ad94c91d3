"""One text column -> sparse TF-IDF of words and character n-grams, plus length counts.

Words catch vocabulary ("cashmere", "small hole"); character n-grams catch spelling variants
and word pieces. Both are fitted per column so every output feature names its source column.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["TextEncoder"]


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
