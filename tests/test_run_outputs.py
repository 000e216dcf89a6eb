"""yolact-run --polygons and --save-txt on images and video frames; --vid-stride and --max-frames."""
from __future__ import annotations

import json

import cv2
import numpy as np
from click.testing import CliRunner

from yolact_runtime.cli import main


def _run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(3)
    cv2.imwrite(str(folder / "a.png"), rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))
    writer = cv2.VideoWriter(str(folder / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(7):
        writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    writer.release()
    return folder


def test_polygons_and_yolo_labels_for_images_and_frames(tmp_path, model_path) -> None:
    folder, out = _inputs(tmp_path), tmp_path / "out"
    code, _, stderr = _run(folder, "--model", model_path, "--out", out, "--json", out / "r.json", "--polygons",
                           "--save-txt", "--vid-stride", "3")
    assert code == 0, stderr
    record = json.loads((out / "detections" / "a.json").read_text())
    detections = record["detections"]
    assert detections and all(isinstance(d["segmentation"], list) for d in detections)
    assert all(len(p) >= 6 and len(p) % 2 == 0 for d in detections for p in d["segmentation"])
    results = json.loads((out / "r.json").read_text())
    assert all(isinstance(r["segmentation"], list) for r in results)

    lines = (out / "labels" / "a.txt").read_text().splitlines()
    outlined = [d for d in detections if d["segmentation"]]
    assert len(lines) == len(outlined)
    for line, detection in zip(lines, outlined):  # each line is its detection's largest polygon, normalised
        points = np.array(line.split()[1:], float).reshape(-1, 2) * (record["width"], record["height"])
        largest = np.array(detection["segmentation"][0]).reshape(-1, 2)
        assert int(line.split()[0]) == detection["category_id"] - 1  # the fake model has no category table
        assert points.shape == largest.shape and np.abs(points - largest).max() <= 0.01 + 1e-6 * record["width"]

    video = json.loads((out / "detections" / "v.json").read_text())
    assert video["frame_numbers"] == [0, 3, 6]  # --vid-stride 3 of 7 frames
    assert sorted(p.name for p in (out / "labels" / "v").iterdir()) == ["000000.txt", "000003.txt", "000006.txt"]
    assert sorted({r["frame"] for r in results if "frame" in r}) == [0, 3, 6]


def test_max_frames_cuts_each_video(tmp_path, model_path) -> None:
    folder, out = _inputs(tmp_path), tmp_path / "out"
    code, _, stderr = _run(folder / "v.avi", "--model", model_path, "--out", out, "--max-frames", "2")
    assert code == 0, stderr
    assert len(json.loads((out / "detections" / "v.json").read_text())["frames"]) == 2
    capture = cv2.VideoCapture(str(out / "overlays" / "v.avi"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    capture.release()
