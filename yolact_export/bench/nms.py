"""NMS at full prior count: in-graph Fast NMS (ORT) vs ONNX NonMaxSuppression (ORT) vs traditional.

Inputs are what the network hands to detection: SSD-encoded offsets `loc` [1, N, 4] and softmax
scores `conf` [1, N, C+1] (background first), drawn by nms_inputs.synthetic_outputs.

Methods (all include box decoding, so they do the same work from the same inputs):
  fast-onnx       decode + yolact_export.detection.nms.fast_nms exported to a small ONNX graph, run in ORT
  onnx-nms        decode exported the same way + the standard ONNX NonMaxSuppression op (all classes
                  in one op, per-class NMS) + TopK over the kept boxes, run in ORT
  traditional     decode in torch + yolact_export.detection.nms.traditional_nms (greedy per class, the
                  original's cross-checked "traditional" path)
  fast-torch      decode + fast_nms in PyTorch eager (the reference graph, not exported)
"""
from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ..detection.graph import NmsSettings
from . import measure
from .nms_inputs import NmsInputs, default_priors, synthetic_outputs
from .stats import summarize, time_calls

SCENARIOS = {
    # name: (objects, mean background logit): "typical" is a few objects per COCO image,
    # "crowded" a busy street scene with many more candidates.
    "typical": (8, 6.0),
    "crowded": (40, 5.0),
}
METHODS = ("fast-onnx", "onnx-nms", "traditional", "fast-torch")


# ---------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------
def _export(module, inputs: NmsInputs, path: Path, output_names: list[str]) -> None:
    import torch

    args = (torch.from_numpy(inputs.loc), torch.from_numpy(inputs.conf))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, str(path), dynamo=False, opset_version=19,
                          input_names=["loc", "conf"], output_names=output_names, do_constant_folding=True)


def export_fast_nms(inputs: NmsInputs, nms: NmsSettings, path: Path) -> Path:
    """decode + fast_nms exactly as the detector graph has them, alone in one ONNX graph."""
    import torch

    from ..detection.nms import fast_nms
    from ..detection.boxes import decode_boxes

    class FastNms(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("priors", torch.from_numpy(inputs.priors))

        def forward(self, loc, conf):
            det = fast_nms(decode_boxes(loc, self.priors), conf[..., 1:], nms.score_threshold, nms.iou_threshold,
                           nms.top_k, nms.max_detections, nms.cross_class)
            return det.boxes, det.scores, det.classes, det.indices, det.num_detections

    _export(FastNms(), inputs, path, ["boxes", "scores", "classes", "indices", "num_detections"])
    return path


def export_onnx_nms(inputs: NmsInputs, nms: NmsSettings, path: Path) -> Path:
    """decode (exported from our code) + NonMaxSuppression + TopK, built with onnx.helper.

    Per-class NMS of the standard op: boxes [1, N, 4], scores [1, C, N]; a class score enters when
    it is > score_threshold (as traditional_nms), a box is suppressed by a kept box at IoU >
    iou_threshold. At most max_detections per class, then the best max_detections overall.
    """
    import onnx
    import torch
    from onnx import TensorProto, helper

    from ..detection.boxes import decode_boxes

    class Decode(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("priors", torch.from_numpy(inputs.priors))

        def forward(self, loc, conf):
            return decode_boxes(loc, self.priors), conf[..., 1:].transpose(1, 2)

    raw = path.with_suffix(".decode.onnx")
    _export(Decode(), inputs, raw, ["decoded", "class_scores"])
    model = onnx.load(str(raw))
    raw.unlink()
    g = model.graph

    def const(name, value, dtype):
        g.initializer.append(helper.make_tensor(name, dtype, [len(value)], value))

    const("max_per_class", [nms.max_detections], TensorProto.INT64)
    const("iou_threshold", [nms.iou_threshold], TensorProto.FLOAT)
    const("score_threshold", [nms.score_threshold], TensorProto.FLOAT)
    const("max_detections", [nms.max_detections], TensorProto.INT64)
    const("col0", [0], TensorProto.INT64)
    const("col1", [1], TensorProto.INT64)
    const("col2", [2], TensorProto.INT64)
    const("axis1", [1], TensorProto.INT64)
    nodes = [
        helper.make_node("NonMaxSuppression", ["decoded", "class_scores", "max_per_class", "iou_threshold",
                                               "score_threshold"], ["selected"], name="nms", center_point_box=0),
        helper.make_node("GatherND", ["class_scores", "selected"], ["sel_scores"], name="sel_scores"),
        helper.make_node("Gather", ["selected", "col1"], ["sel_cls2"], name="sel_cls", axis=1),
        helper.make_node("Gather", ["selected", "col2"], ["sel_box2"], name="sel_box", axis=1),
        helper.make_node("Gather", ["selected", "col0"], ["sel_img2"], name="sel_img", axis=1),
        helper.make_node("Shape", ["sel_scores"], ["sel_count"], name="count"),
        helper.make_node("Min", ["sel_count", "max_detections"], ["k"], name="k"),
        helper.make_node("TopK", ["sel_scores", "k"], ["scores", "pos"], name="topk", axis=0, largest=1, sorted=1),
        helper.make_node("Gather", ["sel_cls2", "pos"], ["classes2"], name="g_cls", axis=0),
        helper.make_node("Gather", ["sel_box2", "pos"], ["indices2"], name="g_idx", axis=0),
        helper.make_node("Gather", ["sel_img2", "pos"], ["images2"], name="g_img", axis=0),
        helper.make_node("Squeeze", ["classes2", "axis1"], ["classes"], name="sq_cls"),
        helper.make_node("Squeeze", ["indices2", "axis1"], ["indices"], name="sq_idx"),
        helper.make_node("Concat", ["images2", "indices2"], ["box_ref"], name="box_ref", axis=1),
        helper.make_node("GatherND", ["decoded", "box_ref"], ["boxes"], name="g_boxes"),
    ]
    g.node.extend(nodes)
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["k", 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["k"]),
        helper.make_tensor_value_info("classes", TensorProto.INT64, ["k"]),
        helper.make_tensor_value_info("indices", TensorProto.INT64, ["k"]),
    ])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------
