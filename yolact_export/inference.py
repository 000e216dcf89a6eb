"""The original eval path in PyTorch: one BGR image in, detections at the image's resolution out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .detector import NmsSettings, YolactDetector
from .masks import boxes_to_pixels, upsample_masks
from .model.yolact import Yolact
from .preprocess import preprocess


@dataclass
class Detections:
    boxes: np.ndarray  # [n, 4] int64 pixels x1, y1, x2, y2
    scores: np.ndarray  # [n] box scores, sorted descending
    classes: np.ndarray  # [n] 0-based class index
    masks: np.ndarray  # [n, H, W] bool
    class_names: list[str]
    mask_scores: np.ndarray | None = None  # YOLACT++: score x predicted mask IoU

    def __len__(self) -> int:
        return len(self.scores)


@torch.no_grad()
def predict(model: Yolact, image_bgr: np.ndarray, cross_class: bool = False,
            score_threshold: float = 0.0) -> Detections:
    """Detections as the original eval path gives them (Fast NMS, crop, bilinear upsample, > 0.5).

    `score_threshold` filters the final detections for display (the original's --score_threshold).
    """
    detector = YolactDetector(model, NmsSettings.from_config(model.config, cross_class=cross_class),
                              masks_in_graph=True).eval()
    out = {k: v[0] for k, v in detector(preprocess(image_bgr, model.config)).items()}
    n = int(out["num_detections"])
    keep = torch.nonzero(out["scores"][:n] > score_threshold).flatten() if score_threshold > 0 else torch.arange(n)
    height, width = image_bgr.shape[:2]
    masks = upsample_masks(out["masks"][keep], height, width)
    mask_scores = out.get("mask_scores")
    return Detections(
        boxes=boxes_to_pixels(out["boxes"][keep], width, height).numpy(),
        scores=out["scores"][keep].numpy(),
        classes=out["classes"][keep].numpy(),
        masks=masks.numpy(),
        class_names=[model.config.class_names[c] for c in out["classes"][keep].tolist()],
        mask_scores=None if mask_scores is None else mask_scores[keep].numpy(),
    )
