#!/usr/bin/env python
"""Make tests/goldens/: outputs of the ORIGINAL dbolya/yolact eval path for seeded random weights.

    python scripts/make_goldens.py --yolact-root /tmp/yolact_orig [--out tests/goldens]
    python scripts/make_goldens.py --yolact-root /tmp/yolact_orig --configs yolact_resnet50 \
        --cross-class-nms --nms-thresh 0.7        # -> yolact_resnet50_cross_class.{json,npz}

`--yolact-root` is an unpacked copy of the original repository (commit 902073d), e.g.
    mkdir /tmp/yolact_orig && git --git-dir=<mirror> archive HEAD | tar -x -C /tmp/yolact_orig
It is run in this process, patched at runtime only (nothing is written into it) so that it works
on a CPU-only torch without torchvision or the compiled extensions:
  - torch.cuda.current_device() -> 0 and Tensor.cuda -> identity;
  - stub modules for torchvision (only `torchvision.models.resnet.Bottleneck`, unused by these
    configs, and `torchvision.transforms`, unused at eval, are imported);
  - YOLACT++ only: the original `external/DCNv2/dcn_v2.py` is imported unchanged, with its
    compiled `_ext` backend replaced by one whose `dcn_v2_forward` calls OUR pure-torch
    `yolact_export.model.dcn.deform_conv2d`. The goldens therefore check everything except the DCN
    kernel itself (offset/mask split, sigmoid and all the rest of the original DCN module are the
    original's); tests/test_dcn.py checks the kernel against ONNX's reference DeformConv.
The eval path is the one `eval.py` runs: set_cfg, cfg.mask_proto_debug = False, Detect with
use_fast_nms = True and use_cross_class_nms = False (eval.py's defaults), FastBaseTransform on the
cv2.imread BGR image, net(batch), then postprocess(preds, w, h, crop_masks=True,
score_threshold=0) as prep_display / prep_metrics call it, with cfg.rescore_bbox = False so that
YOLACT++ returns [box scores, box scores * mask IoU] (both recorded). --cross-class-nms runs the
original's cc_fast_nms instead (use_cross_class_nms = True, eval.py's --cross_class_nms), and
--nms-thresh sets its Detect's IoU threshold (recorded in the JSON, applied by the test).

The weights come from tests/test_goldens.py:golden_state_dict (seeded, no forward pass); the few
scale factors it takes are calibrated here once with our model and stored in the golden JSON.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import types
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yolact_export.model.dcn import ModulatedDeformConv2d, deform_conv2d  # noqa: E402
from yolact_export.model.yolact import build_model  # noqa: E402
from yolact_export.detection.preprocess import preprocess  # noqa: E402

IMAGES = ["yolact_example_0.png", "yolact_example_1.png", "yolact_example_2.png"]
# our preset -> (the original's config, images recorded). DarkNet-53 differs from ResNet-50 only
# in backbone and preprocessing (/255), so one image keeps the test's run time down.
CONFIGS = {
    "yolact_resnet50": ("yolact_resnet50_config", IMAGES),
    "yolact_plus_resnet50": ("yolact_plus_resnet50_config", IMAGES),
    "yolact_darknet53": ("yolact_darknet53_config", ["yolact_example_1.png"]),
}
# Target output std of calibrated layers (head targets as in yolact_export/lively.py).
HEAD_TARGET_STD = {"conf_layer": 4.0, "mask_layer": 1.5, "bbox_layer": 0.7}
OFFSET_TARGET_STD = 1.0  # DCN conv_offset_mask output: offsets of about 1 px, varied masks
# Background logit bias chosen so that about this many priors of the first image are candidates
# (max foreground score > 0.05), like a trained model; random weights make almost all of them so.
TARGET_CANDIDATES = 300
SEED = 0


def _load_test_module():
    spec = importlib.util.spec_from_file_location("test_goldens", ROOT / "tests" / "test_goldens.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _load_test_module()


# --------------------------------------------------------------------------- weights

@torch.no_grad()
def calibrate(name: str, image_bgr: np.ndarray) -> tuple[dict[str, float], float]:
    """Scale factors and background bias for golden_state_dict, from OUR model on one image."""
    model = build_model(name)
    model.load_state_dict(T.golden_state_dict(model, SEED))
    x = preprocess(image_bgr, model.config)
    scales: dict[str, float] = {}

    # DCN offsets, in forward order: each hook rescales its layer before later layers run.
    def offset_hook(mod_name):
        def hook(module, _inputs, output):
            s = OFFSET_TARGET_STD / float(output.std())
            scales[mod_name] = s
            module.weight.mul_(s)
            return output * s
        return hook

    handles = [m.conv_offset_mask.register_forward_hook(offset_hook(f"{n}.conv_offset_mask"))
               for n, m in model.named_modules() if isinstance(m, ModulatedDeformConv2d)]
    head = model.prediction_layers[0]
    feats: list[torch.Tensor] = []
    handles.append(head.upfeature.register_forward_hook(lambda _m, _i, out: feats.append(out)))
    model(x)
    for h in handles:
        h.remove()
    for layer, target in HEAD_TARGET_STD.items():
        conv: nn.Conv2d = getattr(head, layer)
        std = float(torch.cat([conv(f).flatten() for f in feats]).std())
        scales[f"prediction_layers.0.{layer}"] = target / std
    # Background bias: bisect on the conf logits of the scaled head (candidates fall as it grows).
    conf = head.conf_layer
    conf.weight.mul_(scales["prediction_layers.0.conf_layer"])
    num_classes = model.config.num_classes
    logits = torch.cat([head._flatten(conf(f), num_classes) for f in feats], dim=1)[0].double()

    def candidates(bias: float) -> int:
        shifted = logits.clone()
        shifted[:, 0] += bias
        return int((torch.softmax(shifted, -1)[:, 1:].max(-1).values > 0.05).sum())

    lo, hi = 0.0, 100.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if candidates(mid) > TARGET_CANDIDATES else (lo, mid)
    bias = round(hi, 3)
    print(f"{name}: background bias {bias} -> {candidates(bias)} candidates on the first image")
    return scales, bias


# --------------------------------------------------------------------------- the original

def import_original(root: Path):
    """Import the original's modules with the CPU patches described in the module docstring."""
    torch.cuda.current_device = lambda: 0
    torch.Tensor.cuda = lambda self, *a, **k: self

    tv = types.ModuleType("torchvision")
    tv_models = types.ModuleType("torchvision.models")
    tv_resnet = types.ModuleType("torchvision.models.resnet")

    class Bottleneck(nn.Module):  # only referenced by cfg.use_prediction_module (False here)
        def __init__(self, *a, **k):
            raise RuntimeError("torchvision Bottleneck stub used")

    tv_resnet.Bottleneck = Bottleneck
    tv_transforms = types.ModuleType("torchvision.transforms")
    tv.models, tv_models.resnet, tv.transforms = tv_models, tv_resnet, tv_transforms
    sys.modules.update({"torchvision": tv, "torchvision.models": tv_models,
                        "torchvision.models.resnet": tv_resnet, "torchvision.transforms": tv_transforms})

    # DCNv2 backend: our pure-torch kernel behind the original's Python module.
    ext = types.ModuleType("_ext")

    def dcn_v2_forward(inp, weight, bias, offset, mask, kh, kw, sh, sw, ph, pw, dh, dw, groups):
        assert weight.shape[2:] == (kh, kw) and mask.shape[1] == groups * kh * kw
        return deform_conv2d(inp, offset, mask, weight, bias, (sh, sw), (ph, pw), (dh, dw))

    ext.dcn_v2_forward = dcn_v2_forward
    sys.modules["_ext"] = ext
    sys.path.insert(0, str(root / "external" / "DCNv2"))
    sys.path.insert(0, str(root))
    import dcn_v2  # noqa: F401  (the original module, so backbone.py's `from dcn_v2 import DCN` works)
    from data.config import cfg, set_cfg
    from layers.output_utils import postprocess
    from utils.augmentations import FastBaseTransform
    from yolact import Yolact
    return types.SimpleNamespace(cfg=cfg, set_cfg=set_cfg, postprocess=postprocess,
                                 FastBaseTransform=FastBaseTransform, Yolact=Yolact)


