"""Box utilities for training: point form, IoU, SSD offset encoding and prior matching."""
from __future__ import annotations

import torch
from torch import Tensor

VARIANCES = (0.1, 0.2)
POS_THRESH = 0.5
NEG_THRESH = 0.4


def point_form(priors: Tensor) -> Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2)."""
    return torch.cat([priors[:, :2] - priors[:, 2:] / 2, priors[:, :2] + priors[:, 2:] / 2], dim=1)


def center_size(boxes: Tensor) -> Tensor:
    """(x1, y1, x2, y2) -> (cx, cy, w, h)."""
    return torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], dim=1)


def jaccard(a: Tensor, b: Tensor) -> Tensor:
    """IoU of point-form boxes a [n, 4] and b [m, 4] -> [n, m]."""
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    area_a = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
    return inter / (area_a + area_b - inter)


def encode(matched: Tensor, priors: Tensor) -> Tensor:
    """Point-form gt boxes [N, 4] matched to priors [N, 4] (cx, cy, w, h) -> offsets [N, 4].

    The inverse of the decoder: cxcy = (g_c - p_c) / (0.1 p_wh), wh = log(g_wh / p_wh) / 0.2.
    """
    g = center_size(matched)
    cxcy = (g[:, :2] - priors[:, :2]) / (VARIANCES[0] * priors[:, 2:])
    wh = torch.log(g[:, 2:].clamp(min=1e-8) / priors[:, 2:]) / VARIANCES[1]
    return torch.cat([cxcy, wh], dim=1)


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
    overlaps = jaccard(gt_boxes, point_form(priors))  # [n, N]
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
