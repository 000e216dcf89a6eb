"""yolact-check's reference mode, the PyTorch side: `yolact-check --weights` (registered as the entry
point yolact_runtime.parity.reference, pyproject.toml) and `yolact-export --check` run this one path.

It lives with the exporter (it needs torch); the torch-free yolact-check loads it only for --weights.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch
from yolact_runtime import ModelInfo, Yolact
from yolact_runtime.parity import DetectionSet, check_reference, finish, from_class_ids

from ..detection.graph import NmsSettings
from ..detection.masks import upsample_soft
from ..detection.predict import detections_from_outputs, graph_outputs
from ..model.checkpoint import load_checkpoint
from .parity import ParityReport, add_image

# Upsampled soft-mask values this close to 0.5 are numerically undecided: ONNX Runtime and torch
# differ by ~5e-4 there on random-weight prototypes. They are left out of a mask IoU that falls short.
UNDECIDED = 1e-3
RAW_OUTPUTS = ("boxes", "scores", "classes", "coefficients", "prototypes", "masks", "mask_scores")


def load_reference(weights: str | os.PathLike[str], info: ModelInfo) -> Reference:
    """The checkpoint at the ONNX file's input size (its config inferred from the weights)."""
    model, config = load_checkpoint(weights, input_size=info.input_size)
    if tuple(config.class_names) != tuple(info.class_names):
        raise ValueError(f"{weights}: its classes are not the model file's; is it the checkpoint of this export?")
    return Reference(model, info)


class Reference:
    """A yolact_export model through its eval path, with the ONNX file's NMS settings: every row
    (threshold 0); yolact_runtime.parity selects both sides alike."""

    def __init__(self, model, info: ModelInfo) -> None:
        self.info = info
        self.model, self.config = model.eval(), model.config
        self.nms = NmsSettings(**info.nms) if info.nms else NmsSettings.from_config(self.config)
        self.graph = ParityReport()  # graph-level differences, accumulated over the images

    def detect(self, image_bgr: np.ndarray, runtime_raw) -> DetectionSet:
        """The reference's final detections of one image; its graph outputs are compared with the
        runtime's (`runtime_raw`, what Yolact.infer returned) on the way, into `self.graph`."""
        out = graph_outputs(self.model, image_bgr, self.nms, precise=True)
        theirs = {name: getattr(runtime_raw, name) for name in RAW_OUTPUTS if getattr(runtime_raw, name) is not None}
        add_image(self.graph, {k: v.numpy() for k, v in out.items()},
                  theirs | {"num_detections": np.int64(runtime_raw.num_detections)})
        dets = detections_from_outputs(out, self.config.class_names, *image_bgr.shape[:2], precise=True)
        ranking = dets.mask_scores if dets.mask_scores is not None else dets.scores
        height, width = image_bgr.shape[:2]

        def undecided(i: int) -> np.ndarray:
            soft = upsample_soft(out["masks"][i : i + 1], height, width, torch.float64)[0].numpy()
            return np.abs(soft - 0.5) <= UNDECIDED

        return from_class_ids(dets.classes, self.info.category_ids, dets.boxes, ranking, dets.scores, dets.masks,
                              undecided)

    def graph_summary(self) -> str | None:
        return self.graph.summary() if self.graph.images else None


def check_export(model, onnx_path: str | os.PathLike[str], inputs: Sequence[str], log: Callable[[str], None]) -> int:
    """`yolact-export --check`: yolact-check's reference mode for the model in memory against its
    export, on ONNX Runtime CPU, every row compared (threshold 0); its exit status (0, 1, or 2)."""
    runtime = Yolact(onnx_path, "cpu", score_threshold=0.0)
    report, input_errors = check_reference(runtime, Reference(model, runtime.info), inputs, "PyTorch")
    return finish(report, input_errors, log, log)
