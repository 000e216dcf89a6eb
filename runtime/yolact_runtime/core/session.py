"""ONNX Runtime as an engine: a session on the planned providers (TensorRT, CUDA, CPU)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from .cache import cache_dir
from .options import EngineOptions
from .plan import CPU, TENSORRT

ProviderEntry = str | tuple[str, dict[str, Any]]


def provider_entries(providers: Sequence[str]) -> list[ProviderEntry]:
    """Attach options: TensorRT caches its engines (and timing) in the user cache folder."""
    entries: list[ProviderEntry] = []
    for name in providers:
        if name == TENSORRT:
            path = str(cache_dir("tensorrt"))
            entries.append((name, {"trt_engine_cache_enable": True, "trt_engine_cache_path": path,
                                   "trt_timing_cache_enable": True, "trt_timing_cache_path": path}))
        else:
            entries.append(name)
    return entries


def session_options(engine: EngineOptions) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: provider-assignment warnings are expected
    if not engine.spinning:
        # Idle intra-op threads sleep instead of spinning: slower single calls, but the cores go
        # to the loader/render threads of a pipelined run.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    else:
        # Spin between a Run's ops, not after it: threads left spinning took the cores from our
        # postprocess (numpy/OpenCV), 7 -> 10-24 ms for 100 masks on 2 cores (docs/performance.md).
        options.add_session_config_entry("session.force_spinning_stop", "1")
    if engine.intra_op_threads:
        options.intra_op_num_threads = engine.intra_op_threads
    if engine.inter_op_threads:
        options.inter_op_num_threads = engine.inter_op_threads
    return options


def cpu_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """A plain CPU session, for the benchmark's own small graphs."""
    return ort.InferenceSession(str(path), sess_options=session_options(EngineOptions(intra_op_threads=threads)), providers=[CPU])


class OrtEngine:
    """An onnxruntime.InferenceSession; its run is safe to call from several threads."""

    def __init__(self, path: Path, providers: list[str], options: ort.SessionOptions, graph_precision: str) -> None:
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=provider_entries(providers))
        self.providers = list(self.session.get_providers()) or [CPU]
        self.precision = "f32" if graph_precision == "fp32" else graph_precision  # ONNX Runtime runs the graph's types
        self.detail = f"onnxruntime {ort.__version__}"
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.input_shape = [d if isinstance(d, int) else None for d in self.session.get_inputs()[0].shape]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(names, feed)
