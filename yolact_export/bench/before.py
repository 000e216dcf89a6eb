"""The benchmark's "before": the runtime's mask path as it was before windows, kept here (not in the
runtime) so that postprocess figures can be measured side by side. Sigmoid over whole prototype
planes then the crop; one fresh whole-frame resize per mask, cut to the window a pixel can pass in;
masks painted into fresh zeroed planes (column-major for COCO RLE). The same pixels as the runtime."""
from __future__ import annotations

import numpy as np

from yolact_runtime.core.masks.soft import crop_bounds
from yolact_runtime.core.masks.windows import taps
from yolact_runtime.core.resize import bilinear

Window = tuple[int, int, int, np.ndarray]  # detection index, top row, left column, bool pixels


def crop_masks(masks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Zero [n, h, w] masks (in place) outside their boxes padded by one prototype pixel."""
    n, h, w = masks.shape
    x1, x2 = crop_bounds(boxes[:, 0], boxes[:, 2], w)
    y1, y2 = crop_bounds(boxes[:, 1], boxes[:, 3], h)
    cols = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)
    masks *= ((cols >= x1[:, None]) & (cols < x2[:, None]))[:, None, :]
    masks *= ((rows >= y1[:, None]) & (rows < y2[:, None]))[:, :, None]
    return masks


def _extent(any_along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last True index per row of a [n, m] bool array (0, 0 when none)."""
    has = any_along.any(axis=1)
    first = np.where(has, any_along.argmax(axis=1), 0)
    last = np.where(has, any_along.shape[1] - any_along[:, ::-1].argmax(axis=1), 0)
    return first, last


def _spans(first: np.ndarray, last: np.ndarray, small: int, large: int) -> np.ndarray:
    """[n, 2] output pixels whose bilinear taps read a source pixel in [first, last)."""
    lowest, weight = taps(small, large)
    highest = lowest + (weight > 0)
    return np.stack([np.searchsorted(highest, first), np.searchsorted(lowest, last)], axis=1)


def whole_frame_windows(masks: np.ndarray, height: int, width: int) -> list[Window]:
    """Per soft [h, w] mask: a fresh whole-frame bilinear resize, thresholded inside its window."""
    _, h, w = masks.shape
    hot = masks > np.float32(0.5 - 1e-4)
    rows = _spans(*_extent(hot.any(axis=2)), h, height)
    cols = _spans(*_extent(hot.any(axis=1)), w, width)
    windows = []
    for i in np.flatnonzero((rows[:, 1] > rows[:, 0]) & (cols[:, 1] > cols[:, 0])).tolist():
        (top, bottom), (left, right) = rows[i].tolist(), cols[i].tolist()
        windows.append((i, top, left, bilinear(masks[i], height, width)[top:bottom, left:right] > np.float32(0.5)))
    return windows


def paint(windows: list[Window], count: int, height: int, width: int, column_major: bool = False) -> np.ndarray:
    """bool [count, height, width] masks, zero but for their windows; column_major stores each mask
    column by column (a transposed view, what COCO RLE reads)."""
    out = np.zeros((count, width, height) if column_major else (count, height, width), dtype=bool)
    planes = out.transpose(0, 2, 1) if column_major else out
    for i, top, left, pixels in windows:
        planes[i, top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    return planes
