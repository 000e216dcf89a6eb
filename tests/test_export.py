"""The exported graph: in-graph Fast NMS, contract outputs and metadata, parity with PyTorch."""
from __future__ import annotations

import collections
import json
import subprocess
import sys

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from yolact_export import load_checkpoint
from yolact_export.detection.graph import NmsSettings, YolactDetector
from yolact_export.exporter.export import export_onnx
from yolact_export.exporter.parity import check_parity, match_detections
from yolact_export.detection.preprocess import preprocess
from yolact_export.exporter.scopes import NETWORK_SCOPES

# Tolerances for fp32 ONNX Runtime vs PyTorch eager on the same input (measured: boxes 1e-6,
# scores 6e-5, coefficients 1.7e-4, soft masks 5e-4, mask scores 4e-5).
BOX_TOL, SCORE_TOL, COEFF_TOL, MASK_TOL, MASK_SCORE_TOL = 1e-4, 1e-4, 1e-3, 2e-3, 1e-4


def _ops(path) -> collections.Counter:
    return collections.Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)


def _batch(shared_images, cfg) -> torch.Tensor:
    return preprocess([cv2.imread(str(p)) for p in shared_images], cfg)


def _session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _assert_parity(report) -> None:
    assert report.ok, report.summary()
    assert report.detections > 0, "the lively model must produce detections"
    assert report.max_box_diff <= BOX_TOL and report.max_score_diff <= SCORE_TOL, report.summary()
    assert report.max_coeff_diff <= COEFF_TOL and report.max_mask_diff <= MASK_TOL, report.summary()
    assert report.max_mask_score_diff <= MASK_SCORE_TOL, report.summary()


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_graph_holds_fast_nms_not_host_nms(exported, key):
    ops = _ops(exported[key][1])
    for op in ("TopK", "Trilu", "ReduceMax", "Where", "Softmax", "Exp"):
        assert ops[op] >= 1, f"{op} missing from the graph"
    for op in ("NonMaxSuppression", "Loop", "If", "Scan"):
        assert ops[op] == 0, f"unexpected {op}"
    assert (ops["DeformConv"] > 0) == (key == "plus")


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_the_network_lies_in_the_contracts_scopes(exported, key):
    """fp16 and int8 convert the nodes under NETWORK_SCOPES: the traced module names must give them."""
    nodes = onnx.load(str(exported[key][1]), load_external_data=False).graph.node
    for scope in NETWORK_SCOPES:
        assert any(n.op_type == "Conv" and n.name.startswith(scope) for n in nodes), f"no Conv under {scope}"
    outside = {n.name for n in nodes if n.op_type in ("Conv", "DeformConv") and not n.name.startswith(NETWORK_SCOPES)}
    assert all("/maskiou_net/" in name for name in outside), sorted(outside)[:5]  # YOLACT++ re-scoring stays fp32
    assert ("plus" == key) == bool(outside)


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_outputs_and_metadata_follow_the_contract(exported, key):
    weights, path = exported[key]
    model, cfg = load_checkpoint(weights)
    graph = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta["yolact.contract_version"] == "1"
    assert meta["yolact.config"] == cfg.name
    assert json.loads(meta["yolact.class_names"]) == list(cfg.class_names)
    assert int(meta["yolact.input_size"]) == cfg.max_size
    pre = json.loads(meta["yolact.preprocess"])
    assert pre["transform"] == "normalize" and pre["mean_bgr"] == [103.94, 116.78, 123.68]
    assert json.loads(meta["yolact.nms"]) == {"score_threshold": 0.05, "iou_threshold": 0.5, "top_k": 200,
                                              "max_detections": 100, "cross_class": False}
    names = [o.name for o in graph.graph.output]
    expected = ["boxes", "scores", "classes", "coefficients", "prototypes", "num_detections"]
    expected += ["masks", "mask_scores"] if key == "plus" else []
    assert names == expected == json.loads(meta["yolact.outputs"])
    assert [i.name for i in graph.graph.input] == ["images"]
    proto = 2 * ((cfg.max_size + 7) // 8)
    dims = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.graph.output}
    assert dims["boxes"] == ["batch", 100, 4] and dims["prototypes"] == ["batch", proto, proto, 32]


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_onnx_runtime_matches_pytorch_on_real_images(exported, key, shared_images):
    weights, path = exported[key]
    model, cfg = load_checkpoint(weights)
    report = check_parity(YolactDetector(model).eval(), _session(path), _batch(shared_images, cfg))
    _assert_parity(report)


