"""yolact-run's work in this process: decode and preprocess ahead, infer in batches, render and write behind.

A producer thread reads inputs in order and hands decoding plus preprocessing to a small pool;
the calling thread batches and runs the model; a render pool postprocesses, draws and writes
each image's outputs. Events are committed in input order, so video frames reach their writer
in sequence. Every failure becomes one error line naming the file; nothing stops the run.
`LocalEngine` is this pipeline as a job engine (job.py does resume, failures and the --json file).
"""
from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.io import read_image, write_image, write_json
from ..core.model import Yolact
from ..core.raw import RawDetections
from .discover import InputItem, discover
from .events import END, Failed, FrameDone, ImageDone, Loaded, VideoEnd, VideoStart, done, failure
from .job import RunOptions, RunSummary, Tally
from .layout import OutputLayout
from .records import detections, image_record, video_record
from .video import VideoReader, VideoSink, frame_count

Reader = Callable[[InputItem], np.ndarray]  # an input's BGR pixels
RecordSink = Callable[[InputItem, dict[str, Any]], None]  # where an image's record goes


def read_file(item: InputItem) -> np.ndarray:
    return read_image(item.path)


@dataclass
class _VideoState:
    fps: float
    sink: VideoSink | None = None
    size: tuple[int, int] | None = None
    frames: list[list[dict[str, Any]]] = field(default_factory=list)
    failed: bool = False


