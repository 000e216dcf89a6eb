"""OpenVINO through ONNX Runtime's plugin execution provider (the `openvino` extra).

onnxruntime-ep-openvino ships the EP as a library: it is registered once, then a session asks for
the EP's CPU device. Precision is the user's: "default" lets OpenVINO choose (bf16 on CPUs with
AMX-BF16 or AVX512-BF16, f32 elsewhere), "f32" pins INFERENCE_PRECISION_HINT to f32 (exact, what
the parity tests and `yolact-export --check` compare). ONNX Runtime does not hand back OpenVINO's
compiled-model properties, so the precision reported is the one OpenVINO picks for that hint on
this CPU's flags (its documented rule).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import onnxruntime as ort

from .cpu import bf16_flags, cpu_info
from .errors import ProviderError, first_line

OPENVINO = "OpenVINOExecutionProvider"
PRECISIONS = ("default", "f32")
EXTRA = "pip install 'yolact-export[openvino]'"
# OpenVINO has no conversion rule for ONNX DeformConv-19: those nodes fall back to ONNX Runtime's CPU.
NATIVE_DCN = ("its DeformConv nodes run on ONNX Runtime's CPU (OpenVINO cannot convert them): "
              "export with --dcn decomposed to run the whole graph in OpenVINO")


def _registered() -> str:
    """'' once the plugin library is registered (it is, once per process), else why it cannot be."""
    try:
        import onnxruntime_ep_openvino as plugin
    except ImportError:
        return f"the openvino extra is not installed ({EXTRA})"
    if not hasattr(ort, "register_execution_provider_library"):
        return f"onnxruntime {ort.__version__} has no plugin execution providers (needs >= 1.23)"
    return _register(plugin.get_ep_name(), plugin.get_library_path())


@lru_cache(maxsize=None)
def _register(name: str, library: str) -> str:
    try:
        ort.register_execution_provider_library(name, library)
    except Exception as error:  # onnxruntime raises its own exception types here
        return f"onnxruntime cannot load the OpenVINO plugin ({first_line(error)})"
    return ""


def cpu_devices() -> tuple[list[Any], str]:
    """The OpenVINO EP's CPU devices, and why there are none (empty when there are)."""
    problem = _registered()
    if problem:
        return [], problem
    devices = [d for d in ort.get_ep_devices()
               if d.ep_name == OPENVINO and d.device.type == ort.OrtHardwareDeviceType.CPU]
    if devices:
        return devices, ""
    model, _flags, ids = cpu_info()
    vendor = ids.get("vendor_id", "unknown vendor")
    return [], (f"the OpenVINO EP lists no CPU device on this {model} ({vendor}); "
                "onnxruntime-ep-openvino 1.8 offers Intel CPUs only")


def precision_run(precision: str) -> str:
    """The precision OpenVINO runs for this hint here: f32, or bf16 by default on native-bf16 CPUs."""
    check_precision(precision)
    return "bf16" if precision == "default" and bf16_flags() else "f32"


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ProviderError(f"unknown precision {precision!r} (expected one of {', '.join(PRECISIONS)})")


def provider_options(precision: str, threads: int | None) -> dict[str, str]:
    """EP options: f32 pinned through load_config (the plugin ignores its old `precision` key)."""
    check_precision(precision)
    options: dict[str, str] = {}
    if precision == "f32":
        options["load_config"] = json.dumps({"CPU": {"INFERENCE_PRECISION_HINT": "f32"}})
    if threads:
        options["num_of_threads"] = str(threads)
    return options


def describe(precision: str) -> str:
    """What the one provider line says about precision, e.g. 'bf16 (OpenVINO's default: amx_bf16)'."""
    ran = precision_run(precision)
    if precision == "f32":
        return "f32 (asked)"
    flags = bf16_flags()
    return f"{ran} (OpenVINO's default on {'/'.join(flags) if flags else 'a CPU without native bf16'})"


def add_to(options: ort.SessionOptions, precision: str, threads: int | None) -> None:
    """Ask for the OpenVINO EP's CPU device in these session options, or raise why it cannot be had."""
    devices, problem = cpu_devices()
    if not devices:
        raise ProviderError(f"providers openvino: {problem}")
    options.add_provider_for_devices(devices[:1], provider_options(precision, threads))