def test_dynamic_batch_equals_single_images(exported, shared_images):
    weights, path = exported["v1"]
    _, cfg = load_checkpoint(weights)
    x = _batch(shared_images[:3], cfg).numpy()
    session = _session(path)
    names = [o.name for o in session.get_outputs()]
    batched = dict(zip(names, session.run(None, {"images": x})))
    for b in range(len(x)):
        single = dict(zip(names, session.run(None, {"images": x[b:b + 1]})))
        one = {k: v[0] for k, v in single.items()}
        pairs, unmatched = match_detections(one, {k: v[b] for k, v in batched.items()}, 1e-5, 1e-6)
        assert unmatched == 0
        n = int(one["num_detections"])
        assert 0 < n <= 100
        # Rows past num_detections are zero.
        assert not batched["boxes"][b, n:].any() and not batched["coefficients"][b, n:].any()
        assert not batched["scores"][b, n:].any() and not batched["classes"][b, n:].any()


def test_decomposed_dcn_and_fixed_batch(exported, shared_images, tmp_path):
    weights, _ = exported["plus"]
    model, cfg = load_checkpoint(weights)
    path = export_onnx(model, tmp_path / "plus_decomposed.onnx", dcn="decomposed", batch=1)
    assert _ops(path)["DeformConv"] == 0
    session = _session(path)
    assert session.get_inputs()[0].shape == [1, 3, cfg.max_size, cfg.max_size]
    _assert_parity(check_parity(YolactDetector(model).eval(), session, _batch(shared_images[:2], cfg)))


def test_cross_class_nms_and_masks_in_graph(small_weights, shared_images, tmp_path):
    model, cfg = load_checkpoint(small_weights)
    nms = NmsSettings(cross_class=True, max_detections=50)
    path = export_onnx(model, tmp_path / "cc.onnx", nms=nms, masks_in_graph=True)
    session = _session(path)
    assert [o.name for o in session.get_outputs()][-1] == "masks"
    assert session.get_outputs()[0].shape == ["batch", 50, 4]
    _assert_parity(check_parity(YolactDetector(model, nms, True).eval(), session, _batch(shared_images[:2], cfg)))


