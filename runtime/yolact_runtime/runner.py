"""yolact-run's work: decode and preprocess ahead, infer in batches, render and write behind.

A producer thread reads inputs in order and hands decoding plus preprocessing to a small pool;
the calling thread batches and runs the model; a render pool postprocesses, draws and writes
each image's outputs. Events are committed in input order, so video frames reach their writer
in sequence. Every failure becomes one error line naming the file; nothing stops the run.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .discover import InputItem
from .events import END, Failed, FrameDone, ImageDone, Loaded, VideoEnd, VideoStart, done, failure
from .io import read_image, write_image, write_json
from .layout import OutputLayout
from .model import Yolact
from .raw import RawDetections
from .records import coco_results, detections, image_record, read_record, video_record
from .video import VideoReader, VideoSink, frame_count


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    json_path: Path | None = None
    save_masks: bool = False
    overlays: bool = True
    batch_size: int = 1
    resume: bool = False
    workers: int = 2


@dataclass
class RunSummary:
    images: int = 0
    frames: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class Reporter(Protocol):
    def error(self, line: str) -> None: ...
    def advance(self, count: int) -> None: ...


@dataclass
class _VideoState:
    fps: float
    sink: VideoSink | None = None
    size: tuple[int, int] | None = None
    frames: list[list[dict[str, Any]]] = field(default_factory=list)
    failed: bool = False


class Runner:
    def __init__(self, model: Yolact, options: RunOptions, reporter: Reporter) -> None:
        self.model = model
        self.options = options
        self.reporter = reporter
        self.layout = OutputLayout(options.out_dir, overlays=options.overlays, masks=options.save_masks)
        self.summary = RunSummary()
        self.videos: dict[InputItem, _VideoState] = {}
        self.failed_items: set[InputItem] = set()
        self.stop = threading.Event()
        # Overlays and instance maps need dense masks; without them RLEs are made directly (cheaper).
        dense = options.overlays or options.save_masks
        self.post_options = replace(model.options, masks="image" if dense else "rle")

    # ---- planning ----------------------------------------------------------------------------
    def pending(self, items: list[InputItem]) -> list[InputItem]:
        if not self.options.resume:
            return items
        todo = [item for item in items if not self.layout.is_done(item)]
        self.summary.skipped = len(items) - len(todo)
        return todo

    @staticmethod
    def total(items: Iterable[InputItem]) -> int | None:
        """Images plus video frames, or None when a video does not tell its length."""
        count = 0
        for item in items:
            frames = frame_count(item.path) if item.kind == "video" else 1
            if frames <= 0:
                return None
            count += frames
        return count

    # ---- producer ----------------------------------------------------------------------------
    def _load_image(self, item: InputItem) -> Loaded | Failed:
        try:
            image = read_image(item.path)
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
            write_json(self.layout.record_path(item), image_record(item, result))
            return ImageDone(item)
        except Exception as error:
            return failure(loaded.item, error, unit=True)

    # ---- commit (calling thread, input order) ---------------------------------------------------
    def _fail(self, event: Failed) -> None:
        state = self.videos.get(event.item)
        if state is not None and not state.failed:
            state.failed = True
            if state.sink is not None:
                state.sink.abort()
        if event.item not in self.failed_items:
            self.failed_items.add(event.item)
            self.summary.failed += 1
            self.summary.errors.append(event.message)
            self.reporter.error(event.message)

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
        start = time.perf_counter()
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
        self.summary.seconds = time.perf_counter() - start
        return self.summary

    # ---- the run's JSON ----------------------------------------------------------------------
    def write_results_json(self, items: list[InputItem]) -> int:
        """COCO results for every item with a record (processed now or by an earlier run)."""
        records = [r for r in (read_record(self.layout.record_path(i)) for i in items) if r is not None]
        results = coco_results(records)
        assert self.options.json_path is not None
        write_json(self.options.json_path, results)
        return len(results)


def run(model: Yolact, items: list[InputItem], options: RunOptions, reporter: Reporter,
        on_total: Callable[[int | None], None] | None = None) -> RunSummary:
    """Process the items that still need it, then (with json_path) write the run's results JSON."""
    runner = Runner(model, options, reporter)
    todo = runner.pending(items)
    if on_total is not None:
        on_total(runner.total(todo))
    summary = runner.run(todo)
    if options.json_path is not None:
        finished = [item for item in items if item not in runner.failed_items]
        runner.write_results_json(finished)
    return summary
