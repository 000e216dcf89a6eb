"""The engine seam: whatever runs a preprocessed batch and returns the named outputs.

ONNX Runtime (session.py) and the OpenVINO runtime (openvino.py) are the two engines; plan.py
chooses between them, and open_engine opens the choice and says in one line what it got.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from ..contract import ModelInfo
from ..errors import ModelError, ProviderError, first_line
from .cpu import bf16_flags
from .options import EngineOptions
from .plan import CPU, CUDA, OPENVINO, TENSORRT, Graph, Host, Plan, plan_providers

log = logging.getLogger("yolact_runtime")


class Engine(Protocol):
    providers: list[str]  # what started: onnxruntime's providers, or ["OpenVINO"]
    precision: str  # what the engine computes in, read back where the engine tells (OpenVINO)
    detail: str  # engine version and what it ran, for the provider line
    input_names: list[str]
    input_shape: list[int | None]  # None: a dynamic dimension
    output_names: list[str]

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


def host_for(choice: str, gpus: bool = True) -> Host:
    """This machine, as far as the choice needs it (OpenVINO is imported only where it could be chosen);
    gpus=False: as if onnxruntime had only its CPU provider."""
    import onnxruntime as ort

    flags = tuple(bf16_flags())
    ort_providers = tuple(ort.get_available_providers()) if gpus else (CPU,)
    gpu = any(p in ort_providers for p in (TENSORRT, CUDA))
    asks_openvino = choice == "openvino" or (choice == "auto" and bool(flags) and not gpu)
    if not asks_openvino:
        return Host(ort_providers, "", flags)
    from .openvino import problem

    return Host(ort_providers, problem(), flags)


def cpu_choice(info: ModelInfo, precision: str = "default") -> str:
    """What auto takes where no GPU may be used (a Ray actor given none): "openvino" or "cpu"."""
    plan = plan_providers("auto", host_for("auto", gpus=False), graph_of(info), precision)
    return "openvino" if plan.providers == [OPENVINO] else "cpu"


def graph_of(info: ModelInfo) -> Graph:
    return Graph(precision=info.precision, native_dcn=info.dcn == "native")


def open_engine(path: str | os.PathLike[str], info: ModelInfo, options: EngineOptions = EngineOptions()) -> Engine:
    """Open the model on the planned engine and log (once) which one, with what precision, and why."""
    model = Path(path)
    if not model.is_file():
        raise ModelError(f"{model}: model file not found")
    plan = plan_providers(options.providers, host_for(options.providers), graph_of(info), options.precision)
    try:
        engine, reason = _start(model, plan, options, info.precision)
    except ProviderError:
        raise
    except Exception as error:  # both engines raise several unrelated types here
        raise ModelError(f"{model}: cannot load the model ({first_line(error)})") from None
    got = engine.providers[0]
    fallback = "" if got == plan.providers[0] else f"; {plan.providers[0]} failed to start, onnxruntime fell back to {got}"
    log.info("%s; %s%s", reason, engine.detail, fallback)
    return engine


def _start(model: Path, plan: Plan, options: EngineOptions, graph_precision: str) -> tuple[Engine, str]:
    from .session import OrtEngine, session_options

    if plan.providers == [OPENVINO]:
        from .openvino import OpenVinoEngine

        try:
            return OpenVinoEngine(model, options), plan.reason
        except Exception as error:  # auto moves on to ONNX Runtime's CPU; an explicit choice reports it
            if options.providers != "auto":
                raise
            plan = Plan([CPU], f"providers auto: {CPU} (OpenVINO failed to start: {first_line(error)})")
    return OrtEngine(model, plan.providers, session_options(options), graph_precision), plan.reason
