"""Pairing two runs' detections of one image as sets (near-tied scores may come in another order)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .detections import DetectionSet

MIN_PAIR_IOU = 0.5  # a detection that moved further than this has no partner: the keep-set differs


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[na, nb] IoU of x1 y1 x2 y2 boxes (any unit)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda z: np.clip(z[:, 2:] - z[:, :2], 0, None).prod(-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match_within(labels_a: np.ndarray, boxes_a: np.ndarray, scores_a: np.ndarray, labels_b: np.ndarray,
                 boxes_b: np.ndarray, scores_b: np.ndarray, box_tol: float, score_tol: float,
                 rows_a: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """Rows of a (in `rows_a` order, default all) each take the unused row of b with the same label,
    the score within score_tol and every box coordinate within box_tol: the nearest box first."""
    pairs: list[tuple[int, int]] = []
    free = set(range(len(labels_b)))
    for i in range(len(labels_a)) if rows_a is None else rows_a:
        close = [j for j in free if labels_a[i] == labels_b[j]
                 and abs(float(scores_a[i]) - float(scores_b[j])) <= score_tol
                 and np.abs(boxes_a[i] - boxes_b[j]).max() <= box_tol]
        if close:
            j = min(close, key=lambda j: (np.abs(boxes_a[i] - boxes_b[j]).max(), j))
            free.discard(j)
            pairs.append((i, j))
    return pairs


def match_overlapping(labels_a: np.ndarray, boxes_a: np.ndarray, labels_b: np.ndarray, boxes_b: np.ndarray,
                      rows_a: list[int], rows_b: list[int], min_iou: float) -> list[tuple[int, int]]:
    """Among the given rows: same-label pairs by box IoU, highest first, each row used once."""
    if not rows_a or not rows_b:
        return []
    ra, rb = np.asarray(rows_a), np.asarray(rows_b)
    iou = box_iou(boxes_a[ra], boxes_b[rb]) * (labels_a[ra][:, None] == labels_b[rb][None, :])
    pairs, used_a, used_b = [], set(), set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(rb))
        if iou[i, j] < min_iou:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((int(ra[i]), int(rb[j])))
    return pairs


@dataclass
class Matching:
    pairs: list[tuple[int, int]]  # (row of a, row of b)
    only_a: list[int]  # rows of a without a partner, best first
    only_b: list[int]


def match_sets(a: DetectionSet, b: DetectionSet, box_tol: float, score_tol: float,
               min_iou: float = MIN_PAIR_IOU) -> Matching:
    """Pairs within the tolerances first; then what is left pairs by box overlap (same label,
    IoU >= min_iou), so a detection that drifted is reported with its drift, not as two strangers."""
    order_a = [int(i) for i in a.order()]
    close = match_within(a.labels, a.boxes, a.scores, b.labels, b.boxes, b.scores, box_tol, score_tol, order_a)
    left_a = [i for i in order_a if i not in {p[0] for p in close}]
    left_b = [int(j) for j in b.order() if j not in {p[1] for p in close}]
    drifted = match_overlapping(a.labels, a.boxes, b.labels, b.boxes, left_a, left_b, min_iou)
    paired_a, paired_b = {p[0] for p in drifted}, {p[1] for p in drifted}
    return Matching(close + drifted, [i for i in left_a if i not in paired_a], [j for j in left_b if j not in paired_b])
