"""yolact-bench: one small run writes the JSON with every section; NMS graphs agree with traditional NMS.

The run uses the shipped model (trained, so the agreements mean something) at 160 px and the
paths that exercise each kind of engine: PyTorch, ONNX Runtime fp32 and int8, and one GPU path
(skipped on a CPU-only build); no idle pause separates the calls. The experiments that left the bench
(benchmarks/nms_methods.py, benchmarks/roofline.py) keep their checks here. No timing thresholds:
timings only have to be there, positive and ordered.
"""
from __future__ import annotations

import hashlib
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from yolact_export import build_model, get_config
from yolact_export.bench import measure, paths as bench_paths, report as bench_report
from yolact_export.bench.cli import main
from yolact_export.bench.measure import summarize
from yolact_export.detection.graph import NmsSettings
from yolact_export.model.config import get_config as config_named
from yolact_export.model.priors import config_priors

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import nms_methods as bench_nms  # noqa: E402
from roofline import conv_gflop  # noqa: E402

EXAMPLES = ROOT / "examples" / "shapes" / "images"
SHIPPED = ROOT / "models" / "yolact_shapes.pth"
PATHS = ("pytorch-fp32", "onnx-fp32", "onnx-int8", "cuda-fp32")
MIN_INT8_TOP10 = 0.7  # as tests/test_quantize.py (measured 0.96 on the shipped model at 160)


def _positive(timing: dict) -> None:
    for key in ("median_ms", "p90_ms", "min_ms", "images_per_s"):
        assert timing[key] > 0, (key, timing)
    assert timing["min_ms"] <= timing["median_ms"] <= timing["p90_ms"] + 1e-9


def test_summarize():
    t = summarize([0.010, 0.020, 0.030, 0.040])
    assert t["min_ms"] == pytest.approx(10) and t["median_ms"] == pytest.approx(25) and t["p90_ms"] == pytest.approx(37)
    assert t["images_per_s"] == pytest.approx(40) and t["runs"] == 4


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    (out / "cut.jpg").write_bytes(b"\xff\xd8 not a jpeg")  # named on one line and skipped; the others run
    with pytest.MonkeyPatch.context() as patch:  # these timings are not compared: no idle pauses
        patch.setattr(measure, "SETTLE_S", 0.0)
        result = CliRunner().invoke(main, [
            "--weights", str(SHIPPED), "--input-size", "160", "--images", str(out / "cut.jpg"), "--images",
            str(EXAMPLES), "--runs", "2", "--threads", "1", "--out", str(out), "--paths", ",".join(PATHS)],
            catch_exceptions=False)
    assert result.exit_code == 1, result.output  # one input skipped (README, "Exit status")
    assert f"error: {out / 'cut.jpg'}: cannot decode image" in result.output
    return json.loads((out / "yolact_shapes-160.json").read_text()), result.output


@pytest.fixture(scope="module")
def bench_json(bench_run):
    return bench_run[0]


def test_bench_prints_the_tables(bench_run):
    doc, output = bench_run
    for row in ("| pytorch-fp32 |", "| onnx-int8 |", "| image |", "| rle |"):
        assert row in output, row
    assert "Not measured: cuda-fp32" in output or "| cuda-fp32 |" in output
    assert f"{doc['paths']['onnx-fp32']['total']['median_ms']:.1f}" in output


