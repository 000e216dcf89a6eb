"""The PyTorch reference side of `yolact-check --weights` and `yolact-export --check`.

It lives with the exporter (it needs torch); the torch-free yolact-check imports it only for --weights.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from yolact_runtime.contract import ModelInfo
from yolact_runtime.core.postprocess import category_ids_for
from yolact_runtime.core.raw import RawDetections
from yolact_runtime.parity.detections import DetectionSet

from ..detection.graph import NmsSettings
from ..detection.masks import upsample_soft
from ..detection.predict import detections_from_outputs, graph_outputs
from ..model.checkpoint import load_checkpoint
from .parity import ParityReport, add_image

# Upsampled soft-mask values this close to 0.5 are numerically undecided: ONNX Runtime and torch
# differ by ~5e-4 there on random-weight prototypes. They are left out of a mask IoU that falls short.
UNDECIDED = 1e-3


def load_reference(weights: str | os.PathLike[str], info: ModelInfo) -> Reference:
    """The checkpoint at the ONNX file's input size (its config inferred from the weights)."""
    model, config = load_checkpoint(weights, input_size=info.input_size)
    if tuple(config.class_names) != tuple(info.class_names):
        raise ValueError(f"{weights}: its classes are not the model file's; is it the checkpoint of this export?")
    return Reference(model, info)


class Reference:
    """A yolact_export model through its eval path, with the ONNX file's NMS settings."""

    def __init__(self, model, info: ModelInfo) -> None:
        self.info = info
        self.model, self.config = model.eval(), model.config
        self.nms = NmsSettings(**info.nms) if info.nms else NmsSettings.from_config(self.config)
        self.graph = ParityReport()  # graph-level differences, accumulated over the images

    def detect(self, image_bgr: np.ndarray, runtime_raw: RawDetections) -> DetectionSet:
        """The reference's final detections of one image; its graph outputs are compared with the
        runtime's (`runtime_raw`) on the way, into `self.graph`."""
        out = graph_outputs(self.model, image_bgr, self.nms, precise=True)
        add_image(self.graph, {k: v.numpy() for k, v in out.items()}, _as_outputs(runtime_raw))
        dets = detections_from_outputs(out, self.config.class_names, *image_bgr.shape[:2], precise=True)
        ranking = dets.mask_scores if dets.mask_scores is not None else dets.scores
        height, width = image_bgr.shape[:2]

        def undecided(i: int) -> np.ndarray:
            soft = upsample_soft(out["masks"][i : i + 1], height, width, torch.float64)[0].numpy()
            return np.abs(soft - 0.5) <= UNDECIDED

        return DetectionSet(category_ids_for(dets.classes, self.info.category_ids), dets.boxes.astype(np.float64),
                            ranking.astype(np.float64), dets.scores.astype(np.float64), dets.masks, undecided)


def _as_outputs(raw: RawDetections) -> dict[str, np.ndarray]:
    fields = ("boxes", "scores", "classes", "coefficients", "prototypes", "masks", "mask_scores")
    out = {name: getattr(raw, name) for name in fields if getattr(raw, name) is not None}
    return out | {"num_detections": np.int64(raw.num_detections)}
