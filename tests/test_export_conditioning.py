"""The lively random weights are well conditioned: fp32 stays close enough to fp64 for the exact profile.

yolact-check's exact profile compares two fp32 implementations (PyTorch, an ONNX graph) at scores
within 1e-4. Each side's rounding is its distance from the fp64 result; the two differ by at most the
sum, so each must stay within a quarter of 1e-4 to pass with a margin of two. Any fp32 kernel (AVX2,
AVX-512, a blocked or FMA sum in any order) rounds each K-term dot product within about sqrt(K)*2^-24
relative, so the fp64 distance is a property of the weights (how much the network amplifies it), the
same on every x86 CPU.
"""
from __future__ import annotations

import copy

import cv2
import torch

from yolact_export import load_checkpoint
from yolact_export.detection.preprocess import preprocess
from yolact_runtime.parity.profiles import EXACT

PER_SIDE = EXACT.score_tol / 4
CANDIDATE = 0.05  # the graph's candidate threshold: scores below it never reach NMS


@torch.no_grad()
def test_lively_scores_in_fp32_stay_within_a_quarter_of_exact_of_fp64(exported, shared_images):
    model, cfg = load_checkpoint(exported["plus"][0])  # ResNet-50 with DCN: the deepest config tested
    x = preprocess([cv2.imread(str(shared_images[1]))], cfg)
    single = model.eval()(x).conf[0].double()
    double = copy.deepcopy(model).double()(x.double()).conf[0]
    candidates = double[:, 1:].amax(-1) > CANDIDATE
    assert 20 <= int(candidates.sum()) <= 0.05 * len(candidates)  # some detections, not every prior
    drift = float((single - double)[candidates].abs().max())
    assert drift <= PER_SIDE, f"fp32 scores {drift:.2e} off fp64: the random network amplifies rounding"
