"""EngineOptions: the one object that says how a model's engine runs (built once, passed down whole)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

PROVIDER_CHOICES = ("auto", "tensorrt", "cuda", "openvino", "cpu")
PRECISIONS = ("default", "f32")  # OpenVINO's: its own choice (bf16 on native-bf16 CPUs), or exact f32


@dataclass(frozen=True)
class EngineOptions:
    """Engine settings. providers: auto | tensorrt | cuda | openvino | cpu (plan.py); precision, OpenVINO's:
    default | f32; intra_op_threads: both engines' threads (None: theirs); spinning and inter_op_threads
    are ONNX Runtime's (idle threads spin between ops). PROVIDERS and PRECISIONS: the values accepted."""

    PROVIDERS: ClassVar[tuple[str, ...]] = PROVIDER_CHOICES
    PRECISIONS: ClassVar[tuple[str, ...]] = PRECISIONS

    providers: str = "auto"
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    spinning: bool = True
    precision: str = "default"
