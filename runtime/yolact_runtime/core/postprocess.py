"""Padded detections -> Result: select rows, their masks (masks/build.py), boxes in pixels, classes.

Follows the contract: M = sigmoid(P C^T) for the valid rows at prototype resolution; zero M outside
the box padded by one prototype pixel (float comparisons); bilinear upsample (align_corners=False)
to the image size; threshold > 0.5. Boxes are scaled to pixels, ordered, clamped, truncated.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .masks.build import MASK_MODES, MaskMode, build_masks
from .raw import RawDetections
from .result import Result


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
    class_ids = raw.classes[rows].astype(np.int64)
    masks, rles = build_masks(raw, rows, options.masks, height, width)
    return Result(
        boxes=boxes_to_pixels(raw.boxes[rows], width, height),
        scores=raw.scores[rows].astype(np.float32),
        class_ids=class_ids,
        class_names=[class_name(int(c), class_names) for c in class_ids],
        category_ids=category_ids_for(class_ids, category_ids),
        image_size=(height, width),
        masks=masks,
        mask_scores=None if raw.mask_scores is None else raw.mask_scores[rows].astype(np.float32),
        rles=rles,
    )
