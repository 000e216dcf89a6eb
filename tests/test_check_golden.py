"""yolact-check's golden and --against modes: results files of yolact-run and yolact-cpp-run, no torch."""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from check_runs import SHAPES_IMAGES, check, scale_one_conv, torch_free, write_results


def test_golden_mode_runs_without_torch(exported, shared_images, tmp_path):
    model = exported["plus"][1]
    golden = tmp_path / "golden.json"
    write_results(model, shared_images, golden)
    run = torch_free("yolact_runtime.parity", "--model", model, "--golden", golden, "--providers", "cpu",
                     "--score-threshold", "0", *shared_images, "--junit", tmp_path / "golden.xml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("parity OK (exact, golden): 4 image(s), 0 failed"), run.stdout
    assert len(ET.parse(tmp_path / "golden.xml").getroot().findall("testcase")) == len(shared_images)


def test_a_golden_from_the_headline_command_passes_with_default_flags(shipped_onnx, tmp_path):
    """README: `yolact-run photos/ --model m.onnx --out results/ --json results/coco.json`, then the gate."""
    golden = tmp_path / "coco.json"
    write_results(shipped_onnx, [SHAPES_IMAGES], golden, threshold=None)
    run = torch_free("yolact_runtime.parity", "--model", shipped_onnx, "--golden", golden, SHAPES_IMAGES)
    assert run.returncode == 0, run.stdout + run.stderr
    entries = len(json.loads(golden.read_text()))
    # --providers auto: exact on ONNX Runtime, reduced where OpenVINO runs bf16 (AMX / AVX512-BF16)
    assert run.stdout.startswith("parity OK (") and " golden): 6 image(s), 0 failed" in run.stdout, run.stdout
    assert f"; {entries} detections, 0 unmatched" in run.stdout and entries > 0, run.stdout


def test_a_golden_made_at_another_threshold_is_named_in_one_line(shipped_onnx, tmp_path):
    """Made at 0, checked at 0.3: what is above 0.3 is compared (and passes), the rest is named.
    Made at 0.3, checked at 0: the model's extra detections fail the gate, and the cause is named."""
    low, high = tmp_path / "at0.json", tmp_path / "at03.json"
    write_results(shipped_onnx, [SHAPES_IMAGES], low, threshold="0")
    write_results(shipped_onnx, [SHAPES_IMAGES], high, threshold="0.3")
    exact = ("--providers", "cpu", SHAPES_IMAGES)  # the exact profile: every unmatched detection counts
    code, output = check("--model", shipped_onnx, "--golden", low, *exact)
    kept = len(json.loads(high.read_text()))
    assert code == 0 and f"; {kept} detections, 0 unmatched" in output, output
    lines = output.splitlines()
    skipped = len(json.loads(low.read_text())) - kept
    assert lines[1] == (f"{skipped} detection(s) of one side score below this check's --score-threshold 0.3 and "
                        "were not compared: that side was made with a lower one"), output
    code, output = check("--model", shipped_onnx, "--golden", high, "--score-threshold", "0", *exact)
    lines = output.splitlines()
    assert code == 1 and lines[0].startswith("parity FAIL") and f"{skipped} unmatched" in lines[0], output
    assert lines[1] == (f"all {skipped} unmatched detection(s) score below every detection the other side has: it "
                        "was made with a higher --score-threshold than this check's (0)"), output


def test_yolact_plus_golden_keeps_what_yolact_run_keeps(tmp_path):
    """YOLACT++ at 0.3: rows whose box score is above it and mask score below it are in yolact-run's
    file; the gate compares exactly that set (it used to drop them from both sides)."""
    from contract_models import make_contract_model

    model = make_contract_model(tmp_path / "plus.onnx", in_graph_masks=True)
    images = sorted(SHAPES_IMAGES.glob("*.jpg"))[:2]
    golden = tmp_path / "coco.json"
    write_results(model, images, golden, threshold=None)
    entries = json.loads(golden.read_text())
    assert any(e["score"] <= 0.3 for e in entries)  # mask score at most 0.3, box score above it: kept
    code, output = check("--model", model, "--golden", golden, "--providers", "cpu", *images)
    assert code == 0 and f"; {len(entries)} detections, 0 unmatched" in output, output


def test_golden_mode_catches_a_changed_model(exported, shared_images, tmp_path):
    model = exported["v1"][1]
    golden = tmp_path / "golden.json"
    write_results(model, [shared_images[0]], golden)
    scale_one_conv(model, tmp_path / "scaled.onnx")
    code, output = check("--model", tmp_path / "scaled.onnx", "--golden", golden, "--providers", "cpu",
                         shared_images[0])
    assert code == 1 and "worst: " + shared_images[0].name in output, output


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_against_cpp_and_python_results_of_one_model(cpp_cli, exported, shared_images, tmp_path, key):
    model = exported[key][1]
    python_json, cpp_json = tmp_path / "python.json", tmp_path / "cpp.json"
    write_results(model, shared_images, python_json)
    run = subprocess.run([str(cpp_cli), str(model), *map(str, shared_images), "--json", str(cpp_json),
                          "--threads", "2", "--score-threshold", "0"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    run = torch_free("yolact_runtime.parity", "--golden", python_json, "--against", cpp_json,
                     "--json", tmp_path / "r.json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [i["image"] for i in report["images"]] == [p.name for p in shared_images]
    assert all(i["reference_detections"] == i["other_detections"] > 0 for i in report["images"])
