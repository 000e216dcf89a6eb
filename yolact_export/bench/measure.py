"""Timing: median / p90 / min in ms and images/s, several calls timed round-robin, one path's stages."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

STAGES = ("preprocess", "inference", "postprocess")
# Idle time before each timed call when several engines alternate: onnxruntime's and torch's
# worker threads spin after a run, and without it PyTorch measured 2x slower right after ORT.
SETTLE_S = 0.25


def summarize(seconds: Sequence[float]) -> dict:
    """Seconds per run -> ms summary; p90 by linear interpolation (numpy's default)."""
    if len(seconds) == 0:
        raise ValueError("no timings to summarize")
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    median = float(np.median(ms))
    return {"median_ms": round(median, 4), "p90_ms": round(float(np.percentile(ms, 90)), 4),
            "min_ms": round(float(ms.min()), 4), "mean_ms": round(float(ms.mean()), 4), "runs": len(ms),
            "images_per_s": round(1000.0 / median, 4) if median > 0 else None}


def time_round_robin(calls: dict[str, Callable[[int], object]], runs: int, warmup: int,
                     settle: bool = False) -> dict[str, list[float]]:
    """`warmup` untimed rounds, then `runs` timed ones: one call of each per round, the order
    rotating, so that background load and frequency changes fall on every call alike. settle:
    pause SETTLE_S before each timed call (engines with their own worker threads)."""
    names = list(calls)
    for i in range(warmup):
        for name in names:
            calls[name](i)
    out: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            if settle and len(names) > 1:
                time.sleep(SETTLE_S)
            start = time.perf_counter()
            calls[name](i)
            out[name].append(time.perf_counter() - start)
    return out


class Laps:
    """Seconds per stage of one run: lap(stage) at the end of each."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage], self.last = now - self.last, now


class StageRecorder:
    """One path's calls: call i runs images[i % n] through engine.preprocess / infer / postprocess
    (yolact_runtime.Yolact's methods, or the PyTorch path's), each stage timed; the first raw
    outputs per image are kept for the agreement."""

    def __init__(self, engine, images: Sequence[np.ndarray]) -> None:
        self.engine, self.images = engine, images
        self.stages: dict[str, list[float]] = {s: [] for s in STAGES}
        self.counts: list[int] = []
        self.first_raws: dict[int, object] = {}

    def __call__(self, i: int) -> None:
        image, laps = self.images[i % len(self.images)], Laps()
        tensor = self.engine.preprocess([image])
        laps.lap("preprocess")
        raw = self.engine.infer(tensor)[0]
        laps.lap("inference")
        result = self.engine.postprocess(raw, image.shape[:2])
        laps.lap("postprocess")
        for stage in STAGES:
            self.stages[stage].append(laps.seconds[stage])
        self.counts.append(len(result))
        self.first_raws.setdefault(i % len(self.images), raw)

    def summary(self, totals: Sequence[float], skip: int) -> dict:
        """The timed calls' summary: totals from the round-robin timer, stages after the first `skip` calls."""
        stages = {s: summarize(v[skip:]) for s, v in self.stages.items()}
        whole = sum(t["median_ms"] for t in stages.values()) or 1.0
        return {"total": summarize(totals), "stages": stages,
                "stage_share": {s: round(t["median_ms"] / whole, 4) for s, t in stages.items()},
                "detections_mean": float(np.mean(self.counts[skip:]))}
