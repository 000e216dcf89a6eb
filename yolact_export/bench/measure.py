"""Timing the paths: warm-up and timed runs of one path, or of all paths in rotating rounds."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from yolact_runtime.core.raw import RawDetections

from .paths import STAGES, EnginePath
from .stats import StageClock, summarize


@dataclass
class PathResult:
    name: str
    device: str
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    total: dict | None = None
    stages: dict[str, dict] = field(default_factory=dict)
    stage_share: dict[str, float] = field(default_factory=dict)
    detections_mean: float | None = None
    first_raws: list[RawDetections] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        out = {"device": self.device, "status": self.status}
        if self.note:
            out["note"] = self.note
        if self.total is not None:
            out.update(total=self.total, stages=self.stages, stage_share=self.stage_share,
                       detections_mean=self.detections_mean)
        return out


class _Recorder:
    """One path's runs: run i takes images[i*batch ...] (cycling); stage times summed over the batch."""

    def __init__(self, path: EnginePath, images: Sequence[np.ndarray], batch: int) -> None:
        self.path, self.images, self.batch = path, images, batch
        self.totals: list[float] = []
        self.per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
        self.counts: list[int] = []
        self.first: dict[int, RawDetections] = {}
        self.calls = 0

    def one(self, record: bool) -> float:
        i, self.calls = self.calls, self.calls + 1
        picks = [(i * self.batch + j) % len(self.images) for j in range(self.batch)]
        chosen = [self.images[p] for p in picks]
        path, clock = self.path, StageClock()
        with clock.stage("preprocess"):
            tensor = path.preprocess(chosen)
        with clock.stage("inference"):
            raws = path.infer(tensor)
        with clock.stage("postprocess"):
            results = [path.postprocess(raw, image.shape[:2]) for raw, image in zip(raws, chosen)]
        total = sum(clock.seconds.values())
        if record:
            self.totals.append(total)
            for stage in STAGES:
                self.per_stage[stage].append(clock.seconds[stage])
            self.counts.extend(len(r) for r in results)
        for p, raw in zip(picks, raws):
            self.first.setdefault(p, raw)
        return total

    def result(self) -> PathResult:
        medians = {s: float(np.median(v)) for s, v in self.per_stage.items()}
        whole = sum(medians.values()) or 1.0
        return PathResult(
            name=self.path.name, device=self.path.device, note=self.path.note,
            total=summarize(self.totals, self.batch).to_dict(),
            stages={s: summarize(v, self.batch).to_dict() for s, v in self.per_stage.items()},
            stage_share={s: round(m / whole, 4) for s, m in medians.items()},
            detections_mean=float(np.mean(self.counts)) if self.counts else 0.0,
            first_raws=[self.first[k] for k in sorted(self.first)],
        )


def measure(path: EnginePath, images: Sequence[np.ndarray], runs: int, warmup: int, batch: int = 1,
            budget_s: float | None = None) -> PathResult:
    """`warmup` untimed runs, then `runs` timed ones, of one path.

    budget_s: when the first warm-up run shows that warm-up and runs would take longer, the rest
    of the warm-up is skipped and only the runs that fit are made (at least 1), so that a very slow
    path (bf16 on a CPU without oneDNN bf16: naive convolutions) does not stall the bench.
    """
    recorder = _Recorder(path, images, batch)
    if warmup:
        first_s = recorder.one(record=False)
        if budget_s and first_s * (warmup + runs) > budget_s:
            # Too slow for the budget: no more warm-up; as many runs as fit, at least 1.
            runs = max(1, min(runs, int(budget_s / max(first_s, 1e-9))))
        else:
            for _ in range(1, warmup):
                recorder.one(record=False)
    for _ in range(runs):
        recorder.one(record=True)
    return recorder.result()


SETTLE_S = 0.25  # idle time before each timed run of another path: lets the previous engine's threads park


def measure_interleaved(paths: Sequence[EnginePath], images: Sequence[np.ndarray], runs: int, warmup: int,
                        batch: int = 1) -> list[PathResult]:
    """All paths in rounds (one run each per round, the order rotating), so that background load
    and frequency changes fall on every path alike and the ratios stay fair on a busy machine.

    Engines keep their worker threads spinning for a while after a run (onnxruntime's intra-op
    pool, torch's OpenMP team); without the settle pause the next path's threads compete with
    them (measured: PyTorch 2x slower right after an onnxruntime run on 2 cores).
    """
    recorders = [_Recorder(p, images, batch) for p in paths]
    for _ in range(warmup):
        for recorder in recorders:
            recorder.one(record=False)
    for i in range(runs):
        k = i % len(recorders)
        for recorder in recorders[k:] + recorders[:k]:
            if SETTLE_S and len(recorders) > 1:
                time.sleep(SETTLE_S)
            recorder.one(record=True)
    return [r.result() for r in recorders]
