"""Import Keras once, keeping TensorFlow's native start-up lines off the user's stderr.

TensorFlow writes a few lines from C++ straight to file descriptor 2 while it loads (on CPUs
with AVX-512: "oneDNN custom operations are on", preceded by absl's "All log messages before
absl::InitializeLog() ..."); ``TF_CPP_MIN_LOG_LEVEL`` does not reach them, because they come
before TensorFlow's logging starts. While Keras (and with it the backend) is imported for the
first time, descriptor 2 goes to a temporary file; afterwards every captured line that is not
one of those known notices is written back to stderr, so real errors and warnings still show.

Importing this module performs that import; :func:`import_keras` returns the module.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager

__all__ = ["import_keras"]

# TensorFlow's known start-up notices (informational, not actionable for blend's users).
_NOTICES = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
)


def _is_notice(line: str) -> bool:
    return any(notice in line for notice in _NOTICES)


@contextmanager
def _filtered_native_stderr():
    """Capture descriptor 2 (C++ writes included), then replay all but the known notices."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real descriptor (notebooks, capture)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _is_notice(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def import_keras():
    """``import keras`` (the first time with TensorFlow's start-up notices filtered)."""
    if "keras" not in sys.modules:
        # TensorFlow's own logging, for what comes after start-up; an explicit value wins
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _filtered_native_stderr():
            import keras  # noqa: F401 - imported for its side effect, returned below
    return sys.modules["keras"]


import_keras()
