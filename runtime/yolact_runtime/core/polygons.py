"""Masks as polygons: COCO polygon segmentation and YOLO segmentation label lines (OpenCV contours).

Coordinates are COCO's: pixel (row r, column c) is the square [c, c + 1] x [r, r + 1], so a polygon
traces the outer edges of the mask's pixels, not their centres (which would lose half a pixel all
round: IoU 0.91 on a 21 x 21 square). The mask is traced at twice its resolution, where the pixel
centres lie a quarter pixel inside those edges, and mapped back; the outline is then simplified by
at most a quarter pixel. pycocotools rasterises such a polygon back to the mask (tests/test_polygons.py).

Holes cannot be written: COCO polygons of one object are unioned, YOLO lines hold one outline. So
only outer outlines are kept (cv2.RETR_EXTERNAL): a ring becomes its outer outline, the hole filled
in. Each separate part of a mask is its own polygon (COCO); a YOLO line holds the largest part.
Parts under 3 vertices after tracing cannot be a polygon and are left out.
"""
from __future__ import annotations

import cv2
import numpy as np

SCALE = 2  # tracing resolution
SIMPLIFY = 0.25  # pixels: the simplified outline stays this close to the traced one


def mask_outlines(mask: np.ndarray) -> list[np.ndarray]:
    """float64 [k, 2] x y outlines (COCO coordinates) of a bool [H, W] mask's parts, largest first."""
    pixels = mask.view(np.uint8) if mask.dtype == bool else (mask > 0).astype(np.uint8)
    left, top, width, height = cv2.boundingRect(pixels)
    if width == 0 or height == 0:
        return []
    crop = pixels[top:top + height, left:left + width]
    traced = cv2.resize(crop, (width * SCALE, height * SCALE), interpolation=cv2.INTER_NEAREST)
    traced = cv2.copyMakeBorder(traced, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)  # parts on the edge close
    contours, _ = cv2.findContours(traced, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = []
    for contour in contours:
        simple = cv2.approxPolyDP(contour, SIMPLIFY * SCALE, True).reshape(-1, 2)
        if len(simple) >= 3:
            # traced pixel k (after the border) has its centre at (k - 1 + 0.5) / SCALE in the crop
            outlines.append((simple.astype(np.float64) - 0.5) / SCALE + (left, top))
    return sorted(outlines, key=lambda points: -abs(cv2.contourArea(points.astype(np.float32))))


def coco_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygon segmentation: [[x1, y1, x2, y2, ...], ...], one list per part."""
    return [[round(float(v), 2) for v in outline.reshape(-1)] for outline in mask_outlines(mask)]


def yolo_line(class_id: int, mask: np.ndarray) -> str | None:
    """`class x1 y1 x2 y2 ...` normalised to [0, 1] by the mask's width and height (its largest part)."""
    outlines = mask_outlines(mask)
    if not outlines:
        return None
    height, width = mask.shape
    points = np.clip(outlines[0] / (width, height), 0.0, 1.0).reshape(-1)
    return " ".join([str(class_id), *(f"{v:.6f}" for v in points)])
