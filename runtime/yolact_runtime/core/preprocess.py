"""Image -> `images` tensor, exactly as the original FastBaseTransform.

BGR uint8 HxWx3 -> float32 -> bilinear resize to SxS (align_corners=False, no aspect ratio kept)
-> `normalize` ((x - mean_bgr) / std_bgr) or `to_float` (x / 255) -> BGR to RGB -> CHW.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..contract import PreprocessSpec
from .resize import bilinear


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Validate an image and bring grey or BGRA uint8 images to BGR."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = type(image).__name__ if not isinstance(image, np.ndarray) else f"{image.dtype} array"
        raise ValueError(f"expected a uint8 BGR image (HxWx3), got a {kind}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected a uint8 BGR image (HxWx3), got shape {image.shape}")
    return image


def preprocess_image(image: np.ndarray, spec: PreprocessSpec, size: int) -> np.ndarray:
    """One BGR image -> float32 [3, size, size]."""
    x = bilinear(as_bgr(image).astype(np.float32), size, size)
    if spec.transform == "normalize":
        x -= np.asarray(spec.mean_bgr, dtype=np.float32)
        x /= np.asarray(spec.std_bgr, dtype=np.float32)
    else:
        x /= np.float32(255.0)
    chw = x.transpose(2, 0, 1)
    if spec.channel_order == "RGB":
        chw = chw[::-1]
    return np.ascontiguousarray(chw)


def preprocess_batch(images: Sequence[np.ndarray], spec: PreprocessSpec, size: int) -> np.ndarray:
    """BGR images of any sizes -> float32 [B, 3, size, size]."""
    if len(images) == 0:
        return np.zeros((0, 3, size, size), dtype=np.float32)
    return np.stack([preprocess_image(image, spec, size) for image in images])
