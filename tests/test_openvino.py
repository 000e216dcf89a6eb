"""providers="openvino": the OpenVINO runtime itself (the openvino extra) on any x86-64 CPU, against ORT CPU.

Parity is yolact-check's own profiles on full Results (masks at image size): f32 is the exact
profile (same keep-set, boxes <= 1 px, scores <= 1e-4, mask IoU >= 0.99) on our v1 graph and our
YOLACT++ graph (--dcn decomposed: OpenVINO has no rule for DeformConv), lively random weights.
bf16 (only where the CPU has native bf16) and the INT8 QDQ graph are the reduced profile, against
ORT f32 and ORT int8, on the shipped (trained) model and its examples, what the profile was set on:
random weights are noise-like, and the rounding of two int8 (or bf16) kernels grows through their
layers until masks part (mean IoU 0.77-0.89 on the photos, also with OpenVINO's f32 hint around the
int8 convolutions), which no trained model shows. Nothing here skips for the CPU's vendor.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import openvino as ov  # the test and openvino extras (make test installs them): missing is a failure
import pytest

from yolact_runtime import ModelError, ProviderError, Yolact
from yolact_runtime.core import cpu, engine, openvino
from yolact_runtime.core.io import read_image
from yolact_runtime.core.plan import CPU, OPENVINO
from yolact_runtime.parity.compare import compare_images
from yolact_runtime.core.masks.soft import assemble_masks
from yolact_runtime.core.postprocess import kept_rows
from yolact_runtime.parity.detections import DetectionSet, from_result
from yolact_runtime.parity.profiles import EXACT, REDUCED, Profile
from conftest import ROOT
from reference_match import UNDECIDED
from fakes import random_detections, save_fake_model

EXAMPLES = ROOT / "examples" / "shapes" / "images"


@pytest.fixture(scope="module")
def plus_decomposed(exported, tmp_path_factory) -> Path:
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    model, _ = load_checkpoint(exported["plus"][0])
    return export_onnx(model, tmp_path_factory.mktemp("ov") / "plus_decomposed.onnx", dcn="decomposed")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> tuple[Path, Path]:
    """The shipped model's fp32 and INT8 graphs (calibrated on its examples)."""
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx
    from yolact_export.exporter.int8 import quantize_int8

    folder = tmp_path_factory.mktemp("ov_shipped")
    fp32 = export_onnx(load_checkpoint(ROOT / "models" / "yolact_shapes.pth")[0], folder / "shapes.onnx")
    return fp32, quantize_int8(fp32, folder / "shapes_int8.onnx", EXAMPLES)


def _with_undecided(model: Yolact, image: np.ndarray) -> DetectionSet:
    """ORT's detections, with the pixels whose soft mask is within UNDECIDED of 0.5 (as yolact-check's
    reference side has them): one f32 engine's rounding moves those across the threshold."""
    raw = model.infer(model.preprocess([image]))[0]
    rows, (height, width) = kept_rows(raw, model.options), image.shape[:2]
    soft = assemble_masks(raw.prototypes, raw.coefficients[rows], raw.boxes[rows])  # cropped, as the runtime's

    def undecided(i: int) -> np.ndarray:
        return np.abs(cv2.resize(soft[i], (width, height), interpolation=cv2.INTER_LINEAR) - 0.5) <= UNDECIDED

    return dataclasses.replace(from_result(model.postprocess(raw, image.shape[:2])), undecided=undecided)


def _assert_parity(reference: Yolact, other: Yolact, photos: list[Path], profile: Profile) -> None:
    for photo in photos:
        image = read_image(photo)
        ours, theirs = _with_undecided(reference, image), from_result(other(image))
        parity = compare_images(photo.name, ours, theirs, profile)
        assert len(ours) > 0, f"{photo.name}: ORT kept nothing, the comparison is empty"
        assert parity.passed, f"{photo.name} ({other.precision}): {parity.failures}"


def test_without_the_openvino_runtime_it_is_one_line_naming_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails as if not installed
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    with pytest.raises(ProviderError) as error:
        Yolact(path, providers="openvino")
    assert "\n" not in str(error.value) and "openvino extra" in str(error.value)
    assert Yolact(path, providers="auto").providers[0] == CPU  # auto just moves on


@pytest.mark.parametrize("key", ["v1", "plus_decomposed"])
def test_openvino_f32_passes_the_exact_profile_against_ort_cpu(exported, plus_decomposed, shared_images, key,
                                                               caplog) -> None:
    path = plus_decomposed if key == "plus_decomposed" else exported[key][1]
    with caplog.at_level(logging.INFO, logger="yolact_runtime"):
        other = Yolact(path, "openvino", precision="f32", intra_op_threads=2)
    assert other.providers == [OPENVINO] and other.precision == "f32"
    line = caplog.records[-1].getMessage()
    assert line.startswith("providers openvino: the OpenVINO runtime; OpenVINO ") and "ran f32 (read back)" in line
    _assert_parity(Yolact(path, "cpu"), other, shared_images, EXACT)


