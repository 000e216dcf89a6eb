"""The benchmark's "before": the runtime's mask path as it was before windows, kept here (not in the
runtime) so that postprocess figures are measured side by side. Sigmoid over whole prototype planes,
the crop, one whole-frame bilinear resize per mask (cv2, align_corners=False), > 0.5, RLE from the
dense masks: the same pixels as the runtime's."""
from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils


def crop_masks(masks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Zero [n, h, w] masks (in place) outside their relative boxes padded by one prototype pixel
    (float32 comparisons, as the contract says)."""
    _, h, w = masks.shape

    def bounds(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = lo.astype(np.float32) * np.float32(size), hi.astype(np.float32) * np.float32(size)
        return (np.maximum(np.minimum(a, b) - np.float32(1), np.float32(0)),
                np.minimum(np.maximum(a, b) + np.float32(1), np.float32(size)))

    (x1, x2), (y1, y2) = bounds(boxes[:, 0], boxes[:, 2], w), bounds(boxes[:, 1], boxes[:, 3], h)
    cols, rows = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    masks *= ((cols >= x1[:, None]) & (cols < x2[:, None]))[:, None, :]
    masks *= ((rows >= y1[:, None]) & (rows < y2[:, None]))[:, :, None]
    return masks


def whole_frame_masks(raw, rows: np.ndarray, height: int, width: int, mode: str) -> np.ndarray | list[dict]:
    """bool [n, height, width] masks of `rows` (or their COCO RLEs, mode "rle"), computed whole-frame."""
    h, w, k = raw.prototypes.shape
    if raw.masks is not None:  # in-graph soft masks, already cropped
        soft = raw.masks[rows].astype(np.float32)
    else:
        logits = raw.coefficients[rows] @ raw.prototypes.reshape(h * w, k).T
        soft = crop_masks((1 / (1 + np.exp(-logits))).astype(np.float32).reshape(-1, h, w), raw.boxes[rows])
    column_major = mode == "rle"  # painted column by column: what COCO RLE reads
    out = np.zeros((len(rows), width, height) if column_major else (len(rows), height, width), dtype=bool)
    planes = out.transpose(0, 2, 1) if column_major else out
    for i in range(len(rows)):
        planes[i] = cv2.resize(soft[i], (width, height), interpolation=cv2.INTER_LINEAR) > np.float32(0.5)
    if not column_major or not len(rows):
        return planes if not column_major else []
    rles = mask_utils.encode(np.asfortranarray(planes.view(np.uint8).transpose(1, 2, 0)))
    return [{"size": rle["size"], "counts": rle["counts"].decode("ascii")} for rle in rles]


def paint(windows: list, count: int, height: int, width: int, column_major: bool = False) -> np.ndarray:
    """bool [count, height, width] masks, zero but for their (i, top, left, pixels) windows; column_major
    stores each mask column by column (a transposed view, what COCO RLE reads)."""
    out = np.zeros((count, width, height) if column_major else (count, height, width), dtype=bool)
    planes = out.transpose(0, 2, 1) if column_major else out
    for i, top, left, pixels in windows:
        planes[i, top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    return planes
