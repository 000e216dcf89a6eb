"""The events of a yolact-run pipeline, in input order: loaded frames, failures, video bounds, results."""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import Result
from ..errors import first_line
from .discover import InputItem


@dataclass
class Loaded:
    item: InputItem
    frame: int | None
    image: np.ndarray
    tensor: np.ndarray


@dataclass
class Failed:
    item: InputItem
    message: str
    unit: bool = False  # stands for one image or frame (counts in the progress)


@dataclass
class VideoStart:
    item: InputItem
    fps: float


@dataclass
class VideoEnd:
    item: InputItem
    complete: bool = True  # False: cut short by Ctrl-C (a file's outputs are then not kept)
    dropped: int = 0  # live sources: frames dropped while the model was busy
    warning: str | None = None  # a live source that stopped by itself


@dataclass
class ImageDone:
    item: InputItem
    record: dict[str, Any]


@dataclass
class FrameDone:
    item: InputItem
    number: int  # in the source
    overlay: np.ndarray | None
    detections: list[dict[str, Any]]
    size: tuple[int, int]
    tracked: tuple[np.ndarray | None, Result] | None = None  # --track: (image to draw on, result), drawn in order


END = object()  # the producer has nothing more


def failure(item: InputItem, error: BaseException, unit: bool = False) -> Failed:
    cause = first_line(error)
    return Failed(item, cause if cause.startswith(str(item.path)) else f"{item.path}: {cause}", unit)


def done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
