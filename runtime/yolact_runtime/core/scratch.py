"""Per-thread scratch buffers for large temporaries (the resized image, logits, soft masks, window
sums): one buffer per name and thread, grown when needed, so a loop over frames reuses its pages
instead of faulting in fresh ones."""
from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype: type = np.float32, zeroed: bool = False) -> np.ndarray:
    """This thread's buffer `name` as an array of `shape`: valid until the next call with that name."""
    size = int(np.prod(shape))
    buffers: dict[str, np.ndarray] = _local.__dict__.setdefault("buffers", {})
    buffer = buffers.get(name)
    if buffer is None or buffer.dtype != dtype or buffer.size < size:
        buffer = buffers[name] = np.empty(size, dtype=dtype)
    out = buffer[:size].reshape(shape)
    if zeroed:
        out.fill(0)
    return out
