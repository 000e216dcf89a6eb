"""One COCO image-id rule (runtime/yolact_runtime/pipeline/image_ids.py) in yolact-run and yolact-cpp-run:
their --json loads against a ground truth and both score the same AP on the shipped model's examples."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from yolact_runtime.cli import main as run_main
from yolact_runtime.pipeline.image_ids import HASHED_BASE, default_image_id, fnv1a64

REPO = Path(__file__).resolve().parents[1]
SHAPES = REPO / "examples" / "shapes"


def yolact_run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(run_main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stderr


def cpp_run(cpp_cli: Path, *args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(cpp_cli), *map(str, args)], capture_output=True, text=True, timeout=300)


def ids_of(path: Path) -> dict[str, int]:
    return {entry["file_name"]: entry["image_id"] for entry in json.loads(path.read_text())}


def test_the_rule() -> None:
    assert fnv1a64("") == 0xCBF29CE484222325 and fnv1a64("a") == 0xAF63DC4C8601EC8C  # FNV-1a's published values
    assert default_image_id("000000397133.jpg") == 397133 and default_image_id("sub/0042.png") == 42
    hashed = default_image_id("photo.jpg")
    assert hashed == HASHED_BASE + (fnv1a64("photo.jpg") & (HASHED_BASE - 1)) and hashed < 2**53
    assert default_image_id("clip.mp4", 3) == HASHED_BASE + (fnv1a64("clip.mp4#3") & (HASHED_BASE - 1))


def test_ids_do_not_depend_on_the_rest_of_the_run(tmp_path, model_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("000007.png", "photo.png"):
        cv2.imwrite(str(folder / name), rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    alone = tmp_path / "alone.json"
    assert yolact_run(folder, "-m", model_path, "-o", tmp_path / "a", "--json", alone, "-q")[0] == 0
    video, extra = tmp_path / "clip.avi", tmp_path / "000001.png"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (48, 40))
    for i in range(3):
        writer.write(np.full((40, 48, 3), 60 * i, np.uint8))
    writer.release()
    cv2.imwrite(str(extra), rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    mixed = tmp_path / "mixed.json"
    assert yolact_run(video, extra, folder, "-m", model_path, "-o", tmp_path / "b", "--json", mixed, "-q")[0] == 0
    assert ids_of(alone) == {"000007.png": 7, "photo.png": default_image_id("photo.png")}
    assert {k: v for k, v in ids_of(mixed).items() if k in ids_of(alone)} == ids_of(alone)
    frames = {e["image_id"] for e in json.loads(mixed.read_text()) if e["file_name"] == "clip.avi"}
    assert frames == {default_image_id("clip.avi", frame) for frame in range(3)}


def _shapes_with_a_stranger(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(SHAPES / "images", folder)
    shutil.copy(folder / "000001.jpg", folder / "stranger.jpg")  # not in the ground truth
    shutil.copy(folder / "000002.jpg", folder / "2.jpg")  # the same id as 000002.jpg without one
    return folder


def test_annotations_and_collisions_in_both_tools(tmp_path, cpp_cli, shipped_onnx) -> None:
    """An input without an id of its own is left out of the --json with one line and exit 1; the rest is kept."""
    folder = _shapes_with_a_stranger(tmp_path)
    truth = json.loads((SHAPES / "annotations.json").read_text())
    truth["images"] = [{**image, "id": 100 + image["id"]} for image in truth["images"]]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(truth))
    listed = {image["file_name"]: image["id"] for image in truth["images"]}
    py, cpp = tmp_path / "py.json", tmp_path / "cpp.json"
    code, stderr = yolact_run(folder, "-m", shipped_onnx, "-o", tmp_path / "out", "--json", py, "--annotations", gt,
                              "--providers", "cpu", "-q")
    proc = cpp_run(cpp_cli, shipped_onnx, folder, "--json", cpp, "--annotations", gt, "--providers", "cpu")
    assert code == 1 and proc.returncode == 1
    for lines in (stderr.splitlines(), proc.stderr.splitlines()):
        assert sorted(line.split(": ", 1)[1] for line in lines) == sorted(
            f"{name}: not in {gt} (no image id there); left out of the --json" for name in ("2.jpg", "stranger.jpg"))
    assert ids_of(py) == ids_of(cpp) == listed
    code, stderr = yolact_run(folder, "-m", shipped_onnx, "-o", tmp_path / "out2", "--json", py, "-q")
    proc = cpp_run(cpp_cli, shipped_onnx, folder, "--json", cpp)
    assert code == 1 and proc.returncode == 1
    collision = "2.jpg: image id 2 is already 000002.jpg's; left out of the --json (give --annotations to set the ids)"
    assert stderr.strip().endswith(collision) and proc.stderr.strip().endswith(collision)
    assert ids_of(py) == ids_of(cpp) == {**{n: int(Path(n).stem) for n in listed},
                                          "stranger.jpg": default_image_id("stranger.jpg")}


def test_a_bad_ground_truth_is_exit_2(tmp_path, cpp_cli, shipped_onnx) -> None:
    bad = tmp_path / "gt.json"
    bad.write_text('{"annotations": []}')
    message = f'{bad}: not a COCO ground truth (needs "images" with "id" and "file_name")'
    code, stderr = yolact_run(SHAPES / "images", "-m", shipped_onnx, "-o", tmp_path / "o", "--json",
                              tmp_path / "r.json", "--annotations", bad)
    proc = cpp_run(cpp_cli, shipped_onnx, SHAPES / "images", "--json", tmp_path / "c.json", "--annotations", bad)
    assert (code, proc.returncode) == (2, 2)
    assert stderr.strip().endswith(message) and proc.stderr.strip().endswith(message)
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "c.json").exists()


def _ap(truth: COCO, results: Path) -> tuple[float, float]:
    with contextlib.redirect_stdout(io.StringIO()):
        found = truth.loadRes(str(results))  # asserts that every image id is the ground truth's
        stats = []
        for kind in ("bbox", "segm"):
            run = COCOeval(truth, found, kind)
            run.evaluate(), run.accumulate(), run.summarize()
            stats.append(float(run.stats[0]))
    return stats[0], stats[1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools vs numpy 2
@pytest.mark.parametrize("ids", ["names", "annotations"])
def test_pycocotools_scores_both_tools_alike(tmp_path, cpp_cli, shipped_onnx, ids) -> None:
    """Default flags (threshold 0.3) on ONNX Runtime's CPU provider in both: the C++ runtime's boxes, scores
    and masks are the Python runtime's (tests/test_cpp_exact.py), so the AP is the same to the last digit."""
    flags = ["--annotations", SHAPES / "annotations.json"] if ids == "annotations" else []
    py, cpp = tmp_path / "py.json", tmp_path / "cpp.json"
    assert yolact_run(SHAPES / "images", "-m", shipped_onnx, "-o", tmp_path / "out", "--json", py, *flags,
                      "--providers", "cpu", "-q")[0] == 0
    proc = cpp_run(cpp_cli, shipped_onnx, SHAPES / "images", "--json", cpp, *flags, "--providers", "cpu")
    assert proc.returncode == 0, proc.stderr
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(SHAPES / "annotations.json"))
    python_ap, cpp_ap = _ap(truth, py), _ap(truth, cpp)
    print(f"shapes examples, box / mask AP: yolact-run {python_ap}, yolact-cpp-run {cpp_ap}")
    assert python_ap == cpp_ap
    assert cpp_ap[1] > 0.7  # the shipped model on what it was trained on (models/README.md)
