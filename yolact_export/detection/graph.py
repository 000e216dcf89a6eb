"""The eval graph: network -> box decoding -> Fast NMS -> contract outputs. This is what is exported."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from yolact_runtime import contract

from ..model.yolact import YolactNet
from .boxes import decode_boxes
from .masks import assemble_masks, crop_masks, rescore_batched
from .nms import fast_nms


PER_CLASS_MAX_DETECTIONS = 100  # the original's cfg.max_num_detections


@dataclass(frozen=True)
class NmsSettings:
    """The in-graph Fast NMS. max_detections (D, rows per image) None means the original's cap:
    100 per class (its fast_nms keeps max_num_detections), top_k for cross-class (its cc_fast_nms
    returns every survivor of its top_k, with no further cap)."""

    score_threshold: float = 0.05
    iou_threshold: float = 0.5
    top_k: int = 200
    max_detections: int | None = None
    cross_class: bool = False

    def __post_init__(self) -> None:
        if self.max_detections is None:
            default = self.top_k if self.cross_class else PER_CLASS_MAX_DETECTIONS
            object.__setattr__(self, "max_detections", default)

    @classmethod
    def from_config(cls, config, **overrides) -> "NmsSettings":
        cross_class = bool(overrides.get("cross_class"))
        base = {"score_threshold": config.nms_conf_thresh, "iou_threshold": config.nms_thresh,
                "top_k": config.nms_top_k, "cross_class": cross_class,
                "max_detections": None if cross_class else config.max_num_detections}
        return cls(**{**base, **{k: v for k, v in overrides.items() if v is not None}})


class YolactDetector(nn.Module):
    """images [B,3,S,S] -> dict of the output contract (see README), fixed shapes throughout.

    Traced as `detector` (export.py), its network `model` gives the node scopes of
    exporter/scopes.py NETWORK_SCOPES, which the fp16 and int8 converters rely on.
    """

    def __init__(self, model: YolactNet, nms: NmsSettings | None = None, masks_in_graph: bool = False):
        super().__init__()
        self.model = model
        self.nms = nms or NmsSettings.from_config(model.config)
        # YOLACT++ re-scoring needs the cropped masks, so they are computed (and output) there.
        self.masks_in_graph = masks_in_graph or model.config.use_maskiou

    @property
    def output_names(self) -> list[str]:
        names = list(contract.REQUIRED_OUTPUTS)
        if self.masks_in_graph:
            names.append(contract.MASKS)
        if self.model.config.use_maskiou:
            names.append(contract.MASK_SCORES)
        return names

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        raw = self.model(images)
        boxes = decode_boxes(raw.loc, self.model.priors)
        s = self.nms
        det = fast_nms(boxes, raw.conf[..., 1:], s.score_threshold, s.iou_threshold, s.top_k,
                       s.max_detections, s.cross_class)
        k = raw.coeffs.shape[-1]
        coeffs = torch.gather(raw.coeffs, 1, det.indices.unsqueeze(-1).expand(-1, -1, k))
        valid = (torch.arange(det.scores.shape[1], device=images.device) < det.num_detections[:, None])
        coeffs = coeffs * valid.unsqueeze(-1).to(coeffs.dtype)
        out = {contract.BOXES: det.boxes, contract.SCORES: det.scores, contract.CLASSES: det.classes,
               contract.COEFFICIENTS: coeffs, contract.PROTOTYPES: raw.proto,
               contract.NUM_DETECTIONS: det.num_detections}
        if self.masks_in_graph:
            masks = crop_masks(assemble_masks(raw.proto, coeffs), det.boxes)
            out[contract.MASKS] = masks * valid[..., None, None].to(masks.dtype)
            if self.model.config.use_maskiou:
                out[contract.MASK_SCORES] = rescore_batched(self.model.maskiou_net, out[contract.MASKS],
                                                            det.classes, det.scores)
        return out
