"""Postprocess under load: the ONNX fp32 path's own outputs for its most crowded image (up to D = 100
rows, no score threshold) as if the frame were 1280x720, through Yolact.postprocess in each mask mode,
with its share of an end-to-end request; beside them before.py's whole-frame masks (the same pixels)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from yolact_runtime import Yolact

from .before import whole_frame_masks
from .measure import summarize, time_round_robin

FRAME = (720, 1280)  # height, width
MODES = ("image", "rle", "proto")
BEFORE = ("image", "rle")


def ranked_rows(raw) -> np.ndarray:
    """Every valid row, ranked as the runtime ranks them (threshold 0: select_rows keeps all)."""
    ranking = (raw.mask_scores if raw.mask_scores is not None else raw.scores)[: raw.count]
    return np.argsort(-ranking, kind="stable")


def postprocess_load(graph: Path, raws: Sequence, stages: dict, runs: int, warmup: int) -> dict:
    raw = max(raws, key=lambda r: r.count)
    before = stages["preprocess"]["median_ms"] + stages["inference"]["median_ms"]
    out: dict = {"frame": {"height": FRAME[0], "width": FRAME[1]}, "detections": raw.count, "modes": {}}
    models = {mode: Yolact(graph, "cpu", score_threshold=0.0, masks=mode) for mode in MODES}
    calls = {mode: (lambda m=model: m.postprocess(raw, FRAME)) for mode, model in models.items()}
    rows = ranked_rows(raw)
    calls.update({f"{m} before": (lambda m=m: whole_frame_masks(raw, rows, *FRAME, m)) for m in BEFORE})
    for mode, seconds in time_round_robin(calls, runs, warmup).items():
        timing = summarize(seconds)
        timing["share_of_end_to_end"] = round(timing["median_ms"] / (before + timing["median_ms"]), 4)
        out["modes"][mode] = timing
    for mode in BEFORE:
        modes = out["modes"]
        modes[mode]["speedup_vs_before"] = round(modes[f"{mode} before"]["median_ms"] / modes[mode]["median_ms"], 2)
    return out
