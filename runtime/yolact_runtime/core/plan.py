"""Which engine runs a graph, and why: a pure function of what this machine offers and what the graph holds.

Engines: ONNX Runtime (its TensorRT, CUDA and CPU providers) and the OpenVINO runtime itself (CPU).
auto: a GPU provider where onnxruntime has one; else OpenVINO at its default precision on CPUs with
native bf16 (AMX, AVX512-BF16), for fp32 and int8 graphs, where it was measured faster (README,
"OpenVINO"); else ONNX Runtime's CPU provider.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ProviderError
from .options import PRECISIONS, PROVIDER_CHOICES

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
OPENVINO = "OpenVINO"  # the OpenVINO runtime (not an onnxruntime provider)
CHOICES_HELP = ("auto: TensorRT, then CUDA, then OpenVINO where the CPU has native bf16 (AMX, AVX512-BF16) "
                "and the graph is fp32 or int8, else ONNX Runtime's CPU; openvino: the OpenVINO runtime "
                "on any x86-64 CPU (the openvino extra).")
DECOMPOSE = "export it with `yolact-export --dcn decomposed` to run it in OpenVINO"
_CHAINS = {"tensorrt": (TENSORRT, CUDA, CPU), "cuda": (CUDA, CPU), "cpu": (CPU,)}


@dataclass(frozen=True)
class Host:
    """What this machine offers: onnxruntime's providers, whether OpenVINO can run, the CPU's native bf16."""

    ort_providers: tuple[str, ...]
    openvino_problem: str = ""  # why the OpenVINO runtime cannot be used here ('' when it can)
    bf16_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graph:
    """What the graph holds that decides its engine (from its yolact metadata)."""

    precision: str = "fp32"  # fp32 | fp16 | int8
    native_dcn: bool = False  # ONNX DeformConv nodes: OpenVINO cannot convert them


class Plan(NamedTuple):
    providers: list[str]  # [OPENVINO], or onnxruntime's providers in the order asked
    reason: str  # the one provider line


def _check_choice(choice: str, precision: str = "default") -> None:
    if choice not in PROVIDER_CHOICES:
        raise ProviderError(f"unknown providers {choice!r} (expected one of {', '.join(PROVIDER_CHOICES)})")
    if precision not in PRECISIONS:
        raise ProviderError(f"unknown precision {precision!r} (expected one of {', '.join(PRECISIONS)})")


def plan_providers(choice: str, host: Host, graph: Graph = Graph(), precision: str = "default") -> Plan:
    """The engine and providers to ask for, and one line saying which and why (what was passed over)."""
    _check_choice(choice, precision)
    if choice == "openvino":
        if host.openvino_problem:
            raise ProviderError(f"providers openvino: {host.openvino_problem}")
        if graph.native_dcn:
            raise ProviderError("providers openvino: the graph has ONNX DeformConv nodes (native DCN), which "
                                f"OpenVINO cannot convert: {DECOMPOSE}")
        return Plan([OPENVINO], "providers openvino: the OpenVINO runtime")
    if choice != "auto":
        wanted = _CHAINS[choice][0]
        if wanted not in host.ort_providers:
            raise ProviderError(
                f"providers {choice}: {wanted} is not available in this onnxruntime build"
                f" (available: {', '.join(host.ort_providers)}); install onnxruntime-gpu for CUDA and TensorRT")
        return Plan(_available(_CHAINS[choice], host), f"providers {choice}: {wanted}")
    gpu = next((p for p in (TENSORRT, CUDA) if p in host.ort_providers), None)
    if gpu is not None:
        skipped = [p for p in (TENSORRT, CUDA) if p not in host.ort_providers]
        why = f" ({', '.join(skipped)}: not available in this onnxruntime build)" if skipped else ""
        return Plan(_available(_CHAINS["tensorrt" if gpu == TENSORRT else "cuda"], host), f"providers auto: {gpu}{why}")
    passed_over = _why_not_openvino(host, graph, precision)
    if not passed_over:
        return Plan([OPENVINO], f"providers auto: OpenVINO (native bf16 on this CPU: {'/'.join(host.bf16_flags)}, "
                                f"where it runs {graph.precision} graphs faster than ONNX Runtime)")
    return Plan([CPU], f"providers auto: {CPU} (no GPU provider in this onnxruntime build; OpenVINO: {passed_over})")


def _why_not_openvino(host: Host, graph: Graph, precision: str) -> str:
    """'' where auto takes OpenVINO, else why not."""
    if graph.native_dcn:
        return f"the graph has DeformConv nodes (native DCN), which OpenVINO cannot convert; {DECOMPOSE}"
    if not host.bf16_flags:
        return "this CPU has no native bf16 (AMX, AVX512-BF16), where OpenVINO is not faster than ONNX Runtime"
    if precision == "f32":
        return "f32 asked, where OpenVINO is not faster than ONNX Runtime"
    if graph.precision not in ("fp32", "int8"):
        return f"a {graph.precision} graph, not measured faster in OpenVINO"
    return host.openvino_problem


def _available(chain: tuple[str, ...], host: Host) -> list[str]:
    return [p for p in chain if p in host.ort_providers or p == CPU]
