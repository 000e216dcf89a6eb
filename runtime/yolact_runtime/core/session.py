"""ONNX Runtime session with execution-provider selection: auto | tensorrt | cuda | openvino | cpu."""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

from . import openvino
from .errors import ModelError, ProviderError, first_line
from .openvino import OPENVINO

log = logging.getLogger("yolact_runtime")

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PROVIDER_CHOICES = ("auto", "tensorrt", "cuda", "openvino", "cpu")
_CHAINS = {"tensorrt": (TENSORRT, CUDA, CPU), "cuda": (CUDA, CPU), "openvino": (OPENVINO, CPU), "cpu": (CPU,)}
_CHOICE = {TENSORRT: "tensorrt", CUDA: "cuda", OPENVINO: "openvino", CPU: "cpu"}

ProviderEntry = str | tuple[str, dict[str, Any]]


def cache_dir() -> Path:
    """Where TensorRT engines are cached: $XDG_CACHE_HOME/yolact or ~/.cache/yolact."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "yolact" / "tensorrt"


def plan_providers(choice: str, available: Sequence[str], openvino_note: str = "") -> tuple[list[str], str]:
    """The providers to ask for, in order, and one line saying why (what was skipped).

    available lists OpenVINO only when its EP has a device here; openvino_note says why it has
    none (added to the auto line, and the error of an explicit choice).
    """
    if choice not in PROVIDER_CHOICES:
        raise ProviderError(f"unknown providers {choice!r} (expected one of {', '.join(PROVIDER_CHOICES)})")
    if choice == "auto":
        preferred = next((p for p in (TENSORRT, CUDA, OPENVINO) if p in available), CPU)
        skipped = [p for p in (TENSORRT, CUDA) if p not in available]
        chain = list(_CHAINS[_CHOICE[preferred]])
        why = f" ({', '.join(skipped)}: not available in this onnxruntime build)" if skipped else ""
        if preferred == CPU and openvino_note:
            why += f" (OpenVINO: {openvino_note})"
        return [p for p in chain if p in available or p == CPU], f"providers auto: {preferred}{why}"
    wanted = _CHAINS[choice][0]
    if wanted == OPENVINO and wanted not in available:
        raise ProviderError(f"providers openvino: {openvino_note or 'the OpenVINO EP has no device here'}")
    if wanted not in available:
        raise ProviderError(
            f"providers {choice}: {wanted} is not available in this onnxruntime build"
            f" (available: {', '.join(available)}); install onnxruntime-gpu for CUDA and TensorRT"
        )
    return [p for p in _CHAINS[choice] if p in available or p == CPU], f"providers {choice}: {wanted}"


def available_providers(choice: str) -> tuple[list[str], str]:
    """onnxruntime's providers, plus OpenVINO when its EP has a CPU device (looked up only if it could be chosen)."""
    available = list(ort.get_available_providers())
    if choice not in ("auto", "openvino"):
        return available, ""
    devices, problem = openvino.cpu_devices()
    return (available + [OPENVINO], "") if devices else (available, problem)


def provider_entries(providers: Sequence[str]) -> list[ProviderEntry]:
    """Attach options: TensorRT caches its engines (and timing) in the user cache folder."""
    entries: list[ProviderEntry] = []
    for name in providers:
        if name == TENSORRT:
            path = cache_dir()
            path.mkdir(parents=True, exist_ok=True)
            options = {
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(path),
                "trt_timing_cache_enable": True,
                "trt_timing_cache_path": str(path),
            }
            entries.append((name, options))
        else:
            entries.append(name)
    return entries


def session_options(intra_op_threads: int | None, inter_op_threads: int | None,
                    spinning: bool = True) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: provider-assignment warnings are expected
    if not spinning:
        # Idle intra-op threads sleep instead of spinning: slower single calls, but the cores go
        # to the loader/render threads of a pipelined run.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    else:
        # Spin between a Run's ops, not after it: threads left spinning took the cores from our
        # postprocess (numpy/OpenCV), 7 -> 10-24 ms for 100 masks on 2 cores (docs/performance.md).
        options.add_session_config_entry("session.force_spinning_stop", "1")
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
    if inter_op_threads:
        options.inter_op_num_threads = inter_op_threads
    return options


def create_session(
    model_path: str | os.PathLike[str],
    providers: str = "auto",
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    spinning: bool = True,
    precision: str = "default",
    native_dcn: bool = False,
) -> ort.InferenceSession:
    """Open the model with the best available provider and log (once) which one it got.

    precision applies to OpenVINO: "default" (its choice: bf16 on native-bf16 CPUs) or "f32".
    native_dcn: the graph has ONNX DeformConv nodes, which OpenVINO cannot convert (the line says so).
    """
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    openvino.check_precision(precision)
    available, openvino_note = available_providers(providers)
    chain, reason = plan_providers(providers, available, openvino_note)
    options = session_options(intra_op_threads, inter_op_threads, spinning)
    try:
        if chain[0] == OPENVINO:
            try:
                session = _openvino_session(path, options, precision, intra_op_threads)
                reason += f", {openvino.describe(precision)}" + (f"; {openvino.NATIVE_DCN}" if native_dcn else "")
            except Exception as error:  # auto moves on to CPU; an explicit choice reports it
                if providers != "auto":
                    raise
                chain, reason = [CPU], f"providers auto: {CPU} (OpenVINO failed to start: {first_line(error)})"
                options = session_options(intra_op_threads, inter_op_threads, spinning)
        if chain[0] != OPENVINO:
            session = ort.InferenceSession(str(path), sess_options=options, providers=provider_entries(chain))
    except ProviderError:
        raise
    except Exception as error:  # onnxruntime raises several unrelated types here
        raise ModelError(f"{path}: cannot load the model ({first_line(error)})") from None
    got = session.get_providers()[0] if session.get_providers() else CPU
    fallback = "" if got == chain[0] else f"; {chain[0]} failed to start, onnxruntime fell back to {got}"
    log.info("%s%s", reason, fallback)
    return session


def _openvino_session(path: Path, options: ort.SessionOptions, precision: str,
                      threads: int | None) -> ort.InferenceSession:
    openvino.add_to(options, precision, threads)
    return ort.InferenceSession(str(path), sess_options=options)
