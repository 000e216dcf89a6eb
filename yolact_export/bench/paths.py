"""The measured paths: exported graphs through yolact_runtime.Yolact; YolactDetector in PyTorch eager beside them."""
from __future__ import annotations

import dataclasses
import types
from pathlib import Path
from typing import NamedTuple

import torch
from yolact_runtime import Yolact
from yolact_runtime.core import cpu
from yolact_runtime.errors import YolactRuntimeError
from yolact_runtime.core.plan import CPU, CUDA, OPENVINO, TENSORRT
from yolact_runtime.core.postprocess import PostprocessOptions, postprocess
from yolact_runtime.core.preprocess import preprocess_batch
from yolact_runtime.core.raw import split_batch

from ..detection.graph import YolactDetector
from .machine import mkldnn_bf16

ALL_PATHS = ("pytorch-fp32", "pytorch-bf16", "onnx-fp32", "onnx-fp16", "onnx-int8", "openvino-fp32", "openvino-bf16",
             "openvino-int8", "cuda-fp32", "cuda-fp16", "tensorrt-fp32", "tensorrt-fp16")
SCORE_THRESHOLD = 0.3  # yolact-run's default
# engine -> (yolact_runtime's providers choice, the provider that must start)
_PROVIDERS = {"onnx": ("cpu", CPU), "cuda": ("cuda", CUDA), "tensorrt": ("tensorrt", TENSORRT),
              "openvino": ("openvino", OPENVINO)}
_NOTES = {"pytorch-bf16": "torch.autocast(cpu, bfloat16) around the network; decode/NMS fp32",
          "fp16": "network fp16, decode/NMS fp32 (--fp16 export)",
          "int8": "QDQ int8 network (yolact-export --int8), decode/NMS/softmax fp32"}


class SkipPath(RuntimeError):
    """This path cannot run here (no provider, no graph, no fast kernel): reported, not fatal."""


OpenPath = NamedTuple("OpenPath", [("device", str), ("note", str), ("engine", object)])  # engine: Yolact's methods


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


def torch_path(name: str, model, nms, info, force_bf16: bool) -> OpenPath:
    """YolactDetector in PyTorch eager on the CPU, fp32 or with bf16 autocast of the network."""
    if name == "pytorch-bf16" and not force_bf16 and not mkldnn_bf16():
        raise SkipPath("no oneDNN bf16 on this CPU (needs avx512bw/avx512_bf16/amx): torch would run bf16 "
                       "convolutions in aten::_slow_conv2d_forward, ~100x slower than fp32; name it in --paths "
                       "to measure anyway")
    detector = YolactDetector(Bf16Network(model) if name == "pytorch-bf16" else model, nms).eval()

    def infer(batch):  # the one timed PyTorch call
        with torch.inference_mode():
            out = detector(torch.from_numpy(batch))
        return split_batch({key: out[key].numpy() for key in detector.output_names})

    return OpenPath("cpu", _NOTES.get(name, ""), _engine(info, infer))


def _engine(info, infer) -> types.SimpleNamespace:
    """yolact_runtime's preprocess and postprocess around `infer` (batch -> RawDetections per image)."""
    options = PostprocessOptions(score_threshold=SCORE_THRESHOLD)
    return types.SimpleNamespace(
        preprocess=lambda images: preprocess_batch(images, info.preprocess, info.input_size), infer=infer,
        postprocess=lambda raw, size: postprocess(raw, size, info.class_names, info.category_ids, options))


def runtime_path(name: str, graphs: dict[str, Path], threads: int | None) -> OpenPath:
    """An exported graph through yolact_runtime.Yolact on the path's provider; openvino-fp32 pins f32,
    -bf16 is OpenVINO's default (bf16 where the CPU has it)."""
    engine, precision = name.split("-")
    graph = "fp32" if name == "openvino-bf16" else precision
    if graph not in graphs:
        raise SkipPath(f"no {graph} graph (export failed)")
    if name == "openvino-bf16" and not cpu.bf16_flags():
        raise SkipPath(f"this CPU has none of {', '.join(cpu.BF16_FLAGS)}: OpenVINO's default here is f32, "
                       "which openvino-fp32 measures")
    hint = "f32" if name == "openvino-fp32" else "default"
    choice, wanted = _PROVIDERS[engine]
    try:
        model = Yolact(graphs[graph], choice, score_threshold=SCORE_THRESHOLD, intra_op_threads=threads,
                       precision=hint)
    except YolactRuntimeError as error:  # no such provider, or no OpenVINO runtime: its one line
        raise SkipPath(str(error)) from None
    started = model.providers[0] if model.providers else "none"
    if started != wanted:
        raise SkipPath(f"{wanted} did not start (onnxruntime fell back to {started})")
    if engine != "openvino":
        return OpenPath(choice, _NOTES.get(precision, ""), model)
    asked = "default precision" if hint == "default" else "f32 asked"
    note = f"OpenVINO {asked}: ran {model.precision} (read back)" + (", QDQ int8 network" if graph == "int8" else "")
    return OpenPath(choice, note, model)
