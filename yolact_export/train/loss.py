"""The YOLACT training losses: OHEM softmax confidence, smooth-L1 boxes, cropped mask BCE, semantic BCE."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..detection.boxes import encode
from ..model.yolact import RawOutputs
from .matching import match

NEGPOS_RATIO = 3
MASKS_TO_TRAIN = 100  # positives per image that enter the mask loss, as in the original


@dataclass
class LossWeights:
    conf: float = 1.0
    bbox: float = 1.5
    mask: float = 6.125
    semantic: float = 1.0


@dataclass
class Target:
    """One image's ground truth: boxes [n, 4] x1y1x2y2 relative, labels [n] 0-based, masks [n, H, W] float."""
    boxes: Tensor
    labels: Tensor
    masks: Tensor


def hard_negative_mask(conf: Tensor, conf_t: Tensor) -> Tensor:
    """Positives plus the negatives with the highest background loss, at most 3 per positive.

    conf [B, N, C] logits, conf_t [B, N] (>0 positive, 0 negative, <0 neutral) -> bool [B, N].
    """
    pos = conf_t > 0
    with torch.no_grad():
        bg_loss = torch.logsumexp(conf, dim=-1) - conf[..., 0]
        bg_loss = bg_loss.masked_fill(conf_t != 0, 0.0)
        order = bg_loss.argsort(dim=1, descending=True)
        rank = order.argsort(dim=1)
        num_neg = (NEGPOS_RATIO * pos.sum(dim=1, keepdim=True)).clamp(max=conf.shape[1] - 1)
        neg = (rank < num_neg) & (conf_t == 0)
    return pos | neg


def conf_loss(conf: Tensor, conf_t: Tensor) -> Tensor:
    keep = hard_negative_mask(conf, conf_t)
    return F.cross_entropy(conf[keep], conf_t[keep], reduction="sum")


def crop_mask(boxes: Tensor, h: int, w: int, padding: int = 1) -> Tensor:
    """[p, 4] relative boxes -> [h, w, p] 0/1 mask of the pixels inside each box (padded by a pixel)."""
    x1 = (boxes[:, 0] * w - padding).clamp(min=0)
    x2 = (boxes[:, 2] * w + padding).clamp(max=w)
    y1 = (boxes[:, 1] * h - padding).clamp(min=0)
    y2 = (boxes[:, 3] * h + padding).clamp(max=h)
    cols = torch.arange(w, dtype=boxes.dtype, device=boxes.device)[None, :, None]
    rows = torch.arange(h, dtype=boxes.dtype, device=boxes.device)[:, None, None]
    inside_x = (cols >= x1[None, None]) & (cols < x2[None, None])
    inside_y = (rows >= y1[None, None]) & (rows < y2[None, None])
    return (inside_x & inside_y).to(boxes.dtype)


def downsample_masks(masks: Tensor, h: int, w: int) -> Tensor:
    """[n, H, W] float masks -> [n, h, w] binary at the target size (bilinear, then > 0.5)."""
    if masks.shape[0] == 0:
        return masks.new_zeros((0, h, w))
    small = F.interpolate(masks[None], (h, w), mode="bilinear", align_corners=False)[0]
    return (small > 0.5).to(masks.dtype)


def mask_loss_image(proto: Tensor, coeffs: Tensor, target: Target, idx: Tensor,
                    generator: torch.Generator | None = None) -> Tensor:
    """proto [h, w, k], coeffs [p, k] of the positive priors, idx [p] their matched gt indices."""
    if idx.numel() > MASKS_TO_TRAIN:
        pick = torch.randperm(idx.numel(), generator=generator)[:MASKS_TO_TRAIN]
        coeffs, idx = coeffs[pick], idx[pick]
    h, w = proto.shape[:2]
    gt = downsample_masks(target.masks, h, w)[idx].permute(1, 2, 0)  # [h, w, p]
    logits = proto @ coeffs.t()  # sigmoid(P C^T) is the assembled mask
    bce = F.binary_cross_entropy_with_logits(logits, gt, reduction="none")
    boxes = target.boxes[idx]
    bce = bce * crop_mask(boxes, h, w)
    area = ((boxes[:, 2] - boxes[:, 0]) * w * (boxes[:, 3] - boxes[:, 1]) * h).clamp(min=1.0)
    return (bce.sum(dim=(0, 1)) / area).sum()


def semantic_loss(segm: Tensor, targets: list[Target]) -> Tensor:
    """BCE with logits of segm [B, C-1, h, w] against per-class union masks, per pixel, summed over images."""
    _, num_fg, h, w = segm.shape
    total = segm.new_zeros(())
    for b, target in enumerate(targets):
        gt = segm.new_zeros((num_fg, h, w))
        small = downsample_masks(target.masks, h, w)
        for label, m in zip(target.labels.tolist(), small):
            gt[label] = torch.maximum(gt[label], m)
        total = total + F.binary_cross_entropy_with_logits(segm[b], gt, reduction="sum") / (h * w)
    return total


def match_batch(targets: list[Target], priors: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """conf_t [B, N], idx_t [B, N], loc_t [B, N, 4] for a batch."""
    conf_t, idx_t, loc_t = [], [], []
    for t in targets:
        c, i = match(t.boxes, t.labels, priors)
        conf_t.append(c)
        idx_t.append(i)
        loc_t.append(encode(t.boxes[i], priors) if t.boxes.numel() else torch.zeros_like(priors))
    return torch.stack(conf_t), torch.stack(idx_t), torch.stack(loc_t)


def yolact_loss(out: RawOutputs, targets: list[Target], priors: Tensor,
                weights: LossWeights | None = None, generator: torch.Generator | None = None
                ) -> dict[str, Tensor]:
    """Weighted losses B (box), C (conf), M (mask), S (semantic): the first three divided by
    the number of positives in the batch, S by the batch size, as in the original."""
    weights = weights or LossWeights()
    conf_t, idx_t, loc_t = match_batch(targets, priors)
    pos = conf_t > 0
    num_pos = pos.sum().clamp(min=1).to(out.loc.dtype)
    loss_b = F.smooth_l1_loss(out.loc[pos], loc_t[pos], reduction="sum")
    loss_c = conf_loss(out.conf, conf_t)
    loss_m = out.loc.new_zeros(())
    for b, target in enumerate(targets):
        p = pos[b].nonzero().squeeze(1)
        if p.numel():
            loss_m = loss_m + mask_loss_image(out.proto[b], out.coeffs[b, p], target, idx_t[b, p], generator)
    losses = {"B": loss_b * weights.bbox / num_pos, "C": loss_c * weights.conf / num_pos,
              "M": loss_m * weights.mask / num_pos}
    if out.segm is not None:
        losses["S"] = semantic_loss(out.segm, targets) * weights.semantic / len(targets)
    return losses