def test_bench_json_records_the_machine(bench_json):
    m = bench_json["machine"]
    for key in ("cpu", "logical_cores", "physical_cores", "int8_kernel", "torch", "load_average", "load_average_end"):
        assert m[key] is not None, key
    assert {"avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni"} <= set(m["isa_flags"])
    assert m["onnxruntime"] == ort.__version__ and m["onnxruntime_providers"] == ort.get_available_providers()
    model = bench_json["model"]
    assert model["config"] == "yolact_shapes" and model["input_size"] == 160
    assert model["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert model["priors"] == build_model(get_config("yolact_shapes").at_size(160)).priors.shape[0]
    assert bench_json["settings"]["images"] == [str(p) for p in sorted(EXAMPLES.glob("*.jpg"))]  # not the cut one


def test_bench_paths_have_stage_timings(bench_json):
    paths = bench_json["paths"]
    assert list(paths) == list(PATHS)
    for name in ("pytorch-fp32", "onnx-fp32", "onnx-int8"):
        entry = paths[name]
        assert entry["status"] == "ok", (name, entry)
        _positive(entry["total"])
        assert entry["total"]["runs"] == 2
        assert set(entry["stages"]) == {"preprocess", "inference", "postprocess"}
        for stage in entry["stages"].values():
            assert stage["median_ms"] > 0 and stage["runs"] == 2
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


def test_nms_graphs_agree_with_traditional(monkeypatch):
    """At 320 (6,402 priors) and 20 classes: the ONNX NonMaxSuppression graph is exactly the
    traditional NMS; Fast NMS differs only where a suppressed box suppresses (a few detections)."""
    monkeypatch.setattr(measure, "SETTLE_S", 0.0)
    priors = config_priors(config_named("yolact_base").at_size(320)).numpy()
    assert priors.shape[0] == 3 * (40 * 40 + 20 * 20 + 10 * 10 + 5 * 5 + 3 * 3)
    loc, conf = bench_nms.synthetic_outputs(priors, 20, objects=8, background=6.0, seed=0)
    out = bench_nms.compare(loc, conf, priors, NmsSettings(), runs=1, warmup=0, threads=1)
    assert out["inputs"]["candidates"] > 100
    methods = out["methods"]
    assert methods["onnx-nms"]["agreement_with_traditional"] == 1.0
    assert methods["traditional"]["agreement_with_traditional"] == 1.0
    assert methods["fast-onnx"]["agreement_with_traditional"] >= 0.9
    assert methods["fast-onnx"]["detections"] == methods["fast-torch"]["detections"]
    assert methods["fast-onnx"]["agreement_with_traditional"] == methods["fast-torch"]["agreement_with_traditional"]


def test_bf16_is_skipped_by_default_without_onednn_bf16(monkeypatch):
    monkeypatch.setattr(bench_paths, "mkldnn_bf16", lambda: False)
    with pytest.raises(bench_paths.SkipPath, match="oneDNN bf16"):
        bench_paths.torch_path("pytorch-bf16", None, NmsSettings(), {}, force_bf16=False)


def test_conv_gflop_of_resnet50_at_550():
    """The issue quotes ~117 GFLOP for YOLACT R-50@550; the count here is of the same network."""
    assert conv_gflop(build_model(get_config("yolact_resnet50"))) == pytest.approx(118.3, abs=0.2)


def test_bench_postprocess_under_load(bench_json):
    """The crowded-frame postprocess: the graph's own detections at 1280x720, each mask mode."""
    load = bench_json["postprocess_load"]
    assert load["frame"] == {"height": 720, "width": 1280}
    assert 1 <= load["detections"] <= 100
    for mode in ("image", "rle", "proto", "image before", "rle before"):
        t = load["modes"][mode]
        _positive(t)
        assert 0 < t["share_of_end_to_end"] < 1


@pytest.mark.parametrize("args, message", [
    (["--paths", "onnx-fp32,bogus"], "unknown path 'bogus'"),
    (["--weights", "{bad}"], "not a readable PyTorch checkpoint"),
    (["--weights", str(SHIPPED), "--random", "yolact_base"], "one of them"),
])
def test_bad_input_is_one_line_and_an_exit_code(tmp_path, args, message):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    args = [a.replace("{bad}", str(bad)) for a in args]
    result = CliRunner().invoke(main, [*args, "--images", str(EXAMPLES), "--out", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not list(tmp_path.glob("*.json"))
    if not result.output.startswith("Usage"):
        assert result.output.strip().splitlines() == [result.output.strip()] and str(bad) in result.output


def test_report_renders_saved_results_and_names_a_file_that_is_not_one(bench_json, tmp_path, monkeypatch, capsys):
    good, bad, broken = tmp_path / "good.json", tmp_path / "other.json", tmp_path / "broken.json"
    good.write_text(json.dumps(bench_json))
    bad.write_text(json.dumps({"steps": {}}))
    broken.write_text("{")
    monkeypatch.setattr(sys, "argv", ["report", str(bad), str(good), str(broken)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(bench_report.__file__, run_name="__main__")  # python -m yolact_export.bench.report ...
    out, err = capsys.readouterr()
    assert exit_info.value.code == 1
    assert "### yolact_shapes @ 160" in out and "| onnx-int8 |" in out and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: {bad}: not a readable yolact-bench result")
    assert lines[1].startswith(f"error: {broken}: ")


def test_without_out_it_writes_a_new_temporary_folder_not_the_checkout(tmp_path, monkeypatch):
    tracked = {p: p.stat().st_mtime_ns for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    monkeypatch.setattr(measure, "SETTLE_S", 0.0)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--weights", str(SHIPPED), "--input-size", "160", "--images", str(EXAMPLES),
                                       "--runs", "1", "--threads", "1", "--paths", "onnx-fp32"])
    assert result.exit_code == 0, result.output
    written = Path(result.output.strip().splitlines()[-1].removeprefix("wrote "))
    assert written.name == "yolact_shapes-160.json" and written.parent.name.startswith("yolact-bench-")
    assert json.loads(written.read_text())["paths"]["onnx-fp32"]["status"] == "ok"
    assert ROOT not in written.parents and not list(tmp_path.iterdir())
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "benchmarks" / "results").glob("*.json")} == tracked
    written.unlink()
    written.parent.rmdir()


def test_an_unwritable_out_stops_before_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["--weights", str(SHIPPED), "--images", str(EXAMPLES),
                                       "--out", str(blocker / "sub")])
    assert result.exit_code == 2 and result.output.startswith(f"error: {blocker / 'sub'}"), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_frame_loop_times_both_matmul_variants_and_restores_the_runtimes(model_path):
    import frame_loop
    from yolact_runtime import Yolact
    from yolact_runtime.core.blas import matmul_one_thread
    from yolact_runtime.core.masks import soft

    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    timings = frame_loop._measure(Yolact(model_path, providers="cpu"), image, blocks=2, block=3)
    assert set(timings) == set(frame_loop.VARIANTS)
    for stages in timings.values():
        assert set(stages) == {"preprocess", "inference", "postprocess", "end to end"}
        assert all(s["runs"] == 6 and s["median_ms"] > 0 for s in stages.values())
    assert soft.matmul_one_thread is matmul_one_thread
