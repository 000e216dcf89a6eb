"""yolact-run's work in this process: decode and preprocess ahead, infer in batches, render and write behind.

A producer thread reads inputs in order and hands decoding plus preprocessing to a small pool;
the calling thread batches and runs the model; a render pool postprocesses, draws and writes
each image's outputs. Events are committed in input order, so video frames reach their writer
in sequence. Every failure becomes one error line naming the file; nothing stops the run.
local_engine.LocalEngine makes it a job engine (job.py does resume, failures and the --json file).
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from .. import Yolact
from ..core.io import read_image, write_bytes, write_image, write_json
from ..core.raw import RawDetections
from .discover import InputItem
from .events import END, Failed, FrameDone, ImageDone, Loaded, VideoEnd, VideoStart, done, failure
from .job import RunOptions, RunSummary, Tally
from .jsonl import JsonLines
from .layout import OutputLayout
from .live import LiveReader
from .records import detections, image_record, yolo_labels
from .track import Tracks
from .video import VideoReader
from .video_outputs import VideoOutputs

log = logging.getLogger("yolact_runtime")

Reader = Callable[[InputItem], np.ndarray]  # an input's BGR pixels
RecordSink = Callable[[InputItem, dict[str, Any]], None]  # where an image's record goes


def read_file(item: InputItem) -> np.ndarray:
    return read_image(item.path)


class Runner:
    """The pipeline over a list of items; counts and failures go to `tally`.

    read: how an image item becomes pixels (default: the file); on_record: where each image's
    record goes (default: OUT/detections/<name>.json); finish: set it (Ctrl-C) to end the run
    early and cleanly: no new item starts, a live stream ends as if it had stopped there.
    """

    def __init__(self, model: Yolact, options: RunOptions, tally: Tally, read: Reader = read_file,
                 on_record: RecordSink | None = None, finish: threading.Event | None = None) -> None:
        self.model = model
        self.options = options
        self.tally = tally
        self.summary = tally.summary
        self.reporter = tally.reporter
        self.read = read
        self.layout = OutputLayout(options.out_dir, overlays=options.overlays, masks=options.save_masks,
                                   labels=options.save_txt)
        self.on_record = on_record or self._write_record
        self.videos: dict[InputItem, VideoOutputs] = {}
        self.stop = threading.Event()
        self.finish = finish or threading.Event()
        self.jsonl: JsonLines | None = None
        # Overlays, instance maps and outlines need dense masks; without them RLEs are made directly (cheaper).
        dense = options.overlays or options.save_masks or options.polygons or options.save_txt
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

    def _frames(self, item: InputItem) -> LiveReader | VideoReader:
        if item.kind == "stream":
            return LiveReader(os.fspath(item.path), self.options.vid_stride, self.options.drop, self.finish)
        return VideoReader(item.path, self.options.vid_stride)

    def _produce_item(self, item: InputItem, events: queue.Queue, pool: ThreadPoolExecutor) -> bool:
        """Queue one input's events; False once the run is stopping."""
        if item.kind == "image":
            return self._put(events, pool.submit(self._load_image, item))
        try:
            reader = self._frames(item)
        except Exception as error:
            return self._put(events, done(failure(item, error)))
        try:
            if not self._put(events, done(VideoStart(item, reader.fps))):
                return False
            for number, frame in itertools.islice(reader, self.options.max_frames):
                if self.finish.is_set():
                    break
                if not self._put(events, pool.submit(self._load_frame, item, number, frame)):
                    return False
        finally:
            reader.close()
        complete = item.kind == "stream" or not self.finish.is_set()  # a file cut short is not done
        warning = f"{item.path}: the stream stopped after {reader.read} frames" if reader.source_ended else None
        return self._put(events, done(VideoEnd(item, complete, reader.dropped, warning)))

    def _produce(self, items: list[InputItem], events: queue.Queue, pool: ThreadPoolExecutor) -> None:
        try:
            for item in items:
                if self.finish.is_set():
                    return
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
            item, image, frame = loaded.item, loaded.image, loaded.frame
            result = self.model.postprocess(raw, image.shape[:2], self.post_options)
            tracked = frame is not None and self.options.track  # drawn by track IDs, in frame order
            overlay = result.draw(image) if self.options.overlays and not tracked else None
            if self.options.save_masks:
                write_image(self.layout.masks_path(item, frame), result.instance_map())
            if self.options.save_txt:
                write_bytes(self.layout.labels_path(item, frame), yolo_labels(result).encode("ascii"))
            found = detections(result, self.options.polygons)
            if frame is not None:
                later = (image if self.options.overlays else None, result) if tracked else None
                return FrameDone(item, frame, overlay, found, image.shape[:2], later)
            if overlay is not None:
                write_image(self.layout.overlay_path(item), overlay)
            record = image_record(item, image.shape[:2], found)
            self.on_record(item, record)
            return ImageDone(item, record)
        except Exception as error:
            return failure(loaded.item, error, unit=True)

    def _write_record(self, item: InputItem, record: dict[str, Any]) -> None:
        write_json(self.layout.record_path(item), record)

    # ---- commit (calling thread, input order) ---------------------------------------------------
    def _fail(self, event: Failed) -> None:
        state = self.videos.get(event.item)
        if state is not None and not state.failed:
            state.failed = True
            state.abort()
        self.tally.fail(event.item, event.message)

    def _commit(self, event: Any) -> None:
        if isinstance(event, Failed):
            self._fail(event)
            if event.unit:
                self.reporter.advance(1)
        elif isinstance(event, ImageDone):
            self.summary.images += 1
            self.reporter.advance(1)
            if self.jsonl is not None:
                self.jsonl.write(event.record)
        elif isinstance(event, VideoStart):
            tracks = Tracks(event.fps) if self.options.track else None
            self.videos[event.item] = VideoOutputs(event.item, event.fps, self.layout, tracks)
        elif isinstance(event, FrameDone):
            self._commit_frame(event)
        elif isinstance(event, VideoEnd):
            self._finish_video(event)

    def _commit_frame(self, event: FrameDone) -> None:
        state = self.videos[event.item]
        self.reporter.advance(1)
        if state.failed:
            return
        try:
            state.add(event, self.jsonl)
            self.summary.frames += 1
        except Exception as error:
            self._fail(failure(event.item, error))

    def _finish_video(self, event: VideoEnd) -> None:
        state = self.videos.pop(event.item)
        self.summary.dropped += event.dropped
        if event.warning is not None:
            log.warning(f"warning: {event.warning}")
        if state.failed or not event.complete:
            state.abort()
            return
        try:
            state.finish()
        except Exception as error:
            state.abort()
            self._fail(failure(event.item, error))

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
        self.jsonl = JsonLines(self.options.jsonl_path) if self.options.jsonl_path is not None else None
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
                state.abort()
            if self.jsonl is not None:
                self.jsonl.close()
        return self.summary
