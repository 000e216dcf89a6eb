"""How far one run's detections agree with a reference run's, as one figure (the benchmark's and the
INT8 tests' measure; yolact-check's profiles judge image by image instead)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .compare import mask_iou
from .detections import DetectionSet
from .match import match_overlapping


def top_agreement(reference: Sequence[DetectionSet], other: Sequence[DetectionSet], top: int = 10,
                  iou: float = 0.8) -> dict[str, Any]:
    """Share of the reference's `top` best detections per image that `other` finds among all its
    detections (same label, box IoU >= iou, each paired once: near-tied scores may reorder), and
    the mean mask IoU of those pairs where both sides have masks."""
    matched = total = 0
    mask_ious: list[float] = []
    for ref, oth in zip(reference, other):
        best = [int(i) for i in ref.order()[:top]]
        pairs = match_overlapping(ref.labels, ref.boxes, oth.labels, oth.boxes, best, list(range(len(oth))), iou)
        matched += len(pairs)
        total += len(best)
        if ref.masks is not None and oth.masks is not None:
            mask_ious += [mask_iou(ref.masks[i], oth.masks[j]) for i, j in pairs]
    return {"top": top, "iou": iou, "matched": matched, "of": total,
            "fraction": round(matched / total, 4) if total else None,
            "mask_iou_mean": round(float(np.mean(mask_ious)), 4) if mask_ious else None}