class Runner:
    """The pipeline over a list of items; counts and failures go to `tally`.

    read: how an image item becomes pixels (default: the file); on_record: where each image's
    record goes (default: OUT/detections/<key>.json).
    """

    def __init__(self, model: Yolact, options: RunOptions, tally: Tally, read: Reader = read_file,
                 on_record: RecordSink | None = None) -> None:
        self.model = model
        self.options = options
        self.tally = tally
        self.summary = tally.summary
        self.reporter = tally.reporter
        self.read = read
        self.layout = OutputLayout(options.out_dir, overlays=options.overlays, masks=options.save_masks)
        self.on_record = on_record or self._write_record
        self.videos: dict[InputItem, _VideoState] = {}
        self.stop = threading.Event()
        # Overlays and instance maps need dense masks; without them RLEs are made directly (cheaper).
        dense = options.overlays or options.save_masks
        self.post_options = replace(model.options, masks="image" if dense else "rle")

    # ---- producer ----------------------------------------------------------------------------
    def _load_image(self, item: InputItem) -> Loaded | Failed:
        try:
            image = self.read(item)
            return Loaded(item, None, image, self.model.preprocess_one(image))
        except Exception as error:
            return failure(item, error, unit=True)

    def _load_frame(self, item: InputItem, index: int, frame: np.ndarray) -> Loaded | Failed:
        try:
            return Loaded(item, index, frame, self.model.preprocess_one(frame))
        except Exception as error:
            return failure(item, error, unit=True)

    def _put(self, events: queue.Queue, value: Any) -> bool:
        while not self.stop.is_set():
            try:
                events.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce_item(self, item: InputItem, events: queue.Queue, pool: ThreadPoolExecutor) -> bool:
        """Queue one input's events; False once the run is stopping."""
        if item.kind == "image":
            return self._put(events, pool.submit(self._load_image, item))
        try:
            reader = VideoReader(item.path)
        except Exception as error:
            return self._put(events, done(failure(item, error)))
        if not self._put(events, done(VideoStart(item, reader.fps))):
            return False
        for index, frame in enumerate(reader):
            if not self._put(events, pool.submit(self._load_frame, item, index, frame)):
                return False
        return self._put(events, done(VideoEnd(item)))

    def _produce(self, items: list[InputItem], events: queue.Queue, pool: ThreadPoolExecutor) -> None:
        try:
            for item in items:
                try:
                    if not self._produce_item(item, events, pool):
                        return
                except Exception as error:  # e.g. the pool shut down under us: report, go on
                    if self.stop.is_set():
                        return
                    self._put(events, done(failure(item, error)))
        finally:
            self._put(events, END)

    # ---- render (worker threads) ---------------------------------------------------------------
    def _render(self, loaded: Loaded, raw: RawDetections) -> ImageDone | FrameDone | Failed:
        try:
            item, image = loaded.item, loaded.image
            result = self.model.postprocess(raw, image.shape[:2], self.post_options)
            overlay = result.draw(image) if self.options.overlays else None
            if self.options.save_masks:
                write_image(self.layout.masks_path(item, loaded.frame), result.instance_map())
            if loaded.frame is not None:
                return FrameDone(item, overlay, detections(result), image.shape[:2])
            if overlay is not None:
                write_image(self.layout.overlay_path(item), overlay)
            self.on_record(item, image_record(item, result))
            return ImageDone(item)
        except Exception as error:
            return failure(loaded.item, error, unit=True)

    def _write_record(self, item: InputItem, record: dict[str, Any]) -> None:
        write_json(self.layout.record_path(item), record)

    # ---- commit (calling thread, input order) ---------------------------------------------------
    def _fail(self, event: Failed) -> None:
        state = self.videos.get(event.item)
        if state is not None and not state.failed:
            state.failed = True
            if state.sink is not None:
                state.sink.abort()
        self.tally.fail(event.item, event.message)

    def _commit(self, event: Any) -> None:
        if isinstance(event, Failed):
            self._fail(event)
            if event.unit:
                self.reporter.advance(1)
        elif isinstance(event, ImageDone):
            self.summary.images += 1
            self.reporter.advance(1)
        elif isinstance(event, VideoStart):
            self.videos[event.item] = _VideoState(event.fps)
        elif isinstance(event, FrameDone):
            self._commit_frame(event)
        elif isinstance(event, VideoEnd):
            self._finish_video(event.item)

    def _commit_frame(self, event: FrameDone) -> None:
        state = self.videos[event.item]
        self.reporter.advance(1)
        if state.failed:
            return
        try:
            if event.overlay is not None:
                if state.sink is None:
                    height, width = event.size
                    state.sink = VideoSink(self.layout.overlay_path(event.item), state.fps, (width, height))
                state.sink.write(event.overlay)
            state.size = event.size
            state.frames.append(event.detections)
            self.summary.frames += 1
        except Exception as error:
            self._fail(failure(event.item, error))

    def _finish_video(self, item: InputItem) -> None:
        state = self.videos.pop(item)
        if state.failed:
            return
        try:
            if not state.frames or state.size is None:
                raise ValueError("no frame could be read from this video")
            if state.sink is not None:
                state.sink.close()
            write_json(self.layout.record_path(item), video_record(item, state.size, state.fps, state.frames))
        except Exception as error:
            if state.sink is not None:
                state.sink.abort()
            self._fail(failure(item, error))

    # ---- main loop -------------------------------------------------------------------------
    def _infer(self, batch: list[Any], render: ThreadPoolExecutor) -> list[Future]:
        frames = [e for e in batch if isinstance(e, Loaded)]
        raws: list[RawDetections | None] = [None] * len(frames)
        error: BaseException | None = None
        if frames:
            try:
                raws = list(self.model.infer(np.stack([f.tensor for f in frames])))
            except Exception as caught:
                error = caught
        futures: list[Future] = []
        raw_of = {id(f): r for f, r in zip(frames, raws)}
        for event in batch:
            if isinstance(event, Loaded) and error is None:
                futures.append(render.submit(self._render, event, raw_of[id(event)]))
            elif isinstance(event, Loaded):
                futures.append(done(failure(event.item, RuntimeError(f"inference failed ({error})"), unit=True)))
            else:
                futures.append(done(event))
        return futures

    def _drain(self, commits: deque, keep: int) -> None:
        while commits and (len(commits) > keep or commits[0].done()):
            self._commit(commits.popleft().result())

    def run(self, items: list[InputItem]) -> RunSummary:
        size = self.options.batch_size
        workers = max(1, self.options.workers)
        events: queue.Queue = queue.Queue(maxsize=2 * size + 2)
        commits: deque = deque()
        loader = ThreadPoolExecutor(workers, thread_name_prefix="yolact-load")
        render = ThreadPoolExecutor(workers, thread_name_prefix="yolact-render")
        producer = threading.Thread(target=self._produce, args=(items, events, loader), daemon=True)
        producer.start()
        try:
            batch: list[Any] = []
            while True:
                entry = events.get()
                event = None if entry is END else entry.result()
                if event is not None:
                    batch.append(event)
                full = sum(isinstance(e, Loaded) for e in batch) >= size
                if batch and (full or event is None):
                    commits.extend(self._infer(batch, render))
                    batch = []
                    self._drain(commits, keep=2 * workers + size)
                if event is None:
                    break
            self._drain(commits, keep=0)
        finally:
            self.stop.set()
            loader.shutdown(wait=False, cancel_futures=True)
            render.shutdown(wait=True, cancel_futures=True)
            for state in self.videos.values():
                if state.sink is not None and not state.failed:
                    state.sink.abort()
        return self.summary


def total(items: Iterable[InputItem]) -> int | None:
    """Images plus video frames, or None when a video does not tell its length."""
    count = 0
    for item in items:
        frames = frame_count(item.path) if item.kind == "video" else 1
        if frames <= 0:
            return None
        count += frames
    return count


class LocalEngine:
    """yolact-run's engine in this process: local files and folders, the pipelined Runner."""

    def __init__(self, model: Yolact) -> None:
        self.model = model

    def discover(self, inputs: Sequence[str | os.PathLike[str]],
                 exclude: Path | None = None) -> tuple[list[InputItem], list[str]]:
        return discover(list(inputs), exclude=exclude)

    def total(self, items: list[InputItem]) -> int | None:
        return total(items)

    def started(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def process(self, items: list[InputItem], options: RunOptions, tally: Tally) -> None:
        Runner(self.model, options, tally).run(items)
