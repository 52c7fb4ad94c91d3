"""Undo TensorFlow's process-wide malloc setting after a network trains on it.

The deep members feed Keras a ``PyDataset``; on the TensorFlow backend Keras reads it through
``tf.data.Dataset.from_generator``, whose op calls glibc's ``mallopt(M_TRIM_THRESHOLD, 128 KB)``
for the whole process the first time it runs ("Memory patch applied" in TensorFlow's log).
Setting it also freezes glibc's mmap threshold, which otherwise rises with the workload: from
then on the heap is handed back to the system whenever 128 KB lie free at its top, arrays
above the frozen mmap threshold are mapped afresh each time, and numpy code that allocates
and frees medium arrays pays page faults on every new array. The rest of the process, and
every later fit in a joblib worker that trained a network, ran up to 2.5 times slower
(additive_boost's 1,000-row fit: 4.3 s before, 10.7 s after; 4.0 s with both thresholds set
back, 8.9 s with the trim threshold alone).

After each fit on that backend, :func:`restore_thresholds` sets both back to what the process
had: ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_THRESHOLD_`` when the user set them, else the
values glibc's own dynamic thresholds rise to on 64-bit systems (an mmap threshold of 32 MiB,
a trim threshold of twice that). Other backends, other C libraries and other systems are left
alone.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

__all__ = ["restore_thresholds"]

# (mallopt parameter number in glibc's malloc.h, the environment variable glibc reads it from,
# where glibc's dynamic threshold ends on 64-bit systems: DEFAULT_MMAP_THRESHOLD_MAX and twice it)
_THRESHOLDS = (
    (-3, "MALLOC_MMAP_THRESHOLD_", 32 * 1024 * 1024),  # M_MMAP_THRESHOLD
    (-1, "MALLOC_TRIM_THRESHOLD_", 64 * 1024 * 1024),  # M_TRIM_THRESHOLD
)


@functools.cache
def _glibc_mallopt():
    """glibc's ``mallopt``, or None elsewhere (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def thresholds() -> list[tuple[int, int]]:
    """``(mallopt parameter, value)`` to restore: the user's environment variable where it
    is set (as glibc reads it), else where glibc's dynamic threshold ends."""
    out = []
    for param, variable, dynamic in _THRESHOLDS:
        value = os.environ.get(variable, "").strip()
        out.append((param, int(value) if value.isdigit() and int(value) < 2**31 else dynamic))
    return out


def restore_thresholds(backend: str) -> bool:
    """After a fit on ``backend``: undo TensorFlow's malloc thresholds; True when set."""
    if backend != "tensorflow":
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return all([bool(mallopt(param, value)) for param, value in thresholds()])
