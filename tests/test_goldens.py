"""Our reference model against golden outputs of the ORIGINAL dbolya/yolact eval path.

The goldens (tests/goldens/, made by scripts/make_goldens.py, see tests/goldens/README.md) hold
what the original code computed, on CPU, for seeded random weights that this file rebuilds
(`golden_state_dict`) with no forward pass: per image, the output of its `Detect` (Fast NMS):
relative boxes, box scores, classes, mask coefficients; and of its `postprocess(w, h,
crop_masks=True, score_threshold=0)`: pixel boxes, full-resolution masks (COCO RLE) and, for
YOLACT++, the re-scored scores (box score x predicted mask IoU). One golden runs the original's
cross-class path (cc_fast_nms, which keeps every survivor of its top-k: more than 100 here).

Detections are compared as SETS: near-tied scores may swap order between thread counts or BLAS
kernels, so each golden detection is paired with one of ours of the same class by box and score.
Tolerances (none were loosened to make a run pass):
  - same number of detections; every golden detection paired, one to one;
  - box scores within 1e-4 (absolute); YOLACT++ mask scores within 1e-4 (absolute);
  - relative Detect boxes within 1e-4 (absolute, i.e. < 0.07 px at 640 px);
  - mask coefficients within 1e-3 (absolute; tanh outputs in [-1, 1]);
  - pixel boxes (after the original's sanitize + truncation) within 1 px, and equal except
    where the unrounded pixel coordinate is within 1e-3 px of an integer (catches rounding);
  - mask IoU >= 0.99 for every paired detection (two empty masks count as IoU 1).
The test needs neither the original repository nor the network.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from yolact_export.detection.graph import YolactDetector
from yolact_export.detection.predict import predict
from yolact_export.model.dcn import ModulatedDeformConv2d
from yolact_export.model.yolact import build_model

GOLDENS = Path(__file__).resolve().parent / "goldens"
IMAGES = Path(__file__).resolve().parent / "data" / "photos"

SCORE_TOL = 1e-4
REL_BOX_TOL = 1e-4
COEFF_TOL = 1e-3
PIXEL_BOX_TOL = 1
MIN_MASK_IOU = 0.99


# --------------------------------------------------------------------------- golden weights
# Shared with scripts/make_goldens.py, which imports it from here (never the other way round).

def golden_state_dict(model: nn.Module, seed: int, scales: dict[str, float] | None = None,
                      conf_background_bias: float = 0.0) -> dict[str, torch.Tensor]:
    """Deterministic random weights for `model`, with no forward pass.

    One np.random.RandomState(seed) (a frozen stream, stable across NumPy versions) draws a
    standard normal array per state_dict entry, in state_dict order, and maps it to:
      conv / DCN weight: N(0, 2 / fan_in) * scales.get(module, 1)   (He init)
      conv / DCN bias:   N(0, 0.05^2)
      BatchNorm:         weight 1 + 0.1 n, bias 0.1 n, running_mean 0.1 n, running_var exp(0.2 n)
      num_batches_tracked: 0 (no draw)
    and adds `conf_background_bias` to the background logit bias of every anchor of the head's
    conf_layer, so that, as with a trained model, only a few hundred priors are candidates.
    `scales` and `conf_background_bias` (stored in the golden JSON) were calibrated once by the
    generator (head output spread, candidate count, DCN offsets of about 1 px); here they are
    plain constants.
    Arithmetic is float64 then cast to float32, so the result does not depend on torch kernels.
    """
    scales = scales or {}
    rs = np.random.RandomState(seed)
    modules = dict(model.named_modules())
    out: dict[str, torch.Tensor] = {}
    for key, ref in model.state_dict().items():
        mod_name, _, pname = key.rpartition(".")
        module = modules[mod_name]
        if pname == "num_batches_tracked":
            out[key] = torch.zeros_like(ref)
            continue
        shape = tuple(ref.shape)
        n = rs.standard_normal(shape)
        if isinstance(module, nn.BatchNorm2d):
            val = {"weight": 1.0 + 0.1 * n, "bias": 0.1 * n, "running_mean": 0.1 * n,
                   "running_var": np.exp(0.2 * n)}[pname]
        elif isinstance(module, (nn.Conv2d, ModulatedDeformConv2d)) and pname == "weight":
            fan_in = math.prod(shape[1:])
            val = n * math.sqrt(2.0 / fan_in) * float(scales.get(mod_name, 1.0))
        elif isinstance(module, (nn.Conv2d, ModulatedDeformConv2d)) and pname == "bias":
            val = 0.05 * n
            if mod_name.endswith("conf_layer"):
                val[0::model.config.num_classes] += conf_background_bias
        else:
            raise AssertionError(f"no golden weight rule for {key} ({type(module).__name__})")
        out[key] = torch.from_numpy(np.ascontiguousarray(val, dtype=np.float32))
    return out


def state_dict_sha256(sd: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key, value in sd.items():
        h.update(key.encode())
        h.update(value.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def decode_rle(rle: dict) -> np.ndarray:
    """COCO compressed RLE ({"size": [h, w], "counts": str}, pycocotools' format) -> bool [h, w]."""
    s, counts, p = rle["counts"], [], 0
    while p < len(s):  # pycocotools rleFrString: 5-bit groups, sign bit, delta to counts[-2]
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    h, w = rle["size"]
    values = np.arange(len(counts)) % 2 == 1  # runs alternate, starting with zeros
    flat = np.repeat(values, counts)
    assert flat.size == h * w, "corrupt RLE"
    return flat.reshape(w, h).T  # column-major


# --------------------------------------------------------------------------- matching

def match_as_sets(gold_cls: np.ndarray, gold_box: np.ndarray, gold_score: np.ndarray,
                  our_cls: np.ndarray, our_box: np.ndarray, our_score: np.ndarray
                  ) -> list[tuple[int, int]]:
    """One-to-one pairs (golden index, our index) of the same class, closest first by
    max(|box diff|, |score diff|); pairs farther apart than the tolerances are not made."""
    cands = []
    for i in range(len(gold_cls)):
        for j in np.nonzero(our_cls == gold_cls[i])[0]:
            d = max(float(np.abs(gold_box[i] - our_box[j]).max()) / REL_BOX_TOL,
                    abs(float(gold_score[i]) - float(our_score[j])) / SCORE_TOL)
            if d <= 1.0:
                cands.append((d, i, int(j)))
    pairs, used_g, used_o = [], set(), set()
    for _, i, j in sorted(cands):
        if i not in used_g and j not in used_o:
            pairs.append((i, j))
            used_g.add(i)
            used_o.add(j)
    return sorted(pairs)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


# --------------------------------------------------------------------------- the test

def _golden_names() -> list[str]:
    return sorted(p.stem for p in GOLDENS.glob("*.json"))


@pytest.fixture(scope="module", params=_golden_names())
def golden(request) -> dict:
    meta = json.loads((GOLDENS / f"{request.param}.json").read_text())
    with np.load(GOLDENS / f"{request.param}.npz") as arrays:
        meta["arrays"] = dict(arrays)
    return meta


def _capture_detector_outputs(store: list) -> torch.utils.hooks.RemovableHandle:
    def hook(module, _inputs, output):
        if isinstance(module, YolactDetector):
            store.append({k: v[0].detach().clone() for k, v in output.items()})
    return nn.modules.module.register_module_forward_hook(hook)


@torch.no_grad()
def test_matches_original_eval_path(golden: dict) -> None:
    import cv2

    model = build_model(golden["config"])
    sd = golden_state_dict(model, golden["seed"], golden["scales"], golden["conf_background_bias"])
    assert state_dict_sha256(sd) == golden["weights_sha256"], (
        "the rebuilt golden weights differ from the ones the goldens were made with "
        "(NumPy RandomState stream or state_dict layout changed?)")
    model.load_state_dict(sd, strict=True)
    model.eval()
    if "nms_thresh" in golden:  # the golden's Detect ran with this IoU threshold
        model.config = dataclasses.replace(model.config, nms_thresh=golden["nms_thresh"])
    cross_class = golden.get("cross_class_nms", False)  # the original's cc_fast_nms
    arrays = golden["arrays"]
    report = []
    for im, info in enumerate(golden["images"]):
        image = cv2.imread(str(IMAGES / info["file"]), cv2.IMREAD_COLOR)
        assert image is not None and list(image.shape) == info["shape"], info["file"]
        captured: list = []
        handle = _capture_detector_outputs(captured)
        try:
            det = predict(model, image, cross_class=cross_class)
        finally:
            handle.remove()
        assert captured, "predict() no longer runs a YolactDetector: update this test's capture"
        raw = captured[-1]
        n = int(raw["num_detections"])
        g = {k: arrays[f"{im}_{k}"] for k in ("class", "score", "box", "coeff", "pixel_box")}
        gn = len(g["class"])
        tag = f"{golden['config']}{' cross-class' if cross_class else ''} {info['file']}"
        assert n == gn == len(det), f"{tag}: {n} detections (predict: {len(det)}), golden {gn}"

        pairs = match_as_sets(g["class"], g["box"], g["score"], raw["classes"][:n].numpy(),
                              raw["boxes"][:n].numpy(), raw["scores"][:n].numpy())
        unmatched = sorted(set(range(gn)) - {i for i, _ in pairs})
        assert not unmatched, (
            f"{tag}: golden detections with no partner (same class, |Δbox| <= {REL_BOX_TOL}, "
            f"|Δscore| <= {SCORE_TOL}): " + ", ".join(
                f"#{i} class {g['class'][i]} score {g['score'][i]:.6f} box {np.round(g['box'][i], 4)}"
                for i in unmatched[:5]))
        gi, oi = (np.array(x) for x in zip(*pairs))
        # predict keeps the detector's order, so index j of the detector is index j of `det`.
        score_diff = np.abs(g["score"][gi] - det.scores[oi]).max()
        box_diff = np.abs(g["box"][gi] - raw["boxes"][oi].numpy()).max()
        coeff_diff = np.abs(g["coeff"][gi] - raw["coefficients"][oi].numpy()).max()
        pixel_delta = g["pixel_box"][gi].astype(np.int64) - det.boxes[oi]
        pixel_diff = int(np.abs(pixel_delta).max())
        # Truncation vs rounding hides inside 1 px, so also: exact, except for coordinates whose
        # unrounded pixel value (sanitized golden relative box) is within 1e-3 px of an integer.
        size = np.array([info["shape"][1], info["shape"][0]] * 2, dtype=np.float64)
        rel = g["box"][gi].astype(np.float64)
        px = np.concatenate([np.minimum(rel[:, :2], rel[:, 2:]), np.maximum(rel[:, :2], rel[:, 2:])], 1)
        px = np.clip(px * size, 0, size)
        ambiguous = np.abs(px - np.round(px)) < 1e-3
        inexact = int(((pixel_delta != 0) & ~ambiguous).sum())
        assert np.array_equal(g["class"][gi], det.classes[oi])
        ious = [mask_iou(decode_rle(golden["masks"][im][i]), det.masks[j]) for i, j in pairs]
        line = (f"{tag}: {gn} dets, max |Δscore| {score_diff:.2e}, max |Δrel box| {box_diff:.2e}, "
                f"max |Δcoeff| {coeff_diff:.2e}, max |Δpx box| {pixel_diff} ({inexact} unambiguous "
                f"coordinates differ), min mask IoU {min(ious):.5f}")
        if f"{im}_mask_score" in arrays:
            assert det.mask_scores is not None, f"{tag}: predict gave no mask scores"
            ms_diff = np.abs(arrays[f"{im}_mask_score"][gi] - det.mask_scores[oi]).max()
            line += f", max |Δmask score| {ms_diff:.2e}"
            assert ms_diff <= SCORE_TOL, line
        report.append(line)
        assert score_diff <= SCORE_TOL, line
        assert box_diff <= REL_BOX_TOL, line
        assert coeff_diff <= COEFF_TOL, line
        assert pixel_diff <= PIXEL_BOX_TOL and inexact == 0, line
        assert min(ious) >= MIN_MASK_IOU, line
    print("\n" + "\n".join(report))
