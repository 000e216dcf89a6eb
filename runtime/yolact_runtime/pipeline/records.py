"""Per-item detection records (JSON beside the outputs) and the run's COCO results file."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import Result
from ..core.polygons import coco_polygons, yolo_line
from .discover import InputItem


def detections(result: Result, polygons: bool = False) -> list[dict[str, Any]]:
    """COCO result dicts without an image id (ids are given when the run's JSON is assembled);
    polygons: the segmentation as COCO polygons (core/polygons.py) instead of RLE."""
    out = result.to_coco(image_id=0)
    masks = result.image_masks() if polygons else None
    for index, detection in enumerate(out):
        del detection["image_id"]
        if masks is not None:
            detection["segmentation"] = coco_polygons(masks[index])
    return out


def yolo_labels(result: Result) -> str:
    """--save-txt: one YOLO segmentation line per detection with an outline (core/polygons.py)."""
    masks = result.image_masks()
    if masks is None:
        return ""
    lines = (yolo_line(int(class_id), mask) for class_id, mask in zip(result.class_ids, masks))
    return "".join(f"{line}\n" for line in lines if line is not None)


def image_record(item: InputItem, size: tuple[int, int], found: list[dict[str, Any]]) -> dict[str, Any]:
    height, width = size
    return {"file_name": item.key, "width": width, "height": height, "detections": found}


def video_record(item: InputItem, size: tuple[int, int], fps: float, frames: list[list[dict]],
                 numbers: list[int]) -> dict[str, Any]:
    """`frames` in order; `frame_numbers` (their numbers in the source) only when they are not 0, 1, 2, ..."""
    height, width = size
    record = {"file_name": item.key, "width": width, "height": height, "fps": fps, "frames": frames}
    if numbers != list(range(len(numbers))):
        record["frame_numbers"] = numbers
    return record


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _numeric_ids(records: Sequence[dict[str, Any]]) -> list[int] | None:
    """COCO-style names (000000397133.jpg -> 397133) when every input is such an image."""
    stems = [Path(r["file_name"]).stem for r in records]
    if any("frames" in r for r in records) or not all(s.isdigit() for s in stems):
        return None
    ids = [int(s) for s in stems]
    return ids if len(set(ids)) == len(ids) else None


def coco_results(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A COCO results list (loadable by COCO.loadRes), each entry also naming its file (and frame).

    Image ids: the numbers of COCO-style file names when all inputs have them, else 1, 2, ...
    in input order, one per image and per video frame.
    """
    numeric = _numeric_ids(records)
    results: list[dict[str, Any]] = []
    next_id = 1
    for index, record in enumerate(records):
        if "frames" in record:
            numbers = record.get("frame_numbers", range(len(record["frames"])))
            for frame, dets in zip(numbers, record["frames"]):
                extra = {"file_name": record["file_name"], "frame": frame}
                results.extend({"image_id": next_id, **d, **extra} for d in dets)
                next_id += 1
            continue
        image_id = numeric[index] if numeric else next_id
        next_id += 1
        results.extend({"image_id": image_id, **d, "file_name": record["file_name"]} for d in record["detections"])
    return results
