"""yolact-bench pieces of issue 14: the postprocess before/after timing, the OpenVINO paths' reasons
to skip and what they ran, the round-robin timer. No timing is asserted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from yolact_export.bench import paths as bench_paths
from yolact_export.bench.measure import time_round_robin
from yolact_export.bench.before import whole_frame_masks
from yolact_export.bench.postload import FRAME, postprocess_load, ranked_rows
from yolact_export.bench.report import postload_rows
from yolact_runtime import Yolact
from fakes import random_detections, save_fake_model


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    path = save_fake_model(tmp_path_factory.mktemp("m") / "m.onnx",
                           random_detections(max_detections=30, count=30, proto_size=24, seed=3))
    model = Yolact(path, "cpu")
    return model, model.infer(model.preprocess([np.zeros((40, 40, 3), np.uint8)]))[0]


def test_the_before_path_gives_the_same_pixels(crowded) -> None:
    model, raw = crowded
    rows = ranked_rows(raw)
    image = Yolact(model.path, "cpu", masks="image").postprocess(raw, FRAME).masks
    assert image.any() and np.array_equal(whole_frame_masks(raw, rows, *FRAME, "image"), image)
    rles = Yolact(model.path, "cpu", masks="rle").postprocess(raw, FRAME).rles
    assert whole_frame_masks(raw, rows, *FRAME, "rle") == rles


def test_postprocess_load_times_after_and_before(crowded) -> None:
    model, raw = crowded
    stages = {"preprocess": {"median_ms": 1.0}, "inference": {"median_ms": 10.0}}
    load = postprocess_load(Path(model.path), [raw], stages, runs=2, warmup=0)
    assert set(load["modes"]) == {"image", "rle", "proto", "image before", "rle before"}
    assert all(load["modes"][m]["speedup_vs_before"] > 0 for m in ("image", "rle"))
    rows = {row[0]: row for row in postload_rows(load)}
    assert set(rows) == {"image", "rle", "proto"}
    assert rows["rle"][1] == f"{load['modes']['rle before']['median_ms']:.1f}" and rows["proto"][1] == "–"


def test_round_robin_times_each_call_once_a_round_in_rotating_order() -> None:
    seen: list[str] = []
    times = time_round_robin({"a": lambda: seen.append("a"), "b": lambda: seen.append("b")}, runs=3, warmup=1)
    assert seen == ["a", "b", "a", "b", "b", "a", "a", "b"] and [len(v) for v in times.values()] == [3, 3]


def test_openvino_paths_say_why_they_cannot_run() -> None:
    with pytest.raises(bench_paths.SkipPath, match="no int8 graph"):
        bench_paths.runtime_path("openvino-int8", {"fp32": Path("fp32.onnx")}, None)
    assert {"openvino-fp32", "openvino-bf16", "openvino-int8"} <= set(bench_paths.ALL_PATHS)


def test_openvino_paths_run_the_runtime_and_say_what_ran(crowded, monkeypatch) -> None:
    import sys

    model, raw = crowded
    path = bench_paths.runtime_path("openvino-fp32", {"fp32": Path(model.path)}, 1)
    assert path.note == "OpenVINO f32 asked: ran f32 (read back)" and path.engine.providers == ["OpenVINO"]
    try:  # the default precision: bf16 where the CPU has it, else the path says why it is not measured
        assert "ran bf16" in bench_paths.runtime_path("openvino-bf16", {"fp32": Path(model.path)}, 1).note
    except bench_paths.SkipPath as skip:
        assert "OpenVINO's default here is f32" in str(skip)
    got = path.engine.infer(model.preprocess([np.zeros((40, 40, 3), np.uint8)]))[0]
    assert got.count == raw.count and np.allclose(got.boxes, raw.boxes, atol=1e-6)
    assert np.allclose(got.prototypes, raw.prototypes, atol=1e-6)
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed: the runtime's one line
    with pytest.raises(bench_paths.SkipPath, match="the OpenVINO runtime is not installed"):
        bench_paths.runtime_path("openvino-fp32", {"fp32": Path(model.path)}, None)
