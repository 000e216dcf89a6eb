"""How close each path runs to this CPU's conv speed: the network's GFLOP (2 x MACs of every conv,
counted with hooks on the PyTorch model; decode and NMS are negligible next to it) over each path's
median inference time, against the ceiling of one large 3x3 conv in ORT, fp32 and QDQ int8 (ORT fuses
it into QLinearConv; MLAS picks its int8 kernel from the CPU flags: machine.int8_kernel)."""
from __future__ import annotations

import argparse
import collections
import functools
import json
import sys
import tempfile
import types
import warnings
from pathlib import Path

import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
from yolact_runtime import EngineOptions
from yolact_runtime.core.session import cpu_session, session_options

from yolact_export import build_model, get_config
from yolact_export.bench.machine import describe
from yolact_export.bench.measure import summarize, time_round_robin
from yolact_export.exporter.int8 import quiet_quantizer
from yolact_export.model.dcn import ModulatedDeformConv2d
from record import write_record  # benchmarks/record.py (the script's own folder is on sys.path)

CONV = (256, 69)  # channels, size: a YOLACT-sized layer (C3 of ResNet at 550)


def conv_gflop(model) -> float:
    """Convolution GFLOP (2 x MACs) of one image through `model` at its input size."""
    macs = []
    count = lambda module, _inputs, output: macs.append(output.numel() * module.weight[0].numel())  # noqa: E731
    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, ModulatedDeformConv2d))]  # a deformable conv does a conv's MACs
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, model.config.max_size, model.config.max_size))
    finally:
        for hook in hooks:
            hook.remove()
    return 2 * sum(macs) / 1e9


def ort_ops(model_path, threads: int | None) -> collections.Counter:
    """Op types ONNX Runtime runs on the CPU after its fusions."""
    with tempfile.TemporaryDirectory() as tmp:
        options = session_options(EngineOptions(intra_op_threads=threads))
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        nodes = onnx.load(options.optimized_model_filepath, load_external_data=False).graph.node
    return collections.Counter(n.op_type for n in nodes)


def conv_ceiling(threads: int | None, runs: int, warmup: int) -> dict:
    """One 3x3 conv (+ReLU), fp32 and QDQ int8 (u8 activations x s8 weights, as yolact-export --int8)."""
    (c, s), generator = CONV, torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.ReLU()).eval()
    x = torch.relu(torch.randn(1, c, s, s, generator=generator))
    feed = {"x": x.numpy()}  # the calibration input, and the timed one
    out: dict = {"conv": f"3x3 {c}->{c} at {s}x{s} (+ReLU), batch 1", "gflop": 2 * s * s * c * c * 9 / 1e9}
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes
            warnings.simplefilter("ignore")
            torch.onnx.export(conv, (x,), str(fp32), input_names=["x"], opset_version=19, dynamo=False)
        reader = types.SimpleNamespace(get_next=functools.partial(next, iter([feed]), None))  # one feed, then None
        with quiet_quantizer():
            quantize_static(str(fp32), str(int8), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        sessions = {"fp32": cpu_session(fp32, threads), "int8": cpu_session(int8, threads)}
        out["int8_ops"] = dict(ort_ops(int8, threads))
    for key, session in sessions.items():  # one after the other: the idle session's threads would spin in between
        out[key] = summarize(time_round_robin({key: lambda: session.run(None, feed)}, runs, warmup)[key])
    out["int8_speedup"] = round(out["fp32"]["median_ms"] / out["int8"]["median_ms"], 3)
    return out


def compute_rates(gflop: float, paths: dict, conv: dict) -> dict:
    """Achieved GFLOP/s per measured path, the conv ceilings, and the share of its ceiling each CPU path reaches."""
    ceiling = {k: conv["gflop"] / conv[k]["median_ms"] * 1e3 for k in ("fp32", "int8")}
    out: dict = {"network_gflop": round(gflop, 2), "conv_ceiling_gflop_s": {k: round(v, 1) for k, v in ceiling.items()},
                 **{f"{k}_floor_ms": round(gflop / v * 1e3, 1) for k, v in ceiling.items()}, "paths": {}}
    for name, entry in ((n, e) for n, e in paths.items() if e["status"] == "ok"):
        rate = gflop / entry["stages"]["inference"]["median_ms"] * 1e3
        row = out["paths"][name] = {"inference_gflop_s": round(rate, 1)}
        if entry["device"] == "cpu" and not name.endswith("bf16"):
            row["share_of_conv_ceiling"] = round(rate / ceiling["int8" if "int8" in name else "fp32"], 3)
    return out



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="yolact_resnet50", help="network whose convolution GFLOP to count")
    parser.add_argument("--bench", help="a yolact-bench JSON: rates of its measured paths against the ceiling")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", help="JSON file (default: stdout)")
    args = parser.parse_args()
    conv = conv_ceiling(args.threads, args.runs, 3)
    doc = {"machine": describe(args.threads), "conv_microbench": conv,
           "network_gflop": round(conv_gflop(build_model(get_config(args.config))), 2)}
    if args.bench:
        doc["compute"] = compute_rates(doc["network_gflop"], json.loads(Path(args.bench).read_text())["paths"], conv)
    write_record(doc, args.out)


if __name__ == "__main__":
    main()