def build_original(orig, config: str, weights: Path, cross_class: bool = False, nms_thresh: float | None = None):
    orig.set_cfg(config)
    orig.cfg.mask_proto_debug = False
    orig.cfg.rescore_bbox = False
    if nms_thresh is not None:
        orig.cfg.nms_thresh = nms_thresh  # Detect reads it when Yolact() builds it
    net = orig.Yolact()
    net.load_weights(str(weights))
    net.eval()
    net.detect.use_fast_nms = True
    net.detect.use_cross_class_nms = cross_class
    return net


@torch.no_grad()
def run_original(orig, net, image_bgr: np.ndarray) -> dict[str, np.ndarray]:
    frame = torch.from_numpy(image_bgr).float()
    batch = orig.FastBaseTransform()(frame.unsqueeze(0))
    preds = net(batch)
    det = preds[0]["detection"]
    # postprocess edits these in place, so copy first.
    raw = {"class": det["class"].numpy().astype(np.int16), "score": det["score"].clone().numpy(),
           "box": det["box"].clone().numpy(), "coeff": det["mask"].clone().numpy()}
    h, w = image_bgr.shape[:2]
    classes, scores, boxes, masks = orig.postprocess(preds, w, h, crop_masks=True, score_threshold=0)[:4]
    assert np.array_equal(classes.numpy(), raw["class"])
    if isinstance(scores, list):  # YOLACT++ with rescore_bbox False: [box, box * mask IoU]
        assert np.array_equal(scores[0].numpy(), raw["score"])
        raw["mask_score"] = scores[1].numpy()
    else:
        assert np.array_equal(scores.numpy(), raw["score"])
    raw["pixel_box"] = boxes.numpy().astype(np.int16)
    raw["masks"] = masks.numpy() > 0.5
    return raw


