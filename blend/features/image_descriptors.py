"""Compact, generic image descriptors for tree models, computed with numpy alone.

Trees cannot learn from raw pixels efficiently, so each image becomes a few hundred numbers
that summarize what product photos usually vary in:

* colour: per-channel mean/std/quantiles, per-channel and joint colour histograms, chroma
  (how far pixels are from grey);
* layout: a downsampled grayscale grid;
* texture and pattern: gradient-orientation histograms, high-frequency energy (Laplacian,
  residual after a 3x3 blur) and Fourier energy in radial x angular bands (periodicity);
* the object itself: the background colour is read off the border, and foreground pixels
  (those far from it) get their own colour and texture statistics;
* blemishes: how far the most unusual patch of the object (a window of 1/8 of the image side)
  departs from the object's median colour, compared with a typical patch -- stains, holes,
  tears and logos are local departures, while a pattern departs evenly everywhere.

Everything is vectorized over the batch and computed in chunks to bound memory.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["image_descriptor_names", "image_descriptors", "image_scale"]

_CHANNEL_HIST_BINS = 8
_JOINT_BINS = 4
_ORIENTATION_BINS = 8
_RADIAL_BANDS = 4
_ANGULAR_BANDS = 4
# A pixel belongs to the foreground when some channel differs from the border colour by more
# than this fraction of the pixel range.
_FOREGROUND_THRESHOLD = 0.12
# A patch counts toward blemish_area when its departure exceeds the typical patch's by this
# fraction of the pixel range.
_BLEMISH_MARGIN = 0.05
# Added to a pixel's channel sum (as a fraction of the pixel range) before taking shares.
_CHROMA_OFFSET = 0.25
_CHUNK = 1024


def _channel_names(n_channels: int) -> list[str]:
    return ["r", "g", "b"] if n_channels == 3 else [f"c{i}" for i in range(n_channels)]


def image_descriptor_names(shape: tuple[int, int, int], grid: int) -> list[str]:
    """Names of the descriptors :func:`image_descriptors` returns for images of ``shape``."""
    channels = _channel_names(min(shape[2], 3))
    names = []
    for c in channels:
        names += [f"{c}_mean"]
    names += [f"{c}_std" for c in channels]
    for c in channels:
        names += [f"{c}_hist{b}" for b in range(_CHANNEL_HIST_BINS)]
    if len(channels) == 3:
        names += ["chroma_mean", "chroma_std"]
        bins = range(_JOINT_BINS)
        names += [f"rgb_hist{r}{g}{b}" for r in bins for g in bins for b in bins]
    names += [f"gray_{i}_{j}" for i in range(grid) for j in range(grid)]
    names += ["grad_mean", "grad_x_mean", "grad_y_mean"]
    names += [f"grad_orient{b}" for b in range(_ORIENTATION_BINS)]
    names += ["laplace_mean", "laplace_std", "residual_energy"]
    names += [f"fft_r{r}_a{a}" for r in range(_RADIAL_BANDS) for a in range(_ANGULAR_BANDS)]
    names += ["fg_fraction", "fg_residual_energy", "fg_grad_mean"]
    names += [f"fg_{c}_mean" for c in channels] + [f"fg_{c}_std" for c in channels]
    if len(channels) == 3:
        names += ["fg_chroma_mean"]
    names += ["blemish_peak", "blemish_dark", "blemish_bright", "blemish_area"]
    if len(channels) == 3:
        names += ["blemish_hue"]
    return names


@functools.lru_cache(maxsize=64)
def _pool_matrix(size: int, grid: int) -> np.ndarray:
    """A ``(grid, size)`` matrix averaging ``size`` pixels into ``grid`` equal bins (cached,
    read-only: a one-image batch would otherwise spend a tenth of its time building these)."""
    bins = np.minimum((np.arange(size) * grid) // size, grid - 1)
    pool = np.zeros((grid, size), dtype=np.float32)
    pool[bins, np.arange(size)] = 1.0
    pool = pool / np.maximum(pool.sum(axis=1, keepdims=True), 1.0)
    pool.flags.writeable = False
    return pool


@functools.lru_cache(maxsize=64)
def _fft_bands(shape: tuple[int, int]) -> np.ndarray:
    """Band index of every frequency of an ``rfft2`` spectrum (-1 for the DC term; cached,
    read-only)."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    radius = np.sqrt(fy**2 + fx**2) / np.sqrt(0.5)  # 0..1
    angle = np.mod(np.arctan2(fy, fx), np.pi)  # orientation, 0..pi
    r_band = np.minimum((radius * _RADIAL_BANDS).astype(int), _RADIAL_BANDS - 1)
    a_band = np.minimum((angle / np.pi * _ANGULAR_BANDS).astype(int), _ANGULAR_BANDS - 1)
    band = r_band * _ANGULAR_BANDS + a_band
    band[0, 0] = -1
    band = np.ascontiguousarray(np.broadcast_to(band, (shape[0], shape[1] // 2 + 1)))
    band.flags.writeable = False
    return band


def _histogram(values: np.ndarray, bins: int, scale: float) -> np.ndarray:
    """Per-row normalized histogram of ``values`` (n, m) over ``[0, scale]``."""
    n, m = values.shape
    index = np.clip((values * np.float32(bins / scale)).astype(np.int64), 0, bins - 1)
    index += (np.arange(n) * bins)[:, None]
    counts = np.bincount(index.ravel(), minlength=n * bins).reshape(n, bins)
    return counts.astype(np.float32) / m


def _weighted_histogram(index: np.ndarray, weight: np.ndarray, bins: int) -> np.ndarray:
    n = index.shape[0]
    flat = (index.reshape(n, -1) + (np.arange(n) * bins)[:, None]).ravel()
    sums = np.bincount(flat, weights=weight.reshape(n, -1).ravel(), minlength=n * bins)
    sums = sums.reshape(n, bins).astype(np.float32)
    return sums / np.maximum(sums.sum(axis=1, keepdims=True), 1e-6)


def _masked_mean(values: np.ndarray, mask: np.ndarray, count: np.ndarray) -> np.ndarray:
    n = values.shape[0]
    return (values * mask).reshape(n, -1).sum(axis=1) / count


def _chunk_descriptors(images: np.ndarray, grid: int, scale: float) -> np.ndarray:
    n, height, width, _ = images.shape
    # Channel-first float32 planes: reductions over the pixel axis are much faster.
    x = np.ascontiguousarray(np.moveaxis(images[..., :3], -1, 1), dtype=np.float32)
    channels = x.shape[1]
    planes = x.reshape(n, channels, -1)  # (n, C, P)
    feats: list[np.ndarray] = []  # (n,) columns and (n, k) blocks, in descriptor order

    def mean(values: np.ndarray) -> np.ndarray:
        return values.reshape(n, -1).mean(axis=1)

    # Colour statistics and histograms.
    feats += [planes.mean(axis=2), planes.std(axis=2)]
    # every channel's histogram in one call (rows are independent): (n, C * bins), by channel
    hist = _histogram(planes.reshape(n * channels, -1), _CHANNEL_HIST_BINS, scale)
    feats.append(hist.reshape(n, channels * _CHANNEL_HIST_BINS))
    if channels == 3:
        chroma = np.maximum(np.maximum(x[:, 0], x[:, 1]), x[:, 2]) - np.minimum(
            np.minimum(x[:, 0], x[:, 1]), x[:, 2]
        )
        feats += [mean(chroma), chroma.reshape(n, -1).std(axis=1)]
        bins = np.clip((planes * (_JOINT_BINS / scale)).astype(np.int32), 0, _JOINT_BINS - 1)
        joint = (bins[:, 0] * _JOINT_BINS + bins[:, 1]) * _JOINT_BINS + bins[:, 2]
        feats.append(_histogram(joint, _JOINT_BINS**3, _JOINT_BINS**3))

    # Layout: grayscale pooled onto a grid (two small matrix products).
    gray = x.mean(axis=1)  # (n, H, W)
    pooled = _pool_matrix(height, grid) @ (gray @ _pool_matrix(width, grid).T)
    feats.append(pooled.reshape(n, -1))

    # Texture: gradients, their orientations, and high-frequency energy.
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, :, 1:-1] = (gray[:, :, 2:] - gray[:, :, :-2]) / 2
    gy[:, 1:-1, :] = (gray[:, 2:, :] - gray[:, :-2, :]) / 2
    magnitude = np.sqrt(gx**2 + gy**2)
    feats += [mean(magnitude), mean(np.abs(gx)), mean(np.abs(gy))]
    orientation = np.arctan2(gy, gx) % np.float32(np.pi)
    o_index = np.minimum(
        (orientation * np.float32(_ORIENTATION_BINS / np.pi)).astype(np.int32),
        _ORIENTATION_BINS - 1,
    )
    feats.append(_weighted_histogram(o_index, magnitude, _ORIENTATION_BINS))
    padded = _edge_padded(gray)
    laplace = (
        4 * gray
        - padded[:, :-2, 1:-1]
        - padded[:, 2:, 1:-1]
        - padded[:, 1:-1, :-2]
        - padded[:, 1:-1, 2:]
    )
    blur = sum(
        padded[:, i : i + height, j : j + width] for i in range(3) for j in range(3)
    ) / np.float32(9.0)
    residual = (gray - blur) ** 2
    feats += [mean(np.abs(laplace)), laplace.reshape(n, -1).std(axis=1), mean(residual)]

    # Periodicity: share of spectral energy in radial x angular frequency bands.
    spectrum = np.abs(np.fft.rfft2(gray - gray.mean(axis=(1, 2), keepdims=True))) ** 2
    band = _fft_bands((height, width))
    energy = _band_sums(spectrum.reshape(n, -1), band.ravel())
    energy /= np.maximum(energy.sum(axis=1, keepdims=True), 1e-6)
    feats.append(energy)

    # The object: pixels far from the border (background) colour.
    border = np.concatenate(
        [x[:, :, 0], x[:, :, -1], x[:, :, 1:-1, 0], x[:, :, 1:-1, -1]], axis=2
    )  # (n, C, perimeter)
    background = _median_last(border)  # (n, C)
    distance = np.abs(x[:, 0] - background[:, 0, None, None])
    for c in range(1, channels):
        distance = np.maximum(distance, np.abs(x[:, c] - background[:, c, None, None]))
    mask = (distance > _FOREGROUND_THRESHOLD * scale).astype(np.float32)
    count = np.maximum(mask.reshape(n, -1).sum(axis=1), 1.0)
    feats += [
        mean(mask),
        _masked_mean(residual, mask, count),
        _masked_mean(magnitude, mask, count),
    ]
    # every channel at once: each (image, channel) plane is summed as one image's would be
    in_object = mask[:, None]
    fg_means = (x * in_object).reshape(n, channels, -1).sum(axis=2) / count[:, None]
    fg_squares = (x**2 * in_object).reshape(n, channels, -1).sum(axis=2) / count[:, None]
    feats += [fg_means, np.sqrt(np.maximum(fg_squares - fg_means**2, 0.0))]
    if channels == 3:
        feats += [_masked_mean(chroma, mask, count)]
    feats += _blemishes(x, mask, scale)
    # one concatenation of a few blocks: stacking hundreds of one-column arrays costs more
    # than the arithmetic for a small batch (mixed precisions end in float32, as before)
    return np.concatenate([f[:, None] if f.ndim == 1 else f for f in feats], axis=1).astype(
        np.float32
    )


def _median_last(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=-1)``, the same values without its fixed cost per call (a
    sort and the middle one or two, averaged in the input's precision); NaN as np.median."""
    size = values.shape[-1]
    if size == 0 or values.dtype.kind != "f" or np.isnan(values).any():
        return np.median(values, axis=-1)
    ordered = np.sort(values, axis=-1)
    half = size // 2
    if size % 2:
        return ordered[..., half]
    return (ordered[..., half - 1] + ordered[..., half]) / 2


def _edge_padded(values: np.ndarray) -> np.ndarray:
    """``(n, H, W)`` padded by one pixel on each side with its edge values (``np.pad``'s
    ``"edge"`` mode, without its fixed cost per call)."""
    n, height, width = values.shape
    out = np.empty((n, height + 2, width + 2), dtype=values.dtype)
    out[:, 1:-1, 1:-1] = values
    out[:, 0, 1:-1] = values[:, 0]
    out[:, -1, 1:-1] = values[:, -1]
    out[:, :, 0] = out[:, :, 1]
    out[:, :, -1] = out[:, :, -2]
    return out


def _box_mean(values: np.ndarray, k: int) -> np.ndarray:
    """Means over every ``k x k`` window of ``(n, H, W)`` (valid positions), by integral image."""
    c = np.zeros((values.shape[0], values.shape[1] + 1, values.shape[2] + 1), values.dtype)
    c[:, 1:, 1:] = values  # a zero row and column in front (np.pad costs more than the sums)
    c = c.cumsum(axis=1).cumsum(axis=2)
    return (c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]) / np.float32(k * k)


def _row_median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median of the valid entries of each row of ``(m, P)`` (0 for rows with none)."""
    counts = valid.sum(axis=1)
    ordered = np.sort(np.where(valid, values, np.inf), axis=1)
    middle = np.maximum(counts - 1, 0) // 2
    picked = ordered[np.arange(len(ordered)), middle]
    return np.where(counts > 0, picked, 0.0).astype(np.float32)


def _blemishes(x: np.ndarray, mask: np.ndarray, scale: float) -> list[np.ndarray]:
    """Peak, darkest and brightest local departure of the object from its median colour,
    the share of departing windows and, for colour images, the peak departure in hue.

    ``x`` is ``(n, C, H, W)``, ``mask`` the ``(n, H, W)`` foreground. Departures are averaged
    over windows fully inside the object, then compared with the median window: a pattern
    lifts every window alike, a stain or a hole lifts a few.

    Rows and images are independent in every step, so the medians (and the window means) of
    several quantities are taken in one call each: a small batch costs numpy's fixed price
    per operation, not arithmetic.
    """
    n, channels, height, width = x.shape
    k = max(3, min(height, width) // 8)
    flat_mask = np.repeat(mask.reshape(n, 1, -1) > 0, channels, axis=1).reshape(n * channels, -1)
    colour = channels == 3
    pixels = [x]
    if colour:
        # Chromaticity (each channel's share of the brightness) ignores shading and a print in
        # a darker shade of the same dye, which fool the departures below; a stain or a patch
        # of another material changes it. The offset keeps near-black pixels from swinging it.
        chroma = x / (x.sum(axis=1, keepdims=True) + np.float32(_CHROMA_OFFSET * scale))
        pixels.append(chroma)
    medians = _row_median(
        np.concatenate([p.reshape(n * channels, -1) for p in pixels]),
        np.concatenate([flat_mask] * len(pixels)),
    ).reshape(len(pixels), n, channels, 1, 1)
    median = medians[0]
    departure = np.abs(x - median).max(axis=1) / np.float32(scale)
    lightness = (x - median).mean(axis=1) / np.float32(scale)
    planes = [mask, departure * mask, lightness * mask]
    if colour:
        planes.append(np.abs(chroma - medians[1]).max(axis=1) * mask)
    windows = _box_mean(np.concatenate(planes), k).reshape(len(planes), n, -1)
    flat_inside = windows[0] > 0.99
    peak, light = windows[1], windows[2]
    typical = _row_median(
        np.concatenate(list(windows[1:])), np.concatenate([flat_inside] * (len(planes) - 1))
    ).reshape(len(planes) - 1, n)
    some = flat_inside.any(axis=1)

    def extreme(values: np.ndarray, fill: float, pick) -> np.ndarray:
        return np.where(some, pick(np.where(flat_inside, values, fill), axis=1), 0.0)

    def rise(values: np.ndarray, typical_value: np.ndarray) -> np.ndarray:
        """The highest window above the typical one."""
        return extreme(values, -np.inf, np.max) - np.where(some, typical_value, 0.0)

    area = (flat_inside & (peak > typical[0][:, None] + _BLEMISH_MARGIN)).sum(axis=1)
    found = [
        rise(peak, typical[0]),
        np.where(some, typical[1], 0.0) - extreme(light, np.inf, np.min),
        rise(light, typical[1]),
        area / np.maximum(flat_inside.sum(axis=1), 1),
    ]
    if colour:
        found.append(rise(windows[3], typical[2]))
    return found


def _band_sums(spectrum: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Each row's spectral energy summed per band, ``(n, n_bands)`` float32.

    Summed row by row in frequency order (``np.bincount``), not by a matrix product: BLAS picks
    its blocking by the number of rows, which would make a row's descriptors depend on the
    batch it came in.
    """
    n_bands = _RADIAL_BANDS * _ANGULAR_BANDS
    n = spectrum.shape[0]
    keep = np.flatnonzero(band >= 0)
    index = (band[keep][None, :] + (np.arange(n) * n_bands)[:, None]).ravel()
    sums = np.bincount(index, weights=spectrum[:, keep].ravel(), minlength=n * n_bands)
    return sums.reshape(n, n_bands).astype(np.float32)


def image_scale(images: np.ndarray) -> float:
    """The pixel range of a batch: 1.0 for floats within [0, 1], else 255."""
    if images.dtype.kind == "f" and images.size and float(images.max()) <= 1.0:
        return 1.0
    return 255.0


def image_descriptors(images: np.ndarray, grid: int = 8, scale: float = 255.0) -> np.ndarray:
    """Describe a batch of images with generic colour, layout and texture statistics.

    Parameters
    ----------
    images : ndarray of shape (n, H, W, C)
        Pixels, ``uint8`` or floats. Only the first three channels are used.
    grid : int, default=8
        Side of the downsampled grayscale grid.
    scale : float, default=255.0
        The pixel range (see :func:`image_scale`); fix it in fit so transform agrees.

    Returns
    -------
    ndarray of shape (n, n_descriptors), float32
        Columns named by :func:`image_descriptor_names`.
    """
    starts = range(0, len(images), _CHUNK)
    if len(starts) == 1:  # one chunk: a thread pool would cost more than a small batch
        return _chunk_descriptors(images, grid, scale)
    workers = min(len(starts), os.cpu_count() or 1)
    # numpy releases the GIL in its array loops, so chunks run in parallel on threads.
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        chunks = list(
            pool.map(
                lambda start: _chunk_descriptors(images[start : start + _CHUNK], grid, scale),
                starts,
            )
        )
    if not chunks:
        shape = images.shape[1:]
        return np.zeros((0, len(image_descriptor_names(shape, grid))), dtype=np.float32)
    return np.concatenate(chunks, axis=0)
