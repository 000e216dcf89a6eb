"""Bilinear resize with PyTorch's align_corners=False semantics (no antialiasing).

cv2.resize with INTER_LINEAR on float32 samples at half-pixel centres, clamps at the borders and
does not antialias when shrinking: that is F.interpolate(mode="bilinear", align_corners=False),
up and down (checked against a numpy reference of the formula in the tests, to ~1e-5).
"""
from __future__ import annotations

import cv2
import numpy as np


def bilinear(image: np.ndarray, height: int, width: int, dst: np.ndarray | None = None) -> np.ndarray:
    """float32 HxW or HxWxC -> height x width (x C)."""
    return cv2.resize(image, (width, height), dst=dst, interpolation=cv2.INTER_LINEAR)
