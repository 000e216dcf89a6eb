"""The mask path's one entry point: the kept rows' masks in the asked-for form.

Data flows down once: soft masks (soft.py, or the graph's own) -> the windows of their upsampled,
thresholded masks (windows.py) -> either recycled bool planes (planes.py) or COCO RLEs (rle.py).
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..raw import RawDetections
from .planes import painted
from .soft import assemble_masks
from .windows import mask_windows

MaskMode = Literal["image", "proto", "rle", "none"]
MASK_MODES: tuple[str, ...] = ("image", "proto", "rle", "none")


def build_masks(raw: RawDetections, rows: np.ndarray, mode: MaskMode, height: int,
                width: int) -> tuple[np.ndarray | None, list[dict[str, Any]] | None]:
    """(masks, rles) of raw's `rows` for an image of height x width: "image" bool [n, H, W] (read-only,
    recycled planes), "proto" bool [n, h, w] (no upsample), "rle" COCO RLEs only, "none" neither."""
    if mode == "none":
        return None, None
    if raw.masks is not None:  # the graph assembled them (masks in-graph)
        soft = raw.masks[rows].astype(np.float32, copy=False)
    else:
        soft = assemble_masks(raw.prototypes, raw.coefficients[rows], raw.boxes[rows], recycle=True)
    if mode == "proto":
        return soft > np.float32(0.5), None
    windows = mask_windows(soft, height, width)
    if mode == "rle":
        from .rle import encode_window_rles  # pycocotools: loaded only for RLE results

        return None, encode_window_rles(windows, len(soft), height, width)
    return painted(windows, len(soft), height, width), None

