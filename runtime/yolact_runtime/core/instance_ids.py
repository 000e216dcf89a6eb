"""Instance-id maps: bool masks painted into one [H, W] array (for Result.instance_map and drawing)."""
from __future__ import annotations

import numpy as np


def paint_ids(masks: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """bool [n, h, w] -> [h, w] ids of `dtype` (mask i -> i + 1, 0 = none), the earlier mask on top."""
    ids = np.zeros(masks.shape[1:], dtype=dtype)
    for i in range(len(masks) - 1, -1, -1):
        np.copyto(ids, dtype.type(i + 1), where=masks[i])
    return ids