def test_fp16_runs_on_cpu_within_tolerance(exported, shared_images, tmp_path):
    weights, _ = exported["v1"]
    model, cfg = load_checkpoint(weights)
    path = export_onnx(model, tmp_path / "fp16.onnx", fp16=True)
    weights_fp16 = [i for i in onnx.load(str(path)).graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert len(weights_fp16) > 50
    assert {p.key: p.value for p in onnx.load(str(path)).metadata_props}["yolact.precision"] == "fp16"
    session = _session(path)
    assert session.get_inputs()[0].type == "tensor(float)"  # I/O stays fp32
    x = _batch(shared_images[:1], cfg)
    names = [o.name for o in session.get_outputs()]
    got = {k: v[0] for k, v in zip(names, session.run(None, {"images": x.numpy()}))}
    with torch.no_grad():
        ref = {k: v[0].numpy() for k, v in YolactDetector(model)(x).items()}
    # Half precision moves scores by ~1e-4 and boxes by ~1e-3; near-tied detections may swap,
    # so compare the 20 best as sets with fp16-sized tolerances.
    top = {k: (v[:20] if k != "num_detections" else np.int64(20)) for k, v in ref.items()}
    pairs, _ = match_detections(top, got, box_tol=5e-3, score_tol=1e-3)
    assert len(pairs) >= 18, f"only {len(pairs)} of the 20 best fp32 detections found in fp16"


def test_simplifier_failure_falls_back(small_weights, tmp_path, monkeypatch):
    import onnxsim

    def broken(_model, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(onnxsim, "simplify", broken)
    messages: list[str] = []
    model, _ = load_checkpoint(small_weights)
    path = export_onnx(model, tmp_path / "nosim.onnx", log=messages.append)
    assert any("onnxsim failed (RuntimeError: boom)" in m for m in messages)
    assert _session(path).get_outputs()[0].name == "boxes"


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from yolact_export.exporter.cli import export_main; export_main()", *args],
                          capture_output=True, text=True, timeout=600)


def test_cli_export_with_check(small_weights, shared_images, tmp_path):
    out = tmp_path / "cli.onnx"
    run = _cli("--weights", str(small_weights), "--out", str(out), "--batch", "1",
               "--check", str(shared_images[0]))
    assert run.returncode == 0, run.stderr
    assert "parity OK" in run.stderr and out.is_file()
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("content,cause", [(b"not a pickle at all", "not a readable PyTorch checkpoint"), (None, "no such file")])
def test_cli_bad_weights_one_line_error(tmp_path, content, cause):
    weights = tmp_path / "yolact_base_54_800000.pth"
    if content is not None:
        weights.write_bytes(content)
    out = tmp_path / "x.onnx"
    run = _cli("--weights", str(weights), "--out", str(out))
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and cause in lines[0] and weights.name in lines[0]
    assert not out.exists()


def test_cli_help_shows_examples():
    run = _cli("--help")
    assert run.returncode == 0 and "yolact-export --weights" in run.stdout and "--masks-in-graph" in run.stdout


@pytest.mark.parametrize("flag", ["--nms-top-k", "--top-k"])
def test_cli_cross_class_nms_defaults_d_to_top_k(small_weights, tmp_path, flag):
    """The original's cc_fast_nms returns every survivor of its top_k: D = --nms-top-k, not 100
    (--top-k: its deprecated name, with one line saying so)."""
    out = tmp_path / "cc.onnx"
    run = _cli("--weights", str(small_weights), "--out", str(out), "--cross-class-nms", flag, "150")
    assert run.returncode == 0, run.stderr
    deprecated = [line for line in run.stderr.splitlines() if "deprecated" in line]
    assert deprecated == ([] if flag == "--nms-top-k" else
                          ["yolact-export: --top-k is deprecated: it is --nms-top-k now (candidates per class entering NMS)"])
    meta = {p.key: p.value for p in onnx.load(str(out), load_external_data=False).metadata_props}
    assert json.loads(meta["yolact.nms"])["max_detections"] == 150
    assert json.loads(meta["yolact.nms"])["cross_class"] is True
    assert _session(out).get_outputs()[0].shape == ["batch", 150, 4]
    assert NmsSettings(cross_class=True).max_detections == 200 and NmsSettings().max_detections == 100


def test_cli_check_exits_1_on_a_real_mismatch(small_weights, shared_images, tmp_path, monkeypatch):
    """--check compares PyTorch with the written graph: a weight changed after export fails it."""
    from click.testing import CliRunner

    import yolact_export.exporter.export as export_module
    from yolact_export.exporter.cli import export_main

    real_export = export_module.export_onnx

    def export_then_perturb(model, *args, **kwargs):
        path = real_export(model, *args, **kwargs)
        with torch.no_grad():
            model.prediction_layers[0].bbox_layer.bias.add_(0.5)  # the graph keeps the old one
        return path

    monkeypatch.setattr(export_module, "export_onnx", export_then_perturb)
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(export_main, ["--weights", str(small_weights), "--out", str(out),
                                              "--check", str(shared_images[0])])
    assert result.exit_code == 1, result.output  # yolact-check's status for a parity failure
    assert "parity OK" not in result.output
    monkeypatch.setattr(export_module, "export_onnx", real_export)
    result = CliRunner().invoke(export_main, ["--weights", str(small_weights), "--out", str(out),
                                              "--check", str(shared_images[0])])
    assert result.exit_code == 0 and "parity OK" in result.output, result.output
