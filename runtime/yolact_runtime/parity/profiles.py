"""Tolerance profiles: what "the same detections" means for a graph of a given precision."""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """exact: same keep-set, every matched detection within box_tol px (each corner coordinate),
    score_tol (scores, and box scores where both sides have them) and min_mask_iou.
    reduced: of the reference's `top` best detections at least min_agreement are found (same class,
    box IoU >= 0.5), those differ in score by at most score_tol, and their mean mask IoU is at least
    min_mask_iou."""

    name: str
    box_tol: float
    score_tol: float
    min_mask_iou: float
    top: int = 10
    min_agreement: float = 1.0

    @property
    def exact(self) -> bool:
        return self.name == "exact"

    def override(self, **values: float | None) -> Profile:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


EXACT = Profile("exact", box_tol=1.0, score_tol=1e-4, min_mask_iou=0.99)
# Measured with the shipped model's int8 graph on its example images: top-10 agreement 100 %, scores
# moved by up to 0.052, mean mask IoU 0.93-0.996; fp16 (lively weights): 100 %, 0.046, 0.98-0.99.
REDUCED = Profile("reduced", box_tol=1.0, score_tol=0.1, min_mask_iou=0.9, top=10, min_agreement=0.9)
PROFILES = {"exact": EXACT, "reduced": REDUCED}


def profile_for(precision: str) -> Profile:
    """exact for fp32 graphs, reduced for fp16 / int8 (the metadata's precision key)."""
    return EXACT if precision == "fp32" else REDUCED
