"""yolact-check: the runtime end to end against the PyTorch reference; int8 and precision; bad input;
the matching rules. Golden and --against modes: test_check_golden.py.

Models: conftest's lively random exports (YOLACT ResNet-50 at 400, YOLACT++ at 320) and, for int8,
the shipped trained model: with random weights int8 keeps the top-10 boxes but its masks are
noise-like, which says nothing about a deployed model; the trained one shows what `reduced` is for.
"""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import onnx
import pytest

from yolact_runtime import ModelError
from yolact_runtime.contract import parse_metadata, read_model_info
from yolact_runtime.parity.compare import compare_images
from yolact_runtime.parity.detections import DetectionSet
from yolact_runtime.parity.profiles import EXACT
from check_runs import REPO, SHAPES_IMAGES, check, scale_one_conv, torch_free, write_results
from fakes import default_metadata


# ----------------------------------------------------------------------------- reference mode


@pytest.fixture(scope="module")
def v1_reference_run(exported, shared_images, tmp_path_factory):
    weights, model = exported["v1"]
    out = tmp_path_factory.mktemp("check_v1")
    code, output = check("--weights", weights, "--model", model, "--providers", "cpu", *shared_images,
                         "--json", out / "report.json", "--junit", out / "report.xml")
    return code, output, out


def test_f32_export_passes_exact(v1_reference_run, exported):
    code, output, out = v1_reference_run
    assert read_model_info(exported["v1"][1]).precision == "fp32"
    assert code == 0, output
    assert output.startswith("parity OK (exact, reference): 4 image(s), 0 failed"), output
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] and report["profile"]["name"] == "exact"
    pairs = [p for image in report["images"] for p in image["matched"]]
    assert len(pairs) == sum(i["reference_detections"] for i in report["images"]) > 0
    assert max(p["d_box"] for p in pairs) <= 1 and max(p["d_score"] for p in pairs) <= 1e-4
    assert min(p["mask_iou"] for p in pairs) >= 0.99
    assert "graph outputs: parity OK" in output


def test_junit_has_one_case_per_image(v1_reference_run, shared_images):
    _code, _output, out = v1_reference_run
    suite = ET.parse(out / "report.xml").getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "0" and suite.get("errors") == "0"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [p.name for p in shared_images]
    assert not any(c.find("failure") is not None or c.find("error") is not None for c in cases)


def test_scaled_conv_weight_fails_and_names_the_worst_detection(exported, shared_images, tmp_path):
    weights, model = exported["v1"]
    broken = tmp_path / "scaled.onnx"
    assert scale_one_conv(model, broken).endswith("Conv")
    code, output = check("--weights", weights, "--model", broken, "--providers", "cpu", shared_images[0],
                         "--json", tmp_path / "r.json", "--junit", tmp_path / "r.xml")
    assert code == 1, output
    assert output.startswith("parity FAIL (exact, reference)"), output
    report = json.loads((tmp_path / "r.json").read_text())
    worst = report["worst"]
    worst_line = next(line for line in output.splitlines() if line.startswith("worst: "))
    assert worst_line.startswith(f"worst: {shared_images[0].name}: {worst['class']} score {worst['score']:.4f}")
    # The named one is the worst: an unmatched reference detection, the best-scoring of them.
    unmatched = report["images"][0]["only_reference"] + report["images"][0]["only_other"]
    assert unmatched and worst["score"] == max(p["score"] for p in unmatched)
    case = ET.parse(tmp_path / "r.xml").getroot().find("testcase")
    assert case.find("failure") is not None and "keep-set differs" in case.find("failure").get("message")


# ----------------------------------------------------------------------------- int8 and precision


@pytest.fixture(scope="module")
def shipped_int8(tmp_path_factory):
    from yolact_export import load_checkpoint
    from yolact_export.exporter.export import export_onnx
    from yolact_export.exporter.int8 import quantize_int8

    out = tmp_path_factory.mktemp("shipped_int8")
    weights = REPO / "models" / "yolact_shapes.pth"
    model, _ = load_checkpoint(weights)
    fp32 = export_onnx(model, out / "shapes.onnx")
    return weights, quantize_int8(fp32, out / "shapes_int8.onnx", SHAPES_IMAGES)


def test_int8_fails_exact_and_passes_reduced(shipped_int8, tmp_path):
    weights, int8 = shipped_int8
    assert read_model_info(int8).precision == "int8"
    code, output = check("--weights", weights, "--model", int8, "--providers", "cpu", SHAPES_IMAGES,
                         "--profile", "exact")
    assert code == 1 and output.startswith("parity FAIL (exact"), output
    code, output = check("--weights", weights, "--model", int8, "--providers", "cpu", SHAPES_IMAGES,
                         "--json", tmp_path / "r.json")
    assert code == 0 and output.startswith("parity OK (reduced"), output  # auto: int8 -> reduced
    images = json.loads((tmp_path / "r.json").read_text())["images"]
    assert len(images) == len(list(SHAPES_IMAGES.glob("*.jpg")))
    assert all(i["top_agreement"] >= 0.9 and i["mean_mask_iou"] >= 0.9 for i in images)


