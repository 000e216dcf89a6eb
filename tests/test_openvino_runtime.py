"""Our graphs compiled by OpenVINO itself (the `openvino` package, in the test extra) against ONNX Runtime CPU.

The plugin EP behind providers="openvino" bundles the same OpenVINO but lists Intel CPUs only, so on
other CPUs test_openvino.py skips. These tests check the numerics the EP would run on every x86 CPU:
our v1 graph and our YOLACT++ graph (`--dcn decomposed`: OpenVINO has no rule for DeformConv-19)
give ORT's keep-set in f32 (every valid row paired: same class, box within 1 px, score within 1e-4),
bf16 finds ORT's top-10 again where the CPU has native bf16, and the INT8 QDQ graph compiles and runs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov  # the test extra (make test installs it): missing it is a failure, not a skip
import pytest

from yolact_export.bench.openvino_direct import compile_graph
from yolact_export.exporter.parity import match_detections
from yolact_runtime import Yolact
from yolact_runtime.core import cpu
from yolact_runtime.core.io import read_image
from reference_match import raw_as_dict


@pytest.fixture(scope="module")
def plus_decomposed(exported, tmp_path_factory) -> Path:
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx

    model, _ = load_checkpoint(exported["plus"][0])
    return export_onnx(model, tmp_path_factory.mktemp("ov") / "plus_decomposed.onnx", dcn="decomposed")


def _pairs(path: Path, hint: str | None, photos: list[Path]):
    """What OpenVINO ran (e.g. 'f32 on CPU'), and (photo, image, ORT CPU raw, OpenVINO raw) for each photo."""
    reference = Yolact(path, "cpu")
    images = [read_image(p) for p in photos]
    batches = [reference.preprocess([image]) for image in images]
    theirs = [reference.infer(b)[0] for b in batches]
    infer, ran = compile_graph(path, hint, threads=2)
    return ran, list(zip(photos, images, theirs, [infer(b)[0] for b in batches]))


@pytest.mark.parametrize("key", ["v1", "plus_decomposed"])
def test_openvino_f32_gives_ort_cpu_keep_set(exported, plus_decomposed, shared_images, key) -> None:
    path = plus_decomposed if key == "plus_decomposed" else exported[key][1]
    ran, rows = _pairs(path, "f32", shared_images)
    assert ran == "f32 on CPU"
    for photo, image, theirs, ours in rows:
        one_pixel = 1.0 / max(image.shape[:2])
        _, unmatched = match_detections(raw_as_dict(theirs), raw_as_dict(ours), box_tol=one_pixel, score_tol=1e-4)
        assert theirs.count > 0, f"{key}/{photo.name}: ORT kept nothing, the comparison is empty"
        assert unmatched == 0, f"{key}/{photo.name}: {unmatched} of {theirs.count} rows unpaired"
        assert np.abs(ours.prototypes - theirs.prototypes).max() <= 1e-3 * max(1.0, float(theirs.prototypes.max()))


def test_openvino_refuses_native_dcn_as_the_readme_says(exported) -> None:
    with pytest.raises(Exception, match="DeformConv"):
        ov.Core().read_model(str(exported["plus"][1]))


def test_openvino_bf16_finds_the_top10_again(exported, shared_images) -> None:
    if not cpu.bf16_flags():  # /proc/cpuinfo
        pytest.skip(f"this CPU has none of {', '.join(cpu.BF16_FLAGS)}: OpenVINO runs f32 whatever the hint")
    ran, rows = _pairs(exported["v1"][1], "bf16", shared_images)
    assert ran == "bf16 on CPU"
    for photo, image, theirs, ours in rows:
        top = raw_as_dict(theirs, rows=10)
        pairs, _ = match_detections(top, raw_as_dict(ours), box_tol=2.0 / max(image.shape[:2]), score_tol=5e-3)
        assert len(pairs) == top["num_detections"], f"{photo.name}: {len(pairs)} of the top-10 found again"


def test_the_int8_graph_runs_on_openvino_near_ort(exported, shared_images, tmp_path) -> None:
    from yolact_export.exporter.int8 import quantize_int8

    int8 = quantize_int8(exported["v1"][1], tmp_path / "v1_int8.onnx", shared_images[0].parent)
    for photo, image, theirs, ours in _pairs(int8, None, shared_images[:2])[1]:
        assert ours.count > 0, f"{photo.name}: OpenVINO INT8 kept nothing"
        top = raw_as_dict(theirs, rows=5)  # both run the same QDQ graph; rounding differs, the top must not
        pairs, _ = match_detections(top, raw_as_dict(ours), box_tol=4.0 / max(image.shape[:2]), score_tol=2e-2)
        assert len(pairs) == top["num_detections"], f"{photo.name}: {len(pairs)} of ORT INT8's top-5 found again"
