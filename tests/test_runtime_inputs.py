"""Image files in, the runtime's way: paths in the Python API, and cut-off files are bad inputs.

Truncated copies are made from real files: the repository's photos and shapes examples,
re-encoded by OpenCV into each format it accepts, cut in half (and just before the end).
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from image_samples import FORMATS, encoded

from yolact_runtime import InputError, Yolact
from yolact_runtime.cli import main
from yolact_runtime.core.io import read_image
from yolact_runtime.core.truncation import truncation

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "photos" / "yolact_example_1.png"
SHAPES = sorted((ROOT / "examples" / "shapes" / "images").glob("*.jpg"))


@pytest.mark.parametrize("extension", FORMATS)
def test_whole_files_pass_and_cut_files_are_named(tmp_path, extension) -> None:
    whole = encoded(PHOTO, extension)
    assert truncation(whole) is None
    assert cv2.imdecode(np.frombuffer(whole, np.uint8), cv2.IMREAD_COLOR) is not None
    for cut in (len(whole) // 2, len(whole) - 1):
        path = tmp_path / f"cut{extension.split('-')[0]}"
        path.write_bytes(whole[:cut])
        assert "truncated image" in (truncation(whole[:cut]) or "")
        with pytest.raises(InputError, match=r"^.*cut\.\w+: truncated image"):
            read_image(path)


def test_half_jpeg_is_caught_before_opencv_decodes_it(tmp_path) -> None:
    # cv2.imread fills a cut-off JPEG's missing rows with grey and only prints a libjpeg warning.
    whole = SHAPES[0].read_bytes()
    path = tmp_path / "half.jpg"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError) as caught:
        read_image(path)
    assert str(caught.value) == f"{path}: truncated image: the JPEG has no end-of-image marker (FFD9)"


def test_the_shipped_examples_and_photos_are_whole() -> None:
    files = [*SHAPES, *sorted(PHOTO.parent.glob("*.png"))]
    assert len(files) == 10
    assert [truncation(p.read_bytes()) for p in files] == [None] * 10


def test_a_jpeg_with_an_exif_thumbnail_is_checked_on_its_own_scans() -> None:
    thumb = cv2.imencode(".jpg", np.full((8, 8, 3), 200, np.uint8))[1].tobytes()
    payload = b"Exif\x00\x00" + thumb  # a thumbnail's SOI ... FFD9 inside APP1, before the image
    main_image = SHAPES[1].read_bytes()
    with_thumb = main_image[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + main_image[2:]
    assert truncation(with_thumb) is None
    assert truncation(with_thumb[: len(with_thumb) - len(main_image) // 2]) is not None


def test_yolact_run_counts_a_cut_file_as_failed(tmp_path, model_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    whole = SHAPES[2].read_bytes()
    (folder / "whole.jpg").write_bytes(whole)
    (folder / "half.jpg").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [str(folder), "--model", str(model_path), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {folder / 'half.jpg'}: truncated image: the JPEG has no end-of-image marker (FFD9)"]
    assert "1 image " in result.stdout and "1 failed" in result.stdout
    assert (out / "overlays" / "whole.jpg").is_file() and not (out / "overlays" / "half.jpg").exists()


def test_the_api_takes_paths_and_fails_as_yolact_run_does(tmp_path, model_path) -> None:
    model = Yolact(model_path, providers="cpu")
    pixels = model(cv2.imread(str(SHAPES[0])))
    for given in (str(SHAPES[0]), SHAPES[0]):
        by_path = model(given)
        assert by_path.image_size == (320, 320)
        assert np.array_equal(by_path.boxes, pixels.boxes) and np.array_equal(by_path.masks, pixels.masks)
    batch = model.predict_batch([SHAPES[0], cv2.imread(str(SHAPES[1])), str(SHAPES[1])])
    assert np.array_equal(batch[1].masks, batch[2].masks)

    half = tmp_path / "half.jpg"
    half.write_bytes(SHAPES[0].read_bytes()[:1000])
    missing = tmp_path / "missing.png"
    for bad in (half, missing):
        with pytest.raises(InputError) as caught:
            model.predict_batch([SHAPES[0], bad])
        cli = CliRunner().invoke(main, [str(bad), "--model", str(model_path), "--out", str(tmp_path / "o")],
                                 catch_exceptions=False)
        assert cli.exit_code == 1
        assert f"error: {caught.value}" in cli.stderr.splitlines()
    with pytest.raises(TypeError, match="list"):
        model.predict_batch(str(SHAPES[0]))
