"""Per-item detection records (JSON beside the outputs) and the run's COCO results file."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import Result
from ..core.polygons import coco_polygons, yolo_line
from .discover import InputItem
from .image_ids import GroundTruth, image_id


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


def coco_results(records: Sequence[dict[str, Any]], ground_truth: GroundTruth | None = None
                 ) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """A COCO results list (loadable by COCO.loadRes), each entry also naming its file (and frame),
    with image ids as image_ids.py says; and {record index: error line} for the records left out
    (not in the ground truth, or an id another input already has)."""
    results: list[dict[str, Any]] = []
    left_out: dict[int, str] = {}
    owners: dict[int, str] = {}
    for index, record in enumerate(records):
        key = record["file_name"]
        if "frames" in record:
            numbers = record.get("frame_numbers", range(len(record["frames"])))
            parts = [(frame, dets, {"file_name": key, "frame": frame}) for frame, dets in zip(numbers, record["frames"])]
        else:
            parts = [(None, record["detections"], {"file_name": key})]
        ids = [image_id(key, frame, ground_truth) for frame, _, _ in parts]
        problem = _id_problem(key, ids, owners, ground_truth)
        if problem:
            left_out[index] = problem
            continue
        for number, (frame, dets, extra) in zip(ids, parts):
            owners[number] = key if frame is None else f"{key}#{frame}"
            results.extend({"image_id": number, **d, **extra} for d in dets)
    return results, left_out


def _id_problem(key: str, ids: list[int | None], owners: dict[int, str], ground_truth: GroundTruth | None) -> str:
    if None in ids:
        assert ground_truth is not None
        return f"{key}: not in {ground_truth.path} (no image id there); left out of the --json"
    taken = next((number for number in ids if number in owners), None)
    if taken is not None:
        return (f"{key}: image id {taken} is already {owners[taken]}'s; left out of the --json "
                "(give --annotations to set the ids)")
    return ""
