"""Postprocess under load: the ONNX fp32 path's own outputs for its most crowded image (up to D = 100
rows, no score threshold) as if the frame were 1280x720, in each mask mode, with its share of an
end-to-end request; beside them the "before" modes, the runtime's whole-frame masks before window.py
(sigmoid over whole planes, one whole-frame resize per mask, RLE from dense masks): the same pixels."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from yolact_runtime.core.masks.rle import encode_rles
from yolact_runtime.core.postprocess import PostprocessOptions, kept_rows, postprocess
from yolact_runtime.core.raw import RawDetections

from .before import crop_masks, paint, whole_frame_windows
from .measure import summarize, time_round_robin

FRAME = (720, 1280)  # height, width
MODES = ("image", "rle", "proto")
BEFORE = ("image", "rle")


def whole_frame_masks(raw: RawDetections, mode: str) -> np.ndarray | list[dict]:
    """The masks of all valid rows at FRAME, computed the way the runtime did before windows."""
    rows = kept_rows(raw, PostprocessOptions())
    h, w, k = raw.prototypes.shape
    soft = 1 / (1 + np.exp(-(raw.coefficients[rows] @ raw.prototypes.reshape(h * w, k).T)))
    soft = crop_masks(soft.astype(np.float32).reshape(-1, h, w), raw.boxes[rows])
    planes = paint(whole_frame_windows(soft, *FRAME), len(rows), *FRAME, column_major=mode == "rle")
    return encode_rles(planes) if mode == "rle" else planes


def postprocess_load(raws: Sequence[RawDetections], class_names: Sequence[str], stages: dict,
                     runs: int, warmup: int) -> dict:
    raw = max(raws, key=lambda r: r.count)
    before = stages["preprocess"]["median_ms"] + stages["inference"]["median_ms"]
    out: dict = {"frame": {"height": FRAME[0], "width": FRAME[1]}, "detections": raw.count, "modes": {}}
    calls = {m: (lambda m=m: postprocess(raw, FRAME, class_names, None, PostprocessOptions(masks=m)))
             for m in MODES}
    calls.update({f"{m} before": (lambda m=m: whole_frame_masks(raw, m)) for m in BEFORE})
    for mode, seconds in time_round_robin(calls, runs, warmup).items():
        timing = summarize(seconds)
        timing["share_of_end_to_end"] = round(timing["median_ms"] / (before + timing["median_ms"]), 4)
        out["modes"][mode] = timing
    for mode in BEFORE:
        modes = out["modes"]
        modes[mode]["speedup_vs_before"] = round(modes[f"{mode} before"]["median_ms"] / modes[mode]["median_ms"], 2)
    return out
