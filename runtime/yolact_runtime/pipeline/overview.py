"""One picture of a run: its image overlays in a grid, each tile captioned with the input's name."""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import cv2
import numpy as np

from ..core.draw import FONT
from ..core.io import write_image

MAX_TILES = 36  # 6 x 6: one picture to open, not a contact sheet of a whole data set
CAPTION = 22  # px under each tile
GAP = 6  # px between tiles
BACKGROUND = (40, 40, 40)


def _fit(image: np.ndarray, tile: int) -> np.ndarray:
    """The image scaled to fit a tile x tile square (never up), centred on the background."""
    height, width = image.shape[:2]
    scale = min(1.0, tile / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    canvas = np.full((tile, tile, 3), BACKGROUND, np.uint8)
    top, left = (tile - image.shape[0]) // 2, (tile - image.shape[1]) // 2
    canvas[top : top + image.shape[0], left : left + image.shape[1]] = image
    return canvas


def _captioned(image: np.ndarray, name: str, tile: int) -> np.ndarray:
    """The fitted tile over a strip with its name (long names keep their end: "...b/c.jpg")."""
    strip = np.full((CAPTION, tile, 3), BACKGROUND, np.uint8)
    text = name
    while len(text) > 4 and cv2.getTextSize(text, FONT, 0.45, 1)[0][0] > tile - 8:
        text = "..." + text.removeprefix("...")[1:]
    cv2.putText(strip, text, (4, CAPTION - 7), FONT, 0.45, (230, 230, 230), 1, cv2.LINE_AA)
    tiled = np.vstack([_fit(image, tile), strip])
    return cv2.copyMakeBorder(tiled, GAP // 2, GAP // 2, GAP // 2, GAP // 2, cv2.BORDER_CONSTANT, value=BACKGROUND)


def overview_grid(overlays: Sequence[tuple[str, np.ndarray]], tile: int = 320) -> np.ndarray:
    """(name, BGR overlay) pairs -> one BGR grid, at most MAX_TILES tiles, about square."""
    if not overlays:
        raise ValueError("no overlays to put in an overview")
    shown = list(overlays)[:MAX_TILES]
    columns = math.ceil(math.sqrt(len(shown)))
    tiles = [_captioned(image, name, tile) for name, image in shown]
    tiles += [np.full_like(tiles[0], BACKGROUND)] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def write_overview(path: str | os.PathLike[str], overlays: Sequence[tuple[str, str | os.PathLike[str]]]) -> int:
    """Read the (name, overlay file) pairs that exist, write their grid to `path` (atomically).
    Returns how many tiles it holds."""
    images = [(name, cv2.imread(os.fspath(file), cv2.IMREAD_COLOR)) for name, file in overlays]
    readable = [(name, image) for name, image in images if image is not None]
    write_image(path, overview_grid(readable))
    return min(len(readable), MAX_TILES)
