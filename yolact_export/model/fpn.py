"""Feature pyramid: lateral 1x1 + top-down bilinear upsampling, 3x3 prediction convs, stride-2 extras."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FPN(nn.Module):
    def __init__(self, in_channels: list[int], features: int = 256, num_downsample: int = 2):
        super().__init__()
        # Stored coarsest-first, as in the original: index 0 acts on C5.
        self.lat_layers = nn.ModuleList(nn.Conv2d(c, features, 1) for c in reversed(in_channels))
        self.pred_layers = nn.ModuleList(nn.Conv2d(features, features, 3, padding=1) for _ in in_channels)
        self.downsample_layers = nn.ModuleList(
            nn.Conv2d(features, features, 3, padding=1, stride=2) for _ in range(num_downsample))

    def forward(self, convouts: list[torch.Tensor]) -> list[torch.Tensor]:
        n = len(convouts)
        merged: list[torch.Tensor] = [convouts[0]] * n
        x = None
        for k, lat in enumerate(self.lat_layers):
            j = n - 1 - k
            lateral = lat(convouts[j])
            if x is not None:
                x = F.interpolate(x, size=lateral.shape[-2:], mode="bilinear", align_corners=False)
                x = x + lateral
            else:
                x = lateral
            merged[j] = x
        outs = [F.relu(pred(merged[n - 1 - k])) for k, pred in enumerate(self.pred_layers)]
        outs = outs[::-1]  # pred_layers are coarsest-first too; back to finest-first
        for down in self.downsample_layers:
            outs.append(down(outs[-1]))
        return outs
