"""yolact-run's job engine in this process: the pipelined Runner over local files, folders and live sources."""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import Yolact
from .discover import InputItem, discover
from .job import RunOptions, Tally
from .runner import Runner
from .video import frame_count


def total(items: Iterable[InputItem], options: RunOptions) -> int | None:
    """Images plus the video frames to do, or None when a video does not tell its length (or is live)."""
    count = 0
    for item in items:
        frames = 1 if item.kind == "image" else frame_count(item.path) if item.kind == "video" else 0
        if frames <= 0:
            return None
        if item.kind == "video":
            frames = -(-frames // options.vid_stride)
            frames = min(frames, options.max_frames or frames)
        count += frames
    return count


class LocalEngine:
    """yolact-run's engine in this process: local files, folders and live sources, the pipelined Runner.

    finish: set it (the command line's Ctrl-C) to end the run cleanly (Runner)."""

    def __init__(self, model: Yolact) -> None:
        self.model = model
        self.finish = threading.Event()

    def discover(self, inputs: Sequence[str | os.PathLike[str]],
                 exclude: Path | None = None) -> tuple[list[InputItem], list[str]]:
        return discover(list(inputs), exclude=exclude)

    def total(self, items: list[InputItem], options: RunOptions) -> int | None:
        return total(items, options)

    def started(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def process(self, items: list[InputItem], options: RunOptions, tally: Tally) -> None:
        Runner(self.model, options, tally, finish=self.finish).run(items)