def encode_rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_util

    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    out = {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}
    assert np.array_equal(T.decode_rle(out), mask), "the test's RLE decoder disagrees with pycocotools"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--yolact-root", type=Path, required=True, help="unpacked original repository")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "goldens")
    ap.add_argument("--images", type=Path, default=ROOT / "tests" / "data" / "photos")
    ap.add_argument("--original-commit", default="902073d414728280b496c5f0a59a8e8285b3c13c",
                    help="the commit --yolact-root was unpacked from (recorded in the goldens)")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--cross-class-nms", action="store_true",
                    help="the original's cc_fast_nms (writes <config>_cross_class.{json,npz})")
    ap.add_argument("--nms-thresh", type=float, default=None, help="Detect's IoU threshold (default: the config's)")
    args = ap.parse_args()
    orig = import_original(args.yolact_root.resolve())
    images = {f: cv2.imread(str(args.images / f), cv2.IMREAD_COLOR) for f in IMAGES}
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.configs:
        original_config, files = CONFIGS[name]
        scales, bias = calibrate(name, images[IMAGES[0]])  # always on the first image
        model = build_model(name)
        sd = T.golden_state_dict(model, SEED, scales, bias)
        sha = T.state_dict_sha256(sd)
        arrays: dict[str, np.ndarray] = {}
        meta = {"config": name, "original_config": original_config,
                "original_commit": args.original_commit,
                "torch": torch.__version__, "numpy": np.__version__, "seed": SEED, "scales": scales,
                "conf_background_bias": bias,
                "weights_sha256": sha, "images": [], "masks": []}
        if args.cross_class_nms:
            meta["cross_class_nms"] = True
        if args.nms_thresh is not None:
            meta["nms_thresh"] = args.nms_thresh
        if model.config.has_dcn:
            meta["dcn_kernel"] = ("original external/DCNv2/dcn_v2.py with its _ext.dcn_v2_forward computed by "
                                  "yolact_export.model.dcn.deform_conv2d (the original has no CPU kernel)")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "weights.pth"
            torch.save(sd, path)
            net = build_original(orig, original_config, path, args.cross_class_nms, args.nms_thresh)
            for im, file in enumerate(files):
                image = images[file]
                out = run_original(orig, net, image)
                meta["images"].append({"file": file, "shape": list(image.shape)})
                meta["masks"].append([encode_rle(m) for m in out.pop("masks")])
                for k, v in out.items():
                    arrays[f"{im}_{k}"] = v
                print(f"{name} {file}: {len(out['score'])} dets, top scores "
                      f"{np.round(out['score'][:5], 4).tolist()}", flush=True)
        stem = name + ("_cross_class" if args.cross_class_nms else "")
        np.savez_compressed(args.out / f"{stem}.npz", **arrays)
        (args.out / f"{stem}.json").write_text(json.dumps(meta, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
