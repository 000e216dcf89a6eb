"""Yolact end to end on contract-following fake graphs; the runtime never imports torch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from yolact_runtime import Result, Yolact
from fakes import random_detections, save_fake_model
from yolact_runtime.core.raw import RawDetections


@pytest.fixture(scope="module")
def detections() -> RawDetections:
    return random_detections(max_detections=10, count=6, proto_size=16)


@pytest.fixture(scope="module")
def model(tmp_path_factory, detections) -> Yolact:
    return Yolact(save_fake_model(tmp_path_factory.mktemp("m") / "m.onnx", detections), providers="cpu")


def test_single_image(model: Yolact, detections: RawDetections) -> None:
    result = model(np.zeros((120, 200, 3), np.uint8))
    assert isinstance(result, Result)
    assert len(result) == detections.num_detections
    assert result.image_size == (120, 200)
    assert result.masks.shape == (6, 120, 200)
    boxes = detections.boxes[:6] * np.array([200, 120, 200, 120], np.float32)
    assert np.array_equal(result.boxes, np.clip(boxes, 0, [200, 120, 200, 120]).astype(np.int64))


def test_batch_keeps_each_image_size(model: Yolact) -> None:
    images = [np.zeros((120, 200, 3), np.uint8), np.zeros((50, 40, 3), np.uint8), np.zeros((64, 64), np.uint8)]
    results = model.predict_batch(images)
    assert [r.image_size for r in results] == [(120, 200), (50, 40), (64, 64)]
    single = model(images[1])
    assert np.array_equal(results[1].boxes, single.boxes) and np.array_equal(results[1].masks, single.masks)
    assert model.predict_batch([]) == []


def test_fixed_batch_graph_is_fed_in_padded_chunks(tmp_path, detections: RawDetections) -> None:
    fixed = Yolact(save_fake_model(tmp_path / "b2.onnx", detections, batch=2), providers="cpu")
    assert fixed.fixed_batch == 2
    results = fixed.predict_batch([np.zeros((30, 30, 3), np.uint8)] * 3)
    assert len(results) == 3 and all(len(r) == 6 for r in results)


def test_options_are_applied(tmp_path, detections: RawDetections) -> None:
    path = save_fake_model(tmp_path / "m.onnx", detections)
    model = Yolact(path, providers="cpu", score_threshold=0.62, top_k=2, masks="proto")
    result = model(np.zeros((40, 40, 3), np.uint8))
    assert result.scores.tolist() == detections.scores[:2].tolist()  # 0.896, 0.841 of 3 above 0.62
    assert result.class_ids.tolist() == detections.classes[:2].tolist()
    assert result.masks.shape == (2, 16, 16)
    above = Yolact(path, providers="cpu", score_threshold=0.62)(np.zeros((40, 40, 3), np.uint8))
    assert above.scores.tolist() == detections.scores[:3].tolist()  # 0.642 > 0.62 > 0.615


def test_the_runtime_does_not_import_torch() -> None:
    code = ("import sys, yolact_runtime, yolact_runtime.cli, yolact_runtime.pipeline.runner; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
