"""COCO results files of `yolact-run --json` and `yolact-cpp-run --json`, read as per-image sets.

yolact-run writes compressed RLE and, for YOLACT++, the mask score as "score"; yolact-cpp-run
writes uncompressed RLE, the box score as "score" and the mask score as "mask_score". Both name
each entry's file. Read as DetectionSets, both carry the ranking score as `scores`.
"""
from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..core.masks.rle import decode_rles
from .detections import DetectionSet

Entries = list[dict[str, Any]]


class ResultsFileError(ValueError):
    """One line naming the file and the cause."""


def read_results(path: str | os.PathLike[str]) -> dict[str, Entries]:
    """{file name (or "image_id N" for entries without one): entries}."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as error:
        raise ResultsFileError(f"{source}: cannot read file ({error.strerror or error})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ResultsFileError(f"{source}: not a JSON file ({error})") from None
    if not isinstance(data, list):
        raise ResultsFileError(f"{source}: not a COCO results file (expected a JSON list of detections)")
    by_image: dict[str, Entries] = {}
    for number, entry in enumerate(data):
        if not isinstance(entry, dict) or not {"category_id", "bbox", "score"} <= entry.keys():
            raise ResultsFileError(f"{source}: entry {number} is not a COCO detection (category_id, bbox, score)")
        key = entry.get("file_name") or f"image_id {entry.get('image_id')}"
        if "frame" in entry:
            key = f"{key}#frame{entry['frame']}"
        by_image.setdefault(str(key), []).append(entry)
    return by_image


def find_key(results: dict[str, Entries], key: str) -> str | None:
    """`key` itself, else the one entry name with the same base name (yolact-cpp-run names files
    by base name, yolact-run by their path inside the folder given)."""
    if key in results:
        return key
    base = PurePosixPath(key).name
    same = [k for k in results if PurePosixPath(k).name == base]
    return same[0] if len(same) == 1 else None


def _rle(segmentation: dict[str, Any]) -> dict[str, Any]:
    """Uncompressed RLE (counts as a list) -> compressed, as pycocotools decodes it."""
    if isinstance(segmentation.get("counts"), list):
        from pycocotools import mask as mask_utils

        height, width = segmentation["size"]
        return mask_utils.frPyObjects(segmentation, height, width)
    return segmentation


def to_set(entries: Entries, image_size: tuple[int, int] | None = None) -> DetectionSet:
    """One image's entries as a DetectionSet; masks when every entry has a segmentation."""
    if not entries:
        return DetectionSet.empty()
    boxes = np.array([e["bbox"] for e in entries], np.float64).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]  # x, y, w, h -> x1, y1, x2, y2
    cpp_style = all("mask_score" in e for e in entries)
    scores = np.array([e["mask_score"] if cpp_style else e["score"] for e in entries], np.float64)
    box_scores = np.array([e["score"] for e in entries], np.float64) if cpp_style else None
    masks = None
    if all("segmentation" in e for e in entries):
        size = image_size or tuple(entries[0]["segmentation"]["size"])
        masks = decode_rles([_rle(e["segmentation"]) for e in entries], *size)
    return DetectionSet(np.array([e["category_id"] for e in entries], np.int64), boxes, scores, box_scores, masks)
