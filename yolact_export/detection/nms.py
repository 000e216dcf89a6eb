"""Detection post-processing: Fast NMS (traceable) and traditional NMS (box coding: detection/boxes.py).

`fast_nms` uses fixed-shape tensor ops only (topk, gather, triu, max, where), so the ONNX
exporter traces it unchanged: no boolean-mask indexing, no `.item()`, no branching on values.
Non-candidate priors get the score `SENTINEL` instead of being filtered out; they sort after
every real candidate and are dropped by a validity mask, which reproduces the filtered original.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .boxes import box_iou

# Below every softmax score (which may underflow to exactly 0), so never a real candidate.
SENTINEL = -1.0


class NmsResult(NamedTuple):
    boxes: Tensor  # [B, D, 4] x1, y1, x2, y2 relative
    scores: Tensor  # [B, D]
    classes: Tensor  # [B, D] int64, 0-based foreground class
    indices: Tensor  # [B, D] int64, prior index (to gather mask coefficients)
    num_detections: Tensor  # [B] int64


def _gather_boxes(boxes: Tensor, idx: Tensor) -> Tensor:
    """boxes [B, N, 4], idx [B, ...] prior indices -> [B, ..., 4]."""
    flat = idx.reshape(idx.shape[0], -1)
    out = torch.gather(boxes, 1, flat.unsqueeze(-1).expand(-1, -1, 4))
    return out.reshape(idx.shape + (4,))


def _group_fast_nms(boxes: Tensor, scores: Tensor, top_k: int, iou_threshold: float
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """Fast NMS inside each group (a class, or all classes for cross-class).

    boxes [B, N, 4], scores [B, G, N] with SENTINEL for non-candidates.
    Returns top scores [B, G, k], their prior indices [B, G, k], valid mask [B, G, k].
    """
    k = min(top_k, scores.shape[-1])  # static: N is fixed by the input size
    top, idx = scores.topk(k, dim=-1)
    cand_boxes = _gather_boxes(boxes, idx)
    iou = box_iou(cand_boxes, cand_boxes)  # [B, G, k, k]
    # Only higher-scored boxes suppress lower ones; a suppressed box still suppresses (Fast NMS).
    iou_max = torch.triu(iou, diagonal=1).max(dim=-2).values
    valid = (iou_max <= iou_threshold) & (top > SENTINEL)  # `<=` as in the original
    return top, idx, valid


def _pad_rows(x: Tensor, rows: int) -> Tensor:
    """Zero-pad dim 1 of x up to `rows` (static sizes; F.pad keeps the batch dim symbolic)."""
    extra = rows - x.shape[1]
    if extra <= 0:
        return x
    return F.pad(x, (0, 0) * (x.dim() - 2) + (0, extra))


def fast_nms(boxes: Tensor, class_scores: Tensor, conf_thresh: float, iou_threshold: float,
             top_k: int, max_detections: int, cross_class: bool = False) -> NmsResult:
    """Batched, fixed-shape Fast NMS.

    boxes [B, N, 4] decoded; class_scores [B, N, C-1] foreground softmax scores.
    Rows past num_detections are zero; valid rows are sorted by score, descending.
    """
    fg_max, fg_arg = class_scores.max(dim=-1)  # [B, N]
    candidate = fg_max > conf_thresh  # the original filters priors by their best class
    sentinel = torch.full_like(class_scores, SENTINEL)
    if cross_class:
        group_scores = torch.where(candidate, fg_max, sentinel[..., 0]).unsqueeze(1)  # [B,1,N]
    else:
        # All class scores of a candidate enter NMS (no per-class threshold).
        group_scores = torch.where(candidate.unsqueeze(-1), class_scores, sentinel).transpose(1, 2)
    top, idx, valid = _group_fast_nms(boxes, group_scores, top_k, iou_threshold)
    g, k = top.shape[1], top.shape[2]

    # Global selection: best max_detections kept entries over all groups.
    flat_scores = torch.where(valid, top, torch.full_like(top, SENTINEL)).reshape(-1, g * k)
    sel_scores, pos = flat_scores.topk(min(max_detections, g * k), dim=1)
    sel_valid = sel_scores > SENTINEL
    prior_idx = torch.gather(idx.reshape(-1, g * k), 1, pos)
    if cross_class:
        classes = torch.gather(fg_arg, 1, prior_idx)
    else:
        classes = torch.div(pos, k, rounding_mode="floor")
    sel_boxes = _gather_boxes(boxes, prior_idx)

    zero_f, zero_i = torch.zeros_like(sel_scores), torch.zeros_like(prior_idx)
    out = NmsResult(
        boxes=_pad_rows(torch.where(sel_valid.unsqueeze(-1), sel_boxes,
                                    torch.zeros_like(sel_boxes)), max_detections),
        scores=_pad_rows(torch.where(sel_valid, sel_scores, zero_f), max_detections),
        classes=_pad_rows(torch.where(sel_valid, classes, zero_i), max_detections),
        indices=_pad_rows(torch.where(sel_valid, prior_idx, zero_i), max_detections),
        num_detections=sel_valid.sum(dim=1, dtype=torch.int64),
    )
    return out


def _greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
                legacy: bool) -> list[int]:
    """Classic sequential NMS: only boxes that survive can suppress."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    one = 1.0 if legacy else 0.0  # legacy: Detectron-style inclusive pixel areas
    areas = (x2 - x1 + one) * (y2 - y1 + one)
    suppressed = np.zeros(len(order), dtype=bool)
    keep: list[int] = []
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(i))
        rest = order[a + 1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + one)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        # legacy (cython nms of the original): suppress at >=; else mirror Fast NMS's keep <=.
        suppressed[rest[(iou >= iou_threshold) if legacy else (iou > iou_threshold)]] = True
    return keep


