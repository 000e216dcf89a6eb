"""The openvino-* paths where the plugin EP lists no device (it offers Intel CPUs only): the same graph
compiled by the OpenVINO runtime itself (the `openvino` package, in the test extra); the bench puts
yolact_runtime's own preprocess and postprocess around it. The EP bundles this OpenVINO; only its
glue is left out. Unlike through the EP, what OpenVINO ran is read back from the compiled model."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from yolact_runtime.core.raw import RawDetections, split_batch


def compile_graph(graph: Path, hint: str | None, threads: int | None) -> tuple[Callable, str]:
    """(infer: batch -> RawDetections per image, what ran: e.g. 'f32 on CPU'); ImportError without openvino."""
    import openvino as ov

    config = {"INFERENCE_PRECISION_HINT": hint} if hint else {}
    config |= {"INFERENCE_NUM_THREADS": threads} if threads else {}
    compiled = ov.Core().compile_model(str(graph), "CPU", config)

    def infer(batch: np.ndarray) -> list[RawDetections]:
        result = compiled(batch)
        return split_batch({port.get_any_name(): np.asarray(value) for port, value in result.items()})

    ran = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
    return infer, f"{ran} on {', '.join(compiled.get_property('EXECUTION_DEVICES'))}"

