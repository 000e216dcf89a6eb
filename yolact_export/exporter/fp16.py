"""Half-precision network inside an fp32 graph (--fp16).

Only the nodes of the network's submodules run in fp16; softmax, box decoding, Fast NMS and mask
assembly stay fp32, so scores near 1 and IoUs near the threshold round like the fp32 reference.
(onnxruntime's generic converter re-casts blocked nodes' outputs to fp16, which breaks that.)
"""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper, numpy_helper
from .scopes import NETWORK_SCOPES

_FP32_PARAMS = {"Resize": (1, 2)}  # float inputs that are parameters (roi, scales), not data
_KEEP_FP32_OPS = {"DeformConv"}  # no fp16 kernel in ONNX Runtime CPU


def _is_half(node: onnx.NodeProto) -> bool:
    return node.name.startswith(NETWORK_SCOPES) and node.op_type not in _KEEP_FP32_OPS


def _float_tensors(model: onnx.ModelProto) -> set[str]:
    inferred = onnx.shape_inference.infer_shapes(model)
    infos = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {v.name for v in infos if v.type.tensor_type.elem_type == TensorProto.FLOAT}


def convert_network_to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    floats = _float_tensors(model)
    inits = {i.name: i for i in model.graph.initializer}
    half_nodes = [n for n in model.graph.node if _is_half(n)]
    fp32_users = {name for n in model.graph.node if not _is_half(n) for name in n.input}
    half_weights: dict[str, str] = {}
    produced_half = {o for n in half_nodes for o in n.output if o in floats}
    casts: list[onnx.NodeProto] = []
    renamed: dict[tuple[str, int], str] = {}

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in renamed:
            renamed[key] = f"{name}_as_{'fp16' if to == TensorProto.FLOAT16 else 'fp32'}"
            casts.append(helper.make_node("Cast", [name], [renamed[key]], to=to, name=f"{renamed[key]}_cast"))
        return renamed[key]

    def half_weight(name: str) -> str:
        # Initializers may be shared (the exporter dedups equal ones); fp32 users keep theirs.
        if name not in half_weights:
            new = f"{name}_fp16" if name in fp32_users else name
            data = numpy_helper.to_array(inits[name]).astype("float16")
            if new == name:
                inits[name].CopyFrom(numpy_helper.from_array(data, name))
            else:
                model.graph.initializer.append(numpy_helper.from_array(data, new))
            half_weights[name] = new
        return half_weights[name]

    for node in model.graph.node:
        half = _is_half(node)
        for i, name in enumerate(node.input):
            if half and name in inits and inits[name].data_type == TensorProto.FLOAT \
                    and i not in _FP32_PARAMS.get(node.op_type, ()):
                node.input[i] = half_weight(name)
            elif half and name in floats and name not in produced_half and name not in inits:
                node.input[i] = cast(name, TensorProto.FLOAT16)  # fp32 tensor entering the fp16 network
            elif not half and name in produced_half:
                node.input[i] = cast(name, TensorProto.FLOAT)  # fp16 tensor leaving it
    for output in model.graph.output:
        if output.name in produced_half:
            raise ValueError(f"graph output {output.name} would be fp16")
    model.graph.node.extend(casts)
    del model.graph.value_info[:]  # stale types; onnxruntime infers them again
    _topological_sort(model)
    return model


def _topological_sort(model: onnx.ModelProto) -> None:
    nodes = list(model.graph.node)
    ready = {i.name for i in model.graph.input} | {i.name for i in model.graph.initializer} | {""}
    ordered: list[onnx.NodeProto] = []
    while nodes:
        done = [n for n in nodes if all(x in ready for x in n.input)]
        if not done:
            raise ValueError("graph has a cycle or a missing input")
        for n in done:
            ready.update(n.output)
        ordered += done
        nodes = [n for n in nodes if n not in done]
    del model.graph.node[:]
    model.graph.node.extend(ordered)