def traditional_nms(boxes: Tensor, class_scores: Tensor, conf_thresh: float,
                    iou_threshold: float, max_detections: int,
                    legacy_pixel_scale: float | None = None
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-class greedy NMS for one image (variable size, not exportable).

    boxes [N, 4], class_scores [N, C-1]. Returns boxes [n, 4], scores [n], classes [n] int64,
    indices [n] int64 (prior index), sorted by score and capped at max_detections.
    legacy_pixel_scale: if given (the original passes cfg.max_size), IoU is computed on boxes
    scaled to pixels with the +1 inclusive-area rule and suppression at IoU >= threshold.
    """
    legacy = legacy_pixel_scale is not None
    b = boxes.detach().cpu().double().numpy() * (legacy_pixel_scale if legacy else 1.0)
    s_all = class_scores.detach().cpu().numpy()
    idx_l, cls_l, sc_l = [], [], []
    for c in range(s_all.shape[1]):
        cand = np.nonzero(s_all[:, c] > conf_thresh)[0]
        if cand.size == 0:
            continue
        keep = cand[_greedy_nms(b[cand], s_all[cand, c], iou_threshold, legacy)]
        idx_l.append(keep)
        cls_l.append(np.full(keep.shape, c, dtype=np.int64))
        sc_l.append(s_all[keep, c])
    if not idx_l:
        empty = torch.zeros(0, dtype=torch.int64, device=boxes.device)
        return boxes[:0], class_scores[:0, 0], empty, empty
    idx, cls, sc = np.concatenate(idx_l), np.concatenate(cls_l), np.concatenate(sc_l)
    order = np.argsort(-sc, kind="stable")[:max_detections]
    dev = boxes.device
    idx_t = torch.as_tensor(idx[order], dtype=torch.int64, device=dev)
    return (boxes[idx_t], class_scores[idx_t, torch.as_tensor(cls[order], device=dev)],
            torch.as_tensor(cls[order], dtype=torch.int64, device=dev), idx_t)
