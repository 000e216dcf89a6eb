"""Overlay drawing: coloured masks, boxes and labels on a BGR image."""
from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .instance_ids import paint_ids

if TYPE_CHECKING:
    from .result import Result

FONT = cv2.FONT_HERSHEY_DUPLEX


def color_for(class_id: int) -> tuple[int, int, int]:
    """A stable, well-separated BGR colour per class (golden-ratio hues)."""
    hue = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def _mask_layer(result: Result, height: int, width: int) -> np.ndarray:
    """Instance ids at the drawing size (prototype-resolution masks are resized, nearest)."""
    if result.masks is not None and result.masks.shape[1:] != (height, width):
        ids = paint_ids(result.masks, np.dtype(np.uint16))
        return cv2.resize(ids, (width, height), interpolation=cv2.INTER_NEAREST)
    return result.instance_map().astype(np.uint16)


def _blend_masks(image: np.ndarray, result: Result, colors: list[tuple[int, int, int]], alpha: float) -> np.ndarray:
    height, width = image.shape[:2]
    if result.masks is None and result.rles is None:
        return image.copy()
    ids = _mask_layer(result, height, width)
    palette = np.array([(0, 0, 0), *colors], dtype=np.uint8)
    blended = cv2.addWeighted(image, 1 - alpha, palette[ids], alpha, 0)
    out = image.copy()
    np.copyto(out, blended, where=(ids > 0)[..., None])
    return out


def _label(out: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int], scale: float) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    top = max(y - th - base - 2, 0)
    x = max(min(x, out.shape[1] - tw - 2), 0)  # a box at the right edge keeps its label in the picture
    cv2.rectangle(out, (x, top), (x + tw + 2, top + th + base + 2), color, -1)
    cv2.putText(out, text, (x + 1, top + th + 1), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _colors(result: Result, track_ids: Sequence[int | None] | None) -> list[tuple[int, int, int]]:
    """A colour per detection: by track where it has one, else by class (tracks start at another hue)."""
    tracks = track_ids if track_ids is not None else [None] * len(result)
    return [color_for(int(c)) if t is None else color_for(t + 7) for c, t in zip(result.class_ids, tracks)]


def draw_result(image: np.ndarray, result: Result, alpha: float = 0.45,
                track_ids: Sequence[int | None] | None = None) -> np.ndarray:
    """Masks first (best detection on top), then boxes and `name score` labels (`#id` with track_ids)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 BGR image, got shape {image.shape} {image.dtype}")
    colors = _colors(result, track_ids)
    out = _blend_masks(image, result, colors, alpha)
    thickness = max(1, round(min(image.shape[:2]) / 400))
    scale = max(0.4, min(image.shape[:2]) / 800)
    scores = result.ranking_scores
    for i in range(len(result) - 1, -1, -1):
        x1, y1, x2, y2 = (int(v) for v in result.boxes[i])
        track = f" #{track_ids[i]}" if track_ids is not None and track_ids[i] is not None else ""
        cv2.rectangle(out, (x1, y1), (x2, y2), colors[i], thickness)
        _label(out, f"{result.class_names[i]}{track} {float(scores[i]):.2f}", x1, y1, colors[i], scale)
    return out
