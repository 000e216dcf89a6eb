"""What the NMS comparison runs on: detector-like `loc` / `conf` for synthetic objects over a config's priors.

`synthetic_outputs` draws them like a trained detector's: most priors confidently background, a few
per cent of false candidates above the 0.05 threshold, and around each object a cluster of overlapping
priors whose score rises with their IoU to it (plus a confusable second class), boxes regressed
towards the object with noise (encoded with the box coder's variances).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..detection.boxes import box_iou, encode, point_form


@dataclass
class NmsInputs:
    name: str
    loc: np.ndarray  # [1, N, 4]
    conf: np.ndarray  # [1, N, C+1]
    priors: np.ndarray  # [N, 4] cx, cy, w, h

    @property
    def num_priors(self) -> int:
        return self.loc.shape[1]

    @property
    def num_classes(self) -> int:
        return self.conf.shape[2] - 1

    def stats(self, conf_thresh: float) -> dict:
        fg = self.conf[0, :, 1:]
        return {"priors": self.num_priors, "classes": self.num_classes,
                "candidates": int((fg.max(axis=1) > conf_thresh).sum()),
                "class_scores_above_threshold": int((fg > conf_thresh).sum())}


def default_priors(size: int = 550, config: str = "yolact_base") -> np.ndarray:
    from ..model.config import get_config
    from ..model.priors import grid_sizes_for, make_priors

    cfg = get_config(config).at_size(size)
    levels = len(cfg.selected_layers) + cfg.num_downsample
    return make_priors(grid_sizes_for(cfg.max_size, levels), cfg.pred_scales, cfg.aspect_ratios,
                       cfg.max_size, cfg.use_square_anchors).numpy()


def synthetic_outputs(name: str, priors: np.ndarray, num_classes: int = 80, objects: int = 8,
                      background_logit: float = 6.0, seed: int = 0) -> NmsInputs:
    """Detector-like loc/conf for `objects` random objects (seeded)."""
    rng = np.random.default_rng(seed)
    n = priors.shape[0]
    size = np.exp(rng.uniform(math.log(0.04), math.log(0.7), (objects, 1)))
    aspect = np.exp(rng.uniform(math.log(0.5), math.log(2.0), (objects, 1)))
    wh = np.concatenate([size * np.sqrt(aspect), size / np.sqrt(aspect)], axis=1).clip(0.02, 0.95)
    centre = rng.uniform(0.1, 0.9, (objects, 2))
    gt = np.concatenate([centre, wh], axis=1)
    classes = rng.integers(0, num_classes, objects)
    confused = rng.integers(0, num_classes, objects)

    logits = rng.normal(0.0, 1.0, (n, num_classes + 1))
    logits[:, 0] = rng.normal(background_logit, 1.0, n)
    loc = rng.normal(0.0, 1.0, (n, 4))
    if objects:
        overlap = box_iou(point_form(torch.from_numpy(priors)), point_form(torch.from_numpy(gt))).numpy()
        best = overlap.argmax(1)
        best_iou = overlap[np.arange(n), best]
        on = np.nonzero(best_iou > 0.2)[0]
        j = best[on]
        obj = logits[on, 0] + 10.0 * (best_iou[on] - 0.5) + rng.normal(0.0, 0.7, on.size)
        logits[on, 1 + classes[j]] = obj
        logits[on, 1 + confused[j]] = np.maximum(logits[on, 1 + confused[j]], obj - 2.5)
        p, g = priors[on], gt[j]
        noise = np.concatenate([rng.normal(0.0, 0.5, (on.size, 2)), rng.normal(0.0, 0.5, (on.size, 2))], axis=1)
        loc[on] = encode(point_form(torch.from_numpy(g)), torch.from_numpy(p)).numpy() + noise
    logits -= logits.max(1, keepdims=True)
    conf = np.exp(logits)
    conf /= conf.sum(1, keepdims=True)
    return NmsInputs(name, loc[None].astype(np.float32), conf[None].astype(np.float32), priors.astype(np.float32))
