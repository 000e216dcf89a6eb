"""The padded detections of one image, as the graph returns them (before postprocessing)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .. import contract


@dataclass(frozen=True)
class RawDetections:
    """One image's slice of the model outputs. Rows past `num_detections` are padding."""

    boxes: np.ndarray  # [D, 4] float32, relative x1 y1 x2 y2, not clamped
    scores: np.ndarray  # [D] float32
    classes: np.ndarray  # [D] int64, 0-based
    coefficients: np.ndarray  # [D, k] float32
    prototypes: np.ndarray  # [h, w, k] float32
    num_detections: int
    masks: np.ndarray | None = None  # [D, h, w] float32, sigmoid and crop already applied
    mask_scores: np.ndarray | None = None  # [D] float32, YOLACT++ only

    @property
    def count(self) -> int:
        """Valid rows, bounded by the padded size D."""
        return max(0, min(self.num_detections, self.scores.shape[0]))


def split_batch(outputs: Mapping[str, np.ndarray]) -> list[RawDetections]:
    """Turn the session's named outputs for a batch of B images into B RawDetections."""
    batch = outputs[contract.NUM_DETECTIONS].shape[0]
    masks = outputs.get(contract.MASKS)
    mask_scores = outputs.get(contract.MASK_SCORES)
    return [
        RawDetections(
            boxes=outputs[contract.BOXES][i],
            scores=outputs[contract.SCORES][i],
            classes=outputs[contract.CLASSES][i].astype(np.int64, copy=False),
            coefficients=outputs[contract.COEFFICIENTS][i],
            prototypes=outputs[contract.PROTOTYPES][i],
            num_detections=int(outputs[contract.NUM_DETECTIONS][i]),
            masks=None if masks is None else masks[i],
            mask_scores=None if mask_scores is None else mask_scores[i],
        )
        for i in range(batch)
    ]
