"""The torch.export-based ONNX exporter (`--exporter dynamo`), brought to the TorchScript graphs' form.

torch.onnx.export(dynamo=True) names nodes `node_Conv_12` and keeps the module path in the
`pkg.torch.onnx.name_scopes` metadata. The fp16 and int8 converters (and users' --exclude
prefixes) select the network by TorchScript-style node names (NETWORK_SCOPES), so each
node is renamed from its module path the way the TorchScript exporter names it, and its outputs
`<node>_output_<i>` as there (the int8 quantizer names its Q/DQ nodes after the tensors).
"""
from __future__ import annotations

import ast
import collections
import logging

import onnx
import torch

from .dcn_op import DYNAMO_TRANSLATIONS

_SCOPES_KEY = "pkg.torch.onnx.name_scopes"
MIN_TORCH = (2, 6)  # torch.onnx.export(dynamo=True) with custom_translation_table and optimize


def torch_supports_dynamo(version: str = torch.__version__) -> bool:
    major, minor = (int(part) for part in version.split("+")[0].split(".")[:2])
    return (major, minor) >= MIN_TORCH


def _scope_level(fqn: str) -> str:
    """`a.layers.0.0` -> `layers.0.0`: the last attribute name and the container indices after it."""
    parts = fqn.split(".")
    start = len(parts) - 1
    while start > 0 and parts[start].isdigit():
        start -= 1
    return ".".join(parts[start:])


def scoped_name(module_paths: list[str], op_type: str) -> str:
    """TorchScript's node name: one level per called module, then the op type."""
    return "/" + "".join(f"{_scope_level(p)}/" for p in module_paths) + op_type


def _module_paths(node: onnx.NodeProto) -> list[str]:
    """The called modules' paths ('' and the fx op name at the ends dropped); [] without metadata."""
    for prop in node.metadata_props:
        if prop.key == _SCOPES_KEY:
            return [p for p in ast.literal_eval(prop.value)[1:-1] if p]
    return []


def rename_nodes(model: onnx.ModelProto) -> None:
    """Give every node its TorchScript-style scoped name, made unique with _N as TorchScript does;
    the per-node metadata (stack traces, fx nodes) goes, as it would double a small file's size."""
    seen: collections.Counter[str] = collections.Counter()
    for node in model.graph.node:
        paths = _module_paths(node)
        base = scoped_name(paths, node.op_type) if paths else f"/{node.op_type}"
        seen[base] += 1
        node.name = base if seen[base] == 1 else f"{base}_{seen[base] - 1}"
        del node.metadata_props[:]


def rename_values(model: onnx.ModelProto) -> None:
    """Intermediate tensors after their producing node; graph inputs, outputs and weights keep theirs."""
    graph = model.graph
    kept = {v.name for v in graph.input} | {v.name for v in graph.output} | {i.name for i in graph.initializer}
    renamed = {out: f"{node.name}_output_{i}" for node in graph.node for i, out in enumerate(node.output)
               if out and out not in kept}
    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [renamed.get(name, name) for name in node.output]
    for info in graph.value_info:
        info.name = renamed.get(info.name, info.name)


def export_dynamo(module: torch.nn.Module, dummy: torch.Tensor, dynamic_batch: bool, opset: int,
                  input_name: str, output_names: list[str]) -> onnx.ModelProto:
    """torch.export + the onnxscript translation and optimizer; the result renamed as above."""
    shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    # It warns that torchvision's ops are not registered: we use none of them.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    program = torch.onnx.export(module, (dummy,), None, dynamo=True, opset_version=opset,
                                input_names=[input_name], output_names=output_names,
                                dynamic_shapes=shapes, custom_translation_table=DYNAMO_TRANSLATIONS,
                                optimize=True, verbose=False)
    model = program.model_proto
    rename_nodes(model)
    rename_values(model)
    return model
