"""The box coder: prior offsets <-> boxes with the original's variances, box forms and IoU.

Used by the exported graph (decode, IoU inside Fast NMS), training (encode, IoU for matching) and
the bench. Boxes are relative; point form is (x1, y1, x2, y2), priors are (cx, cy, w, h).
"""
from __future__ import annotations

import torch
from torch import Tensor

VARIANCES = (0.1, 0.2)  # centre offsets in units of 0.1 prior size, log size ratios in units of 0.2


def point_form(boxes: Tensor) -> Tensor:
    """(cx, cy, w, h) [n, 4] -> (x1, y1, x2, y2)."""
    return torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], dim=1)


def center_size(boxes: Tensor) -> Tensor:
    """(x1, y1, x2, y2) [n, 4] -> (cx, cy, w, h)."""
    return torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], dim=1)


def encode(matched: Tensor, priors: Tensor) -> Tensor:
    """Point-form boxes [N, 4] matched to priors [N, 4] -> offsets [N, 4] (the inverse of decode_boxes):
    cxcy = (g_c - p_c) / (0.1 p_wh), wh = log(g_wh / p_wh) / 0.2."""
    g = center_size(matched)
    cxcy = (g[:, :2] - priors[:, :2]) / (VARIANCES[0] * priors[:, 2:])
    wh = torch.log(g[:, 2:].clamp(min=1e-8) / priors[:, 2:]) / VARIANCES[1]
    return torch.cat([cxcy, wh], dim=1)


def decode_boxes(loc: Tensor, priors: Tensor) -> Tensor:
    """loc [..., N, 4] offsets, priors [N, 4] -> [..., N, 4] point form."""
    p_xy, p_wh = priors[..., :2], priors[..., 2:]
    # Same float op order as the original: prior + (loc * var0) * prior_wh.
    cxcy = p_xy + loc[..., :2] * VARIANCES[0] * p_wh
    wh = p_wh * torch.exp(loc[..., 2:] * VARIANCES[1])
    x1y1 = cxcy - wh / 2
    return torch.cat([x1y1, x1y1 + wh], dim=-1)  # x2 = x1 + w, as in the original


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Jaccard overlap of point-form a [..., n, 4] and b [..., m, 4] -> [..., n, m] (traceable)."""
    # Per-coordinate [..., n, m] ops: much faster than broadcasting [..., n, m, 2] slices.
    ax1, ay1, ax2, ay2 = (t[..., :, None] for t in a.unbind(-1))
    bx1, by1, bx2, by2 = (t[..., None, :] for t in b.unbind(-1))
    iw = (torch.min(ax2, bx2) - torch.max(ax1, bx1)).clamp(min=0)
    ih = (torch.min(ay2, by2) - torch.max(ay1, by1)).clamp(min=0)
    inter = iw * ih
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    return inter / (area_a + area_b - inter)
