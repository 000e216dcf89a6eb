"""The C++ library's masks are the Python runtime's, pixel for pixel, in every mask mode.

yolact-cpp-probe (runtime/cpp/tests/probe.cpp) writes what yolact::Model returns; yolact_runtime's
Yolact runs the same model on the same PNG frames. Both preprocess with cv2's bilinear rounding
(C++: resize.cpp), so the engine sees the same input and returns the same floats; the masks are
then upsampled in windows with core/window.py's arithmetic (C++: window.cpp). So boxes, classes
and scores must be equal, masks equal pixel for pixel, RLE strings equal. Frames: odd sizes
(297x420, 640x481), 1280x720; the contract models hold boxes past the image edges, swapped corners
and a box of about one pixel. Also here: checks before the session, and two threads on one Model.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from contract_models import make_contract_model

from yolact_runtime import Yolact

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
SIZES = [(420, 297), (481, 640), (720, 1280)]  # height, width


@pytest.fixture(scope="module")
def probe(cpp_cli) -> Path:
    return cpp_cli.parent / "yolact-cpp-probe"


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("frames")
    photos = sorted(PHOTOS.glob("yolact_example_?.png"))
    out = []
    for (h, w), photo in zip(SIZES, photos):
        path = d / f"{photo.stem}_{w}x{h}.png"
        cv2.imwrite(str(path), cv2.resize(cv2.imread(str(photo)), (w, h), interpolation=cv2.INTER_AREA))
        out.append(path)
    return out


@pytest.fixture(scope="module")
def contract(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("masks_models")
    return {"v1": make_contract_model(d / "v1.onnx", valid=100, seed=3),
            "plus": make_contract_model(d / "plus.onnx", in_graph_masks=True, valid=100, seed=4)}


def cpp_detections(probe: Path, model: Path, mode: str, frames: list[Path], out: Path) -> list[tuple[list, np.ndarray]]:
    out.mkdir()
    proc = subprocess.run([probe, "masks", mode, out, model, *frames], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = []
    for k in range(len(frames)):
        entries = json.loads((out / f"{k}.json").read_text())
        shapes = [e["mask_shape"] for e in entries]
        raw = np.fromfile(out / f"{k}.bin", dtype=np.uint8)
        masks = np.split(raw, np.cumsum([r * c for r, c in shapes])[:-1]) if entries else []
        results.append((entries, [m.reshape(s) > 0 for m, s in zip(masks, shapes)]))
    return results


def assert_same(probe: Path, model: Path, mode: str, frames: list[Path], out: Path) -> int:
    """C++ == Python for every frame: same rows, boxes, scores; masks / RLE strings equal. Returns
    the number of detections compared."""
    python = Yolact(model, providers="cpu", masks=mode)
    compared = 0
    for frame, (entries, masks) in zip(frames, cpp_detections(probe, model, mode, frames, out)):
        result = python(frame)
        assert len(entries) == len(result), frame.name
        assert [e["box"] for e in entries] == result.boxes.tolist(), frame.name
        assert [e["class_id"] for e in entries] == result.class_ids.tolist(), frame.name
        assert np.array_equal(np.float32([e["score"] for e in entries]), result.scores), frame.name
        for i, entry in enumerate(entries):
            where = f"{frame.name} detection {i} ({mode})"
            if mode == "rle":
                assert entry["rle"] == result.rles[i]["counts"], where
            elif mode == "none":
                assert entry["mask_shape"] == [0, 0] and entry["rle"] == "", where
            else:
                assert masks[i].shape == result.masks[i].shape, where
                differ = int((masks[i] != result.masks[i]).sum())
                assert differ == 0, f"{where}: {differ} pixels differ"
        compared += len(entries)
    return compared


@pytest.mark.parametrize("mode", ["image", "proto", "rle", "none"])
@pytest.mark.parametrize("key", ["v1", "plus"])
def test_contract_models_masks_equal_python(probe, contract, frames, tmp_path, key, mode):
    assert assert_same(probe, contract[key], mode, frames, tmp_path / "cpp") == 100 * len(frames)


@pytest.mark.parametrize("mode", ["image", "rle"])
@pytest.mark.parametrize("key", ["v1", "plus"])
def test_exported_models_masks_equal_python(probe, exported, frames, tmp_path, key, mode):
    """Real exported YOLACT (550) and YOLACT++ (320): the whole path, engine included."""
    assert assert_same(probe, exported[key][1], mode, frames, tmp_path / "cpp") > 0


def test_a_file_that_is_not_a_yolact_model_fails_before_any_session(probe, contract, tmp_path):
    import onnx
    model = onnx.load(str(contract["v1"]))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "plain.onnx"))
    lines = subprocess.run([probe, "sessions", tmp_path / "plain.onnx"], capture_output=True, text=True,
                           timeout=60).stdout.splitlines()
    assert lines[0] == "sessions 0" and "not a yolact-export model" in lines[1] and "plain.onnx" in lines[1], lines
    lines = subprocess.run([probe, "sessions", contract["v1"]], capture_output=True, text=True,
                           timeout=60).stdout.splitlines()
    assert lines == ["sessions 1", "ok"]  # the hook does see a session when there is one


def test_two_threads_on_one_model_agree_with_one(probe, contract, frames):
    proc = subprocess.run([probe, "threads", contract["plus"], *frames], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("threads ok"), proc.stdout + proc.stderr


@pytest.mark.parametrize("size", [400, 550])
def test_the_network_input_is_the_python_runtimes_bit_for_bit(probe, frames, tmp_path, size):
    """720 -> 400 has positions a hair below an integer, where cv2 reads the next pixel (resize.cpp)."""
    model = make_contract_model(tmp_path / "m.onnx", size=size, valid=3)
    python = Yolact(model, providers="cpu")
    for frame in frames:
        subprocess.run([probe, "preprocess", model, frame, tmp_path / "in.bin"], check=True, timeout=60)
        cpp = np.fromfile(tmp_path / "in.bin", dtype=np.float32).reshape(3, size, size)
        assert np.array_equal(cpp, python.preprocess([cv2.imread(str(frame))])[0]), frame.name
