"""Live sources (a webcam index, rtsp://, http(s):// ...): read in a thread that keeps the newest frame.

A live source does not wait for the model. The reader thread reads every frame as it comes; with
`drop` (the default) it keeps only the newest one, and a frame replaced before the pipeline took it
is counted in `dropped`; without it, frames queue (the source is then read as fast as the model
goes, which for a network stream means it falls behind). `stride` keeps every N-th frame read.
"""
from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import InputError

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
TIMEOUT_MS = 10_000  # opening and each read of a network stream
QUEUED = 64  # --no-drop: frames read ahead of the pipeline at most (then the source waits)


def is_stream(source: str) -> bool:
    """A webcam index (`0`, `1`, ...) or a URL OpenCV's FFmpeg backend reads live."""
    match = _SCHEME.match(source)
    return source.isdigit() or (match is not None and match.group(1).lower() in STREAM_SCHEMES)


def stream_name(source: str) -> str:
    """The output name of a live source: live/webcam0, live/127_0_0_1_8080_stream_mjpg, ..."""
    if source.isdigit():
        return f"live/webcam{int(source)}"
    rest = source.split("://", 1)[1].split("?", 1)[0]
    return "live/" + (re.sub(r"[^A-Za-z0-9-]+", "_", rest).strip("_") or "stream")


def open_capture(source: str) -> cv2.VideoCapture:
    """cv2.VideoCapture on the source; InputError (one line) when it cannot be opened."""
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        what = f"cannot open webcam {int(source)} (no such camera, or it is busy)"
    else:
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, TIMEOUT_MS,
                                                            cv2.CAP_PROP_READ_TIMEOUT_MSEC, TIMEOUT_MS])
        what = "cannot open stream"
    if not capture.isOpened():
        capture.release()
        raise InputError(f"{source}: {what}")
    return capture


class LiveReader:
    """Iterate (frame number, BGR frame) of a live source until it ends, `stop` is set or `close()` is called."""

    def __init__(self, source: str, stride: int = 1, drop: bool = True, stop: threading.Event | None = None) -> None:
        self.source = source
        self.capture = open_capture(source)
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 and np.isfinite(fps) else 25.0
        self.stride, self.drop = stride, drop
        self.read = 0  # frames read from the source
        self.dropped = 0  # kept frames replaced by newer ones before the pipeline took them
        self.source_ended = False  # the source stopped by itself (not closed by us)
        self._closing = threading.Event()
        self._stop = stop or self._closing  # the run's Ctrl-C: stop waiting for frames
        self._ready = threading.Condition()
        self._newest: tuple[int, np.ndarray] | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED)
        self._running = True
        self._thread = threading.Thread(target=self._read_loop, name="yolact-live", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        try:
            while not self._closing.is_set():
                ok, frame = self.capture.read()
                if not ok or frame is None:
                    self.source_ended = not self._closing.is_set()
                    return
                number = self.read
                self.read += 1
                if number % self.stride == 0:
                    self._keep(number, frame)
        finally:
            self.capture.release()  # here: never while this thread is inside read()
            with self._ready:
                self._running = False
                self._ready.notify_all()

    def _keep(self, number: int, frame: np.ndarray) -> None:
        if not self.drop:
            while not self._closing.is_set():
                try:
                    self._queue.put((number, frame), timeout=0.1)
                    break
                except queue.Full:
                    continue
        with self._ready:
            if self.drop:
                self.dropped += self._newest is not None
                self._newest = (number, frame)
            self._ready.notify_all()

    def _next(self) -> tuple[int, np.ndarray] | None:
        with self._ready:
            while True:
                if self.drop and self._newest is not None:
                    taken, self._newest = self._newest, None
                    return taken
                if not self.drop and not self._queue.empty():
                    return self._queue.get_nowait()
                if not self._running or self._closing.is_set() or self._stop.is_set():
                    return None
                self._ready.wait(0.1)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        while (taken := self._next()) is not None:
            yield taken

    def close(self) -> None:
        """Stop reading (the thread ends after its current read, at most the read timeout)."""
        self._closing.set()
        self._thread.join(timeout=1.0)
