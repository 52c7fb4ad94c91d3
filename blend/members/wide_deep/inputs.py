"""The joint model's inputs: the deep part's encoder plus the wide part's ids and descriptors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blend.features.wide import WIDE_DENSE, WIDE_INPUT, WideEncoder
from blend.members.deep.inputs import InputSpec

__all__ = ["JointEncoder", "wide_dense_spec", "wide_spec"]


def wide_spec(wide: WideEncoder) -> InputSpec:
    """The ``"wide"`` Keras input of a fitted :class:`~blend.features.wide.WideEncoder`."""
    return InputSpec(WIDE_INPUT, "wide", tuple(wide.columns_), (len(wide.fields_),), "int32",
                     vocab_size=wide.n_ids_)  # fmt: skip


def wide_dense_spec(wide: WideEncoder) -> InputSpec:
    """The ``"wide_dense"`` input (standardized image descriptors) of a fitted encoder."""
    columns = tuple(wide._images)
    return InputSpec(WIDE_DENSE, "wide_dense", columns, (len(wide.dense_names_),), "float32")


class JointEncoder:
    """The deep part's :class:`~blend.members.deep.inputs.InputEncoder` plus a :class:`WideEncoder`.

    Behaves like an ``InputEncoder`` (``fit``, ``transform``, ``specs_``, ``roles_``,
    ``streamed``, ``read_images``): its arrays are the deep inputs plus ``"wide"``. Either part
    may be ``None`` (wide-only or deep-only ablations). The encoded target is handed over at
    construction (the wide part uses it for ``crosses="auto"`` and the trees) and dropped after
    ``fit``.
    """

    def __init__(self, deep=None, wide: WideEncoder | None = None, y: np.ndarray | None = None):
        self.deep = deep
        self.wide = wide
        self.y = y

    def fit(self, X: pd.DataFrame) -> JointEncoder:
        if self.deep is not None:
            self.deep.fit(X)
        if self.wide is not None:
            self.wide.fit(X, self.y)
        self.y = None  # the target is not part of the fitted state
        parts = [p for p in (self.deep, self.wide) if p is not None]
        self.roles_ = dict(parts[0].roles_)
        self.text_modes_ = dict(getattr(self.deep, "text_modes_", {}))
        self.specs_ = list(self.deep.specs_) if self.deep is not None else []
        if self.wide is not None:
            self.specs_.append(wide_spec(self.wide))
            if self.wide.dense_names_:
                self.specs_.append(wide_dense_spec(self.wide))
        return self

    @property
    def streamed(self) -> list:
        return self.deep.streamed if self.deep is not None else []

    def read_images(self, spec, cells):
        return self.deep.read_images(spec, cells)

    def transform(
        self, X: pd.DataFrame, *, skip: Sequence[str] = (), sparse: bool = False
    ) -> dict[str, np.ndarray]:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"Expected a pandas DataFrame, got {type(X).__name__}.")
        out = self.deep.transform(X, skip=skip, sparse=sparse) if self.deep is not None else {}
        if self.wide is not None and WIDE_INPUT not in skip:
            out[WIDE_INPUT] = self.wide.transform(X)
        if self.wide is not None and self.wide.dense_names_ and WIDE_DENSE not in skip:
            out[WIDE_DENSE] = self.wide.transform_dense(X)
        return out
