"""Fixed-batch graphs and videos on a real exported model (the small config, lively weights).

A graph exported with --batch 2 or 4, fed 3 or 5 images (the runtime pads the last chunk),
must give for every image exactly what the dynamic graph gives it alone: same rows, in order,
boxes and masks equal, scores within 1e-5 (another batch size may pick other GEMM kernels), and
nothing from the padding images. A video's frames must get the detections those frames get as
images, its overlay video as many frames as it has, and a corrupt video one error line.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from yolact_runtime import Yolact
from yolact_runtime.cli import main

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
SCORE_TOL = 1e-5


@pytest.fixture(scope="module")
def small_models(tmp_path_factory) -> dict[str, Path]:
    from conftest import _lively_checkpoint
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    directory = tmp_path_factory.mktemp("batching")
    model, _ = load_checkpoint(_lively_checkpoint(directory, "yolact_shapes", 160))
    return {str(batch): export_onnx(model, directory / f"b{batch}.onnx", batch=batch)
            for batch in (None, 2, 4)}


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    images = [cv2.imread(str(p)) for p in sorted(PHOTOS.glob("*.png"))]
    flipped = [cv2.flip(image, 1) for image in images]  # 8 distinct images
    return images + flipped


def assert_same_result(got, want, where: str) -> None:
    assert len(got) == len(want), f"{where}: {len(got)} detections, alone {len(want)}"
    assert np.array_equal(got.class_ids, want.class_ids), where
    assert np.array_equal(got.boxes, want.boxes), where
    assert np.abs(got.scores - want.scores).max(initial=0) <= SCORE_TOL, where
    assert np.array_equal(got.masks, want.masks), where


@pytest.mark.parametrize("batch", [2, 4])
@pytest.mark.parametrize("count", [3, 5])
def test_fixed_batch_equals_each_image_alone(small_models, photos, batch, count):
    alone = Yolact(small_models["None"], "cpu", score_threshold=0)
    fixed = Yolact(small_models[str(batch)], "cpu", score_threshold=0)
    assert fixed.fixed_batch == batch and alone.fixed_batch is None
    images = photos[:count]
    results = fixed.predict_batch(images)
    assert len(results) == count
    for i, (image, result) in enumerate(zip(images, results)):
        want = alone(image)
        assert len(want) > 0, "the lively model must detect something"
        assert_same_result(result, want, f"batch {batch}, image {i} of {count}")


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 5) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def _decoded_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def _run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stderr


def _detections(entries: list[dict]) -> list[dict]:
    drop = ("image_id", "file_name", "frame")
    return [{k: v for k, v in e.items() if k not in drop} for e in entries]


@pytest.fixture()
def clip(tmp_path, photos) -> Path:
    video = tmp_path / "clip.avi"
    _write_video(video, [cv2.resize(image, (160, 120)) for image in photos[:6]])
    return video


def test_video_frames_get_the_detections_of_the_same_frames_as_images(small_models, clip, tmp_path):
    # The decoded frames (MJPG is lossy) saved losslessly: the images the video run sees.
    frames = _decoded_frames(clip)
    assert len(frames) == 6
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{i}.png"), frame)
    model, common = small_models["2"], ("--score-threshold", "0.3", "--batch-size", "4", "--quiet")
    code, stderr = _run(clip, "--model", model, "--out", tmp_path / "v", "--json", tmp_path / "v.json", *common)
    assert code == 0, stderr
    code, stderr = _run(folder, "--model", model, "--out", tmp_path / "i", "--json", tmp_path / "i.json", *common)
    assert code == 0, stderr
    video_entries = json.loads((tmp_path / "v.json").read_text())
    image_entries = json.loads((tmp_path / "i.json").read_text())
    assert video_entries, "no detections on the clip"
    for i in range(len(frames)):
        as_video = _detections([e for e in video_entries if e["frame"] == i])
        as_image = _detections([e for e in image_entries if e["file_name"] == f"frame_{i}.png"])
        assert as_video == as_image, f"frame {i}"
    assert len(_decoded_frames(tmp_path / "v" / "overlays" / "clip.avi")) == len(frames)


def test_video_resume_skips_a_done_video(small_models, clip, tmp_path):
    out, args = tmp_path / "out", ("--model", small_models["None"], "--quiet", "--score-threshold", "0.3")
    assert _run(clip, *args, "--out", out, "--json", out / "r.json")[0] == 0
    overlay = out / "overlays" / "clip.avi"
    stamp, first = overlay.stat().st_mtime_ns, json.loads((out / "r.json").read_text())
    result = CliRunner().invoke(main, [str(a) for a in (clip, *args[:2], "--out", out, "--json", out / "r.json",
                                                         "--resume")], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "1 skipped" in result.stdout
    assert overlay.stat().st_mtime_ns == stamp
    assert json.loads((out / "r.json").read_text()) == first  # the skipped video is still in the JSON


def test_corrupt_video_is_one_line(small_models, clip, tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(200))
    code, stderr = _run(bad, clip, "--model", small_models["None"], "--out", tmp_path / "out", "--quiet")
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}") and "video" in lines[0], stderr
    assert len(_decoded_frames(tmp_path / "out" / "overlays" / "clip.avi")) == 6
    assert not (tmp_path / "out" / "overlays" / "bad.avi").exists()