def test_precision_metadata_and_older_files():
    assert parse_metadata(default_metadata()).precision == "fp32"  # contract 1.0: no key
    assert parse_metadata(default_metadata()).contract_minor == 0
    meta = default_metadata() | {"yolact.contract_minor": "1", "yolact.precision": "fp16"}
    info = parse_metadata(meta)
    assert (info.precision, info.contract_minor, info.contract_version) == ("fp16", 1, 1)
    with pytest.raises(ModelError, match="yolact.precision"):
        parse_metadata(default_metadata() | {"yolact.precision": "fp8"})


def test_exporter_records_precision(exported):
    meta = {p.key: p.value for p in onnx.load(str(exported["plus"][1]), load_external_data=False).metadata_props}
    assert meta["yolact.precision"] == "fp32" and meta["yolact.contract_minor"] == "1"
    assert meta["yolact.contract_version"] == "1"  # 1.x readers, C++ included, still open the file


# ----------------------------------------------------------------------------- bad input


def test_unreadable_image_is_one_line_and_the_others_are_checked(exported, shared_images, tmp_path):
    model = exported["v1"][1]
    golden = tmp_path / "golden.json"
    write_results(model, [shared_images[0]], golden)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    run = torch_free("yolact_runtime.parity", "--model", model, "--golden", golden, "--providers", "cpu",
                     shared_images[0], broken, tmp_path / "missing.png", "--junit", tmp_path / "r.xml")
    assert run.returncode == 1, run.stdout + run.stderr  # some inputs failed
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors), run.stderr
    assert f"{broken}: cannot decode image" in errors[0] and "missing.png: no such file" in errors[1], run.stderr
    assert "Traceback" not in run.stderr and run.stdout.startswith("parity FAIL"), run.stdout
    cases = ET.parse(tmp_path / "r.xml").getroot().findall("testcase")
    assert [c.get("name") for c in cases] == [shared_images[0].name, "broken.png", str(tmp_path / "missing.png")]
    assert cases[0].find("error") is None and all(c.find("error") is not None for c in cases[1:])


def test_export_check_is_reference_mode_and_names_every_bad_image(small_weights, shared_images, tmp_path):
    """yolact-export --check and yolact-check --weights: the same lines for the same images, the same status."""
    broken, empty = tmp_path / "broken.png", tmp_path / "empty.jpg"
    broken.write_bytes(b"not a png")
    empty.write_bytes(b"")
    inputs = [shared_images[0], broken, empty]
    run = subprocess.run([sys.executable, "-c", "from yolact_export.exporter.cli import export_main; export_main()",
                          "--weights", small_weights,
                          "--out", tmp_path / "m.onnx", *[a for p in inputs for a in ("--check", p)]],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    errors = [line.split("] ", 1)[1] for line in run.stderr.splitlines() if "] error: " in line]
    assert len(errors) == 2 and f"{broken}: cannot decode image" in errors[0] and str(empty) in errors[1], run.stderr
    assert "parity FAIL (exact, reference): 1 image(s), 0 failed, 2 unreadable" in run.stderr, run.stderr
    code, output = check("--weights", small_weights, "--model", tmp_path / "m.onnx", "--providers", "cpu", *inputs)
    assert code == 1 and [line for line in output.splitlines() if line.startswith("error: ")] == errors, output


@pytest.mark.parametrize("args,message", [
    (["--model", "m.onnx"], "Usage"),
    (["--golden", "a.json", "--against", "b.json", "x.png"], "--against compares two results files"),
])
def test_usage_errors_exit_2(args, message):
    code, output = check(*args)
    assert code == 2 and message in output, output


def test_bad_files_are_one_line_errors(exported, shared_images, tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    code, output = check("--golden", bad, "--against", bad)
    assert code == 2 and output.startswith(f"error: {bad}: not a JSON file"), output
    code, output = check("--model", tmp_path / "none.onnx", "--golden", bad, shared_images[0])
    assert code == 2 and "none.onnx: model file not found" in output, output
    code, output = check("--model", exported["v1"][1], "--golden", bad, "--providers", "abacus", shared_images[0])
    assert code == 2 and "abacus" in output and len(output.strip().splitlines()) == 1, output  # passed to Yolact


# ----------------------------------------------------------------------------- matching rules


def _set(boxes, scores, labels=None) -> DetectionSet:
    n = len(scores)
    return DetectionSet(np.asarray(labels or [1] * n, np.int64), np.asarray(boxes, float).reshape(-1, 4),
                        np.asarray(scores, float), None, None)


def test_near_tied_scores_in_another_order_still_match():
    ref = _set([[0, 0, 10, 10], [20, 20, 30, 30]], [0.50002, 0.5])
    other = _set([[20, 20, 30, 30], [0, 0, 10, 10]], [0.50001, 0.50003])
    image = compare_images("x", ref, other, EXACT)
    assert image.passed and len(image.pairs) == 2, image.failures


def test_a_drifted_detection_is_reported_with_its_drift():
    ref = _set([[0, 0, 100, 100]], [0.9])
    image = compare_images("x", ref, _set([[0, 0, 103, 100]], [0.9]), EXACT)
    assert not image.passed and image.pairs[0].d_box == 3 and image.worst().d_box == 3


def test_threshold_boundary_is_not_a_difference():
    ref = _set([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.30003])
    other = _set([[0, 0, 10, 10]], [0.9])  # its copy of the second scored 0.29999
    assert compare_images("x", ref, other, EXACT, score_threshold=0.3).passed
    assert not compare_images("x", ref, other, EXACT).passed
    clear = _set([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.5])
    assert not compare_images("x", clear, other, EXACT, score_threshold=0.3).passed

