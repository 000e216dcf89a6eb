"""Random weights that behave like a trained detector's: confident classes, varied boxes and masks.

Default init gives ~uniform softmax scores (all below the 0.05 candidate threshold), so a random
model would detect nothing and exercise neither NMS nor mask assembly. Tests and benchmarks use
this instead of official checkpoints, which cannot be downloaded here.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .backbone import BasicBlock, Bottleneck, DarkNetBlock
from .dcn import ModulatedDeformConv2d
from .yolact import YolactNet

# Target standard deviations of the head outputs, before softmax / tanh / exp.
_TARGET_STD = {"conf_layer": 3.0, "mask_layer": 1.5, "bbox_layer": 0.5}
# Share of priors that pass the 0.05 candidate threshold, about what a trained model gives.
_CANDIDATE_SHARE = 0.015
CANDIDATE_THRESHOLD = 0.05
# No prior's best score this close to the threshold on the calibration images: a quarter of the
# exact profile's score tolerance, what each fp32 side may be off fp64 (tests/test_export_conditioning).
_THRESHOLD_MARGIN = 2.5e-5
# Std of each residual branch's output (its last BN's gamma) against the unit-std stream. Unit
# branches (gamma 1) make a deep random ResNet chaotic: fp32 rounding grows ~4e-5 relative per block,
# to 1e-3 after ResNet-101's 33 blocks and 1.4e-4 in the scores, past the exact profile's 1e-4 for ANY
# fp32 runtime (torch fp32 against torch fp64). Trained ResNets have small final-BN gammas; with these
# near-identity blocks the same weights stay within ~1e-5 of fp64.
_RESIDUAL_GAIN = 0.2


def _randomize(model: YolactNet, gen: torch.Generator) -> None:
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, ModulatedDeformConv2d)):
            fan_in = module.weight[0].numel()
            module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            if module.bias is not None:
                module.bias.zero_()
    for module in model.modules():
        # Offsets of ~0.05 px: random features are noise-like, so with pixel-sized offsets the
        # 13 DCN layers amplify fp32 rounding until two runtimes disagree (a trained net is smooth).
        if isinstance(module, ModulatedDeformConv2d):
            module.conv_offset_mask.weight.mul_(0.05)


def _branch_ends(model: YolactNet) -> list[nn.BatchNorm2d]:
    """The last BN of every residual branch (the one added to the identity)."""
    ends = {Bottleneck: lambda b: b.bn3, BasicBlock: lambda b: b.bn2, DarkNetBlock: lambda b: b.conv2[1]}
    return [ends[type(m)](m) for m in model.modules() if type(m) in ends]


def _calibrate_batchnorm(model: YolactNet, images: torch.Tensor) -> None:
    """Set BN running stats to the statistics of `images`, so activations stay O(1) in eval, with
    residual branches scaled to _RESIDUAL_GAIN (set before the pass, so later stats see them)."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in norms:
        bn.reset_running_stats()
        bn.weight.fill_(1.0)
        bn.bias.zero_()
    for bn in _branch_ends(model):
        bn.weight.fill_(_RESIDUAL_GAIN)
    for bn in norms:
        bn.momentum = None  # cumulative average: one pass gives exactly the batch statistics
    model.train()(images)
    for bn in norms:
        bn.momentum = 0.1
    model.eval()


@torch.no_grad()
def make_lively(model: YolactNet, images: torch.Tensor, seed: int = 0) -> YolactNet:
    """Re-randomise `model` in place (seeded), calibrate BN on `images`, scale the head's outputs."""
    _randomize(model, torch.Generator().manual_seed(seed))
    _calibrate_batchnorm(model, images)
    head = model.prediction_layers[0]
    feats: list[torch.Tensor] = []
    hook = head.upfeature.register_forward_hook(lambda _m, _i, out: feats.append(out))
    model(images)
    hook.remove()
    for name, target in _TARGET_STD.items():
        layer: nn.Conv2d = getattr(head, name)
        std = torch.cat([layer(f).flatten() for f in feats]).std().clamp(min=1e-12)
        layer.weight.mul_(target / std)
    _calibrate_background(head, feats)
    return model


def _calibrate_background(head: nn.Module, feats: list[torch.Tensor]) -> None:
    """Raise the background logit until only _CANDIDATE_SHARE of the priors stay candidates, then
    move it to the nearest value that leaves no prior undecided at the candidate threshold."""
    conv: nn.Conv2d = head.conf_layer
    c = head.num_classes
    logits = torch.cat([head._flatten(conv(f), c) for f in feats], dim=1).double()  # [B, N, C]

    def best_foreground(bias: float) -> torch.Tensor:
        shifted = logits.clone()
        shifted[..., 0] += bias
        return shifted.softmax(-1)[..., 1:].amax(-1)

    lo, hi = 0.0, 50.0
    for _ in range(30):  # bisection on the background bias
        mid = (lo + hi) / 2
        share = (best_foreground(mid) > CANDIDATE_THRESHOLD).double().mean()
        lo, hi = (mid, hi) if share > _CANDIDATE_SHARE else (lo, mid)
    conv.bias[0::c] += _clear_of_threshold(best_foreground, hi)


def _clear_of_threshold(best_foreground: Callable[[float], torch.Tensor], bias: float) -> float:
    """The bias nearest `bias` at which every prior's best score is _THRESHOLD_MARGIN off the threshold.

    A prior within it would be a candidate for one fp32 runtime and not for another (its rows in or
    out of the graph's outputs): a keep-set difference no implementation can avoid. d(score)/d(bias)
    is about -score, so steps of _THRESHOLD_MARGIN / threshold move the scores near it by ~one margin."""
    step = _THRESHOLD_MARGIN / CANDIDATE_THRESHOLD
    for k in range(1000):
        shifted = bias + (k + 1) // 2 * step * (1 if k % 2 else -1)
        if float((best_foreground(shifted) - CANDIDATE_THRESHOLD).abs().min()) >= _THRESHOLD_MARGIN:
            return shifted
    raise RuntimeError("no background bias leaves the candidate threshold clear")
