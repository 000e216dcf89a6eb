"""Masks as COCO polygons and YOLO label lines (core/polygons.py): back through pycocotools, and a ring."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from yolact_export.data.synthetic import SHAPE_NAMES, shape_mask
from yolact_runtime.core.polygons import coco_polygons, yolo_line
from yolact_runtime.core.masks.rle import decode_rles

SIZE = 160
RING = SHAPE_NAMES.index("ring")


def _rasterised(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """pycocotools' own rasterisation, as COCO evaluation does it."""
    rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    return decode_rles([{**rle, "counts": rle["counts"].decode("ascii")}], height, width)[0]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _shapes(label: int) -> list[np.ndarray]:
    """Project-drawn shapes of one class, some cut by the image's edge, all wider and taller than 20 px."""
    rng = np.random.default_rng(label)
    shapes = []
    while len(shapes) < 12:
        radius = rng.uniform(11, 60)
        centre = rng.uniform(radius * 0.5, SIZE - radius * 0.5, 2)
        mask = shape_mask(label, centre, radius, SIZE, rng).astype(bool)
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if len(rows) and rows[-1] - rows[0] >= 20 and cols[-1] - cols[0] >= 20:
            shapes.append(mask)
    return shapes


@pytest.mark.parametrize("label", [SHAPE_NAMES.index(n) for n in ("disc", "rectangle", "triangle", "star")])
def test_polygons_rasterise_back_to_the_mask(label: int) -> None:
    for mask in _shapes(label):
        polygons = coco_polygons(mask)
        assert len(polygons) == 1 and len(polygons[0]) >= 6
        assert _iou(_rasterised(polygons, SIZE, SIZE), mask) >= 0.95


def test_separate_parts_are_separate_polygons() -> None:
    mask = np.zeros((50, 90), bool)
    mask[5:30, 5:30] = mask[20:45, 50:85] = True
    polygons = coco_polygons(mask)
    assert len(polygons) == 2
    assert _iou(_rasterised(polygons, 50, 90), mask) >= 0.95


def test_a_ring_becomes_its_outer_outline_with_the_hole_filled() -> None:
    for ring in _shapes(RING):
        filled = np.zeros_like(ring)
        rows, cols = np.flatnonzero(ring.any(1)), np.flatnonzero(ring.any(0))
        filled[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
        hole = ~ring & filled  # the box's pixels outside the ring: its hole and its corners
        polygons = coco_polygons(ring)
        back = _rasterised(polygons, SIZE, SIZE)
        assert len(polygons) == 1  # one outline, no second polygon for the hole
        assert (back & ring).sum() >= 0.97 * ring.sum()  # all of the ring ...
        disc = back & hole  # ... and the hole, which the polygon cannot leave out
        assert disc.sum() > 0.1 * ring.sum()
        assert _iou(back, ring) < 0.9  # so the polygon is not the ring


def test_yolo_lines_round_trip_to_the_polygon() -> None:
    height, width = 120, 200
    mask = np.zeros((height, width), bool)
    mask[10:70, 30:190] = True
    mask[80:119, 0:25] = True  # a second, smaller part: a YOLO line holds the largest
    line = yolo_line(3, mask)
    assert line is not None
    fields = line.split()
    assert fields[0] == "3"
    normalised = np.array(fields[1:], dtype=np.float64).reshape(-1, 2)
    assert normalised.min() >= 0 and normalised.max() <= 1
    points = normalised * (width, height)
    largest = np.array(coco_polygons(mask)[0]).reshape(-1, 2)
    assert np.abs(points - largest).max() <= 0.01 + 0.5e-6 * width  # 2 decimals in COCO, 6 in YOLO
    back = _rasterised([points.reshape(-1).tolist()], height, width)
    part = np.zeros_like(mask)
    part[10:70, 30:190] = True
    assert _iou(back, part) >= 0.95


def test_an_empty_mask_has_no_outline() -> None:
    assert coco_polygons(np.zeros((8, 8), bool)) == [] and yolo_line(0, np.zeros((8, 8), bool)) is None
