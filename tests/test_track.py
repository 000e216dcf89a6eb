"""yolact-run --track on a video the project draws: each shape keeps one track ID, no two swap."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from moving_shapes import OBJECTS, make_video
from yolact_runtime.cli import main

FRAMES = 60


def _box(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], float)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    low, high = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(high - low, 0, None)))
    return inter / (float(np.prod(a[2:] - a[:2])) + float(np.prod(b[2:] - b[:2])) - inter)


def _ids_per_object(lines: list[dict], truth: list[list[np.ndarray]]) -> list[list[int | None]]:
    """For each true object, frame by frame: the track ID of the detection over it (box IoU >= 0.5)."""
    ids: list[list[int | None]] = [[] for _ in OBJECTS]
    for line, masks in zip(lines, truth):
        boxes = [np.array([x, y, x + w, y + h]) for x, y, w, h in (d["bbox"] for d in line["detections"])]
        for k, mask in enumerate(masks):
            overlaps = [_iou(_box(mask), b) for b in boxes]
            best = int(np.argmax(overlaps)) if overlaps else -1
            ids[k].append(line["detections"][best]["track_id"] if best >= 0 and overlaps[best] >= 0.5 else None)
    return ids


def test_each_shape_keeps_one_track_id(tmp_path, shipped_onnx) -> None:
    video, out = tmp_path / "moving.avi", tmp_path / "out"
    truth = make_video(video, FRAMES)
    result = CliRunner().invoke(main, [str(video), "--model", str(shipped_onnx), "--out", str(out), "--track",
                                       "--jsonl", str(out / "run.jsonl"), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in (out / "run.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(FRAMES))
    record = json.loads((out / "detections" / "moving.json").read_text())
    assert [[d["track_id"] for d in f] for f in record["frames"]] == \
        [[d["track_id"] for d in line["detections"]] for line in lines]  # the same IDs in the record

    ids = _ids_per_object(lines, truth)
    kept = []
    for frames in ids:
        known = [i for i in frames if i is not None]
        assert known, "the model found this object in no frame"
        kept.append(max(set(known), key=known.count))
        assert known.count(kept[-1]) >= 0.95 * FRAMES  # of all its frames, missed ones count against it
    assert len(set(kept)) == len(OBJECTS)  # distinct objects, distinct IDs
    for k, frames in enumerate(ids):  # and no object ever carries another's ID
        assert not set(frames) & (set(kept) - {kept[k]})

    overlay = cv2.VideoCapture(str(out / "overlays" / "moving.avi"))
    assert int(overlay.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    overlay.release()


def test_without_the_extra_track_is_one_line(tmp_path, model_path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "trackers", None)  # as if `pip install yolact-export[track]` was not done
    video = tmp_path / "v.avi"
    make_video(video, 2)
    result = CliRunner().invoke(main, [str(video), "--model", str(model_path), "--out", str(tmp_path / "o"),
                                       "--track"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: --track needs the trackers package, which is not installed "
                                          "here: pip install yolact-export[track]"]


def test_overlays_colour_by_track() -> None:
    from yolact_runtime.core.result import Result

    masks = np.zeros((2, 40, 80), bool)
    masks[0, 5:35, 5:35] = masks[1, 5:35, 45:75] = True
    result = Result(boxes=np.array([[5, 5, 35, 35], [45, 5, 75, 35]]), scores=np.array([0.9, 0.8], np.float32),
                    class_ids=np.array([1, 1]), class_names=["rectangle"] * 2, category_ids=np.array([2, 2]),
                    image_size=(40, 80), masks=masks)
    image = np.zeros((40, 80, 3), np.uint8)
    by_class, by_track = result.draw(image), result.draw(image, track_ids=[3, 4])
    assert (by_class[20, 20] == by_class[20, 60]).all()  # one class, one colour
    assert (by_track[20, 20] != by_track[20, 60]).any()  # two tracks, two colours
    assert (result.draw(image, track_ids=[4, None])[20, 20] == by_track[20, 60]).all()  # a track keeps its colour
