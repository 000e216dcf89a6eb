"""YOLACT++ fast mask re-scoring net: predicts the mask IoU per class from a cropped soft mask."""
from __future__ import annotations

import torch
from torch import nn


class MaskIoUNet(nn.Module):
    def __init__(self, channels: tuple[int, ...], num_fg_classes: int):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 1
        for ch in channels:
            layers += [nn.Conv2d(in_ch, ch, 3, stride=2), nn.ReLU(inplace=True)]
            in_ch = ch
        layers += [nn.Conv2d(in_ch, num_fg_classes, 1), nn.ReLU(inplace=True)]
        self.maskiou_net = nn.Sequential(*layers)

    def forward(self, masks: torch.Tensor) -> torch.Tensor:
        """[n, 1, h, w] soft masks -> [n, C-1] predicted IoU (global max pool)."""
        return self.maskiou_net(masks).amax(dim=(2, 3))
