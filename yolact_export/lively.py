"""Random weights that behave like a trained detector's: confident classes, varied boxes and masks.

Default init gives ~uniform softmax scores (all below the 0.05 candidate threshold), so a random
model would detect nothing and exercise neither NMS nor mask assembly. Tests and benchmarks use
this instead of official checkpoints, which cannot be downloaded here.
"""
from __future__ import annotations

import torch
from torch import nn

from .model.yolact import Yolact

# Target standard deviations of the head outputs, before softmax / tanh / exp.
_TARGET_STD = {"conf_layer": 4.0, "mask_layer": 1.5, "bbox_layer": 0.7}


@torch.no_grad()
def make_lively(model: Yolact, images: torch.Tensor, seed: int = 0) -> Yolact:
    """Re-randomise `model` in place (seeded) and scale its head so outputs have useful spread."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.weight[0].numel()
            module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            if module.bias is not None:
                module.bias.zero_()
    head = model.prediction_layers[0]
    feats: list[torch.Tensor] = []
    hook = head.upfeature.register_forward_hook(lambda _m, _i, out: feats.append(out))
    model.eval()(images)
    hook.remove()
    for name, target in _TARGET_STD.items():
        layer: nn.Conv2d = getattr(head, name)
        std = torch.cat([layer(f).flatten() for f in feats]).std().clamp(min=1e-12)
        layer.weight.mul_(target / std)
    return model
