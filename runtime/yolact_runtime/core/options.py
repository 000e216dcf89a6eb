"""EngineOptions: the one object that says how a model's engine runs (built once, passed down whole)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineOptions:
    """Engine settings. providers: auto | tensorrt | cuda | openvino | cpu (plan.py); precision, OpenVINO's:
    default | f32; intra_op_threads: both engines' threads (None: theirs); spinning and inter_op_threads
    are ONNX Runtime's (idle threads spin between ops)."""

    providers: str = "auto"
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    spinning: bool = True
    precision: str = "default"
