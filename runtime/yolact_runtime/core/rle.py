"""COCO RLE: from dense bool masks, from per-detection windows, and back (counts as str, JSON-ready).

COCO RLE runs over the mask column by column, zeros first. A mask that is zero outside its window
has one long zero run between the window's columns, so its counts come from the window alone:
exactly what pycocotools gives for the whole frame, for the cost of the window.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .window import Window


def encode_rles(masks: np.ndarray) -> list[dict[str, Any]]:
    """bool [n, H, W] -> COCO RLEs with `counts` as str (JSON-ready)."""
    if masks.shape[0] == 0:
        return []
    fortran = np.asfortranarray(masks.view(np.uint8).transpose(1, 2, 0))
    rles = mask_utils.encode(fortran)
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles


def decode_rles(rles: list[dict[str, Any]], height: int, width: int) -> np.ndarray:
    """COCO RLEs -> bool [n, H, W]."""
    if not rles:
        return np.zeros((0, height, width), dtype=bool)
    objects = [{"size": r["size"], "counts": _as_bytes(r["counts"])} for r in rles]
    with warnings.catch_warnings():  # pycocotools' NumPy 2 copy=False deprecation, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        decoded = mask_utils.decode(objects)
    return np.ascontiguousarray(decoded.transpose(2, 0, 1)).astype(bool)


def _as_bytes(counts: str | bytes) -> bytes:
    return counts.encode("ascii") if isinstance(counts, str) else counts


def window_counts(pixels: np.ndarray, top: int, left: int, height: int, width: int) -> list[int]:
    """Uncompressed COCO counts of a height x width mask that is `pixels` at (top, left), else 0."""
    rows, cols = pixels.shape
    padded = np.zeros((cols, rows + 2), dtype=np.int8)  # each window column framed by zeros
    padded[:, 1:-1] = pixels.T
    change = np.flatnonzero(np.diff(padded, axis=1))  # alternately run starts and run ends
    col, row = np.divmod(change, rows + 1)
    edges = (left + col) * height + top + row
    seam = np.flatnonzero(edges[1:-1:2] == edges[2::2])  # a run carried on into the next column
    edges = np.delete(edges, np.concatenate([2 * seam + 1, 2 * seam + 2]))
    counts = np.diff(np.concatenate([[0], edges, [height * width]]))
    return counts[:-1].tolist() if len(counts) > 1 and counts[-1] == 0 else counts.tolist()


def encode_window_rles(windows: list[Window], count: int, height: int, width: int) -> list[dict[str, Any]]:
    """COCO RLEs of `count` masks at height x width, zero but for their windows."""
    if count == 0:
        return []
    counts: list[list[int]] = [[height * width]] * count
    for index, top, left, pixels in windows:
        counts[index] = window_counts(pixels, top, left, height, width)
    rles = mask_utils.frPyObjects([{"size": [height, width], "counts": c} for c in counts], height, width)
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles
