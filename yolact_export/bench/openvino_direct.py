"""The openvino-* paths where the plugin EP lists no device (it offers Intel CPUs only): the same graph
compiled by the OpenVINO runtime itself (the `openvino` package, in the test extra), between
yolact_runtime's own preprocess and postprocess. The EP bundles this OpenVINO; only its glue is left
out. Unlike through the EP, what OpenVINO ran is read back from the compiled model."""
from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
from yolact_runtime import Yolact
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


def direct_engine(graph: Path, hint: str | None, threads: int | None, score_threshold: float) -> tuple[object, str]:
    """An engine for the bench (preprocess / infer / postprocess) and its note, or ImportError."""
    infer, ran = compile_graph(graph, hint, threads)
    runtime = Yolact(graph, "cpu", score_threshold=score_threshold, intra_op_threads=threads)
    engine = types.SimpleNamespace(preprocess=runtime.preprocess, infer=infer, postprocess=runtime.postprocess)
    return engine, f"the OpenVINO runtime itself (the EP lists no device on this CPU): OpenVINO ran {ran}"
