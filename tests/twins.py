"""A folder where two different pictures share a stem (c/twin.png, c/twin.jpg), and the outputs each must get."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

TWIN_KEYS = ("c/twin.jpg", "c/twin.png")  # as discovery sorts them
OTHER_KEY = "c/other.png"


def make_twins(root: Path) -> Path:
    folder = root / "twins"
    (folder / "c").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for key, size in zip((*TWIN_KEYS, OTHER_KEY), ((40, 56), (64, 48), (32, 32))):
        cv2.imwrite(str(folder / key), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return folder


def twin_outputs(out: Path, key: str) -> list[Path]:
    """Overlay, instance map and record of a twin: the name keeps the extension."""
    return [out / "overlays" / f"{key}{Path(key).suffix}", out / "masks" / f"{key}.png",
            out / "detections" / f"{key}.json"]
