"""--exporter dynamo (torch.export) against --exporter torchscript: the same contract, the same detections."""
from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from test_dcn import _Tiny
from test_export import _assert_parity, _batch, _session

from yolact_export import load_checkpoint
from yolact_export.detection.graph import NmsSettings, YolactDetector
from yolact_export.exporter import dcn_op
from yolact_export.exporter.dynamo import export_dynamo, scoped_name, torch_supports_dynamo
from yolact_export.exporter.export import export_onnx
from yolact_export.exporter.parity import ParityReport, add_image, check_parity
from yolact_export.exporter.scopes import NETWORK_SCOPES

# Two fp32 graphs of the same network: only op order and fusions (BatchNorm folded into Conv)
# differ, a few float32 ulps per layer, far inside the PyTorch-vs-ORT tolerances of test_export.


def _model(path) -> onnx.ModelProto:
    return onnx.load(str(path), load_external_data=False)


def _io(path) -> tuple:
    def typed(values):
        return [(v.name, v.type.tensor_type.elem_type, [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim])
                for v in values]
    graph = _model(path).graph
    return typed(graph.input), typed(graph.output)


def _meta(path) -> dict[str, str]:
    return {p.key: p.value for p in _model(path).metadata_props}


def _graphs_agree(a, b, images: torch.Tensor, batch: int) -> ParityReport:
    """Run both graphs on `images` in batches of `batch`, compare row sets image by image."""
    sa, sb = _session(a), _session(b)
    report = ParityReport()
    for x in images.split(batch):
        outs = [dict(zip([o.name for o in s.get_outputs()], s.run(None, {"images": x.numpy()}))) for s in (sa, sb)]
        for i in range(len(x)):
            add_image(report, {k: v[i] for k, v in outs[0].items()}, {k: v[i] for k, v in outs[1].items()})
    return report


@pytest.fixture(scope="module")
def small_pair(small_weights, shared_images, tmp_path_factory):
    """The small model exported by `yolact-export --check` (dynamo, the default) and by --exporter torchscript."""
    from yolact_export.exporter.cli import export_main

    out = tmp_path_factory.mktemp("dynamo")
    dynamo = out / "dynamo.onnx"
    run = CliRunner().invoke(export_main, ["--weights", str(small_weights), "--out", str(dynamo),
                                           "--check", str(shared_images[0].parent)])
    assert run.exit_code == 0, run.output
    assert "parity OK" in run.output  # yolact-check's exact profile against PyTorch, on every photo
    model, _ = load_checkpoint(small_weights)
    return dynamo, export_onnx(model, out / "torchscript.onnx", exporter="torchscript")


def test_the_dynamo_graph_keeps_the_contract(small_pair):
    dynamo, torchscript = small_pair
    assert _io(dynamo) == _io(torchscript)
    assert _io(dynamo)[0] == [("images", onnx.TensorProto.FLOAT, ["batch", 3, 160, 160])]
    assert _meta(dynamo) == _meta(torchscript)
    ops = collections.Counter(n.op_type for n in _model(dynamo).graph.node)
    for op in ("TopK", "Trilu", "ReduceMax", "Softmax", "Exp"):
        assert ops[op] >= 1, f"Fast NMS / decoding op {op} missing"
    for op in ("If", "Loop", "Scan", "NonMaxSuppression"):
        assert ops[op] == 0, f"unexpected {op}"


def test_the_dynamo_graph_names_its_nodes_by_module_scope(small_pair):
    names = [n.name for n in _model(small_pair[0]).graph.node]
    assert len(set(names)) == len(names)
    for scope in NETWORK_SCOPES:
        assert any(n.startswith(scope) for n in names), f"nothing under {scope}"
    assert any(n.startswith("/detector/TopK") for n in names)  # Fast NMS lies outside the network
    assert torch_supports_dynamo("2.13.0+cpu") and torch_supports_dynamo("3.0") and not torch_supports_dynamo("2.5.1")
    assert scoped_name(["detector", "detector.model", "detector.model.backbone.layers.0",
                        "detector.model.backbone.layers.0.0"], "Conv") == "/detector/model/layers.0/layers.0.0/Conv"


def test_dynamo_and_torchscript_detect_the_same(small_pair, small_weights, shared_images):
    model, cfg = load_checkpoint(small_weights)
    images = _batch(shared_images, cfg)
    report = _graphs_agree(*small_pair, images, batch=len(images))  # the dynamic batch, all at once
    _assert_parity(report)
    _assert_parity(check_parity(YolactDetector(model).eval(), _session(small_pair[0]), images))


