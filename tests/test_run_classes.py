"""yolact-run --classes: by name or id, applied to every output; an unknown name is one line."""
from __future__ import annotations

import json

import cv2
import numpy as np
from click.testing import CliRunner

from fakes import COCO_LIKE_NAMES
from yolact_runtime.cli import main

# The fake model's six detections (tests/fakes.py, seed 0) are, best first, of the classes
# car, motorcycle, bicycle, bicycle, motorcycle, airplane.


def _run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _image(tmp_path):
    path = tmp_path / "in" / "a.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8))
    return path


def test_classes_by_name_and_id_reach_every_output(tmp_path, model_path) -> None:
    image, out = _image(tmp_path), tmp_path / "out"
    code, _, stderr = _run(image, "--model", model_path, "--out", out, "--json", out / "r.json", "--save-masks",
                           "--save-txt", "--classes", "Bicycle,4")
    assert code == 0, stderr
    record = json.loads((out / "detections" / "a.json").read_text())
    assert [d["category_id"] for d in record["detections"]] == [2, 2, 5]  # class id + 1 (no table)
    assert [r["category_id"] for r in json.loads((out / "r.json").read_text())] == [2, 2, 5]
    assert cv2.imread(str(out / "masks" / "a.png"), cv2.IMREAD_UNCHANGED).max() <= 3
    labels = (out / "labels" / "a.txt").read_text().splitlines()
    assert {line.split()[0] for line in labels} <= {"1", "4"} and labels

    code, _, stderr = _run(image, "--model", model_path, "--out", tmp_path / "k", "--classes", "bicycle",
                           "--classes", "airplane", "--top-k", "2")
    assert code == 0, stderr
    record = json.loads((tmp_path / "k" / "detections" / "a.json").read_text())
    assert [d["category_id"] for d in record["detections"]] == [2, 2]  # top-k after the class filter


def test_an_unknown_class_is_one_line_listing_the_classes(tmp_path, model_path) -> None:
    code, stdout, stderr = _run(_image(tmp_path), "--model", model_path, "--out", tmp_path / "out",
                                "--classes", "car,zebra")
    listed = ", ".join(f"{i} {name}" for i, name in enumerate(COCO_LIKE_NAMES))
    assert code == 2
    assert stderr.splitlines() == [f"error: --classes: the model has no class 'zebra'; its classes are {listed}"]
    assert not (tmp_path / "out").exists()
