"""One yolact-run job, whatever the engine: resume, failure accounting and the --json file.

An engine supplies only how the work is found and done: `local_engine.LocalEngine` in this process,
`ray_engine.RayEngine` on a Ray cluster. `run_job` does the rest, the same way for both.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..core.io import write_json
from .discover import InputItem
from .image_ids import GroundTruth
from .layout import OutputLayout
from .records import coco_results, read_record


@dataclass(frozen=True)
class RunOptions:
    """yolact-run's output, video and batching flags (workers: decode and render threads)."""

    out_dir: Path
    json_path: Path | None = None
    save_masks: bool = False
    overlays: bool = True
    batch_size: int = 1
    resume: bool = False
    workers: int = 2
    polygons: bool = False  # COCO polygons instead of RLE in the records and --json
    save_txt: bool = False  # YOLO segmentation labels
    jsonl_path: Path | None = None
    track: bool = False
    vid_stride: int = 1
    max_frames: int | None = None  # per video or stream
    drop: bool = True  # live sources: keep only the newest frame while the model is busy
    ground_truth: GroundTruth | None = None  # --annotations: the --json's image ids (image_ids.py)


@dataclass
class RunSummary:
    """What a job did: images and video frames done, skipped (resume), failed, the time, each error line."""

    errors: list[str] = field(default_factory=list)
    images: int = 0
    frames: int = 0
    skipped: int = 0
    failed: int = 0
    dropped: int = 0  # live frames the model had no time for
    seconds: float = 0.0


class Reporter(Protocol):
    def error(self, line: str) -> None: ...
    def advance(self, count: int) -> None: ...


class NullReporter:
    """Reports nothing (the lines are still in Tally.messages and RunSummary.errors)."""

    def error(self, line: str) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


class Tally:
    """The counts of a job and its failures: each failed item once, with its first message."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.summary = RunSummary()
        self.messages: dict[InputItem, str] = {}

    def fail(self, item: InputItem, message: str) -> bool:
        """Count and report the item's failure; False when it had already failed."""
        if item in self.messages:
            return False
        self.messages[item] = message
        self.summary.failed += 1
        self.summary.errors.append(message)
        self.reporter.error(message)
        return True


class Engine(Protocol):
    """How a job's inputs are found and processed; everything else is run_job's."""

    def discover(self, inputs: Sequence[str | os.PathLike[str]],
                 exclude: Path | None = None) -> tuple[list[InputItem], list[str]]: ...

    def total(self, items: list[InputItem], options: RunOptions) -> int | None:
        """Progress units for `items` (None when unknown)."""

    def started(self) -> AbstractContextManager[object]:
        """What the engine needs up while it works (Ray: a connection); entered only when there is work."""

    def process(self, items: list[InputItem], options: RunOptions, tally: Tally) -> None:
        """Write each item's outputs, count it in tally.summary, or tally.fail it."""


def pending(items: list[InputItem], layout: OutputLayout, resume: bool) -> list[InputItem]:
    """The items still to do: with resume, those without all their outputs."""
    return [item for item in items if not layout.is_done(item)] if resume else items


def write_results(items: list[InputItem], layout: OutputLayout, path: Path, tally: Tally,
                  ground_truth: GroundTruth | None = None) -> int:
    """The run's COCO results: every item with a record (processed now or by an earlier run), in order;
    an item without an image id (image_ids.py) is left out, and fails."""
    found = [(item, read_record(layout.record_path(item))) for item in items]
    found = [(item, record) for item, record in found if record is not None]
    results, left_out = coco_results([record for _, record in found], ground_truth)
    for index, message in left_out.items():
        tally.fail(found[index][0], message)
    write_json(path, results)
    return len(results)


def run_job(engine: Engine, items: list[InputItem], options: RunOptions, reporter: Reporter,
            on_total: Callable[[int | None], None] | None = None) -> RunSummary:
    """Process the items that still need it, then (with json_path) write the run's results JSON."""
    tally = Tally(reporter)
    layout = OutputLayout(options.out_dir, overlays=options.overlays, masks=options.save_masks,
                          labels=options.save_txt)
    todo = pending(items, layout, options.resume)
    tally.summary.skipped = len(items) - len(todo)
    if on_total is not None:
        on_total(engine.total(todo, options))
    if todo:
        with engine.started():
            start = time.perf_counter()  # from the work, not from the engine's start (Ray's)
            try:
                engine.process(todo, options, tally)
            finally:
                tally.summary.seconds = time.perf_counter() - start
    if options.json_path is not None:
        write_results([item for item in items if item not in tally.messages], layout, options.json_path, tally,
                      options.ground_truth)
    return tally.summary
