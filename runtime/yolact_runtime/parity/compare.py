"""One image: the matched detections' differences and the profile's verdict."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detections import DetectionSet
from .match import match_sets
from .profiles import Profile


@dataclass
class PairDiff:
    """A reference detection and its partner: differences in pixels, scores and mask IoU."""

    label: int
    box: list[float]  # the reference's
    score: float  # the reference's ranking score
    d_box: float  # largest corner-coordinate difference, px
    d_score: float
    d_box_score: float | None  # where both sides know box scores
    mask_iou: float | None  # where both sides have masks
    badness: float = 0.0  # the largest difference in units of its tolerance (> 1: out of tolerance)
    judged: bool = True  # the profile judges it (reduced: only the reference's top detections)


@dataclass
class ImageParity:
    key: str
    reference_count: int
    other_count: int
    pairs: list[PairDiff]
    only_reference: list[PairDiff]  # no partner: differences are None / inf
    only_other: list[PairDiff]
    top_agreement: float | None = None  # share of the reference's top detections matched
    mean_mask_iou: float | None = None  # over those matched top detections
    exact: bool = True  # judged by the exact profile: every detection counts
    failures: list[str] = field(default_factory=list)
    error: str | None = None  # the image could not be checked (unreadable, missing from a file)
    not_compared: int = 0  # detections below the threshold, of a side selected with a lower one
    cut_elsewhere: int = 0  # unpaired detections below all the other side has: cut by its threshold?

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None

    def worst(self) -> PairDiff | None:
        unpaired = self.only_reference + self.only_other
        if unpaired and self.exact:
            return max(unpaired, key=lambda p: p.score)
        return max((p for p in self.pairs if p.judged), key=lambda p: p.badness, default=None)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _pair(ref: DetectionSet, other: DetectionSet, i: int, j: int, profile: Profile) -> PairDiff:
    d_box = float(np.abs(ref.boxes[i] - other.boxes[j]).max())
    d_score = abs(float(ref.scores[i]) - float(other.scores[j]))
    both = ref.box_scores is not None and other.box_scores is not None
    d_box_score = abs(float(ref.box_scores[i]) - float(other.box_scores[j])) if both else None
    iou = mask_iou(ref.masks[i], other.masks[j]) if ref.masks is not None and other.masks is not None else None
    if iou is not None and iou < profile.min_mask_iou and ref.undecided is not None:
        decided = ~ref.undecided(i)
        iou = mask_iou(ref.masks[i] & decided, other.masks[j] & decided)
    units = [max(d_score, d_box_score or 0.0) / profile.score_tol]
    if profile.exact:
        units.append(d_box / profile.box_tol)
    if iou is not None:
        units.append((1.0 - iou) / max(1.0 - profile.min_mask_iou, 1e-9))
    return PairDiff(int(ref.labels[i]), ref.boxes[i].tolist(), float(ref.scores[i]), d_box, d_score,
                    d_box_score, iou, max(units))


def _alone(side: DetectionSet, i: int) -> PairDiff:
    return PairDiff(int(side.labels[i]), side.boxes[i].tolist(), float(side.scores[i]), float("inf"),
                    float("inf"), None, None, float("inf"))


def _selection_score(side: DetectionSet, i: int) -> float:
    return float(side.scores[i] if side.box_scores is None else side.box_scores[i])


def _below_floor(side: DetectionSet, rows: list[int], paired: list[int]) -> int:
    """How many of `rows` (unpaired) score below every paired detection of their side: what a
    higher threshold on the other side would have cut (a golden made with another threshold)."""
    floor = min((_selection_score(side, i) for i in paired), default=None)
    return 0 if floor is None else sum(_selection_score(side, i) < floor for i in rows)


def _above(side: DetectionSet, rows: list[int], threshold: float, tolerance: float) -> tuple[list[int], int]:
    """The unpaired `rows` that are differences at `threshold` (clear of it by more than `tolerance`),
    and how many scored below it: in a side without box scores, which was selected with a lower one."""
    if threshold <= 0:
        return rows, 0
    kept = [i for i in rows if _selection_score(side, i) >= threshold + tolerance]
    return kept, sum(_selection_score(side, i) < threshold - tolerance for i in rows)


def compare_images(key: str, ref: DetectionSet, other: DetectionSet, profile: Profile,
                   score_threshold: float = 0.0) -> ImageParity:
    """Match `other` to the reference `ref` and judge the differences by `profile`.

    Both sides keep what the runtime keeps at the threshold (DetectionSet.split: select_rows; a
    results file without box scores as it is). One that only one side kept and that scores within
    score_tol of the threshold is not a difference; one scoring below it is not compared."""
    ref, other = ref.split(score_threshold)[0], other.split(score_threshold)[0]
    matching = match_sets(ref, other, profile.box_tol, profile.score_tol)
    matching.only_a, below_a = _above(ref, matching.only_a, score_threshold, profile.score_tol)
    matching.only_b, below_b = _above(other, matching.only_b, score_threshold, profile.score_tol)
    cut = (_below_floor(ref, matching.only_a, [i for i, _ in matching.pairs])
           + _below_floor(other, matching.only_b, [j for _, j in matching.pairs]))
    pairs = {i: _pair(ref, other, i, j, profile) for i, j in matching.pairs}
    result = ImageParity(key, len(ref) - below_a, len(other) - below_b,
                         [pairs[i] for i in sorted(pairs, key=lambda i: -ref.scores[i])],
                         [_alone(ref, i) for i in matching.only_a], [_alone(other, j) for j in matching.only_b],
                         exact=profile.exact, not_compared=below_a + below_b, cut_elsewhere=cut)
    top = [int(i) for i in ref.order()[: profile.top]]
    for i, pair in pairs.items():
        pair.judged = profile.exact or i in top
    result.top_agreement = sum(i in pairs for i in top) / len(top) if top else None
    ious = [pairs[i].mask_iou for i in top if i in pairs and pairs[i].mask_iou is not None]
    result.mean_mask_iou = float(np.mean(ious)) if ious else None
    exact = profile.exact
    result.failures = _exact_failures(result, profile) if exact else _reduced_failures(result, pairs, top, profile)
    return result


def _exact_failures(result: ImageParity, profile: Profile) -> list[str]:
    failures = []
    if result.only_reference or result.only_other:
        failures.append(f"keep-set differs: {len(result.only_reference)} reference detection(s) not found, "
                        f"{len(result.only_other)} extra")
    off = [p for p in result.pairs if p.badness > 1.0]
    if off:
        failures.append(f"{len(off)} detection(s) off tolerance (box {profile.box_tol:g} px, score "
                        f"{profile.score_tol:g}, mask IoU {profile.min_mask_iou:g})")
    return failures


def _reduced_failures(result: ImageParity, pairs: dict[int, PairDiff], top: list[int], profile: Profile) -> list[str]:
    failures = []
    if result.top_agreement is not None and result.top_agreement < profile.min_agreement:
        failures.append(f"top-{profile.top} agreement {result.top_agreement:.0%} < {profile.min_agreement:.0%}")
    if result.mean_mask_iou is not None and result.mean_mask_iou < profile.min_mask_iou:
        failures.append(f"mean mask IoU {result.mean_mask_iou:.3f} < {profile.min_mask_iou:g}")
    drift = max((max(pairs[i].d_score, pairs[i].d_box_score or 0.0) for i in top if i in pairs), default=0.0)
    if drift > profile.score_tol:
        failures.append(f"top-{profile.top} score drift {drift:.3g} > {profile.score_tol:g}")
    return failures
