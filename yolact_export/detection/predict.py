"""The original eval path in PyTorch: one BGR image in, detections at the image's resolution out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model.yolact import YolactNet
from .graph import NmsSettings, YolactDetector
from .masks import boxes_to_pixels, upsample_masks
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
def graph_outputs(model: YolactNet, image_bgr: np.ndarray, nms: NmsSettings,
                  precise: bool = False) -> dict[str, torch.Tensor]:
    """The exported graph's outputs for one image (masks always in graph), batch dimension dropped.

    precise: the input resize in float64 (the transform itself, not float32's rounding of it)."""
    detector = YolactDetector(model, nms, masks_in_graph=True).eval()
    # Default calls keep the plain signatures: tests substitute preprocess and upsample_masks.
    images = preprocess(image_bgr, model.config, torch.float64) if precise else preprocess(image_bgr, model.config)
    return {k: v[0] for k, v in detector(images).items()}


def detections_from_outputs(out: dict[str, torch.Tensor], class_names: tuple[str, ...], height: int, width: int,
                            score_threshold: float = 0.0, precise: bool = False) -> Detections:
    """The eval path after the graph: bilinear upsample of the in-graph masks, > 0.5, pixel boxes."""
    n = int(out["num_detections"])
    keep = torch.nonzero(out["scores"][:n] > score_threshold).flatten() if score_threshold > 0 else torch.arange(n)
    soft = out["masks"][keep]
    masks = upsample_masks(soft, height, width, torch.float64) if precise else upsample_masks(soft, height, width)
    mask_scores = out.get("mask_scores")
    return Detections(
        boxes=boxes_to_pixels(out["boxes"][keep], width, height).numpy(),
        scores=out["scores"][keep].numpy(),
        classes=out["classes"][keep].numpy(),
        masks=masks.numpy(),
        class_names=[class_names[c] for c in out["classes"][keep].tolist()],
        mask_scores=None if mask_scores is None else mask_scores[keep].numpy(),
    )


@torch.no_grad()
def predict(model: YolactNet, image_bgr: np.ndarray, cross_class: bool = False,
            score_threshold: float = 0.0, nms: NmsSettings | None = None) -> Detections:
    """Detections as the original eval path gives them (Fast NMS, crop, bilinear upsample, > 0.5).

    `score_threshold` filters the final detections for display (the original's --score_threshold);
    `nms` (default: the config's, with `cross_class`) is the graph's NMS, e.g. an export's settings.
    """
    nms = nms or NmsSettings.from_config(model.config, cross_class=cross_class)
    out = graph_outputs(model, image_bgr, nms)
    height, width = image_bgr.shape[:2]
    return detections_from_outputs(out, model.config.class_names, height, width, score_threshold)
