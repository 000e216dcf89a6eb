"""INT8 (QDQ) export: the network in int8, decoding / softmax / Fast NMS left in float32.

Accuracy tolerance (lively random weights, yolact_resnet50 at 400, the four shared images): at
least 70% of fp32's top-10 detections per image are found by the int8 graph (same class, box
IoU > 0.8). Measured 85-100% with the default 7-bit weights (reduce_range); random-weight nets
are far more sensitive than trained ones (1 grey level of input noise alone moves ~3% of them).
"""
from __future__ import annotations

import json
import subprocess
import sys

import onnx
import pytest

from yolact_export.exporter.int8 import QuantizeError, calibration_files, quantize_int8
from yolact_runtime import Yolact
from yolact_runtime.core.io import read_image
from yolact_export.exporter.scopes import NETWORK_SCOPES
from yolact_runtime.parity import from_result, top_agreement

MIN_TOP10_MATCHED = 0.7  # fraction of fp32's top-10 boxes matched by int8 (same class, IoU > 0.8)


@pytest.fixture(scope="module")
def int8_v1(exported, shared_images, tmp_path_factory):
    _weights, fp32 = exported["v1"]
    out = tmp_path_factory.mktemp("int8") / "v1_int8.onnx"
    return fp32, quantize_int8(fp32, out, shared_images[0].parent)


def _float_inputs(model: onnx.ModelProto, op_type: str) -> list[int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in
             list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    types.update({i.name: i.data_type for i in inferred.graph.initializer})
    nodes = [n for n in inferred.graph.node if n.op_type == op_type]
    assert nodes, f"no {op_type} in the graph"
    return [types.get(n.input[0]) for n in nodes]


def test_int8_graph_quantizes_the_network_only(int8_v1):
    _fp32, int8 = int8_v1
    model = onnx.load(str(int8))
    ops = [n.op_type for n in model.graph.node]
    backbone_qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")
                    and n.name.startswith("/detector/model/backbone/")]
    assert ops.count("QuantizeLinear") > 50 and ops.count("DequantizeLinear") > 50
    assert len(backbone_qdq) > 20, "no Q/DQ pairs in the backbone"
    # Fast NMS, softmax and box decoding see float32 tensors only.
    for op in ("TopK", "Trilu", "Softmax", "Exp", "ReduceMax"):
        assert set(_float_inputs(model, op)) == {onnx.TensorProto.FLOAT}, f"{op} has non-float inputs"
    # Every node outside the network scopes is the fp32 graph's node, unchanged, none quantized.
    outside = [n for n in model.graph.node if not n.name.startswith(NETWORK_SCOPES)
               and n.op_type not in ("QuantizeLinear", "DequantizeLinear")]
    assert outside and not any(n.op_type.startswith("QLinear") for n in outside)
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["yolact.quantization"])["format"] == "QDQ"
    assert meta["yolact.contract_version"] == "1"


def test_int8_detections_match_fp32(int8_v1, shared_images):
    fp32, int8 = int8_v1
    a, b = Yolact(fp32, "cpu", masks="none"), Yolact(int8, "cpu", masks="none")
    sets_a, sets_b = [], []
    for path in shared_images:
        image = read_image(path)
        sets_a.append(from_result(a(image)))
        sets_b.append(from_result(b(image)))
    assert all(len(s) > 0 for s in sets_b)
    agreement = top_agreement(sets_a, sets_b, top=10, iou=0.8)
    assert agreement["of"] == 10 * len(shared_images)
    assert agreement["fraction"] >= MIN_TOP10_MATCHED, agreement


def test_calibration_files_limit_and_errors(tmp_path, shared_images):
    assert calibration_files(shared_images[0].parent, limit=2) == [shared_images[0], shared_images[-1]]
    with pytest.raises(QuantizeError, match="no images"):
        calibration_files(tmp_path)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from yolact_export.exporter.cli import export_main; export_main()", *args],
                          capture_output=True, text=True, timeout=600)


def test_cli_int8_writes_the_int8_graph_only(tmp_path, shared_images):
    from conftest import _lively_checkpoint

    weights = _lively_checkpoint(tmp_path, "yolact_shapes", 160)
    out = tmp_path / "shapes_int8.onnx"
    run = _cli("--weights", str(weights), "--out", str(out), "--int8",
               "--calibration-images", str(shared_images[0].parent))
    assert run.returncode == 0, run.stderr
    assert out.is_file() and sorted(p.name for p in tmp_path.glob("*.onnx")) == [out.name]
    meta = {p.key: p.value for p in onnx.load(str(out), load_external_data=False).metadata_props}
    assert "yolact.quantization" in meta
    image = read_image(shared_images[0])
    result = Yolact(out, "cpu", score_threshold=0)(image)
    assert len(result) > 0 and result.masks.shape == (len(result), *image.shape[:2])
    assert result.boxes.min() >= 0 and (result.boxes[:, 2:] <= [image.shape[1], image.shape[0]]).all()


def test_cli_int8_needs_calibration_images(tmp_path):
    run = _cli("--weights", str(tmp_path / "x.pth"), "--out", str(tmp_path / "x.onnx"), "--int8")
    assert run.returncode == 2 and "--calibration-images" in run.stderr


def _calibration_folder(tmp_path, shared_images, good: int):
    """A folder with `good` real photos and one corrupt JPEG (sorted last: zz.jpg)."""
    import shutil

    folder = tmp_path / "calibration"
    folder.mkdir()
    for path in shared_images[:good]:
        shutil.copy(path, folder / path.name)
    (folder / "zz.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def _int8_export(tmp_path, shared_images, good: int):
    """yolact-export --int8 of a small lively model, calibrated on `good` photos plus one corrupt file."""
    from conftest import _lively_checkpoint

    weights = _lively_checkpoint(tmp_path, "yolact_shapes", 160)
    out = tmp_path / "shapes_int8.onnx"
    return _cli("--weights", str(weights), "--out", str(out), "--int8", "--calibration-images",
                str(_calibration_folder(tmp_path, shared_images, good=good))), out


def test_cli_int8_skips_a_corrupt_calibration_image_with_one_line(tmp_path, shared_images):
    run, out = _int8_export(tmp_path, shared_images, good=2)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    warnings = [line for line in run.stderr.splitlines() if "zz.jpg" in line]
    assert len(warnings) == 1 and "warning:" in warnings[0] and "(skipped for calibration)" in warnings[0], run.stderr
    assert out.is_file() and "yolact.quantization" in _metadata(out)


def test_cli_int8_with_no_readable_calibration_image_is_one_error_line(tmp_path, shared_images):
    run, _ = _int8_export(tmp_path, shared_images, good=0)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "none of the 1 files could be read" in errors[0], run.stderr
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == [], "a half-written graph was left behind"


def _metadata(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
