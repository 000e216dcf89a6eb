"""The events of a yolact-run pipeline, in input order: loaded frames, failures, video bounds, results."""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import first_line
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


@dataclass
class ImageDone:
    item: InputItem


@dataclass
class FrameDone:
    item: InputItem
    overlay: np.ndarray | None
    detections: list[dict[str, Any]]
    size: tuple[int, int]


END = object()  # the producer has nothing more


def failure(item: InputItem, error: BaseException, unit: bool = False) -> Failed:
    cause = first_line(error)
    return Failed(item, cause if cause.startswith(str(item.path)) else f"{item.path}: {cause}", unit)


def done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
