"""One image's final detections, whichever side made them: a Result, the reference, a results file."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.postprocess import category_ids_for, select_rows
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

    def take(self, rows: np.ndarray) -> DetectionSet:
        """The detections at `rows`, in that order."""
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        undecided = None if self.undecided is None else (lambda i, of=self.undecided: of(int(rows[i])))
        return DetectionSet(self.labels[rows], self.boxes[rows], self.scores[rows], pick(self.box_scores),
                            pick(self.masks), undecided)

    def split(self, threshold: float) -> tuple[DetectionSet, DetectionSet]:
        """(kept, dropped): what the runtime keeps at `threshold` (select_rows: box score > threshold,
        compared in float32 as the runtime does, then ranked), and the rest. A set without box scores
        (yolact-run's results file of a YOLACT++ model) was selected when it was written: all kept."""
        if self.box_scores is None:
            return self, DetectionSet.empty()
        kept = select_rows(self.box_scores.astype(np.float32), self.scores, threshold, None)
        return self.take(kept), self.take(np.setdiff1d(np.arange(len(self)), kept))

    @classmethod
    def empty(cls) -> DetectionSet:
        return cls(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), None, None)


def from_result(result: Result) -> DetectionSet:
    """A runtime Result: its masks at image size (masks="image" or "rle") or prototype size ("proto")."""
    return DetectionSet(
        labels=np.asarray(result.category_ids, np.int64),
        boxes=np.asarray(result.boxes, np.float64).reshape(-1, 4),
        scores=np.asarray(result.ranking_scores, np.float64),
        box_scores=np.asarray(result.scores, np.float64),
        masks=result.masks if result.masks is not None else result.image_masks(),  # "proto" as they are
    )


def from_class_ids(class_ids: np.ndarray, category_ids: Sequence[int] | None, boxes: np.ndarray, scores: np.ndarray,
                   box_scores: np.ndarray | None = None, masks: np.ndarray | None = None,
                   undecided: Callable[[int], np.ndarray] | None = None) -> DetectionSet:
    """A side that knows 0-based class ids (the PyTorch reference), labelled as the runtime labels them."""
    return DetectionSet(category_ids_for(class_ids, category_ids), boxes.astype(np.float64), scores.astype(np.float64),
                        None if box_scores is None else box_scores.astype(np.float64), masks, undecided)
