"""Timing summaries: median, p90, min (and mean) in milliseconds, images per second."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p90_ms: float
    min_ms: float
    mean_ms: float
    runs: int
    images_per_s: float  # batch / median

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarize(seconds: Sequence[float], images_per_run: int = 1) -> Timing:
    """Seconds per run -> Timing. p90 by linear interpolation (numpy's default)."""
    if len(seconds) == 0:
        raise ValueError("no timings to summarize")
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    median = float(np.median(ms))
    return Timing(median_ms=median, p90_ms=float(np.percentile(ms, 90)), min_ms=float(ms.min()),
                  mean_ms=float(ms.mean()), runs=len(ms),
                  images_per_s=images_per_run * 1000.0 / median if median > 0 else float("inf"))


def time_calls(fn: Callable[[int], object], runs: int, warmup: int) -> list[float]:
    """Call fn(i) `warmup` times untimed, then `runs` times timed; seconds per call."""
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - start)
    return out


def time_round_robin(calls: dict[str, Callable[[int], object]], runs: int, warmup: int) -> dict[str, list[float]]:
    """Like time_calls for several functions, one call of each per round: fair under background load."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(warmup + runs):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn(i)
            if i >= warmup:
                out[name].append(time.perf_counter() - start)
    return out


class StageClock:
    """Accumulates per-stage seconds of one run: with clock.stage("inference"): ..."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def stage(self, name: str) -> "_Stage":
        return _Stage(self, name)


class _Stage:
    def __init__(self, clock: StageClock, name: str) -> None:
        self.clock, self.name = clock, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *_exc) -> None:
        self.clock.seconds[self.name] = self.clock.seconds.get(self.name, 0.0) + time.perf_counter() - self.start
