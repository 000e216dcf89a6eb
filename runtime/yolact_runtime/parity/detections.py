"""One image's final detections, whichever side made them: a Result, the reference, a results file."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.result import Result


@dataclass
class DetectionSet:
    """labels: int64 [n] COCO category ids; boxes: float64 [n, 4] pixel x1 y1 x2 y2; scores: [n] the
    ranking score (mask score for YOLACT++, else the box score: what a results file calls "score");
    box_scores: [n] when known (yolact-run's results files of YOLACT++ models do not carry them);
    masks: bool [n, H, W] at image size, or None when this side has none; undecided(i): the pixels
    of mask i whose soft value is too close to 0.5 to call (the reference knows them), or None."""

    labels: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    box_scores: np.ndarray | None = None
    masks: np.ndarray | None = None
    undecided: Callable[[int], np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def order(self) -> np.ndarray:
        """Indices best first."""
        return np.argsort(-self.scores, kind="stable")

    def above(self, threshold: float) -> DetectionSet:
        """The detections whose ranking score is at least `threshold` (as the runtime selects them)."""
        if threshold <= 0:
            return self
        keep = self.scores >= threshold
        rows = np.flatnonzero(keep)
        pick = lambda a: None if a is None else a[keep]  # noqa: E731
        undecided = None if self.undecided is None else (lambda i, of=self.undecided: of(int(rows[i])))
        return DetectionSet(self.labels[keep], self.boxes[keep], self.scores[keep], pick(self.box_scores),
                            pick(self.masks), undecided)

    @classmethod
    def empty(cls) -> DetectionSet:
        return cls(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), None, None)


def from_result(result: Result) -> DetectionSet:
    """A runtime Result (asked for with masks="image" or "rle")."""
    return DetectionSet(
        labels=np.asarray(result.category_ids, np.int64),
        boxes=np.asarray(result.boxes, np.float64).reshape(-1, 4),
        scores=np.asarray(result.ranking_scores, np.float64),
        box_scores=np.asarray(result.scores, np.float64),
        masks=result.image_masks(),
    )
