"""A video the project draws: shapes of the synthetic set moving in straight lines, with their true masks."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from yolact_export.data.synthetic import SHAPE_NAMES, shape_mask

SIZE = 320
# (class, radius, start centre, step per frame, BGR colour): paths that pass close but never overlap
OBJECTS = (
    ("disc", 34, (50, 60), (3.2, 0.4), (40, 60, 220)),
    ("rectangle", 40, (270, 160), (-3.0, 0.2), (220, 120, 30)),
    ("ring", 36, (60, 260), (3.0, -0.3), (40, 200, 60)),
)


def make_frames(frames: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Each frame (BGR) with its true bool masks, one per object."""
    rng = np.random.default_rng(5)
    background = np.clip(rng.normal(128, 12, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    out = []
    for t in range(frames):
        image, masks = background.copy(), []
        for index, (name, radius, start, step, colour) in enumerate(OBJECTS):
            centre = np.array(start, float) + t * np.array(step, float)
            # the same generator every frame: the shape keeps its form and rotation as it moves
            mask = shape_mask(SHAPE_NAMES.index(name), centre, radius, SIZE, np.random.default_rng(index))
            image[mask > 0] = colour
            masks.append(mask > 0)
        out.append((image, masks))
    return out


def make_video(path: Path, frames: int = 60) -> list[list[np.ndarray]]:
    """Write the video (MJPG .avi, 20 fps); return each frame's true bool masks, one per object."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (SIZE, SIZE))
    truth = []
    for image, masks in make_frames(frames):
        writer.write(image)
        truth.append(masks)
    writer.release()
    return truth
