"""yolact-run's terminal: error lines above the progress bar, the closing summary, log set-up, Ctrl-C."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
from tqdm import tqdm

from .job import RunSummary


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners swap it), above the progress bar."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


class Reporter:
    """Error lines and progress; errors go above the bar, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None

    def start(self, total: int | None) -> None:
        if not self.quiet:
            self.bar = tqdm(total=total, unit="img", desc="yolact-run", file=sys.stderr, dynamic_ncols=True)

    def error(self, line: str) -> None:
        tqdm.write(f"error: {line}", file=sys.stderr)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary_line(summary: RunSummary, out: Path, input_errors: int) -> str:
    done = f"{summary.images} image{'s' if summary.images != 1 else ''}"
    if summary.frames:
        done += f" and {summary.frames} video frame{'s' if summary.frames != 1 else ''}"
    rate = (summary.images + summary.frames) / summary.seconds if summary.seconds > 0 else 0.0
    parts = [f"{done} in {summary.seconds:.1f} s ({rate:.1f} images/s)"]
    if summary.dropped:
        parts.append(f"{summary.dropped} live frames dropped (the model was busy)")
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped (already done)")
    failed = summary.failed + input_errors
    if failed:
        parts.append(f"{failed} failed")
    return "yolact-run: " + ", ".join(parts) + f"; outputs in {out}"


def listed(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def setup_logging(quiet: bool) -> None:
    logger = logging.getLogger("yolact_runtime")
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("yolact-run: %(message)s"))
        logger.addHandler(handler)
    cv_logging = getattr(getattr(cv2, "utils", None), "logging", None)  # absent in some OpenCV builds
    if cv_logging is not None:  # its lines for a camera or stream that cannot be opened: we give our own
        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_SILENT)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines (we report failures ourselves)


@contextlib.contextmanager
def finish_on_ctrl_c(finish: threading.Event) -> Iterator[None]:
    """The first Ctrl-C sets `finish` (the run ends cleanly, outputs complete); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def first(signum, frame) -> None:
        if finish.is_set():
            raise KeyboardInterrupt
        finish.set()  # what is in flight (a few images or frames) is finished, then the run ends

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
