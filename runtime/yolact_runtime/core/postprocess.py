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
from .result import Result
from .rle import encode_window_rles
from .planes import painted, scratch
from .window import mask_windows

MaskMode = Literal["image", "proto", "rle", "none"]
MASK_MODES: tuple[str, ...] = ("image", "proto", "rle", "none")


@dataclass(frozen=True)
class PostprocessOptions:
    """score_threshold (on box scores) / top_k (after ranking by mask_scores for YOLACT++) select
    what to keep: see select_rows.

    masks: "image" bool masks at image size; "proto" bool masks at prototype size (no upsample);
    "rle" COCO RLEs at image size (no dense masks kept); "none" boxes only. classes: the 0-based
    class ids to keep (None: all), applied before top_k.
    """

    score_threshold: float = 0.0
    top_k: int | None = None
    masks: MaskMode = "image"
    classes: frozenset[int] | None = None

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


def kept_rows(raw: RawDetections, options: PostprocessOptions) -> np.ndarray:
    """Which valid rows are kept and in what order (select_rows on this image's rows)."""
    n = raw.count
    ranking = raw.mask_scores if raw.mask_scores is not None else raw.scores
    if options.classes is None:
        return select_rows(raw.scores[:n], ranking[:n], options.score_threshold, options.top_k)
    rows = select_rows(raw.scores[:n], ranking[:n], options.score_threshold, None)
    rows = rows[np.isin(raw.classes[rows], list(options.classes))]
    return rows if options.top_k is None else rows[:options.top_k]


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


def crop_ranges(boxes: np.ndarray, height: int, width: int) -> list[tuple[int, int, int, int]]:
    """The rows and columns crop_masks keeps, per box, as integer [top, bottom) and [left, right)."""
    x1, x2 = crop_bounds(boxes[:, 0], boxes[:, 2], width)
    y1, y2 = crop_bounds(boxes[:, 1], boxes[:, 3], height)
    # an integer c satisfies start <= c < stop exactly when ceil(start) <= c < ceil(stop)
    edges = np.ceil(np.stack([y1, y2, x1, x2], axis=1)).astype(np.int64)
    return [tuple(row) for row in edges.tolist()]


def assemble_masks(prototypes: np.ndarray, coefficients: np.ndarray, boxes: np.ndarray,
                   recycle: bool = False) -> np.ndarray:
    """sigmoid(P C^T) as float32 [n, h, w], cropped to the padded boxes (zero outside).

    The sigmoid is taken inside each crop only: the same values crop_masks would keep, for the
    cost of the boxes rather than of n whole prototype planes. recycle: the logits and the masks
    are this thread's scratch (planes.scratch), valid until its next call, to spare fresh pages.
    """
    h, w, k = prototypes.shape
    n = coefficients.shape[0]
    flat = prototypes.reshape(h * w, k).T
    logits = np.matmul(coefficients.astype(np.float32, copy=False), flat,
                       out=scratch("logits", (n, h * w)) if recycle else None).reshape(n, h, w)
    masks = scratch("soft masks", (n, h, w), zeroed=True) if recycle else np.zeros_like(logits)
    with np.errstate(over="ignore"):  # exp(large) = inf gives sigmoid 0, which is right
        for i, (top, bottom, left, right) in enumerate(crop_ranges(boxes, h, w)):
            inside = np.negative(logits[i, top:bottom, left:right])
            np.exp(inside, out=inside)
            inside += np.float32(1)
            np.reciprocal(inside, out=masks[i, top:bottom, left:right])
    return masks


def upsample_masks(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Soft [n, h, w] masks -> read-only bool [n, height, width]: bilinear (align_corners=False), > 0.5.

    Only each mask's window is computed (window.py), onto recycled planes (planes.py).
    """
    return painted(mask_windows(masks, height, width), masks.shape[0], height, width)


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
    rows = kept_rows(raw, options)
    boxes = raw.boxes[rows]
    class_ids = raw.classes[rows].astype(np.int64)
    soft = None
    if options.masks != "none":
        if raw.masks is not None:
            soft = raw.masks[rows].astype(np.float32, copy=False)
        else:
            soft = assemble_masks(raw.prototypes, raw.coefficients[rows], boxes, recycle=True)
    masks: np.ndarray | None = None
    rles: list[dict] | None = None
    if soft is not None and options.masks == "proto":
        masks = soft > np.float32(0.5)
    elif soft is not None and options.masks == "rle":
        rles = encode_window_rles(mask_windows(soft, height, width), len(soft), height, width)
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
