"""yolact-bench's OpenVINO paths: the plugin EP through yolact_runtime, one per precision."""
from __future__ import annotations

from pathlib import Path

from yolact_runtime.core import cpu, openvino

from .paths import OrtPath, SkipPath


def openvino_path(precision: str, graphs: dict[str, Path], threads: int | None, post) -> OrtPath:
    """openvino-fp32: the fp32 graph, f32 pinned; -bf16: OpenVINO's default (bf16 where the CPU has it);
    -int8: the QDQ graph, OpenVINO's default for the rest."""
    graph = "int8" if precision == "int8" else "fp32"
    if graph not in graphs:
        raise SkipPath(f"no {graph} graph (export failed)")
    if precision == "bf16" and not cpu.bf16_flags():
        raise SkipPath(f"this CPU has none of {', '.join(cpu.BF16_FLAGS)}: OpenVINO's default here is f32, "
                       "which openvino-fp32 measures")
    hint = "f32" if precision == "fp32" else "default"
    note = f"OpenVINO ran {openvino.describe(hint)}" + (", QDQ int8 network" if graph == "int8" else "")
    return OrtPath(f"openvino-{precision}", graphs[graph], "openvino", threads, post, note=note, precision=hint)
