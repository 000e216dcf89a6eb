"""Video frames in (OpenCV) and an overlay video out (written to a temp file, then renamed)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


class VideoReader:
    """Iterate (frame number, BGR frame) of a video file: every `stride`-th frame (the others are only grabbed)."""

    def __init__(self, path: str | os.PathLike[str], stride: int = 1) -> None:
        self.path = Path(path)
        self.stride = stride
        self.capture = cv2.VideoCapture(os.fspath(path))
        if not self.capture.isOpened():
            raise InputError(f"{path}: cannot open video (corrupt or unsupported format)")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and fps > 0 and np.isfinite(fps) else 25.0
        self.frame_count = max(0, int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self.dropped = 0  # a file is read at the model's pace: nothing is dropped
        self.source_ended = False  # a file that ends has simply ended

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        try:
            number = 0
            while True:
                if number % self.stride:
                    if not self.capture.grab():
                        return
                else:
                    ok, frame = self.capture.read()
                    if not ok or frame is None:
                        return
                    yield number, frame
                number += 1
        finally:
            self.capture.release()

    def close(self) -> None:
        self.capture.release()


def frame_count(path: str | os.PathLike[str]) -> int:
    """The container's frame count (0 when unknown or unreadable); for progress totals only."""
    capture = cv2.VideoCapture(os.fspath(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)) if capture.isOpened() else 0
    finally:
        capture.release()


def _fourcc(path: Path) -> int:
    return cv2.VideoWriter_fourcc(*("MJPG" if path.suffix.lower() == ".avi" else "mp4v"))


class VideoSink:
    """Write frames to a temp file beside `path`; `close()` renames it, `abort()` removes it."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
        width, height = size
        self.writer = cv2.VideoWriter(os.fspath(self.temp), _fourcc(path), fps, (width, height))
        if not self.writer.isOpened():
            raise OSError(f"{path}: cannot open a video writer")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        self.writer.release()
        os.replace(self.temp, self.path)

    def abort(self) -> None:
        self.writer.release()
        self.temp.unlink(missing_ok=True)
