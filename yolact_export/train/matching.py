"""Prior matching for training: each prior gets a ground truth, a class, or neither (box coding: detection/boxes.py)."""
from __future__ import annotations

import torch
from torch import Tensor

from ..detection.boxes import box_iou, point_form

POS_THRESH = 0.5
NEG_THRESH = 0.4


def match(gt_boxes: Tensor, gt_labels: Tensor, priors: Tensor) -> tuple[Tensor, Tensor]:
    """Assign each prior a ground truth.

    gt_boxes [n, 4] point form (relative), gt_labels [n] 0-based foreground classes,
    priors [N, 4] (cx, cy, w, h). Returns conf_t [N] (class + 1; 0 background; -1 neutral,
    i.e. best IoU in [0.4, 0.5)) and idx_t [N], the matched gt index per prior.
    Every gt is forced onto its best prior (greedily, the highest overlap first).
    """
    num_priors = priors.shape[0]
    if gt_boxes.numel() == 0:
        return (torch.zeros(num_priors, dtype=torch.long, device=priors.device),
                torch.zeros(num_priors, dtype=torch.long, device=priors.device))
    overlaps = box_iou(gt_boxes, point_form(priors))  # [n, N]
    best_overlap, best_idx = overlaps.max(dim=0)
    work = overlaps.clone()
    for _ in range(gt_boxes.shape[0]):
        per_gt, per_gt_prior = work.max(dim=1)
        j = int(per_gt.argmax())
        i = int(per_gt_prior[j])
        work[:, i] = -1
        work[j, :] = -1
        best_overlap[i] = 2.0
        best_idx[i] = j
    conf_t = gt_labels[best_idx] + 1
    conf_t[best_overlap < POS_THRESH] = -1
    conf_t[best_overlap < NEG_THRESH] = 0
    return conf_t, best_idx
