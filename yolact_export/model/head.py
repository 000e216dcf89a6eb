"""Shared prediction head: box offsets, class logits and tanh mask coefficients per prior."""
from __future__ import annotations

import torch
from torch import nn


class PredictionHead(nn.Module):
    def __init__(self, channels: int, priors_per_location: int, num_classes: int, mask_dim: int):
        super().__init__()
        a = priors_per_location
        self.num_classes = num_classes
        self.mask_dim = mask_dim
        self.upfeature = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True))
        self.bbox_layer = nn.Conv2d(channels, a * 4, 3, padding=1)
        self.conf_layer = nn.Conv2d(channels, a * num_classes, 3, padding=1)
        self.mask_layer = nn.Conv2d(channels, a * mask_dim, 3, padding=1)

    @staticmethod
    def _flatten(x: torch.Tensor, k: int) -> torch.Tensor:
        # [B, A*K, H, W] -> [B, H*W*A, K]: channel index a*K + k, priors ordered row, col, anchor.
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, k)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.upfeature(x)
        loc = self._flatten(self.bbox_layer(x), 4)
        conf = self._flatten(self.conf_layer(x), self.num_classes)
        coeffs = torch.tanh(self._flatten(self.mask_layer(x), self.mask_dim))
        return loc, conf, coeffs
