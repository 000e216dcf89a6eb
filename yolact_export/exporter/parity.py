"""Graph-level parity between the PyTorch reference and an exported ONNX model (the detail of yolact-check)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from yolact_runtime.parity.match import match_within

from ..detection.graph import YolactDetector

if TYPE_CHECKING:
    from yolact_runtime.parity.report import CheckReport


@dataclass
class ParityReport:
    images: int = 0
    detections: int = 0
    unmatched: int = 0  # valid rows of either side with no partner (class + box + score)
    max_box_diff: float = 0.0
    max_score_diff: float = 0.0
    max_coeff_diff: float = 0.0
    max_mask_diff: float = 0.0  # in-graph soft masks, when the model has them
    max_mask_score_diff: float = 0.0
    count_mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.unmatched == 0 and not self.count_mismatches

    def summary(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        return (f"parity {verdict}: {self.images} image(s), {self.detections} detections, "
                f"{self.unmatched} unmatched, max |Δbox| {self.max_box_diff:.2e}, "
                f"max |Δscore| {self.max_score_diff:.2e}, max |Δcoeff| {self.max_coeff_diff:.2e}, "
                f"max |Δmask| {self.max_mask_diff:.2e}, max |Δmask score| {self.max_mask_score_diff:.2e}")


def match_detections(a: dict[str, np.ndarray], b: dict[str, np.ndarray], box_tol: float = 1e-3,
                     score_tol: float = 1e-4) -> tuple[list[tuple[int, int]], int]:
    """Pair the valid rows of two single-image graph outputs as sets (near-tied scores may swap order).

    Returns the pairs and the number of rows left unpaired on either side.
    """
    na, nb = int(a["num_detections"]), int(b["num_detections"])
    pairs = match_within(a["classes"][:na], a["boxes"][:na], a["scores"][:na], b["classes"][:nb], b["boxes"][:nb],
                         b["scores"][:nb], box_tol, score_tol)
    return pairs, (na - len(pairs)) + (nb - len(pairs))


def add_image(report: ParityReport, ref: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
    """Compare one image's graph outputs (reference, other) into `report`."""
    pairs, unmatched = match_detections(ref, got)
    report.images += 1
    report.detections += int(ref["num_detections"])
    report.unmatched += unmatched
    if int(ref["num_detections"]) != int(got["num_detections"]):
        report.count_mismatches.append(f"image {report.images}: {ref['num_detections']} vs {got['num_detections']}")
    for i, j in pairs:
        report.max_box_diff = max(report.max_box_diff, float(np.abs(ref["boxes"][i] - got["boxes"][j]).max()))
        report.max_score_diff = max(report.max_score_diff, abs(float(ref["scores"][i]) - float(got["scores"][j])))
        report.max_coeff_diff = max(report.max_coeff_diff,
                                    float(np.abs(ref["coefficients"][i] - got["coefficients"][j]).max()))
        if "masks" in got:
            report.max_mask_diff = max(report.max_mask_diff, float(np.abs(ref["masks"][i] - got["masks"][j]).max()))
        if "mask_scores" in got:
            report.max_mask_score_diff = max(report.max_mask_score_diff,
                                             abs(float(ref["mask_scores"][i] - got["mask_scores"][j])))


def check_parity(detector: YolactDetector, session, images: torch.Tensor) -> ParityReport:
    """Graph outputs only: run both sides image by image on preprocessed `images` [B,3,S,S] and compare."""
    report = ParityReport()
    names = [o.name for o in session.get_outputs()]
    for x in images.split(1):
        with torch.no_grad():
            ref = {k: v[0].numpy() for k, v in detector(x).items()}
        got = {k: v[0] for k, v in zip(names, session.run(None, {"images": x.numpy()}))}
        add_image(report, ref, got)
    return report


def check_images(model, onnx_path, image_paths) -> CheckReport:
    """yolact-check's reference mode for `yolact-export --check`: the model in memory against its
    export, end to end on ONNX Runtime CPU; the profile follows the file's precision."""
    from yolact_runtime import Yolact, YolactRuntimeError
    from yolact_runtime.pipeline.discover import InputItem
    from yolact_runtime.parity.check import check_reference
    from yolact_runtime.parity.profiles import profile_for
    from .reference import Reference

    if not image_paths:
        raise ValueError("--check: no images found")
    try:
        runtime = Yolact(onnx_path, "cpu", score_threshold=0.0)
    except YolactRuntimeError as error:
        raise ValueError(str(error)) from None
    items = [InputItem(Path(p), Path(p).name, "image") for p in image_paths]
    report = check_reference(runtime, Reference(model, runtime.info), items, profile_for(runtime.info.precision),
                             0.0, "PyTorch")
    return report  # an unreadable image is in report.errors; the others are checked
