"""ResNet (bottleneck or basic blocks, optional DCNv2) and DarkNet-53 backbones.

Module and parameter names follow the original checkpoints: `layers.N` come first in the
state_dict because the ModuleList is registered before the stem.
"""
from __future__ import annotations

import torch
from torch import nn

from .dcn import ModulatedDeformConv2d


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, use_dcn: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        if use_dcn:
            self.conv2 = ModulatedDeformConv2d(planes, planes, 3, stride=stride, padding=1)
        else:
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class BasicBlock(nn.Module):
    """ResNet-18/34 block, for the small models we train ourselves."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, use_dcn: bool = False):
        super().__init__()
        if use_dcn:
            raise ValueError("DCN is only supported in bottleneck blocks")
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNetBackbone(nn.Module):
    def __init__(self, layers: tuple[int, ...], dcn_blocks: tuple[tuple[int, ...], ...],
                 block: str = "bottleneck", base_width: int = 64):
        super().__init__()
        block_cls = Bottleneck if block == "bottleneck" else BasicBlock
        self.layers = nn.ModuleList()
        self.channels: list[int] = []
        self.inplanes = base_width
        self.conv1 = nn.Conv2d(3, base_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        for i, (blocks, dcn) in enumerate(zip(layers, dcn_blocks)):
            self._make_layer(block_cls, base_width * 2 ** i, blocks, 1 if i == 0 else 2, set(dcn))

    def _make_layer(self, block_cls, planes: int, blocks: int, stride: int, dcn: set[int]) -> None:
        out_ch = planes * block_cls.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_ch:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))
        stage = [block_cls(self.inplanes, planes, stride, downsample, use_dcn=0 in dcn)]
        self.inplanes = out_ch
        stage += [block_cls(out_ch, planes, use_dcn=i in dcn) for i in range(1, blocks)]
        self.layers.append(nn.Sequential(*stage))
        self.channels.append(out_ch)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


def darknet_conv(in_ch: int, out_ch: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(0.1, inplace=True),
    )


class DarkNetBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = darknet_conv(channels, channels // 2, 1)
        self.conv2 = darknet_conv(channels // 2, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x)) + x


class DarkNetBackbone(nn.Module):
    def __init__(self, layers: tuple[int, ...] = (1, 2, 8, 8, 4)):
        super().__init__()
        self.layers = nn.ModuleList()
        self.channels: list[int] = []
        self._preconv = darknet_conv(3, 32, 3)
        in_ch = 32
        for i, blocks in enumerate(layers):
            out_ch = 64 * 2 ** i
            stage = [darknet_conv(in_ch, out_ch, 3, stride=2)] + [DarkNetBlock(out_ch) for _ in range(blocks)]
            self.layers.append(nn.Sequential(*stage))
            self.channels.append(out_ch)
            in_ch = out_ch

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self._preconv(x)
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs
