"""How far a path's detections agree with a reference path's (the same class, overlapping boxes and masks)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from yolact_runtime.core.masks.soft import assemble_masks
from yolact_runtime.core.raw import RawDetections
from yolact_runtime.parity.match import match_overlapping


def _proto_masks(raw: RawDetections, rows: np.ndarray) -> np.ndarray:
    """Binary masks (> 0.5) at prototype resolution for the given rows, as the contract assembles them."""
    if raw.masks is not None:
        return raw.masks[rows] > 0.5
    return assemble_masks(raw.prototypes, raw.coefficients[rows], raw.boxes[rows]) > 0.5


def top_agreement(reference: Sequence[RawDetections], other: Sequence[RawDetections], top: int = 10,
                  iou: float = 0.8) -> dict:
    """Share of the reference's top detections that `other` finds among all its valid rows (near-tied
    scores may reorder): same class, box IoU >= iou, each row paired once (yolact_runtime.parity's
    matching). mask_iou_mean: of the matched pairs' binary prototype-resolution masks."""
    matched = total = 0
    mask_ious: list[float] = []
    for ref, oth in zip(reference, other):
        n_ref = min(ref.count, top)
        pairs = match_overlapping(ref.classes, ref.boxes, oth.classes, oth.boxes, list(range(n_ref)),
                                  list(range(oth.count)), min_iou=iou)
        matched += len(pairs)
        total += n_ref
        if pairs:
            a = _proto_masks(ref, np.array([i for i, _ in pairs]))
            b = _proto_masks(oth, np.array([j for _, j in pairs]))
            inter, union = (a & b).sum(axis=(1, 2)), (a | b).sum(axis=(1, 2))
            mask_ious.extend(np.where(union > 0, inter / np.maximum(union, 1), 1.0).tolist())
    return {"top": top, "iou": iou, "matched": matched, "of": total,
            "fraction": round(matched / total, 4) if total else None,
            "mask_iou_mean": round(float(np.mean(mask_ious)), 4) if mask_ious else None}
