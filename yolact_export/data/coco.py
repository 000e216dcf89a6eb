"""Reading a COCO instances data set for training, with one-line errors for malformed input."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from ..model.config import YolactConfig


class DatasetError(ValueError):
    """A data set that cannot be used for training; the message is one line."""


class DatasetImageError(DatasetError):
    """An image of the data set that cannot be read (an input that failed, not a bad annotations file)."""


@dataclass
class ImageRecord:
    path: Path
    width: int
    height: int
    labels: list[int] = field(default_factory=list)  # 0-based foreground classes
    segmentations: list = field(default_factory=list)  # COCO polygons or RLE


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DatasetError(f"{path}: annotations file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a COCO object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{path}: missing or invalid '{key}' list")
    return data


def category_map(categories: list[dict], config: YolactConfig, source: Path) -> dict[int, int]:
    """COCO category id -> 0-based class index, checked against the config."""
    try:
        ids = sorted(int(c["id"]) for c in categories)
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"{source}: every category needs an integer 'id'") from None
    expected = config.num_classes - 1
    if config.category_ids is not None:
        if sorted(config.category_ids) != ids:
            raise DatasetError(f"{source}: category ids {ids} do not match config {config.name} "
                               f"(expects {list(config.category_ids)})")
        return {cid: i for i, cid in enumerate(config.category_ids)}
    if len(ids) != expected:
        raise DatasetError(f"{source}: {len(ids)} categories but config {config.name} has {expected} classes")
    return {cid: i for i, cid in enumerate(ids)}


def _image_records(data: dict, images_dir: Path, source: Path) -> dict[int, ImageRecord]:
    records: dict[int, ImageRecord] = {}
    for img in data["images"]:
        try:
            image_id, name = int(img["id"]), str(img["file_name"])
            width, height = int(img["width"]), int(img["height"])
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{source}: image entry {str(img)[:80]} needs id, file_name, width, height") from None
        path = images_dir / name
        if not path.is_file():
            raise DatasetError(f"{source}: image {image_id} file not found: {path}")
        records[image_id] = ImageRecord(path, width, height)
    return records


def load_coco(annotations: str | Path, images_dir: str | Path, config: YolactConfig) -> list[ImageRecord]:
    """All images (with or without instances) and their non-crowd instances."""
    source, images_dir = Path(annotations), Path(images_dir)
    if not images_dir.is_dir():
        raise DatasetError(f"{images_dir}: images directory not found")
    data = _read_json(source)
    cats = category_map(data["categories"], config, source)
    records = _image_records(data, images_dir, source)
    for ann in data["annotations"]:
        try:
            image_id, cat, seg = int(ann["image_id"]), int(ann["category_id"]), ann["segmentation"]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{source}: annotation {ann.get('id', '?') if isinstance(ann, dict) else '?'} "
                               "needs image_id, category_id, segmentation") from None
        if image_id not in records:
            raise DatasetError(f"{source}: annotation {ann.get('id', '?')} references missing image {image_id}")
        if cat not in cats:
            raise DatasetError(f"{source}: annotation {ann.get('id', '?')} has unknown category {cat}")
        if ann.get("iscrowd", 0):
            continue
        records[image_id].labels.append(cats[cat])
        records[image_id].segmentations.append(seg)
    if not records:
        raise DatasetError(f"{source}: no images")
    return list(records.values())


def decode_segmentation(seg, height: int, width: int) -> np.ndarray:
    """Polygon list, uncompressed or compressed RLE -> uint8 [H, W]."""
    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    elif isinstance(seg, dict) and isinstance(seg.get("counts"), list):
        rle = mask_utils.frPyObjects(seg, height, width)
    elif isinstance(seg, dict):
        rle = dict(seg, counts=seg["counts"].encode("ascii") if isinstance(seg["counts"], str) else seg["counts"])
    else:
        raise DatasetError(f"unsupported segmentation of type {type(seg).__name__}")
    return mask_utils.decode(rle).astype(np.uint8)


def load_sample(record: ImageRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BGR uint8 image, masks uint8 [n, H, W], labels int64 [n]."""
    image = cv2.imread(str(record.path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetImageError(f"{record.path}: cannot read image")
    h, w = image.shape[:2]
    try:
        masks = [decode_segmentation(s, h, w) for s in record.segmentations]
    except DatasetError as exc:
        raise DatasetError(f"{record.path}: {exc}") from None
    except Exception as exc:  # pycocotools raises bare exceptions for malformed input
        raise DatasetError(f"{record.path}: bad segmentation ({exc})") from None
    if any(m.shape != (h, w) for m in masks):
        raise DatasetError(f"{record.path}: segmentation size does not match the image size {w}x{h}")
    stacked = np.stack(masks) if masks else np.zeros((0, h, w), np.uint8)
    return image, stacked, np.asarray(record.labels, dtype=np.int64)
