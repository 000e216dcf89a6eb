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
from .scratch import scratch


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


def preprocess_image(image: np.ndarray, spec: PreprocessSpec, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """One BGR image -> float32 [3, size, size], written into `out` when given.

    The float image and its resize are this thread's scratch, and each channel is normalised
    straight into its (reordered) plane of the output: the same float32 operations in the same
    order as (x - mean) / std on the whole image then a transpose, without their fresh arrays.
    """
    bgr = as_bgr(image)
    pixels = scratch("preprocess pixels", bgr.shape)
    np.copyto(pixels, bgr, casting="unsafe")
    resized = bilinear(pixels, size, size, scratch("preprocess resized", (size, size, 3)))
    chw = np.empty((3, size, size), dtype=np.float32) if out is None else out
    for source in range(3):
        plane = chw[2 - source] if spec.channel_order == "RGB" else chw[source]
        if spec.transform == "normalize":
            np.subtract(resized[:, :, source], np.float32(spec.mean_bgr[source]), out=plane)
            np.divide(plane, np.float32(spec.std_bgr[source]), out=plane)
        else:
            np.divide(resized[:, :, source], np.float32(255.0), out=plane)
    return chw


def preprocess_batch(images: Sequence[np.ndarray], spec: PreprocessSpec, size: int) -> np.ndarray:
    """BGR images of any sizes -> float32 [B, 3, size, size]."""
    batch = np.empty((len(images), 3, size, size), dtype=np.float32)
    for image, out in zip(images, batch):
        preprocess_image(image, spec, size, out)
    return batch
