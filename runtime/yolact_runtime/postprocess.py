"""Padded detections -> Result: select rows, assemble and crop masks, upsample, threshold, boxes.

Follows the contract: M = sigmoid(P C^T) for the valid rows at prototype resolution; zero M outside
the box padded by one prototype pixel (float comparisons); bilinear upsample (align_corners=False)
to the image size; threshold > 0.5. Boxes are scaled to pixels, ordered, clamped, truncated.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .raw import RawDetections
from .resize import bilinear
from .result import Result, encode_rles

MaskMode = Literal["image", "proto", "rle", "none"]
MASK_MODES: tuple[str, ...] = ("image", "proto", "rle", "none")


@dataclass(frozen=True)
class PostprocessOptions:
    """score_threshold (on box scores) / top_k (after ranking by mask_scores for YOLACT++) select
    what to keep: see select_rows.

    masks: "image" bool masks at image size; "proto" bool masks at prototype size (no upsample);
    "rle" COCO RLEs at image size (no dense masks kept); "none" boxes only.
    """

    score_threshold: float = 0.0
    top_k: int | None = None
    masks: MaskMode = "image"

    def __post_init__(self) -> None:
        if self.masks not in MASK_MODES:
            raise ValueError(f"masks must be one of {MASK_MODES}, got {self.masks!r}")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")


def select_rows(scores: np.ndarray, ranking: np.ndarray, threshold: float, top_k: int | None) -> np.ndarray:
    """Indices of the rows to keep, in output order: the original's eval semantics.

    layers/output_utils.py `postprocess` keeps a row when its BOX score is > score_threshold (not
    applied at all when the threshold is 0), before any re-scoring; eval.py `prep_display` then
    ranks by the re-scored score (YOLACT++: mask score; v1: the box score, i.e. the model's order),
    stable, and cuts at top_k. The C++ runtime (yolact.cpp, select_rows) does the same.
    """
    kept = np.flatnonzero(scores > threshold) if threshold > 0 else np.arange(scores.shape[0])
    order = kept[np.argsort(-ranking[kept], kind="stable")]
    return order if top_k is None else order[:top_k]


def boxes_to_pixels(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Relative x1 y1 x2 y2 -> int64 pixels: scale, order, clamp to the image, truncate."""
    b = boxes.astype(np.float32, copy=False)
    xs = b[:, 0::2] * np.float32(width)
    ys = b[:, 1::2] * np.float32(height)
    x1 = np.clip(xs.min(axis=1), 0, width)
    x2 = np.clip(xs.max(axis=1), 0, width)
    y1 = np.clip(ys.min(axis=1), 0, height)
    y2 = np.clip(ys.max(axis=1), 0, height)
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.int64)


def crop_bounds(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded crop interval [start, stop) at prototype resolution, kept as float32."""
    a = lo.astype(np.float32) * np.float32(size)
    b = hi.astype(np.float32) * np.float32(size)
    start = np.maximum(np.minimum(a, b) - np.float32(1), np.float32(0))
    stop = np.minimum(np.maximum(a, b) + np.float32(1), np.float32(size))
    return start, stop


def crop_masks(masks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Zero [n, h, w] masks (in place) outside their boxes padded by one prototype pixel."""
    n, h, w = masks.shape
    x1, x2 = crop_bounds(boxes[:, 0], boxes[:, 2], w)
    y1, y2 = crop_bounds(boxes[:, 1], boxes[:, 3], h)
    cols = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)
    keep_cols = (cols >= x1[:, None]) & (cols < x2[:, None])
    keep_rows = (rows >= y1[:, None]) & (rows < y2[:, None])
    masks *= keep_cols[:, None, :]
    masks *= keep_rows[:, :, None]
    return masks


