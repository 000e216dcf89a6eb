"""DCNv2: pure-torch numerics vs the ONNX reference DeformConv, and both ONNX export forms."""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from yolact_export.exporter import dcn_op as onnx_ops
from yolact_export.model.dcn import ModulatedDeformConv2d, deform_conv2d


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Tiny shapes: extra threads only add spin-wait contention on a shared 2-core box.
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _reference_deform_conv(x: np.ndarray, w: np.ndarray, offset: np.ndarray, b: np.ndarray,
                           mask: np.ndarray, stride: int, pad: int, dil: int,
                           groups: int) -> np.ndarray:
    node = helper.make_node("DeformConv", ["X", "W", "offset", "B", "mask"], ["Y"],
                            strides=[stride] * 2, pads=[pad] * 4, dilations=[dil] * 2,
                            offset_group=groups, kernel_shape=list(w.shape[2:]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
              for n in ("X", "W", "offset", "B", "mask")]
    graph = helper.make_graph([node], "dcn", inputs,
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    feeds = {"X": x, "W": w, "offset": offset, "B": b, "mask": mask}
    return ReferenceEvaluator(model).run(None, feeds)[0]


@pytest.mark.parametrize("stride,pad,dil,groups", [
    (1, 1, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (1, 1, 1, 2),
])
def test_matches_onnx_reference(stride: int, pad: int, dil: int, groups: int) -> None:
    gen = torch.Generator().manual_seed(stride * 100 + pad * 10 + dil + groups)
    n, c, o, h, w, k = 2, 4, 3, 5, 6, 3
    ho = (h + 2 * pad - dil * (k - 1) - 1) // stride + 1
    wo = (w + 2 * pad - dil * (k - 1) - 1) // stride + 1
    x = torch.randn(n, c, h, w, generator=gen)
    weight = torch.randn(o, c, k, k, generator=gen)
    bias = torch.randn(o, generator=gen)
    offset = 2.5 * torch.randn(n, 2 * groups * k * k, ho, wo, generator=gen)
    offset[:, :4, 0, 0] = torch.tensor([-9.0, 0.3, 0.2, 20.0])  # samples far outside the image
    mask = torch.rand(n, groups * k * k, ho, wo, generator=gen)
    got = deform_conv2d(x, offset, mask, weight, bias, stride, pad, dil).numpy()
    want = _reference_deform_conv(x.numpy(), weight.numpy(), offset.numpy(), bias.numpy(),
                                  mask.numpy(), stride, pad, dil, groups)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4


@pytest.mark.parametrize("stride", [1, 2])
def test_zero_offset_is_half_conv(stride: int) -> None:
    torch.manual_seed(0)
    layer = ModulatedDeformConv2d(6, 5, 3, stride=stride, padding=1).eval()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 6, 9, 8)
    with torch.no_grad():
        got = layer(x)
        want = F.conv2d(x, 0.5 * layer.weight, layer.bias, stride=stride, padding=1)
    assert torch.allclose(got, want, atol=1e-5, rtol=0)


def test_parameter_names_and_init() -> None:
    layer = ModulatedDeformConv2d(128, 64, 3)
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    assert shapes == {"weight": (64, 128, 3, 3), "bias": (64,),
                      "conv_offset_mask.weight": (27, 128, 3, 3),
                      "conv_offset_mask.bias": (27,)}
    assert layer.weight.abs().max() <= 1 / np.sqrt(128 * 9)
    assert not layer.bias.any() and not layer.conv_offset_mask.weight.any()


def _random_layer(stride: int = 1, groups: int = 1) -> ModulatedDeformConv2d:
    torch.manual_seed(1)
    layer = ModulatedDeformConv2d(4, 6, 3, stride=stride, padding=1,
                                  deformable_groups=groups).eval()
    with torch.no_grad():
        layer.conv_offset_mask.weight.normal_(0, 0.5)
        layer.conv_offset_mask.bias.normal_(0, 1.0)
        layer.bias.normal_()
    return layer


def test_native_op_eager_matches_decomposed() -> None:
    layer = _random_layer(stride=2)
    x = torch.randn(1, 4, 7, 9)
    with torch.no_grad():
        want = layer(x)
        with onnx_ops.dcn_mode(layer, "native"):
            assert layer.native
            got = layer(x)
    assert not layer.native
    assert torch.equal(got, want)


def test_mode_api_rejects_bad_input() -> None:
    layer = _random_layer()
    with pytest.raises(ValueError, match="unknown DCN mode 'fast'"):
        with onnx_ops.dcn_mode(layer, "fast"):  # type: ignore[arg-type]
            pass
    assert not layer.native


class _Tiny(torch.nn.Module):
    def __init__(self, groups: int = 1) -> None:
        super().__init__()
        self.dcn = _random_layer(groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.dcn(x))


@pytest.mark.parametrize("mode,groups", [("native", 1), ("decomposed", 1), ("native", 2)])
def test_export_runs_in_onnxruntime(tmp_path: Path, mode: str, groups: int) -> None:
    model = _Tiny(groups).eval()
    x = torch.randn(1, 4, 8, 7)
    with torch.no_grad():
        want = model(x).numpy()
    path = tmp_path / "dcn.onnx"
    with onnx_ops.dcn_mode(model, mode), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), opset_version=19, dynamo=False,
                          input_names=["x"], verbose=False)
    nodes = onnx.load(str(path)).graph.node
    deform = [node for node in nodes if node.op_type == "DeformConv"]
    assert len(deform) == (1 if mode == "native" else 0)
    if deform:
        attrs = {a.name: helper.get_attribute_value(a) for a in deform[0].attribute}
        assert attrs["offset_group"] == groups and list(attrs["pads"]) == [1, 1, 1, 1]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4
