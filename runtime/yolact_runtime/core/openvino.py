"""The OpenVINO runtime as an engine (the `openvino` extra): our unmodified ONNX graph compiled for the CPU.

Precision is read back from the compiled model, not guessed: "default" leaves OpenVINO its choice
(bf16 on CPUs with AMX or AVX512-BF16, f32 elsewhere), "f32" pins INFERENCE_PRECISION_HINT.
Compiled models are cached in the user cache folder, so a second start skips compilation.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .cache import cache_dir
from .options import EngineOptions
from .plan import OPENVINO

EXTRA = "install the openvino extra (pip install '.[openvino]' in a clone) or pip install openvino"


def problem() -> str:
    """'' when the OpenVINO runtime can be imported, else why not (one line)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return f"the OpenVINO runtime is not installed: {EXTRA}"
    return ""


def content_cache(path: Path) -> Path:
    """The cache folder of this file's content. OpenVINO keys a compiled file by its path alone, so a
    model re-exported to the same path would otherwise load the old one's compiled blob."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return cache_dir("openvino") / digest.hexdigest()[:20]


def compile_config(precision: str, threads: int | None, cache: Path | None = None) -> dict[str, Any]:
    """The CPU plugin's properties: latency hint (single images), threads, the cache, and f32 if asked."""
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if cache is not None:
        config["CACHE_DIR"] = str(cache)
    if precision == "f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    return config


class OpenVinoEngine:
    """One compiled model per input shape fed (a dynamic batch is compiled static: OpenVINO then fuses
    the Fast NMS element-wise ops into one kernel); one infer request per calling thread and shape."""

    def __init__(self, path: Path, options: EngineOptions) -> None:
        import openvino as ov

        self._core = ov.Core()
        self._model = self._core.read_model(str(path))
        self._config = compile_config(options.precision, options.intra_op_threads, content_cache(path))
        self._by_shape: dict[tuple[int, ...], Any] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        port = self._model.inputs[0]
        self.input_names = [p.get_any_name() for p in self._model.inputs]
        self.input_shape = [d.get_length() if d.is_static else None for d in port.get_partial_shape()]
        self.output_names = [p.get_any_name() for p in self._model.outputs]
        self.compiled = self._compiled_for(tuple(n or 1 for n in self.input_shape))
        self.providers = [OPENVINO]
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        devices = ", ".join(self.compiled.get_property("EXECUTION_DEVICES"))
        self.detail = f"OpenVINO {ov.get_version().split('-')[0]} ran {self.precision} (read back) on {devices}"

    def _compiled_for(self, shape: tuple[int, ...]) -> Any:
        with self._lock:
            if shape not in self._by_shape:
                model = self._model.clone()
                model.reshape({self.input_names[0]: list(shape)})
                self._by_shape[shape] = self._core.compile_model(model, "CPU", self._config)
            return self._by_shape[shape]

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        shape = tuple(feed[self.input_names[0]].shape)
        requests = self._local.__dict__.setdefault("requests", {})
        if shape not in requests:
            requests[shape] = self._compiled_for(shape).create_infer_request()
        outputs = requests[shape].infer(feed)  # copies the outputs out of the request (share_outputs=False)
        by_name = {port.get_any_name(): value for port, value in outputs.items()}
        return [np.asarray(by_name[name]) for name in names]