def assemble_masks(prototypes: np.ndarray, coefficients: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """sigmoid(P C^T) as float32 [n, h, w], cropped to the padded boxes."""
    h, w, k = prototypes.shape
    logits = coefficients.astype(np.float32, copy=False) @ prototypes.reshape(h * w, k).T
    np.negative(logits, out=logits)
    with np.errstate(over="ignore"):  # exp(large) = inf gives sigmoid 0, which is right
        np.exp(logits, out=logits)
    logits += np.float32(1)
    np.reciprocal(logits, out=logits)
    return crop_masks(logits.reshape(-1, h, w), boxes)


def _extent(any_along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last True index per row of a [n, m] bool array (0, 0 when none)."""
    has = any_along.any(axis=1)
    first = np.where(has, any_along.argmax(axis=1), 0)
    last = np.where(has, any_along.shape[1] - any_along[:, ::-1].argmax(axis=1), 0)
    return first, last


def _span(first: int, last: int, small: int, large: int) -> tuple[int, int]:
    """Output pixels that bilinear taps in [first, last) can reach, with a pixel to spare."""
    scale = large / small
    return max(0, int(np.floor((first - 1) * scale - 1))), min(large, int(np.ceil((last + 1) * scale + 1)))


def upsample_masks(masks: np.ndarray, height: int, width: int, column_major: bool = False) -> np.ndarray:
    """Soft [n, h, w] masks -> bool [n, height, width]: bilinear (align_corners=False), then > 0.5.

    An upsampled pixel is a convex mix of its source taps, so it can pass 0.5 only near source
    pixels that (almost) do: each mask is resized whole, but thresholded only in that window, which
    leaves the rest of the (lazily zeroed) output untouched. column_major stores each mask
    column by column (a transposed view, what COCO RLE encoding reads without a copy).
    """
    n, h, w = masks.shape
    out = np.zeros((n, width, height) if column_major else (n, height, width), dtype=bool)
    planes = out.transpose(0, 2, 1) if column_major else out
    hot = masks > np.float32(0.5 - 1e-4)
    row_first, row_last = _extent(hot.any(axis=2))
    col_first, col_last = _extent(hot.any(axis=1))
    buffer = np.empty((height, width), dtype=np.float32)
    for i in range(n):
        if row_last[i] == 0:
            continue
        y0, y1 = _span(row_first[i], row_last[i], h, height)
        x0, x1 = _span(col_first[i], col_last[i], w, width)
        bilinear(masks[i], height, width, dst=buffer)
        np.greater(buffer[y0:y1, x0:x1], np.float32(0.5), out=planes[i, y0:y1, x0:x1])
    return planes


def category_ids_for(class_ids: np.ndarray, category_ids: Sequence[int] | None) -> np.ndarray:
    """COCO category ids: the metadata table when present, else class id + 1 (also when off the table)."""
    fallback = class_ids.astype(np.int64) + 1
    if category_ids is None:
        return fallback
    table = np.asarray(category_ids, dtype=np.int64)
    inside = (class_ids >= 0) & (class_ids < len(table))
    return np.where(inside, table[np.clip(class_ids, 0, max(len(table) - 1, 0))], fallback)


def class_name(class_id: int, class_names: Sequence[str]) -> str:
    return class_names[class_id] if 0 <= class_id < len(class_names) else f"class_{class_id}"


def postprocess(
    raw: RawDetections,
    image_size: tuple[int, int],
    class_names: Sequence[str],
    category_ids: Sequence[int] | None = None,
    options: PostprocessOptions = PostprocessOptions(),
) -> Result:
    """One image's padded detections -> Result in image pixels. image_size is (height, width)."""
    height, width = image_size
    n = raw.count
    ranking = raw.mask_scores if raw.mask_scores is not None else raw.scores
    rows = select_rows(raw.scores[:n], ranking[:n], options.score_threshold, options.top_k)
    boxes = raw.boxes[rows]
    class_ids = raw.classes[rows].astype(np.int64)
    soft = None
    if options.masks != "none":
        if raw.masks is not None:
            soft = raw.masks[rows].astype(np.float32, copy=False)
        else:
            soft = assemble_masks(raw.prototypes, raw.coefficients[rows], boxes)
    masks: np.ndarray | None = None
    rles: list[dict] | None = None
    if soft is not None and options.masks == "proto":
        masks = soft > np.float32(0.5)
    elif soft is not None and options.masks == "rle":
        rles = encode_rles(upsample_masks(soft, height, width, column_major=True))
    elif soft is not None:
        masks = upsample_masks(soft, height, width)
    return Result(
        boxes=boxes_to_pixels(boxes, width, height),
        scores=raw.scores[rows].astype(np.float32),
        class_ids=class_ids,
        class_names=[class_name(int(c), class_names) for c in class_ids],
        category_ids=category_ids_for(class_ids, category_ids),
        image_size=(height, width),
        masks=masks,
        mask_scores=None if raw.mask_scores is None else raw.mask_scores[rows].astype(np.float32),
        rles=rles,
    )
