"""The end-to-end tests' yardsticks: the reference's two resizes in float64, and detections compared
as sets (see test_e2e_runtime's docstring for why)."""
from __future__ import annotations

import numpy as np
import torch

from yolact_runtime.parity.compare import mask_iou

BOX_TOL, SCORE_TOL, MIN_MASK_IOU = 1, 1e-4, 0.99
# Upsampled soft-mask values this close to the 0.5 threshold are numerically undecided: the two
# networks (ONNX Runtime vs torch) differ by ~5e-4 on random-weight prototypes.
UNDECIDED = 1e-3


def exact_preprocess(images_bgr, config):
    """The reference's FastBaseTransform (yolact_export.detection.preprocess), computed in float64."""
    import torch.nn.functional as F

    if isinstance(images_bgr, np.ndarray):
        images_bgr = [images_bgr]
    batch = []
    for image in images_bgr:
        x = torch.from_numpy(np.ascontiguousarray(image)).double().permute(2, 0, 1)[None]
        x = F.interpolate(x, (config.max_size, config.max_size), mode="bilinear", align_corners=False)
        if config.transform == "normalize":
            mean = torch.tensor(config.mean_bgr, dtype=torch.float64).view(1, 3, 1, 1)
            std = torch.tensor(config.std_bgr, dtype=torch.float64).view(1, 3, 1, 1)
            x = (x - mean) / std
        else:
            x = x / 255.0
        batch.append(x.flip(1))
    return torch.cat(batch).float()


def exact_upsample(masks, height: int, width: int):
    """The reference's upsample_masks (bilinear, align_corners=False, > 0.5), computed in float64."""
    import torch.nn.functional as F

    lead = masks.shape[:-2]
    if lead.numel() == 0:
        return torch.zeros(lead + (height, width), dtype=torch.bool)
    flat = masks.double().reshape((1, lead.numel()) + tuple(masks.shape[-2:]))
    up = F.interpolate(flat, size=(height, width), mode="bilinear", align_corners=False)
    return (up > 0.5).reshape(lead + (height, width))


def raw_as_dict(raw, rows: int | None = None) -> dict[str, np.ndarray]:
    """A RawDetections' valid rows (its first `rows` of them) as match_detections' graph-output dict."""
    count = raw.count if rows is None else min(rows, raw.count)
    return {"num_detections": count, "classes": raw.classes, "scores": raw.scores, "boxes": raw.boxes}


def match_sets(actual: dict, expected, label: str, box_tol: float = BOX_TOL,
               score_tol: float = SCORE_TOL, soft=None) -> dict[str, float]:
    """Assert runtime detections (`actual`: boxes, scores, classes, masks, mask_scores arrays) equal the
    reference's (`expected`: Detections) as sets; return the worst gaps seen.

    soft(i), when given, is the reference's upsampled soft mask of detection i: pixels within
    UNDECIDED of 0.5 there are left out of the IoU."""
    n = len(expected.scores)
    assert len(actual["scores"]) == n, f"{label}: runtime kept {len(actual['scores'])} detections, reference {n}"
    assert n > 0, f"{label}: no detections to compare"
    if expected.mask_scores is not None:
        assert actual["mask_scores"] is not None, f"{label}: the runtime gave no mask_scores"
    free = list(range(n))
    worst = {"box": 0.0, "score": 0.0, "mask_score": 0.0, "iou": 1.0}
    unmatched, low_iou = [], []
    for i in np.argsort(-expected.scores, kind="stable"):
        box, score, cls = expected.boxes[i], float(expected.scores[i]), int(expected.classes[i])
        cands = [j for j in free if int(actual["classes"][j]) == cls
                 and np.abs(actual["boxes"][j] - box).max() <= box_tol
                 and abs(float(actual["scores"][j]) - score) <= score_tol]
        if expected.mask_scores is not None:
            cands = [j for j in cands
                     if abs(float(actual["mask_scores"][j]) - float(expected.mask_scores[i])) <= score_tol]
        if not cands:
            unmatched.append(f"#{i} class {cls} box {box.tolist()} score {score:.6f}")
            continue
        j = min(cands, key=lambda j: (abs(float(actual["scores"][j]) - score), np.abs(actual["boxes"][j] - box).sum()))
        free.remove(j)
        worst["box"] = max(worst["box"], float(np.abs(actual["boxes"][j] - box).max()))
        worst["score"] = max(worst["score"], abs(float(actual["scores"][j]) - score))
        if expected.mask_scores is not None:
            worst["mask_score"] = max(worst["mask_score"],
                                      abs(float(actual["mask_scores"][j]) - float(expected.mask_scores[i])))
        assert actual["masks"][j].shape == expected.masks[i].shape
        iou = mask_iou(actual["masks"][j], expected.masks[i])
        if iou < MIN_MASK_IOU and soft is not None:
            decided = np.abs(soft(i) - 0.5) > UNDECIDED
            iou = mask_iou(actual["masks"][j] & decided, expected.masks[i] & decided)
        worst["iou"] = min(worst["iou"], iou)
        if iou < MIN_MASK_IOU:
            low_iou.append(f"#{i} IoU {iou:.4f} ({int(expected.masks[i].sum())} px)")
    assert not unmatched, (f"{label}: {len(unmatched)} of {n} reference detections have no runtime match "
                           f"(class, box within {box_tol} px, scores within {score_tol}): {unmatched[:5]}; "
                           f"among the matched: {worst}")
    assert not low_iou, f"{label}: min mask IoU {worst['iou']:.4f} < {MIN_MASK_IOU}: {low_iou[:5]}; {worst}"
    return worst
