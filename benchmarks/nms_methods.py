"""NMS methods at full prior count (v1 @ 550: 19,248 priors x 80 classes), each method from the same inputs,
box decoding included: fast-onnx (decode + fast_nms as in the detector graph, alone in ORT), onnx-nms
(the same decode + NonMaxSuppression + TopK, in ORT), traditional (greedy per class on the host),
fast-torch (fast_nms in PyTorch eager). Inputs as a trained detector's: most priors confidently
background, some false candidates, and around each object priors scored by their IoU to it.
The experiment that chose Fast NMS in the graph; yolact-bench no longer runs it:

    python benchmarks/nms_methods.py [--size 550] [--classes 80] [--runs 20] [--out nms.json]
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto as T, helper
from yolact_runtime.core.session import cpu_session

from yolact_export.bench.machine import describe
from yolact_export.bench.measure import summarize, time_round_robin
from yolact_export.detection.boxes import box_iou, decode_boxes, encode, point_form
from yolact_export.detection.nms import fast_nms, traditional_nms
from yolact_export.detection.graph import NmsSettings
from yolact_export.model.config import get_config
from yolact_export.model.priors import config_priors
from record import write_record  # benchmarks/record.py (the script's own folder is on sys.path)

SCENARIOS = {"typical": (8, 6.0), "crowded": (40, 5.0)}  # objects, mean background logit
METHODS = ("fast-onnx", "onnx-nms", "traditional", "fast-torch")
SIZE, CLASSES = 550, 80


def synthetic_outputs(priors: np.ndarray, classes: int, objects: int, background: float, seed: int):
    """Detector-like loc [1, N, 4] and softmax conf [1, N, C+1] (background first) for random objects."""
    rng = np.random.default_rng(seed)
    n = priors.shape[0]
    size = np.exp(rng.uniform(math.log(0.04), math.log(0.7), (objects, 1)))
    aspect = np.exp(rng.uniform(math.log(0.5), math.log(2.0), (objects, 1)))
    wh = np.concatenate([size * np.sqrt(aspect), size / np.sqrt(aspect)], axis=1).clip(0.02, 0.95)
    gt = np.concatenate([rng.uniform(0.1, 0.9, (objects, 2)), wh], axis=1)
    labels, confused = rng.integers(0, classes, objects), rng.integers(0, classes, objects)
    logits = rng.normal(0.0, 1.0, (n, classes + 1))
    logits[:, 0] = rng.normal(background, 1.0, n)
    loc = rng.normal(0.0, 1.0, (n, 4))
    overlap = box_iou(point_form(torch.from_numpy(priors)), point_form(torch.from_numpy(gt))).numpy()
    best = overlap.argmax(1)
    on = np.nonzero(overlap[np.arange(n), best] > 0.2)[0]
    j = best[on]
    score = logits[on, 0] + 10.0 * (overlap[on, j] - 0.5) + rng.normal(0.0, 0.7, on.size)
    logits[on, 1 + labels[j]] = score
    logits[on, 1 + confused[j]] = np.maximum(logits[on, 1 + confused[j]], score - 2.5)
    loc[on] = encode(point_form(torch.from_numpy(gt[j])), torch.from_numpy(priors[on])).numpy()
    loc[on] += rng.normal(0.0, 0.5, (on.size, 4))
    conf = np.exp(logits - logits.max(1, keepdims=True))
    return loc[None].astype(np.float32), (conf / conf.sum(1, keepdims=True))[None].astype(np.float32)


class _Graph(torch.nn.Module):
    def __init__(self, priors: np.ndarray, nms, fast: bool) -> None:
        super().__init__()
        self.register_buffer("priors", torch.from_numpy(priors))
        self.nms, self.fast = nms, fast

    def forward(self, loc, conf):
        boxes, s = decode_boxes(loc, self.priors), self.nms
        if not self.fast:  # what NonMaxSuppression takes: boxes [1, N, 4], scores [1, C, N]
            return boxes, conf[..., 1:].transpose(1, 2)
        det = fast_nms(boxes, conf[..., 1:], s.score_threshold, s.iou_threshold, s.top_k, s.max_detections,
                       s.cross_class)
        return det.boxes, det.scores, det.classes, det.indices, det.num_detections


def _session(module: _Graph, loc, conf, path: Path, threads: int | None):
    names = ["boxes", "scores", "classes", "indices", "num_detections"] if module.fast else ["decoded", "class_scores"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.from_numpy(loc), torch.from_numpy(conf)), str(path), dynamo=False,
                          opset_version=19, input_names=["loc", "conf"], output_names=names)
    if not module.fast:  # per-class NMS, then the best max_detections overall: selected -> (batch, class, prior)
        model, s, node = onnx.load(str(path)), module.nms, helper.make_node
        model.graph.initializer.extend(helper.make_tensor(name, kind, [len(values)], values) for name, kind, values in (
            ("per_class", T.INT64, [s.max_detections]), ("iou", T.FLOAT, [s.iou_threshold]),
            ("score", T.FLOAT, [s.score_threshold]), ("cols", T.INT64, [0, 2])))
        model.graph.node.extend([
            node("NonMaxSuppression", ["decoded", "class_scores", "per_class", "iou", "score"], ["selected"]),
            node("GatherND", ["class_scores", "selected"], ["all_scores"]), node("Shape", ["all_scores"], ["n"]),
            node("Min", ["n", "per_class"], ["k"]), node("TopK", ["all_scores", "k"], ["scores", "pos"]),
            node("Gather", ["selected", "pos"], ["kept"]), node("Gather", ["kept", "cols"], ["refs"], axis=1),
            node("GatherND", ["decoded", "refs"], ["boxes"])])
        del model.graph.output[:]
        model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in ("boxes", "scores", "kept"))
        onnx.save(model, str(path))
    return cpu_session(path, threads)


def compare(loc: np.ndarray, conf: np.ndarray, priors: np.ndarray, nms, runs: int, warmup: int, threads) -> dict:
    """Each method timed round-robin; the (prior, class) pairs it keeps against traditional NMS's."""
    feeds, s, (loc_t, conf_t, priors_t) = {"loc": loc, "conf": conf}, nms, map(torch.from_numpy, (loc, conf, priors))
    eager = _Graph(priors, nms, True).eval()
    with tempfile.TemporaryDirectory() as tmp:
        fast, standard = (_session(_Graph(priors, nms, f), loc, conf, Path(tmp) / f"{f}.onnx", threads)
                          for f in (True, False))
    calls = {"fast-onnx": lambda: fast.run(None, feeds), "onnx-nms": lambda: standard.run(None, feeds),
             "traditional": lambda: traditional_nms(decode_boxes(loc_t, priors_t)[0], conf_t[0, :, 1:],
                                                       s.score_threshold, s.iou_threshold, s.max_detections),
             "fast-torch": lambda: eager(loc_t, conf_t)}
    fast_pairs = lambda o: (o[3][0, :int(o[4][0])], o[2][0, :int(o[4][0])])  # noqa: E731 (valid rows)
    picks = {"fast-onnx": fast_pairs, "onnx-nms": lambda o: (o[2][:, 2], o[2][:, 1]),
             "traditional": lambda o: (o[3], o[2]), "fast-torch": fast_pairs}
    with torch.inference_mode():
        kept = {m: set(zip(*(np.asarray(v).tolist() for v in picks[m](call())))) for m, call in calls.items()}
        seconds = time_round_robin(calls, runs, warmup, settle=True)
    base, reference, fg = float(np.median(seconds["fast-onnx"])), kept["traditional"], conf[0, :, 1:]
    above = fg > s.score_threshold
    return {"inputs": {"priors": priors.shape[0], "classes": fg.shape[1], "candidates": int(above.any(axis=1).sum()),
                       "class_scores_above_threshold": int(above.sum())},
            "methods": {m: {"timing": summarize(seconds[m]), "detections": len(kept[m]),
                            "agreement_with_traditional": round(len(kept[m] & reference) / max(len(reference), 1), 4),
                            "x_fast_onnx": round(float(np.median(seconds[m])) / base, 3)} for m in METHODS}}


def nms_comparison(nms, runs: int, warmup: int, threads: int | None, log=lambda _m: None, size: int = SIZE,
                   classes: int = CLASSES) -> dict:
    """Both scenarios at `size`'s priors (v1) and `classes` classes."""
    priors = config_priors(get_config("yolact_base").at_size(size)).numpy()
    out = {"settings": {**vars(nms), "input_size": size}, "scenarios": {}}
    for seed, (name, (objects, background)) in enumerate(SCENARIOS.items()):
        log(f"NMS comparison: {name} ({priors.shape[0]} priors, {classes} classes)")
        loc, conf = synthetic_outputs(priors, classes, objects, background, seed)
        out["scenarios"][name] = compare(loc, conf, priors, nms, runs, warmup, threads)
    return out



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--classes", type=int, default=CLASSES)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", help="JSON file (default: stdout)")
    args = parser.parse_args()
    doc = nms_comparison(NmsSettings(), args.runs, 3, args.threads, lambda m: print(m, file=sys.stderr),
                         args.size, args.classes)
    write_record({"machine": describe(args.threads), **doc}, args.out)


if __name__ == "__main__":
    main()
