"""Timing: median / p90 / min in ms and images/s, several calls timed round-robin, one path's stages."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

STAGES = ("preprocess", "inference", "postprocess")
SETTLE_S = 0.25  # idle before each call of alternating engines: their threads spin after a run (PyTorch 2x slower)


def summarize(seconds: Sequence[float]) -> dict:
    """Seconds per run (at least one) -> ms summary; p90 by linear interpolation (numpy's default)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    median = float(np.median(ms))
    return {"median_ms": round(median, 4), "p90_ms": round(float(np.percentile(ms, 90)), 4),
            "min_ms": round(float(ms.min()), 4), "mean_ms": round(float(ms.mean()), 4), "runs": len(ms),
            "images_per_s": round(1000.0 / median, 4) if median > 0 else None}


def time_round_robin(calls: dict[str, Callable[[], object]], runs: int, warmup: int,
                     settle: bool = False) -> dict[str, list[float]]:
    """`warmup` untimed rounds, then `runs` timed ones, one call of each per round in rotating order:
    background load falls on every call alike. settle: SETTLE_S before each timed call (engines)."""
    names, out = list(calls), {name: [] for name in calls}
    for _ in range(warmup):
        for call in calls.values():
            call()
    for i in range(runs):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            if settle and len(names) > 1:
                time.sleep(SETTLE_S)
            start = time.perf_counter()
            calls[name]()
            out[name].append(time.perf_counter() - start)
    return out


class Laps:
    """Per-stage seconds of runs: lap(stage) at the end of each stage appends the time since the last lap."""

    def __init__(self, seconds: dict[str, list[float]]) -> None:
        self.seconds, self.last = seconds, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage].append(now - self.last)
        self.last = now


def stage_summary(seconds: dict[str, list[float]]) -> dict:
    """Each stage's summary, and its share of the sum of the medians."""
    stages = {s: summarize(v) for s, v in seconds.items()}
    whole = sum(t["median_ms"] for t in stages.values()) or 1.0
    return {"stages": stages, "stage_share": {s: round(t["median_ms"] / whole, 4) for s, t in stages.items()}}


class StageRecorder:
    """One path's runs, each on the next image (cycling) through engine.preprocess / infer / postprocess,
    each stage timed; the first raw outputs and results of each image are kept for the agreement."""

    def __init__(self, engine, images: Sequence[np.ndarray]) -> None:
        self.engine, self.images, self.first_raws, self.first_results, self.counts = engine, images, [], [], []
        self.stages: dict[str, list[float]] = {s: [] for s in STAGES}

    def __call__(self) -> None:
        image, laps = self.images[len(self.counts) % len(self.images)], Laps(self.stages)
        tensor = self.engine.preprocess([image])
        laps.lap("preprocess")
        raw = self.engine.infer(tensor)[0]
        laps.lap("inference")
        result = self.engine.postprocess(raw, image.shape[:2])
        laps.lap("postprocess")
        self.counts.append(len(result))
        if len(self.first_raws) < len(self.images):
            self.first_raws.append(raw)
            self.first_results.append(result)

    def summary(self, totals: Sequence[float], skip: int) -> dict:
        return {"total": summarize(totals), **stage_summary({s: v[skip:] for s, v in self.stages.items()}),
                "detections_mean": float(np.mean(self.counts[skip:]))}