def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _pairs(indices: np.ndarray, classes: np.ndarray) -> set[tuple[int, int]]:
    return {(int(i), int(c)) for i, c in zip(indices.reshape(-1), classes.reshape(-1))}


def compare(inputs: NmsInputs, nms: NmsSettings, runs: int, warmup: int, threads: int | None,
            methods: tuple[str, ...] = METHODS, work_dir: str | os.PathLike[str] | None = None) -> dict:
    """Time each method on `inputs`; detections kept and agreement with traditional NMS."""
    import torch

    from ..detection.nms import fast_nms, traditional_nms
    from ..detection.boxes import decode_boxes

    loc_t, conf_t = torch.from_numpy(inputs.loc), torch.from_numpy(inputs.conf)
    priors_t = torch.from_numpy(inputs.priors)
    feeds = {"loc": inputs.loc, "conf": inputs.conf}
    results: dict[str, dict] = {}
    kept: dict[str, set] = {}
    runners: dict[str, tuple] = {}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        for method in methods:
            if method == "fast-onnx":
                session = _session(export_fast_nms(inputs, nms, Path(tmp) / "fast.onnx"), threads)

                def run(_i, session=session):
                    return session.run(None, feeds)

                def pairs(out):
                    n = int(out[4][0])
                    return _pairs(out[3][0, :n], out[2][0, :n])
            elif method == "onnx-nms":
                session = _session(export_onnx_nms(inputs, nms, Path(tmp) / "onnx_nms.onnx"), threads)

                def run(_i, session=session):
                    return session.run(None, feeds)

                def pairs(out):
                    return _pairs(out[3], out[2])
            elif method == "traditional":
                def run(_i):
                    with torch.no_grad():
                        boxes = decode_boxes(loc_t, priors_t)[0]
                        return traditional_nms(boxes, conf_t[0, :, 1:], nms.score_threshold, nms.iou_threshold,
                                               nms.max_detections)

                def pairs(out):
                    return _pairs(out[3].numpy(), out[2].numpy())
            elif method == "fast-torch":
                def run(_i):
                    with torch.no_grad():
                        return fast_nms(decode_boxes(loc_t, priors_t), conf_t[..., 1:], nms.score_threshold,
                                        nms.iou_threshold, nms.top_k, nms.max_detections, nms.cross_class)

                def pairs(out):
                    n = int(out.num_detections[0])
                    return _pairs(out.indices[0, :n].numpy(), out.classes[0, :n].numpy())
            else:
                raise ValueError(f"unknown NMS method {method!r}: choose from {', '.join(METHODS)}")
            runners[method] = (run, pairs)
        # Interleaved (round-robin, rotating order) so that background load hits every method alike.
        seconds: dict[str, list[float]] = {m: [] for m in runners}
        order = list(runners)
        with torch.inference_mode():
            for method, (run, pairs) in runners.items():
                kept[method] = pairs(run(0))
                time_calls(run, 0, warmup)
            for i in range(runs):
                k = i % len(order)
                for method in order[k:] + order[:k]:
                    time.sleep(measure.SETTLE_S)  # let the previous engine's worker threads park
                    seconds[method] += time_calls(runners[method][0], 1, 0)
        for method in runners:
            results[method] = {"timing": summarize(seconds[method]).to_dict(), "detections": len(kept[method])}
    if "traditional" in kept:
        reference = kept["traditional"]
        for method, found in kept.items():
            results[method]["agreement_with_traditional"] = (
                round(len(found & reference) / len(reference), 4) if reference else None)
    base = results.get("fast-onnx")
    ratios = {}
    if base:
        for method, entry in results.items():
            ratios[f"{method} / fast-onnx"] = round(entry["timing"]["median_ms"] / base["timing"]["median_ms"], 3)
    return {"inputs": inputs.stats(nms.score_threshold), "methods": results, "ratios_median": ratios,
            "mode": "interleaved"}


def run_nms_comparison(nms: NmsSettings, runs: int, warmup: int, threads: int | None, size: int = 550,
                       num_classes: int = 80, methods: tuple[str, ...] = METHODS, scenarios: tuple[str, ...] =
                       tuple(SCENARIOS), extra: list[NmsInputs] = (), work_dir=None,
                       log=lambda _m: None) -> dict:
    priors = default_priors(size)
    out = {"settings": {"score_threshold": nms.score_threshold, "iou_threshold": nms.iou_threshold,
                        "top_k": nms.top_k, "max_detections": nms.max_detections, "cross_class": nms.cross_class,
                        "input_size": size, "note": "batch 1; every method includes box decoding"},
           "scenarios": {}}
    inputs = [synthetic_outputs(name, priors, num_classes, *SCENARIOS[name], seed=i)
              for i, name in enumerate(scenarios)] + list(extra)
    for item in inputs:
        log(f"NMS comparison: {item.name} ({item.num_priors} priors, {item.num_classes} classes)")
        out["scenarios"][item.name] = compare(item, nms, runs, warmup, threads, methods, work_dir)
    return out
