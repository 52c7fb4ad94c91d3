"""Where the deep members run: the Keras backend and the device it places the work on.

Keras places a model's variables and computation on an accelerator whenever the backend sees
one (a CUDA GPU for TensorFlow, JAX and PyTorch; a TPU for JAX), and on the CPU otherwise. The
deep members follow that default rather than choosing a device themselves, so the usual
controls work unchanged: ``CUDA_VISIBLE_DEVICES=""`` keeps them on the CPU, and
``KERAS_BACKEND`` picks the backend. Tree and linear members always run on the CPU cores.
"""

from __future__ import annotations

__all__ = ["keras_backend", "training_device"]


def keras_backend() -> str:
    """The Keras backend in use: ``"tensorflow"``, ``"jax"``, ``"torch"`` or ``"numpy"``."""
    import keras

    return keras.backend.backend()


def training_device() -> str:
    """The device Keras trains on by default: the first accelerator, else ``"cpu:0"``.

    Examples
    --------
    >>> from blend.members.deep.devices import training_device
    >>> training_device().split(":")[0] in {"cpu", "gpu", "cuda", "tpu"}
    True
    """
    import keras

    try:
        devices = [d.lower() for d in keras.distribution.list_devices()]
    except AttributeError:  # a backend without keras.distribution support (PyTorch)
        devices = _torch_devices() if keras_backend() == "torch" else ["cpu:0"]
    accelerators = [d for d in devices if not d.startswith("cpu")]
    return (accelerators or devices or ["cpu:0"])[0]


def _torch_devices() -> list[str]:
    import torch

    return ["cuda:0"] if torch.cuda.is_available() else ["cpu:0"]
