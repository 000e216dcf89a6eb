"""Soft masks: sigmoid(P C^T) at prototype resolution, computed inside each padded box only.

The contract zeroes M outside the box padded by one prototype pixel, with the bounds compared as
float32; the sigmoid of the pixels inside is all that is left to compute.
"""
from __future__ import annotations

import numpy as np

from ..blas import matmul_one_thread
from ..scratch import scratch


def crop_bounds(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded crop interval [start, stop) at prototype resolution, kept as float32."""
    a = lo.astype(np.float32) * np.float32(size)
    b = hi.astype(np.float32) * np.float32(size)
    start = np.maximum(np.minimum(a, b) - np.float32(1), np.float32(0))
    stop = np.minimum(np.maximum(a, b) + np.float32(1), np.float32(size))
    return start, stop


def crop_ranges(boxes: np.ndarray, height: int, width: int) -> list[tuple[int, int, int, int]]:
    """The rows and columns the padded crop keeps, per box, as integer [top, bottom) and [left, right)."""
    x1, x2 = crop_bounds(boxes[:, 0], boxes[:, 2], width)
    y1, y2 = crop_bounds(boxes[:, 1], boxes[:, 3], height)
    # an integer c satisfies start <= c < stop exactly when ceil(start) <= c < ceil(stop)
    edges = np.ceil(np.stack([y1, y2, x1, x2], axis=1)).astype(np.int64)
    return [tuple(row) for row in edges.tolist()]


def assemble_masks(prototypes: np.ndarray, coefficients: np.ndarray, boxes: np.ndarray,
                   recycle: bool = False) -> np.ndarray:
    """sigmoid(P C^T) as float32 [n, h, w], cropped to the padded boxes (zero outside).

    The sigmoid is taken inside each crop only: the same values as a sigmoid over whole planes
    then the crop, for the cost of the boxes. recycle: the logits and the masks are this thread's
    scratch (core/scratch.py), valid until its next call, to spare fresh pages.
    """
    h, w, k = prototypes.shape
    n = coefficients.shape[0]
    flat = prototypes.reshape(h * w, k).T
    logits = matmul_one_thread(coefficients.astype(np.float32, copy=False), flat,
                               out=scratch("logits", (n, h * w)) if recycle else None).reshape(n, h, w)
    masks = scratch("soft masks", (n, h, w), zeroed=True) if recycle else np.zeros_like(logits)
    with np.errstate(over="ignore"):  # exp(large) = inf gives sigmoid 0, which is right
        for i, (top, bottom, left, right) in enumerate(crop_ranges(boxes, h, w)):
            inside = np.negative(logits[i, top:bottom, left:right])
            np.exp(inside, out=inside)
            inside += np.float32(1)
            np.reciprocal(inside, out=masks[i, top:bottom, left:right])
    return masks
