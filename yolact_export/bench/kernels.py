"""Does the int8 path pay off on this CPU? One YOLACT-sized conv, fp32 vs QDQ int8, in ORT.

ONNX Runtime fuses DequantizeLinear -> Conv -> QuantizeLinear into QLinearConv; its MLAS GEMM
dispatches by CPU: AMX-INT8, AVX512-VNNI, AVX-VNNI, else AVX2/AVX512BW (vpmaddubsw, no VNNI).
The dispatch is not reported by ORT, so it is stated from the CPU flags (machine.int8_kernel),
and shown by the measured speed-up; the optimized graph shows whether QLinearConv was formed.
"""
from __future__ import annotations

import collections
import os
import tempfile
from pathlib import Path

import numpy as np
from yolact_runtime.core.metadata import NETWORK_SCOPES

from ..exporter.int8 import quiet_quantizer
from .stats import summarize, time_calls


def _conv_model(channels: int, size: int, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((channels, channels, 3, 3)) * (2.0 / (9 * channels)) ** 0.5).astype(np.float32)
    bias = np.zeros(channels, dtype=np.float32)
    scope = NETWORK_SCOPES[0]  # a network node, so that quantize_int8 quantizes it
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], name=f"{scope}conv/Conv", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"], name=f"{scope}relu/Relu")],
        "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, size, size])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    onnx.save(model, str(path))


def _optimized_nodes(model_path, threads: int | None = 1, work_dir=None) -> list:
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads or 0
        options.optimized_model_filepath = os.path.join(tmp, "optimized.onnx")
        ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        return list(onnx.load(options.optimized_model_filepath, load_external_data=False).graph.node)


def optimized_op_counts(model_path, threads: int | None = 1, work_dir=None) -> dict[str, int]:
    """Op types of the graph ONNX Runtime actually runs on the CPU (after its fusions)."""
    return dict(collections.Counter(n.op_type for n in _optimized_nodes(model_path, threads, work_dir)))


def fp16_fallback_casts(model_path, threads: int | None = 1, work_dir=None) -> int:
    """Casts ONNX Runtime inserted to run fp16 nodes in fp32 (no fp16 kernel on this CPU)."""
    return sum(1 for n in _optimized_nodes(model_path, threads, work_dir)
               if n.op_type == "Cast" and n.name.startswith("InsertedPrecisionFreeCast"))


def conv_int8_vs_fp32(threads: int | None, runs: int = 20, warmup: int = 3, channels: int = 256,
                      size: int = 69, work_dir=None) -> dict:
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((1, channels, size, size)), 0).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = [x]

        def get_next(self):
            return {"x": self.left.pop()} if self.left else None

    out = {"conv": f"3x3 {channels}->{channels} at {size}x{size} (+ReLU), batch 1"}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        _conv_model(channels, size, fp32)
        u8u8 = Path(tmp) / "u8u8.onnx"
        with quiet_quantizer():
            quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            quantize_static(str(fp32), str(u8u8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8,
                            extra_options={"WeightSymmetric": False})
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads or 0
        for name, path in (("fp32", fp32), ("int8", int8), ("int8_u8u8", u8u8)):
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            out[name] = summarize(time_calls(lambda _i: session.run(None, {"x": x}), runs, warmup)).to_dict()
        out["int8_ops"] = optimized_op_counts(int8, threads, tmp)
    out["int8_speedup"] = round(out["fp32"]["median_ms"] / out["int8"]["median_ms"], 3)
    out["int8_u8u8_speedup"] = round(out["fp32"]["median_ms"] / out["int8_u8u8"]["median_ms"], 3)
    out["note"] = ("int8 = u8 activations x s8 weights (what yolact-export --int8 writes); "
                   "int8_u8u8 = u8 weights too (no vpmaddubsw saturation on CPUs without VNNI)")
    return out
