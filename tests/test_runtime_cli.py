"""yolact-run on folders, a corrupt file, --resume and a video."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from yolact_runtime.cli import main
from yolact_runtime.pipeline.image_ids import default_image_id
from fakes import make_fake_model, random_detections
from twins import OTHER_KEY, TWIN_KEYS, make_twins, twin_outputs

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"


@pytest.fixture()
def generated(tmp_path) -> Path:
    folder = tmp_path / "generated"
    (folder / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(folder / "gen_a.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / "nested" / "gen_b.jpg"), rng.integers(0, 256, (80, 60, 3), dtype=np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg" * 20)
    (folder / "notes.txt").write_text("not an image: ignored in folders")
    return folder


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.startswith(".")]


def test_folder_with_a_corrupt_file(tmp_path, model_path, generated) -> None:
    assert PHOTOS.is_dir(), f"{PHOTOS} is not there"
    photos = sorted(p.name for p in PHOTOS.glob("*.png"))
    out = tmp_path / "out"
    code, stdout, stderr = _run(PHOTOS, generated, "--model", model_path, "--out", out,
                                "--json", out / "results.json", "--save-masks", "--score-threshold", "0",
                                "--batch-size", "2")
    assert code == 1
    errors = [line for line in stderr.splitlines() if "broken.jpg" in line]
    assert len(errors) == 1
    assert errors[0].startswith("error: ") and "cannot decode image" in errors[0]
    assert "Traceback" not in stderr
    expected = [*photos, "gen_a.png", "nested/gen_b.jpg"]
    for key in expected:
        assert (out / "overlays" / key).is_file()
        stem = str(Path(key).with_suffix(""))
        assert (out / "masks" / f"{stem}.png").is_file()
        assert (out / "detections" / f"{stem}.json").is_file()
    assert not (out / "overlays" / "broken.jpg").exists()
    assert f"{len(expected)} images" in stdout and "1 failed" in stdout
    assert _leftovers(out) == []

    results = json.loads((out / "results.json").read_text())
    assert {r["file_name"] for r in results} == set(expected)
    ids = {r["file_name"]: r["image_id"] for r in results}
    assert ids == {key: default_image_id(key) for key in expected}  # the names' hashes (image_ids.py)
    overlay = cv2.imread(str(out / "overlays" / photos[0]))
    first = next(r for r in results if r["file_name"] == photos[0])
    assert first["segmentation"]["size"] == list(overlay.shape[:2])
    instance_map = cv2.imread(str(out / "masks" / Path(photos[0]).with_suffix(".png")), cv2.IMREAD_UNCHANGED)
    assert instance_map.shape == overlay.shape[:2] and instance_map.max() <= 6


def test_resume_skips_done_images(tmp_path, model_path, generated) -> None:
    out = tmp_path / "out"
    assert _run(generated, "--model", model_path, "--out", out, "--json", out / "r.json")[0] == 1
    done = out / "overlays" / "gen_a.png"
    stamp = done.stat().st_mtime_ns
    (out / "overlays" / "nested" / "gen_b.jpg").unlink()

    code, stdout, stderr = _run(generated, "--model", model_path, "--out", out, "--json", out / "r.json", "--resume")
    assert code == 1  # the corrupt file is retried, and fails again
    assert "1 image in" in stdout and "1 skipped" in stdout
    assert done.stat().st_mtime_ns == stamp
    assert (out / "overlays" / "nested" / "gen_b.jpg").is_file()
    names = {r["file_name"] for r in json.loads((out / "r.json").read_text())}
    assert names == {"gen_a.png", "nested/gen_b.jpg"}  # skipped images are still in the JSON


def test_twin_stems_each_get_their_outputs_and_resume_finds_them(tmp_path, model_path) -> None:
    folder, out = make_twins(tmp_path), tmp_path / "out"
    args = (folder, "--model", model_path, "--out", out, "--json", out / "r.json", "--save-masks")
    code, stdout, stderr = _run(*args)
    assert code == 0, stderr
    assert "3 images" in stdout and "error" not in stderr
    for key in TWIN_KEYS:
        assert all(path.is_file() for path in twin_outputs(out, key))
        record = json.loads((out / "detections" / f"{key}.json").read_text())
        assert record["file_name"] == key
        assert (record["height"], record["width"]) == cv2.imread(str(folder / key)).shape[:2]
    assert (out / "detections" / "c" / "other.json").is_file()  # no collision: the usual name
    assert not (out / "detections" / "c" / "twin.json").exists()
    assert {r["file_name"] for r in json.loads((out / "r.json").read_text())} == {*TWIN_KEYS, OTHER_KEY}

    code, stdout, stderr = _run(*args, "--resume")
    assert code == 0, stderr
    assert "0 images" in stdout and "3 skipped" in stdout


def test_json_is_the_same_without_overlays(tmp_path, model_path, generated) -> None:
    (generated / "broken.jpg").unlink()
    args = ("--model", model_path, "--score-threshold", "0", "-q")
    assert _run(generated, *args, "--out", tmp_path / "a", "--json", tmp_path / "a.json")[0] == 0
    assert _run(generated, *args, "--out", tmp_path / "b", "--json", tmp_path / "b.json", "--no-overlays")[0] == 0
    assert not (tmp_path / "b" / "overlays").exists()
    dense, direct = (json.loads((tmp_path / f"{x}.json").read_text()) for x in "ab")
    assert dense == direct and len(dense) == 12


def test_video_gives_an_overlay_video_with_every_frame(tmp_path, model_path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened()
    for i in range(7):
        writer.write(np.full((48, 64, 3), 30 * i, np.uint8))
    writer.release()
    out = tmp_path / "out"
    code, stdout, stderr = _run(video, "--model", model_path, "--out", out, "--json", out / "r.json",
                                "--save-masks", "--batch-size", "3", "--quiet")
    assert code == 0, stderr
    assert stdout == ""
    capture = cv2.VideoCapture(str(out / "overlays" / "clip.avi"))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == 7
    assert len(list((out / "masks" / "clip").glob("*.png"))) == 7
    results = json.loads((out / "r.json").read_text())
    assert {r["frame"] for r in results} == set(range(7))
    assert {r["image_id"] for r in results} == {default_image_id("clip.avi", frame) for frame in range(7)}
    assert _leftovers(out) == []


def test_model_errors_are_one_line(tmp_path, generated) -> None:
    code, _, stderr = _run(generated, "--model", tmp_path / "missing.onnx", "--out", tmp_path / "out")
    assert code == 2 and stderr.strip().splitlines() == [f"error: {tmp_path / 'missing.onnx'}: model file not found"]
    plain = tmp_path / "plain.onnx"
    onnx.save(make_fake_model(random_detections(), metadata={}), plain)
    code, _, stderr = _run(generated, "--model", plain, "--out", tmp_path / "out")
    assert code == 2 and "plain.onnx: not a yolact-export model" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_unavailable_provider_is_one_line(tmp_path, model_path, generated) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA is available here")
    code, _, stderr = _run(generated, "--model", model_path, "--out", tmp_path / "out", "--providers", "cuda")
    assert code == 2
    assert stderr.strip().splitlines() == [
        "error: providers cuda: CUDAExecutionProvider is not available in this onnxruntime build (available: "
        + ", ".join(onnxruntime.get_available_providers()) + "); install onnxruntime-gpu for CUDA and TensorRT"
    ]


def test_missing_input_is_reported_and_the_rest_processed(tmp_path, model_path, generated) -> None:
    out = tmp_path / "out"
    code, _, stderr = _run(generated / "gen_a.png", tmp_path / "nope.png", "--model", model_path, "--out", out, "-q")
    assert code == 1
    assert f"error: {tmp_path / 'nope.png'}: no such file or folder" in stderr.splitlines()
    assert (out / "overlays" / "gen_a.png").is_file()


def test_console_entry_never_prints_a_traceback(tmp_path, model_path, generated) -> None:
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "yolact_runtime", str(generated), "--model", str(model_path),
                          "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"error: {generated / 'broken.jpg'}: "
                                               "cannot decode image (corrupt or unsupported format)"]


def test_help_lists_every_option_under_its_group() -> None:
    code, stdout, _ = _run("--help")
    assert code == 0
    headers = [line for line in stdout.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headers == ["Inputs:", "Outputs:", "Model:", "Engine:", "Other:"]
    sections = dict(zip(headers, stdout.split("\n\n")[-len(headers):]))
    for header, flags in (("Inputs:", ["--vid-stride", "--no-drop"]), ("Outputs:", ["--jsonl", "--polygons", "--track"]),
                          ("Model:", ["--model", "--classes"]), ("Engine:", ["--engine", "--workers"])):
        assert sections[header].startswith(header) and all(flag in sections[header] for flag in flags)
