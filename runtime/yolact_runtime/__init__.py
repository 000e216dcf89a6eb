"""yolact_runtime: run YOLACT / YOLACT++ ONNX graphs exported by yolact-export (no torch)."""
from __future__ import annotations

from .errors import InputError, ModelError, ProviderError, YolactRuntimeError
from .contract import ModelInfo, PreprocessSpec
from .core.model import Yolact
from .core.postprocess import PostprocessOptions
from .core.result import Result

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
