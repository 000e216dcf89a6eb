"""Postprocess under load: the most detections the graph gives (up to D = 100) at 1280x720.

The real images give few detections above the display threshold, so the end-to-end table says
little about a crowded frame. Here the ONNX fp32 path's own outputs for one image (the one with
the most detections) are postprocessed as if the frame were 1280x720, with no score threshold,
in each mask mode; the share is of an end-to-end request of that path (its measured preprocess
and inference medians plus this postprocess).
"""
from __future__ import annotations

from collections.abc import Sequence

from yolact_runtime.postprocess import PostprocessOptions, postprocess
from yolact_runtime.raw import RawDetections

from .stats import summarize, time_calls

FRAME = (720, 1280)  # height, width
MODES = ("image", "rle", "proto")


def postprocess_load(raws: Sequence[RawDetections], class_names: Sequence[str], stages: dict,
                     runs: int, warmup: int) -> dict:
    raw = max(raws, key=lambda r: r.count)
    before = stages["preprocess"]["median_ms"] + stages["inference"]["median_ms"]
    out: dict = {"frame": {"height": FRAME[0], "width": FRAME[1]}, "detections": raw.count, "modes": {}}
    for mode in MODES:
        options = PostprocessOptions(score_threshold=0.0, masks=mode)
        timing = summarize(time_calls(lambda _i: postprocess(raw, FRAME, class_names, None, options),
                                      runs, warmup)).to_dict()
        timing["share_of_end_to_end"] = round(timing["median_ms"] / (before + timing["median_ms"]), 4)
        out["modes"][mode] = timing
    return out


def postload_line(load: dict) -> str:
    f = load["frame"]
    modes = ", ".join(f"{m} {t['median_ms']:.1f} ms ({100 * t['share_of_end_to_end']:.1f} %)"
                      for m, t in load["modes"].items())
    return (f"postprocess of {load['detections']} detections at {f['width']}x{f['height']} "
            f"(share of an onnx-fp32 request): {modes}")
