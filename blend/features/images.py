"""Reading image columns: arrays in cells or image file paths, as one batch array.

Both the tree featurizer and the deep inputs read images through :func:`read_images`, so the
two see identical pixels whether the user stored arrays or files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from blend.features.validation import _missing

__all__ = ["image_shape", "read_images"]


def _as_hwc(value: np.ndarray) -> np.ndarray:
    return value[..., None] if value.ndim == 2 else value


def _load_file(path: str, shape: tuple[int, int, int] | None, column: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(os.fspath(path)) as image:
            channels = 3 if shape is None else shape[2]
            image = image.convert({1: "L", 3: "RGB", 4: "RGBA"}.get(channels, "RGB"))
            if shape is not None and image.size != (shape[1], shape[0]):
                image = image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
            return _as_hwc(np.asarray(image, dtype=np.uint8))
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Column {column!r}: cannot read image file {path!r} ({error}). "
            "Check that the path exists and is a PNG, JPEG, BMP, GIF or WebP file."
        ) from error


def image_shape(series: pd.Series, column: str) -> tuple[int, int, int]:
    """The ``(H, W, C)`` shape of the first non-missing image of a column."""
    for value in series:
        if _missing(value) if not isinstance(value, np.ndarray) else False:
            continue
        if isinstance(value, np.ndarray):
            return tuple(_as_hwc(value).shape)  # type: ignore[return-value]
        return tuple(_load_file(value, None, column).shape)  # type: ignore[return-value]
    raise ValueError(f"Column {column!r} has no images (every value is missing).")


def read_images(
    values: pd.Series | Sequence[object],
    shape: tuple[int, int, int],
    column: str,
) -> np.ndarray:
    """Stack an image column into an ``(n, H, W, C)`` array.

    Parameters
    ----------
    values : Series or sequence
        Cells holding ``(H, W)``/``(H, W, C)`` arrays or image file paths; a missing cell
        (None/NaN) reads as an all-zero image.
    shape : tuple
        The ``(H, W, C)`` shape seen in fit. Files are decoded to ``C`` channels and resized
        to ``H x W``; array cells must already have this shape.
    column : str
        The column name, for error messages.

    Returns
    -------
    numpy.ndarray
        ``uint8`` when every cell is ``uint8`` or a file, else ``float32``.
    """
    cells = list(values)
    arrays = [c for c in cells if isinstance(c, np.ndarray)]
    dtype = np.uint8 if all(a.dtype == np.uint8 for a in arrays) else np.float32
    out = np.zeros((len(cells), *shape), dtype=dtype)
    for i, cell in enumerate(cells):
        if isinstance(cell, np.ndarray):
            image = _as_hwc(cell)
            if image.shape != tuple(shape):
                raise ValueError(
                    f"Column {column!r}: row {i} holds an image of shape {cell.shape}, but the "
                    f"model was fitted on images of shape {tuple(shape)}. Resize the images "
                    "(or store them as files, which are resized on read)."
                )
            if image.dtype.kind not in "uifb":
                raise TypeError(
                    f"Column {column!r}: row {i} holds an array of dtype {image.dtype}; "
                    "images must be numeric."
                )
            out[i] = image
        elif isinstance(cell, (str, os.PathLike)):
            out[i] = _load_file(cell, shape, column)
        elif not _missing(cell):
            raise TypeError(
                f"Column {column!r}: row {i} holds a {type(cell).__name__}; image cells must be "
                "numeric arrays or image file paths."
            )
    if dtype == np.float32 and not np.isfinite(out).all():
        raise ValueError(f"Column {column!r} holds images with NaN or infinite pixels.")
    return out
