"""The YOLACT / YOLACT++ network: backbone -> FPN -> protonet + shared head (+ mask re-scoring net)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .backbone import DarkNetBackbone, ResNetBackbone
from .config import YolactConfig
from .fpn import FPN
from .head import PredictionHead
from .maskiou import MaskIoUNet
from .priors import config_priors
from .protonet import make_protonet


@dataclass
class RawOutputs:
    """Network outputs before detection. conf holds logits in training mode, softmax in eval."""
    loc: torch.Tensor  # [B, N, 4] SSD-encoded offsets
    conf: torch.Tensor  # [B, N, C]
    coeffs: torch.Tensor  # [B, N, k], tanh applied
    proto: torch.Tensor  # [B, h, w, k], ReLU applied
    segm: torch.Tensor | None = None  # [B, C-1, h3, w3], training only


class YolactNet(nn.Module):
    def __init__(self, config: YolactConfig):
        super().__init__()
        self.config = config
        if config.backbone == "darknet":
            self.backbone = DarkNetBackbone(config.layers)
        else:
            self.backbone = ResNetBackbone(config.layers, config.dcn_blocks, config.block, config.base_width)
        feats = config.fpn_features
        fg_classes = config.num_classes - 1
        # Registration order fixes the state_dict key order of the original checkpoints.
        self.proto_net = make_protonet(feats, config.mask_dim)
        if config.use_maskiou:
            self.maskiou_net = MaskIoUNet(config.maskiou_channels, fg_classes)
        in_channels = [self.backbone.channels[i] for i in config.selected_layers]
        self.fpn = FPN(in_channels, feats, config.num_downsample)
        self.prediction_layers = nn.ModuleList(
            [PredictionHead(feats, config.num_priors_per_location, config.num_classes, config.mask_dim)])
        self.semantic_seg_conv = nn.Conv2d(feats, fg_classes, 1)
        self.register_buffer("priors", config_priors(config), persistent=False)

    def forward(self, images: torch.Tensor) -> RawOutputs:
        convouts = self.backbone(images)
        levels = self.fpn([convouts[i] for i in self.config.selected_layers])
        proto = torch.relu(self.proto_net(levels[0])).permute(0, 2, 3, 1)
        head = self.prediction_layers[0]
        locs, confs, coeffs = zip(*(head(level) for level in levels))
        conf = torch.cat(confs, dim=1)
        segm = None
        if self.training:
            segm = self.semantic_seg_conv(levels[0])
        else:
            conf = torch.softmax(conf, dim=-1)
        return RawOutputs(torch.cat(locs, dim=1), conf, torch.cat(coeffs, dim=1), proto, segm)


def build_model(config: YolactConfig | str) -> YolactNet:
    """A randomly initialised model in eval mode."""
    from .config import get_config

    cfg = get_config(config) if isinstance(config, str) else config
    return YolactNet(cfg).eval()
