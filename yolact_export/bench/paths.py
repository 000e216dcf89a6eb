"""The measured paths: one engine each, the same yolact_runtime pre- and postprocessing around it.

A path turns a preprocessed batch into RawDetections (the ONNX contract's outputs, one image
each). The PyTorch paths run YolactDetector, the module the exporter traces, so they compute the
same outputs as the graph; the ONNX paths run the exported graph through yolact_runtime.Yolact.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from yolact_runtime.core.metadata import ModelInfo
from yolact_runtime.core.postprocess import PostprocessOptions, postprocess
from yolact_runtime.core.preprocess import preprocess_batch
from yolact_runtime.core.raw import RawDetections, split_batch
from yolact_runtime.core.result import Result


STAGES = ("preprocess", "inference", "postprocess")


class SkipPath(RuntimeError):
    """This path cannot run here (missing provider, unsupported op): reported, not fatal."""


class EnginePath:
    name: str = ""
    device: str = "cpu"
    note: str = ""

    def __init__(self, info: ModelInfo, options: PostprocessOptions) -> None:
        self.info = info
        self.options = options

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return preprocess_batch(images, self.info.preprocess, self.info.input_size)

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        raise NotImplementedError

    def postprocess(self, raw: RawDetections, image_size: tuple[int, int]) -> Result:
        return postprocess(raw, image_size, self.info.class_names, self.info.category_ids, self.options)

    def close(self) -> None:
        pass


class OrtPath(EnginePath):
    """An exported graph through yolact_runtime.Yolact (its session and provider selection)."""

    def __init__(self, name: str, model_path, providers: str, threads: int | None,
                 options: PostprocessOptions, note: str = "", precision: str = "default") -> None:
        from yolact_runtime import Yolact
        from yolact_runtime.core.errors import YolactRuntimeError

        try:
            self.model = Yolact(model_path, providers, intra_op_threads=threads, precision=precision)
        except YolactRuntimeError as error:
            raise SkipPath(str(error)) from None
        wanted = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                  "tensorrt": "TensorrtExecutionProvider", "openvino": "OpenVINOExecutionProvider"}[providers]
        got = self.model.providers[0] if self.model.providers else "none"
        if got != wanted:
            raise SkipPath(f"{wanted} did not start (onnxruntime fell back to {got})")
        super().__init__(self.model.info, options)
        self.name, self.note = name, note
        self.device = providers
        self.provider = got

    # yolact_runtime.Yolact's own pre- and postprocessing, inference and session (nothing re-wrapped).
    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.model.preprocess(images)

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        return self.model.infer(batch)

    def postprocess(self, raw: RawDetections, image_size: tuple[int, int]) -> Result:
        return self.model.postprocess(raw, image_size, self.options)

    def close(self) -> None:
        del self.model


class _Autocast:
    """The network under torch.autocast, its outputs back in float32 (decode and NMS stay fp32)."""

    def __init__(self, model, dtype) -> None:
        self.model, self.dtype = model, dtype

    def __call__(self, images):
        import torch

        with torch.autocast("cpu", dtype=self.dtype):
            raw = self.model(images)
        return dataclasses.replace(raw, **{f.name: getattr(raw, f.name).float() for f in dataclasses.fields(raw)
                                         if getattr(raw, f.name) is not None})


class TorchPath(EnginePath):
    """YolactDetector in PyTorch eager on the CPU, fp32 or with bf16 autocast of the network."""

    def __init__(self, name: str, model, info: ModelInfo, nms, masks_in_graph: bool, threads: int | None,
                 options: PostprocessOptions, autocast: str | None = None, note: str = "") -> None:
        import torch
        from torch import nn

        from ..detection.graph import YolactDetector

        super().__init__(info, options)
        self.name, self.note = name, note
        if threads:
            torch.set_num_threads(threads)
        self.detector = YolactDetector(model.eval(), nms, masks_in_graph).eval()
        self.output_names = self.detector.output_names
        if autocast is not None:
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[autocast]
            inner = model

            class Wrapped(nn.Module):  # what YolactDetector needs of the model, network autocast
                def __init__(self) -> None:
                    super().__init__()
                    self.inner = inner
                    self.config, self.priors = inner.config, inner.priors
                    self.maskiou_net = getattr(inner, "maskiou_net", None)
                    self.run = _Autocast(inner, dtype)

                def forward(self, images):
                    return self.run(images)

            self.detector = YolactDetector(Wrapped().eval(), nms, masks_in_graph).eval()

    def infer(self, batch: np.ndarray) -> list[RawDetections]:
        import torch

        with torch.inference_mode():
            out = self.detector(torch.from_numpy(batch))
        return split_batch({name: out[name].numpy() for name in self.output_names})

    def close(self) -> None:
        del self.detector
