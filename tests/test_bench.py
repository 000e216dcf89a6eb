"""yolact-bench: one small run writes the JSON with every section; NMS graphs agree with traditional NMS.

The run uses the shipped model (trained, so the agreements mean something) at 160 px and the
paths that exercise each kind of engine: PyTorch, ONNX Runtime fp32 and int8, and one GPU path
(skipped on a CPU-only build). No timing thresholds: timings only have to be there and positive.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from yolact_export.bench import measure as bench_measure
from yolact_export.bench.cli import main
from yolact_export.bench.nms import METHODS, compare
from yolact_export.bench.nms_inputs import default_priors, synthetic_outputs
from yolact_export.bench.paths import SkipPath
from yolact_export.bench.run import BenchOptions, _make_path
from yolact_export.bench.stats import summarize
from yolact_export.detection.graph import NmsSettings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "shapes" / "images"
SHIPPED = ROOT / "models" / "yolact_shapes.pth"
PATHS = ("pytorch-fp32", "onnx-fp32", "onnx-int8", "cuda-fp32")
MIN_INT8_TOP10 = 0.7  # as tests/test_quantize.py (measured 0.96 on the shipped model at 160)


def _positive(timing: dict) -> None:
    for key in ("median_ms", "p90_ms", "min_ms", "images_per_s"):
        assert timing[key] > 0, (key, timing)
    assert timing["min_ms"] <= timing["median_ms"] <= timing["p90_ms"] + 1e-9


def test_summarize():
    t = summarize([0.010, 0.020, 0.030, 0.040], images_per_run=2)
    assert t.min_ms == pytest.approx(10) and t.median_ms == pytest.approx(25) and t.p90_ms == pytest.approx(37)
    assert t.images_per_s == pytest.approx(80) and t.runs == 4


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as patch:  # no idle pauses between paths: these timings are not compared
        patch.setattr(bench_measure, "SETTLE_S", 0.0)
        result = _run_tiny_bench(out)
    assert result.exit_code == 0, result.output
    assert "| pytorch-fp32 |" in result.output and "| typical (" in result.output  # the one (Markdown) rendering
    return json.loads((out / "tiny.json").read_text())


def _run_tiny_bench(out):
    return CliRunner().invoke(main, [
        "--weights", str(SHIPPED), "--input-size", "160", "--images", str(EXAMPLES), "--folder", str(EXAMPLES),
        "--runs", "2", "--warmup", "1", "--threads", "1", "--nms-runs", "2", "--nms-size", "160",
        "--nms-classes", "5", "--name", "tiny", "--out-dir", str(out),
        "--paths", ",".join(PATHS)], catch_exceptions=False)


def test_bench_json_records_the_machine(bench_json):
    m = bench_json["machine"]
    for key in ("cpu", "logical_cores", "physical_cores", "isa_flags", "int8_kernel", "onnxruntime", "torch",
                "onnxruntime_providers"):
        assert key in m, key
    assert m["onnxruntime"] == ort.__version__ and m["onnxruntime_providers"] == ort.get_available_providers()
    model = bench_json["model"]
    assert model["config"] == "yolact_shapes" and model["input_size"] == 160
    assert model["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    from yolact_export import build_model, get_config

    assert model["priors"] == build_model(get_config("yolact_shapes").at_size(160)).priors.shape[0]


def test_bench_paths_have_stage_timings(bench_json):
    paths = bench_json["paths"]
    assert set(paths) == set(PATHS)
    for name in ("pytorch-fp32", "onnx-fp32", "onnx-int8"):
        entry = paths[name]
        assert entry["status"] == "ok", (name, entry)
        _positive(entry["total"])
        assert set(entry["stages"]) == {"preprocess", "inference", "postprocess"}
        for stage in entry["stages"].values():
            assert stage["median_ms"] > 0
    baseline = paths["pytorch-fp32"]
    assert baseline["speedup_vs_pytorch_fp32"] == 1.0 and baseline["agreement_vs_pytorch_fp32"]["fraction"] == 1.0
    # The same trained model through ONNX Runtime fp32: the same detections, every one of them.
    fp32 = paths["onnx-fp32"]["agreement_vs_pytorch_fp32"]
    assert fp32["fraction"] == 1.0 and fp32["of"] >= len(list(EXAMPLES.glob("*.jpg")))
    assert paths["onnx-fp32"]["detections_mean"] == baseline["detections_mean"] > 0
    int8 = paths["onnx-int8"]["agreement_vs_onnx_fp32"]
    assert int8["of"] == fp32["of"] and int8["fraction"] >= MIN_INT8_TOP10, int8
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert paths["cuda-fp32"]["status"] == "skipped" and "CUDAExecutionProvider" in paths["cuda-fp32"]["note"]


def test_bench_int8_folder_and_nms_sections(bench_json):
    conv = bench_json["int8"]["conv_microbench"]
    _positive(conv["fp32"])
    _positive(conv["int8"])
    assert conv["int8_ops"].get("QLinearConv", 0) >= 1
    folder = bench_json["folder"]
    assert set(folder["sequential"]["stages"]) == {"decode", "preprocess", "inference", "postprocess", "write"}
    assert folder["pipelined"]["images"] == folder["images"] > 0
    for scenario in ("typical", "crowded"):
        entry = bench_json["nms"]["scenarios"][scenario]
        assert entry["inputs"]["priors"] > 0 and entry["inputs"]["classes"] == 5
        assert set(entry["methods"]) == set(METHODS)
        for method in entry["methods"].values():
            _positive(method["timing"])
        assert entry["ratios_median"]["fast-onnx / fast-onnx"] == 1.0


def test_nms_graphs_agree_with_traditional(tmp_path, monkeypatch):
    """At 320 (6,402 priors) and 20 classes: the ONNX NonMaxSuppression graph is exactly the
    traditional NMS; Fast NMS differs only where a suppressed box suppresses (a few detections)."""
    inputs = synthetic_outputs("typical", default_priors(320), 20, objects=8)
    stats = inputs.stats(0.05)
    assert stats["priors"] == 3 * (40 * 40 + 20 * 20 + 10 * 10 + 5 * 5 + 3 * 3) and stats["candidates"] > 100
    monkeypatch.setattr(bench_measure, "SETTLE_S", 0.0)
    out = compare(inputs, NmsSettings(), runs=1, warmup=0, threads=1, work_dir=tmp_path)
    methods = out["methods"]
    assert methods["onnx-nms"]["agreement_with_traditional"] == 1.0
    assert methods["fast-onnx"]["agreement_with_traditional"] >= 0.9
    assert methods["fast-onnx"]["detections"] == methods["fast-torch"]["detections"]
    assert np.isclose(methods["fast-onnx"]["agreement_with_traditional"],
                      methods["fast-torch"]["agreement_with_traditional"])


def test_bf16_is_skipped_by_default_without_onednn_bf16(monkeypatch):
    import yolact_export.bench.run as run

    monkeypatch.setattr(run, "_mkldnn_bf16", lambda: False)
    with pytest.raises(SkipPath, match="oneDNN bf16"):
        _make_path("pytorch-bf16", None, NmsSettings(), {}, BenchOptions(), None, None)


def test_bench_compute_rates(bench_json):
    """Network GFLOP counted on the model; rates follow from it and the measured medians."""
    from yolact_export.bench.flops import conv_gflop, conv_microbench_gflop
    from yolact_export import build_model, get_config

    compute = bench_json["compute"]
    # yolact_shapes at 160: 1/4 of the pixels of its 320 input, whose convs are ~1.9 GFLOP.
    expected = conv_gflop(build_model(get_config("yolact_shapes").at_size(160)))
    assert compute["network_gflop"] == pytest.approx(expected, abs=0.01) and 0.3 < expected < 0.7
    conv = bench_json["int8"]["conv_microbench"]
    assert conv_microbench_gflop(conv) == pytest.approx(2 * 69 * 69 * 256 * 256 * 9 / 1e9)
    assert set(compute["paths"]) == {"pytorch-fp32", "onnx-fp32", "onnx-int8"}  # the measured ones only
    assert compute["fp32_floor_ms"] > 0 and compute["int8_floor_ms"] > 0


def test_conv_gflop_of_resnet50_at_550():
    """The issue quotes ~117 GFLOP for YOLACT R-50@550; the count here is of the same network."""
    from yolact_export.bench.flops import conv_gflop
    from yolact_export import build_model, get_config

    assert conv_gflop(build_model(get_config("yolact_resnet50"))) == pytest.approx(118.3, abs=0.2)


def test_bench_postprocess_under_load(bench_json):
    """The crowded-frame postprocess: the graph's own detections at 1280x720, each mask mode."""
    load = bench_json["postprocess_load"]
    assert load["frame"] == {"height": 720, "width": 1280}
    assert 1 <= load["detections"] <= 100
    for mode in ("image", "rle", "proto"):
        t = load["modes"][mode]
        _positive(t)
        assert 0 < t["share_of_end_to_end"] < 1
