"""Protonet: k prototypes at twice the P3 resolution, ReLU on the output."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Upsample2x(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def make_protonet(in_channels: int, mask_dim: int, width: int | None = None) -> nn.Sequential:
    """Indices match the original nn.Sequential: convs at 0, 2, 4, upsample at 6, convs at 8 and 10."""
    width = width or in_channels
    relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), relu(),
        nn.Conv2d(width, width, 3, padding=1), relu(),
        nn.Conv2d(width, width, 3, padding=1), relu(),
        Upsample2x(), relu(),
        nn.Conv2d(width, width, 3, padding=1), relu(),
        nn.Conv2d(width, mask_dim, 1),
    )
