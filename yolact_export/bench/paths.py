"""The measured paths: exported graphs through yolact_runtime.Yolact on each engine, and the PyTorch
network (YolactDetector, eager) between the fp32 graph's own Yolact preprocess and postprocess."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import torch
from yolact_runtime import Yolact, YolactRuntimeError
from yolact_runtime.contract import DEFAULT_SCORE_THRESHOLD
from yolact_runtime.tools import split_batch  # the contract's batch-first outputs -> per-image rows

from ..detection.graph import YolactDetector
from .machine import mkldnn_bf16

ALL_PATHS = ("pytorch-fp32", "pytorch-bf16", "onnx-fp32", "onnx-fp16", "onnx-int8", "openvino-fp32", "openvino-bf16",
             "openvino-int8", "cuda-fp32", "cuda-fp16", "tensorrt-fp32", "tensorrt-fp16")
# engine -> (Yolact's providers choice, the provider that must start)
_PROVIDERS = {"onnx": ("cpu", "CPUExecutionProvider"), "cuda": ("cuda", "CUDAExecutionProvider"),
              "tensorrt": ("tensorrt", "TensorrtExecutionProvider"), "openvino": ("openvino", "OpenVINO")}
_NOTES = {"pytorch-bf16": "torch.autocast(cpu, bfloat16) around the network; decode/NMS fp32",
          "fp16": "network fp16, decode/NMS fp32 (--fp16 export)",
          "int8": "QDQ int8 network (yolact-export --int8), decode/NMS/softmax fp32"}


class SkipPath(RuntimeError):
    """This path cannot run here (no provider, no graph, no fast kernel): reported, not fatal."""


class OpenPath(NamedTuple):
    device: str
    note: str
    engine: object  # preprocess / infer / postprocess, as Yolact's


class Bf16Network(torch.nn.Module):
    """The network under torch.autocast(bfloat16), its outputs back in float32 (decode and NMS stay fp32)."""

    def __init__(self, model) -> None:
        super().__init__()  # with what YolactDetector reads of the network
        self.inner, self.config, self.priors = model, model.config, model.priors
        self.maskiou_net = getattr(model, "maskiou_net", None)

    def forward(self, images):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            raw = self.inner(images)
        return dataclasses.replace(raw, **{k: v.float() for k, v in vars(raw).items() if v is not None})


class TorchStages:
    """The fp32 graph's Yolact stages with PyTorch eager as the engine."""

    def __init__(self, runtime: Yolact, detector: YolactDetector) -> None:
        self.runtime, self.detector = runtime, detector
        self.preprocess, self.postprocess = runtime.preprocess, runtime.postprocess

    def infer(self, batch):  # the one timed PyTorch call
        with torch.inference_mode():
            out = self.detector(torch.from_numpy(batch))
        return split_batch({key: out[key].numpy() for key in self.detector.output_names})


def torch_path(name: str, model, nms, graphs: dict[str, Path], force_bf16: bool) -> OpenPath:
    """YolactDetector in PyTorch eager on the CPU, fp32 or with bf16 autocast of the network."""
    if name == "pytorch-bf16" and not force_bf16 and not mkldnn_bf16():
        raise SkipPath("no oneDNN bf16 on this CPU (needs avx512bw/avx512_bf16/amx): torch would run bf16 "
                       "convolutions in aten::_slow_conv2d_forward, ~100x slower than fp32; name it in --paths "
                       "to measure anyway")
    if "fp32" not in graphs:
        raise SkipPath("no fp32 graph for its pre- and postprocessing (export failed)")
    detector = YolactDetector(Bf16Network(model) if name == "pytorch-bf16" else model, nms).eval()
    runtime = Yolact(graphs["fp32"], "cpu", score_threshold=DEFAULT_SCORE_THRESHOLD)
    return OpenPath("cpu", _NOTES.get(name, ""), TorchStages(runtime, detector))


def runtime_path(name: str, graphs: dict[str, Path], threads: int | None) -> OpenPath:
    """An exported graph through Yolact on the path's provider; openvino-fp32 pins f32, -bf16 is
    OpenVINO's default precision (bf16 where the CPU has it, read back)."""
    engine, precision = name.split("-")
    graph = "fp32" if name == "openvino-bf16" else precision
    if graph not in graphs:
        raise SkipPath(f"no {graph} graph (export failed)")
    hint = "f32" if name == "openvino-fp32" else "default"
    choice, wanted = _PROVIDERS[engine]
    try:
        model = Yolact(graphs[graph], choice, score_threshold=DEFAULT_SCORE_THRESHOLD, intra_op_threads=threads,
                       precision=hint)
    except YolactRuntimeError as error:  # no such provider, or no OpenVINO runtime: its one line
        raise SkipPath(str(error)) from None
    started = model.providers[0] if model.providers else "none"
    if started != wanted:
        raise SkipPath(f"{wanted} did not start (onnxruntime fell back to {started})")
    if engine != "openvino":
        return OpenPath(choice, _NOTES.get(precision, ""), model)
    if name == "openvino-bf16" and model.precision != "bf16":
        raise SkipPath(f"OpenVINO's default here is {model.precision} (no native bf16), which openvino-fp32 measures")
    asked = "default precision" if hint == "default" else "f32 asked"
    note = f"OpenVINO {asked}: ran {model.precision} (read back)" + (", QDQ int8 network" if graph == "int8" else "")
    return OpenPath(choice, note, model)
