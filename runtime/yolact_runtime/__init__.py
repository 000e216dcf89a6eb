"""yolact_runtime: run YOLACT / YOLACT++ ONNX graphs exported by yolact-export (no torch)."""
from __future__ import annotations

from .errors import InputError, ModelError, ProviderError, YolactRuntimeError
from .metadata import ModelInfo, PreprocessSpec
from .model import Yolact
from .postprocess import PostprocessOptions
from .result import Result

__all__ = [
    "InputError",
    "ModelError",
    "ModelInfo",
    "PostprocessOptions",
    "PreprocessSpec",
    "ProviderError",
    "Result",
    "Yolact",
    "YolactRuntimeError",
]
