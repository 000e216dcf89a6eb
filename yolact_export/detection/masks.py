"""Mask assembly and post-processing of the reference model.

`assemble_masks`, `crop_masks` and `rescore_batched` are fixed-shape and traceable: they also run
inside the exported graph (`--masks-in-graph`). The rest is eager post-processing.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def assemble_masks(prototypes: Tensor, coefficients: Tensor) -> Tensor:
    """sigmoid(P @ C^T): P [h, w, k] | [B, h, w, k], C [n, k] | [B, n, k] -> [n | B, n, h, w]."""
    h, w = prototypes.shape[-3], prototypes.shape[-2]
    # [..., h*w, k] @ [..., k, n]: one GEMM per image, P @ C^T as in the original.
    logits = prototypes.flatten(-3, -2) @ coefficients.transpose(-1, -2)
    masks = torch.sigmoid(logits).unflatten(-2, (h, w))  # [..., h, w, n]
    lead = list(range(masks.dim() - 3))  # explicit perm: negative movedim exports badly
    return masks.permute(lead + [masks.dim() - 1, masks.dim() - 3, masks.dim() - 2])


def _crop_bounds(v1: Tensor, v2: Tensor, size: int, padding: float) -> tuple[Tensor, Tensor]:
    """Scale relative coords to `size`, order them, pad and clamp (no integer cast)."""
    a, b = v1 * size, v2 * size
    lo = torch.clamp(torch.min(a, b) - padding, min=0)
    hi = torch.clamp(torch.max(a, b) + padding, max=size)
    return lo, hi


def crop_masks(masks: Tensor, boxes: Tensor, padding: float = 1.0) -> Tensor:
    """Zero mask pixels outside the padded box, at mask resolution.

    masks [..., n, h, w], boxes [..., n, 4] relative x1, y1, x2, y2 -> [..., n, h, w].
    Pixel column c is kept when lo <= c < hi (float compare), rows likewise.
    """
    h, w = masks.shape[-2], masks.shape[-1]
    x1, x2 = _crop_bounds(boxes[..., 0], boxes[..., 2], w, padding)
    y1, y2 = _crop_bounds(boxes[..., 1], boxes[..., 3], h, padding)
    cols = torch.arange(w, device=masks.device, dtype=x1.dtype)
    rows = torch.arange(h, device=masks.device, dtype=y1.dtype)
    keep_x = (cols >= x1[..., None]) & (cols < x2[..., None])  # [..., n, w]
    keep_y = (rows >= y1[..., None]) & (rows < y2[..., None])  # [..., n, h]
    keep = keep_y[..., :, None] & keep_x[..., None, :]
    return masks * keep.to(masks.dtype)  # multiply, as the original does


def upsample_soft(masks: Tensor, height: int, width: int, dtype: torch.dtype | None = None) -> Tensor:
    """Bilinear (align_corners=False) resize of soft masks [..., n, h, w] to (H, W), in `dtype`."""
    lead = masks.shape[:-2]
    if lead.numel() == 0:  # interpolate rejects empty inputs
        return torch.zeros(lead + (height, width), dtype=dtype or masks.dtype, device=masks.device)
    # interpolate wants [N, C, h, w].
    flat = masks.to(dtype or masks.dtype).reshape((1, lead.numel()) + tuple(masks.shape[-2:]))
    up = F.interpolate(flat, size=(height, width), mode="bilinear", align_corners=False)
    return up.reshape(lead + (height, width))


def upsample_masks(masks: Tensor, height: int, width: int, dtype: torch.dtype | None = None) -> Tensor:
    """upsample_soft, then > 0.5. dtype=torch.float64 resizes exactly (float32 rounding breaks
    exact 0.5 ties upwards)."""
    return upsample_soft(masks, height, width, dtype) > 0.5


def boxes_to_pixels(boxes: Tensor, width: int, height: int) -> Tensor:
    """Relative x1, y1, x2, y2 [..., 4] -> int64 pixels: order, clamp to [0, size], truncate."""
    x1, x2 = _crop_bounds(boxes[..., 0], boxes[..., 2], width, 0.0)
    y1, y2 = _crop_bounds(boxes[..., 1], boxes[..., 3], height, 0.0)
    return torch.stack([x1, y1, x2, y2], dim=-1).long()  # .long() truncates, not rounds


def rescore_batched(maskiou_net: Callable[[Tensor], Tensor], cropped_masks: Tensor,
                    classes: Tensor, scores: Tensor) -> Tensor:
    """Traceable batch form: masks [B, D, h, w], classes [B, D], scores [B, D] -> [B, D].

    Padded rows (score 0, class 0) give 0.
    """
    d, h, w = cropped_masks.shape[1:]
    iou = maskiou_net(cropped_masks.reshape(-1, 1, h, w))  # [B*D, C-1]
    picked = torch.gather(iou, 1, classes.reshape(-1, 1)).reshape(-1, d)
    return scores * picked