def test_openvino_bf16_passes_the_reduced_profile_against_f32(shipped) -> None:
    if not cpu.bf16_flags():  # /proc/cpuinfo
        pytest.skip(f"this CPU has none of {', '.join(cpu.BF16_FLAGS)}: OpenVINO runs f32 whatever the hint")
    other = Yolact(shipped[0], "openvino")  # OpenVINO's default precision
    assert other.precision == "bf16", "OpenVINO's default on a native-bf16 CPU, read back"
    _assert_parity(Yolact(shipped[0], "cpu"), other, sorted(EXAMPLES.iterdir()), REDUCED)


def test_the_int8_graph_on_openvino_passes_the_reduced_profile_against_ort_int8(shipped) -> None:
    _assert_parity(Yolact(shipped[1], "cpu"), Yolact(shipped[1], "openvino"), sorted(EXAMPLES.iterdir()), REDUCED)


def test_a_native_dcn_graph_names_the_decomposed_export(exported, caplog) -> None:
    with pytest.raises(ProviderError, match="DeformConv.*yolact-export --dcn decomposed"):
        Yolact(exported["plus"][1], providers="openvino")
    with pytest.raises(Exception, match="DeformConv"):  # why: OpenVINO itself refuses the node
        ov.Core().read_model(str(exported["plus"][1]))
    with caplog.at_level(logging.INFO, logger="yolact_runtime"):
        assert Yolact(exported["plus"][1], providers="auto").providers[0] == CPU
    line = caplog.records[-1].getMessage()
    assert "OpenVINO: the graph has DeformConv nodes (native DCN)" in line and "--dcn decomposed" in line


def test_threads_latency_and_a_compile_cache_keyed_by_content(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = openvino.compile_config("f32", 2)
    assert config["INFERENCE_NUM_THREADS"] == 2 and config["PERFORMANCE_HINT"] == "LATENCY"
    assert config["INFERENCE_PRECISION_HINT"] == "f32" and "INFERENCE_PRECISION_HINT" not in openvino.compile_config(
        "default", None)
    path = save_fake_model(tmp_path / "m.onnx", random_detections(seed=1))
    image = np.full((40, 50, 3), 90, np.uint8)
    first = Yolact(path, "openvino", intra_op_threads=1)
    assert first.engine.compiled.get_property("INFERENCE_NUM_THREADS") == 1
    assert any((tmp_path / "cache" / "yolact" / "openvino").rglob("*.blob")), "the compiled model is cached"
    save_fake_model(path, random_detections(seed=2))  # re-exported to the same path
    again, fresh = Yolact(path, "openvino")(image), Yolact(path, "cpu")(image)
    assert not np.array_equal(first(image).boxes, fresh.boxes), "the two fake models should differ"
    assert np.array_equal(again.boxes, fresh.boxes), "OpenVINO ran the stale compiled model"


def test_one_engine_serves_two_threads(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    model = Yolact(path, "openvino")
    image = np.full((40, 50, 3), 90, np.uint8)
    expected = model(image)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: model(image), range(8)))
    assert all(np.array_equal(r.boxes, expected.boxes) and np.array_equal(r.masks, expected.masks) for r in results)


def test_a_dynamic_batch_is_compiled_static_per_batch_size(exported, shared_images) -> None:
    model = Yolact(exported["v1"][1], "openvino", precision="f32")
    assert model.engine.input_shape[0] is None, "the exported graph has a dynamic batch"
    images = [read_image(photo) for photo in shared_images[:2]]
    batch, alone = model.predict_batch(images), [model(image) for image in images]
    shapes = {tuple(c.inputs[0].get_shape()) for c in model.engine._by_shape.values()}
    assert {s[0] for s in shapes} == {1, 2}, shapes  # static shapes: OpenVINO fuses the Fast NMS ops
    for photo, ours, theirs in zip(shared_images, batch, alone):
        parity = compare_images(photo.name, from_result(theirs), from_result(ours), EXACT)
        assert parity.passed, f"{photo.name}: batch of 2 against alone: {parity.failures}"


def test_auto_falls_back_to_cpu_when_openvino_fails_to_start(tmp_path, monkeypatch, caplog) -> None:
    def broken(*_args):
        raise RuntimeError("compile failed")

    monkeypatch.setattr(cpu, "bf16_flags", lambda: ["amx_bf16"])  # where auto would take OpenVINO
    monkeypatch.setattr(engine, "bf16_flags", lambda: ["amx_bf16"])
    monkeypatch.setattr(openvino, "OpenVinoEngine", broken)
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    with caplog.at_level(logging.INFO, logger="yolact_runtime"):
        assert Yolact(path, providers="auto").providers[0] == CPU
    assert any("OpenVINO failed to start: compile failed" in r.getMessage() for r in caplog.records)
    with pytest.raises(ModelError, match="compile failed"):
        Yolact(path, providers="openvino")

