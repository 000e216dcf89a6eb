"""ONNX export forms of DCNv2 (`ModulatedDeformConv2d`), chosen with `dcn_mode`.

- "decomposed": the pure-torch `deform_conv2d` is traced into plain ONNX ops (Gather, MatMul...).
- "native": the layer calls the custom op `yolact::deform_conv2d`, which both exporters write as
  ONNX `DeformConv` (opset >= 19): the TorchScript one through a registered symbolic, the
  torch.export one through `DYNAMO_TRANSLATIONS` (an onnxscript function; the op's fake kernel
  gives torch.export its output shape).

ONNX `DeformConv` reads offset as [N, offset_group, kh, kw, 2(y, x), Ho, Wo] and mask as
[N, offset_group, kh, kw, Ho, Wo] (see onnx.reference op_deform_conv), which is exactly the
DCNv2 layout, so offset and mask are passed through unpermuted.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import torch
from torch import nn

from ..model.dcn import ModulatedDeformConv2d, deform_conv2d

DcnMode = Literal["native", "decomposed"]
MIN_OPSET = 19  # first opset with DeformConv


@torch.library.custom_op("yolact::deform_conv2d", mutates_args=())
def deform_conv2d_op(x: torch.Tensor, weight: torch.Tensor, offset: torch.Tensor,
                     mask: torch.Tensor, bias: torch.Tensor, stride: Sequence[int],
                     padding: Sequence[int], dilation: Sequence[int],
                     deformable_groups: int) -> torch.Tensor:
    """Opaque DCNv2 op (eager: the pure-torch implementation; groups are implied by mask)."""
    return deform_conv2d(x, offset, mask, weight, bias, tuple(stride), tuple(padding),
                         tuple(dilation))


@deform_conv2d_op.register_fake
def _deform_conv2d_fake(x: torch.Tensor, weight: torch.Tensor, offset: torch.Tensor,
                        mask: torch.Tensor, bias: torch.Tensor, stride: Sequence[int],
                        padding: Sequence[int], dilation: Sequence[int],
                        deformable_groups: int) -> torch.Tensor:
    """Output [N, O, Ho, Wo]: the offset map already has the conv's output grid."""
    return x.new_empty((x.shape[0], weight.shape[0], offset.shape[2], offset.shape[3]))


def _deform_attrs(weight_shape: Sequence[Any] | None, stride: Sequence[int],
                  padding: Sequence[int], dilation: Sequence[int],
                  deformable_groups: int) -> dict[str, Any]:
    """DeformConv attributes; kernel_shape (optional in ONNX) only if the weight shape is known."""
    attrs: dict[str, Any] = {"strides": list(stride), "pads": [*padding, *padding],
                             "dilations": list(dilation), "group": 1,
                             "offset_group": int(deformable_groups)}
    kernel = list(weight_shape[2:]) if weight_shape is not None else []
    if len(kernel) == 2 and all(isinstance(v, int) for v in kernel):
        attrs["kernel_shape"] = kernel
    return attrs


def _torchscript_symbolic(g: Any, x: Any, weight: Any, offset: Any, mask: Any, bias: Any,
                          stride: Any, padding: Any, dilation: Any, deformable_groups: Any) -> Any:
    from torch.onnx import symbolic_helper as sh

    ints = [sh._get_const(v, "is", name) for v, name in
            ((stride, "stride"), (padding, "padding"), (dilation, "dilation"))]
    groups = sh._get_const(deformable_groups, "i", "deformable_groups")
    attrs = _deform_attrs(sh._get_tensor_sizes(weight), *ints, groups)
    return g.op("DeformConv", x, weight, offset, bias, mask,
                **{f"{k}_i": v for k, v in attrs.items()})


def _onnxscript_translation(x: Any, weight: Any, offset: Any, mask: Any, bias: Any,
                            stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                            deformable_groups: int) -> Any:
    """torch.export path: traced by onnxscript (the ints arrive as Python values)."""
    from onnxscript import opset19 as op

    shape = weight.shape
    dims = None if shape is None else [d if isinstance(d, int) else None for d in shape]
    attrs = _deform_attrs(dims, stride, padding, dilation, deformable_groups)
    return op.DeformConv(x, weight, offset, bias, mask, **attrs)


DYNAMO_TRANSLATIONS = {torch.ops.yolact.deform_conv2d.default: _onnxscript_translation}

_symbolic_registered = False


def register_torchscript_symbolic() -> None:
    """Make the TorchScript exporter emit DeformConv for opset >= 19; idempotent. Exporting a
    native layer at a lower opset then fails with an unsupported-op error."""
    global _symbolic_registered
    if not _symbolic_registered:
        torch.onnx.register_custom_op_symbolic("yolact::deform_conv2d", _torchscript_symbolic,
                                               MIN_OPSET)
        _symbolic_registered = True


@contextlib.contextmanager
def dcn_mode(model: nn.Module, mode: DcnMode) -> Iterator[nn.Module]:
    """Inside the block, every ModulatedDeformConv2d of `model` runs (and exports) as `mode`;
    each layer's flag is restored afterwards."""
    if mode not in ("native", "decomposed"):
        raise ValueError(f"unknown DCN mode {mode!r}; expected 'native' or 'decomposed'")
    if mode == "native":
        register_torchscript_symbolic()
    layers = [m for m in model.modules() if isinstance(m, ModulatedDeformConv2d)]
    saved = [layer.native for layer in layers]
    for layer in layers:
        layer.native = mode == "native"
    try:
        yield model
    finally:
        for layer, flag in zip(layers, saved):
            layer.native = flag
