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

from .windows import Window


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


def encode_window_rles(windows: list[Window], count: int, height: int, width: int) -> list[dict[str, Any]]:
    """COCO RLEs of `count` masks at height x width, zero but for their windows."""
    if count == 0:
        return []
    counts: list[list[int]] = [[height * width]] * count
    for index, window_count in zip((w[0] for w in windows), batch_counts(windows, height, width)):
        counts[index] = window_count
    rles = mask_utils.frPyObjects([{"size": [height, width], "counts": c} for c in counts], height, width)
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles


def batch_counts(windows: list[Window], height: int, width: int) -> list[list[int]]:
    """Uncompressed COCO counts per window (a mask that is the window's pixels at its top-left, else 0),
    all at once: the windows' columns framed by zeros in one column-major stream, one diff."""
    if not windows:
        return []
    placed = np.array([(w[1], w[2], *w[3].shape) for w in windows], dtype=np.int64)  # top, left, rows, cols
    tops, lefts, shapes = placed[:, 0], placed[:, 1], placed[:, 2:]
    framed = shapes[:, 0] + 2  # each window column framed by zeros
    offsets = np.concatenate([[0], np.cumsum(framed * shapes[:, 1])])
    stream = np.zeros(int(offsets[-1]), dtype=np.int8)
    for (_, _, _, pixels), start, (rows, cols) in zip(windows, offsets.tolist(), shapes.tolist()):
        stream[start:start + cols * (rows + 2)].reshape(cols, rows + 2)[:, 1:-1] = pixels.T
    change = np.flatnonzero(np.diff(stream))  # alternately run starts and run ends, window by window
    owner = np.searchsorted(offsets, change, side="right") - 1
    col, row = np.divmod(change - offsets[owner], framed[owner])
    edges = (lefts[owner] + col) * height + tops[owner] + row
    seam = np.flatnonzero((edges[1:-1:2] == edges[2::2]) & (owner[1:-1:2] == owner[2::2]))
    keep = np.ones(len(edges), dtype=bool)
    keep[2 * seam + 1] = keep[2 * seam + 2] = False  # a run carried on into the next column
    edges, owner = edges[keep], owner[keep]
    runs = np.diff(edges, prepend=0)
    first = np.searchsorted(owner, np.arange(len(windows)))
    last = np.searchsorted(owner, np.arange(len(windows)), side="right")
    has = last > first
    runs[first[has]] = edges[first[has]]
    tail = np.where(has, height * width - edges[np.maximum(last - 1, 0)], height * width).tolist()
    runs = runs.tolist()
    return [runs[a:b] + ([t] if t else []) for a, b, t in zip(first.tolist(), last.tolist(), tail)]
