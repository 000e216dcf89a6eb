"""Synthetic instance-segmentation data set: coloured shapes on textured backgrounds, COCO format.

Five classes (disc, rectangle, triangle, star, ring) with random colours, sizes and rotations.
Objects overlap; each instance keeps only its visible part after occlusion by later-drawn
objects, and instances that become tiny are dropped. Every image is drawn from its own
generator seeded by (seed, index), so the output is deterministic for a given seed.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

SHAPE_NAMES: tuple[str, ...] = ("disc", "rectangle", "triangle", "star", "ring")
MIN_VISIBLE_AREA = 40  # pixels; smaller visible remnants are dropped
MIN_VISIBLE_FRACTION = 0.15  # of the unoccluded shape's area


@dataclass
class SynthOptions:
    size: int = 320
    max_objects: int = 6
    empty_fraction: float = 0.05
    min_extent: float = 0.06  # object diameter as a fraction of the image size
    max_extent: float = 0.40
    image_format: str = "png"


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Gradient + low-frequency blobs + pixel noise + random lines, uint8 BGR."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    blobs = rng.normal(0, 1, (8, 8, 3)).astype(np.float32)
    img += cv2.resize(blobs, (size, size), interpolation=cv2.INTER_CUBIC) * rng.uniform(0, 30)
    img += rng.normal(0, rng.uniform(2, 14), (size, size, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 8))):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.line(img, p1, p2, color, int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
    return img


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return points @ np.array([[c, s], [-s, c]], dtype=np.float64)


def _polygon(label: int, radius: float, rng: np.random.Generator) -> np.ndarray | None:
    """Vertices around the origin for the polygonal classes (rectangle, triangle, star)."""
    angle = rng.uniform(0, 2 * math.pi)
    if label == 1:  # rectangle
        aspect = rng.uniform(0.35, 1.0)
        w, h = radius * 2 / math.sqrt(1 + aspect ** 2), radius * 2 * aspect / math.sqrt(1 + aspect ** 2)
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    elif label == 2:  # triangle, slightly irregular
        a = np.array([0, 2 * math.pi / 3, 4 * math.pi / 3]) + rng.uniform(-0.25, 0.25, 3)
        pts = np.stack([np.cos(a), np.sin(a)], 1) * radius
    elif label == 3:  # five-pointed star
        a = np.arange(10) * math.pi / 5
        r = np.where(np.arange(10) % 2 == 0, radius, radius * rng.uniform(0.38, 0.5))
        pts = np.stack([np.cos(a) * r, np.sin(a) * r], 1)
    else:
        return None
    return _rotate(pts, angle)


def shape_mask(label: int, center: np.ndarray, radius: float, size: int,
                rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    shift = 4  # sub-pixel precision for the drawing calls
    c = tuple(int(round(v * (1 << shift))) for v in center)
    if label == 0:  # disc (an ellipse close to a circle)
        axes = (int(radius * (1 << shift)), int(radius * rng.uniform(0.8, 1.0) * (1 << shift)))
        cv2.ellipse(mask, c, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1, cv2.LINE_8, shift)
    elif label == 4:  # ring
        cv2.circle(mask, c, int(radius * (1 << shift)), 1, -1, cv2.LINE_8, shift)
        cv2.circle(mask, c, int(radius * rng.uniform(0.4, 0.65) * (1 << shift)), 0, -1, cv2.LINE_8, shift)
    else:
        pts = _polygon(label, radius, rng) + center
        cv2.fillPoly(mask, [np.round(pts * (1 << shift)).astype(np.int32)], 1, cv2.LINE_8, shift)
    return mask


def _paint(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Fill the mask with a random colour, a soft shading gradient and a little noise."""
    ys, xs = np.nonzero(mask)
    color = rng.uniform(0, 255, 3)
    direction = rng.normal(0, 1, 2)
    shade = (xs * direction[0] + ys * direction[1]) / img.shape[0] * rng.uniform(0, 40)
    values = color[None, :] + shade[:, None] + rng.normal(0, 4, (len(xs), 3))
    img[ys, xs] = np.clip(values, 0, 255).astype(np.uint8)


def render_image(rng: np.random.Generator, opts: SynthOptions, empty: bool
                 ) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """One image and its instances as (0-based label, visible uint8 mask), drawing order."""
    size = opts.size
    img = _background(rng, size)
    if empty:
        return img, []
    drawn: list[tuple[int, np.ndarray]] = []
    for _ in range(int(rng.integers(1, opts.max_objects + 1))):
        label = int(rng.integers(0, len(SHAPE_NAMES)))
        radius = rng.uniform(opts.min_extent, opts.max_extent) * size / 2
        center = rng.uniform(radius * 0.6, size - radius * 0.6, 2)
        mask = shape_mask(label, center, radius, size, rng)
        if mask.sum() < MIN_VISIBLE_AREA:
            continue
        _paint(img, mask, rng)
        drawn.append((label, mask))
    instances = []
    later = np.zeros((size, size), np.uint8)
    for label, mask in reversed(drawn):  # visible = own mask minus everything drawn after it
        visible = mask & (1 - later)
        later |= mask
        area = int(visible.sum())
        if area >= MIN_VISIBLE_AREA and area >= MIN_VISIBLE_FRACTION * mask.sum():
            instances.append((label, visible))
    return img, instances[::-1]


def _annotation(mask: np.ndarray, label: int, image_id: int, ann_id: int) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask))
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    rle["counts"] = rle["counts"].decode("ascii")
    return {"id": ann_id, "image_id": image_id, "category_id": label + 1, "segmentation": rle,
            "area": float(mask_utils.area(rle)), "bbox": bbox, "iscrowd": 0}


def generate(out_dir: str | Path, num_images: int, seed: int, opts: SynthOptions | None = None) -> Path:
    """Writes images/ and annotations.json under out_dir; returns the annotations path."""
    opts = opts or SynthOptions()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    num_empty = int(round(num_images * opts.empty_fraction))
    empty_ids = set(np.random.default_rng([seed, 1 << 30]).permutation(num_images)[:num_empty].tolist())
    for i in range(num_images):
        rng = np.random.default_rng([seed, i])
        img, instances = render_image(rng, opts, empty=i in empty_ids)
        name = f"{i:06d}.{'png' if opts.image_format == 'png' else 'jpg'}"
        cv2.imwrite(str(out / "images" / name), img)
        # the id is the file stem's number, as yolact-run numbers it (runtime pipeline/image_ids.py)
        images.append({"id": i, "file_name": name, "width": opts.size, "height": opts.size})
        for label, mask in instances:
            annotations.append(_annotation(mask, label, i, len(annotations) + 1))
    categories = [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(SHAPE_NAMES)]
    data = {"info": {"description": f"yolact-synth shapes, seed {seed}"}, "images": images,
            "annotations": annotations, "categories": categories}
    path = out / "annotations.json"
    path.write_text(json.dumps(data))
    return path
