"""yolact_runtime: run YOLACT / YOLACT++ ONNX graphs exported by yolact-export (no torch).

The public API is the names below and the module `yolact_runtime.contract` (the ONNX contract);
everything else is private. Names load on first use, so `from yolact_runtime import Yolact` imports
what one prediction needs and no more (no drawing, polygons, OpenVINO or pipeline).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import ModelInfo, read_model_info, write_metadata
    from .core.model import Yolact
    from .core.options import EngineOptions
    from .core.result import Result
    from .errors import InputError, ModelError, ProviderError, YolactRuntimeError

_HOMES = {
    "Yolact": ".core.model",
    "Result": ".core.result",
    "EngineOptions": ".core.options",
    "ModelInfo": ".contract",
    "read_model_info": ".contract",
    "write_metadata": ".contract",
    "YolactRuntimeError": ".errors",
    "ModelError": ".errors",
    "InputError": ".errors",
    "ProviderError": ".errors",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'yolact_runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