def test_fixed_batch_masks_in_graph_and_cross_class(small_weights, shared_images, tmp_path):
    model, cfg = load_checkpoint(small_weights)
    nms = NmsSettings(cross_class=True, max_detections=50)
    paths = [export_onnx(model, tmp_path / f"{e}.onnx", nms=nms, batch=2, masks_in_graph=True, exporter=e)
             for e in ("dynamo", "torchscript")]
    assert _io(paths[0]) == _io(paths[1])
    assert _io(paths[0])[1][-1] == ("masks", onnx.TensorProto.FLOAT, [2, 50, 40, 40])
    _assert_parity(_graphs_agree(*paths, _batch(shared_images, cfg), batch=2))


def test_fp16_and_int8_convert_the_dynamo_network(small_pair, small_weights, shared_images, tmp_path):
    """Both converters find the network by its node names: the dynamo graph must give them the same nodes."""
    from test_quantize import _float_inputs

    from yolact_export.exporter.int8 import quantize_int8

    model, _ = load_checkpoint(small_weights)
    half = _model(export_onnx(model, tmp_path / "fp16.onnx", fp16=True, exporter="dynamo"))
    conv_weights = {n.input[1] for n in half.graph.node if n.op_type == "Conv"}
    fp16 = {i.name for i in half.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
    assert conv_weights and conv_weights <= fp16, "a Conv of the network kept fp32 weights"
    assert {p.key: p.value for p in half.metadata_props}["yolact.precision"] == "fp16"
    assert set(_float_inputs(half, "TopK")) == {onnx.TensorProto.FLOAT}  # Fast NMS stays fp32

    int8 = _model(quantize_int8(small_pair[0], tmp_path / "int8.onnx", shared_images[0].parent, limit=2))
    dequantized = {o for n in int8.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = [n for n in int8.graph.node if n.op_type == "Conv"]
    assert convs and all(n.input[0] in dequantized and n.input[1] in dequantized for n in convs)
    post = [n for n in int8.graph.node if not n.name.startswith("/detector/model/")]  # decoding, Fast NMS
    assert post and not any(set(n.input) & dequantized for n in post), "decoding or NMS reads int8 data"
    assert set(_float_inputs(int8, "TopK")) == {onnx.TensorProto.FLOAT}


def test_yolact_plus_native_dcn_matches_the_torchscript_graph(exported, shared_images, tmp_path):
    weights, dynamo = exported["plus"]  # the default exporter's graph
    model, cfg = load_checkpoint(weights)
    torchscript = export_onnx(model, tmp_path / "plus.onnx", exporter="torchscript")
    ops = collections.Counter(n.op_type for n in _model(dynamo).graph.node)
    assert ops["DeformConv"] == collections.Counter(n.op_type for n in _model(torchscript).graph.node)["DeformConv"] > 0
    assert _io(dynamo) == _io(torchscript) and _meta(dynamo) == _meta(torchscript)
    _assert_parity(_graphs_agree(torchscript, dynamo, _batch(shared_images, cfg), batch=2))


@pytest.mark.parametrize("mode", ["native", "decomposed"])
def test_both_dcn_forms_export_through_torch_export(mode):
    model = _Tiny(groups=2).eval()
    x = torch.randn(1, 4, 8, 7)
    with torch.no_grad():
        want = model(x).numpy()
        with dcn_op.dcn_mode(model, mode):
            graph = export_dynamo(model, x, False, 19, "x", ["y"])
    deform = [n for n in graph.graph.node if n.op_type == "DeformConv"]
    assert len(deform) == (mode == "native")
    if deform:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in deform[0].attribute}
        assert attrs["offset_group"] == 2 and list(attrs["kernel_shape"]) == [3, 3]
    import onnxruntime as ort

    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    assert np.abs(session.run(None, {"x": x.numpy()})[0] - want).max() <= 1e-4


def test_openvino_runs_the_dynamo_graph_as_onnx_runtime_does(small_pair, small_weights, shared_images):
    """OpenVINO (providers="openvino", the test extra) compiles the dynamo graph, in f32, to ORT's detections."""
    from yolact_runtime import Yolact

    _, cfg = load_checkpoint(small_weights)
    x = _batch(shared_images, cfg).numpy()
    model = Yolact(small_pair[0], "openvino", precision="f32", intra_op_threads=2)
    assert model.precision == "f32", model.precision
    session = _session(small_pair[0])
    ort_out = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"images": x})))
    report = ParityReport()
    for i, raw in enumerate(model.infer(x)):
        got = {k: getattr(raw, k) for k in ("boxes", "scores", "classes", "coefficients")}
        add_image(report, {k: v[i] for k, v in ort_out.items()}, got | {"num_detections": np.int64(raw.num_detections)})
    _assert_parity(report)
