"""yolact-check's reports: a summary naming the worst detection, JSON, and JUnit XML (one case per image)."""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any

from .compare import ImageParity, PairDiff
from .profiles import Profile


@dataclass
class CheckReport:
    mode: str  # "reference" | "golden" | "against"
    profile: Profile
    reference: str  # what the other side is compared with: weights, golden file
    other: str  # the model (and its provider) or the second results file
    images: list[ImageParity] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # category id -> class name, when known
    graph: str | None = None  # graph-level differences (reference mode)
    threshold: float = 0.0  # the check's score threshold
    seconds: float = 0.0

    @property
    def errors(self) -> list[ImageParity]:
        return [image for image in self.images if image.error is not None]

    @property
    def passed(self) -> bool:
        return bool(self.images) and all(image.passed for image in self.images)

    def name(self, label: int) -> str:
        return self.names.get(label, f"category {label}")

    def worst(self) -> tuple[ImageParity, PairDiff] | None:
        """The worst detection over all images: a missing one first, else the largest tolerance ratio."""
        found = [(image, image.worst()) for image in self.images if image.error is None]
        found = [(image, pair) for image, pair in found if pair is not None]
        return max(found, key=lambda f: (f[1].badness, f[1].score), default=None)


def _number(value: float | None, digits: str = ".2e") -> str:
    return "n/a" if value is None else ("none" if math.isinf(value) else format(value, digits))


def describe(report: CheckReport, image: ImageParity, pair: PairDiff) -> str:
    box = "[" + ", ".join(f"{v:.0f}" for v in pair.box) + "]"
    head = f"{image.key}: {report.name(pair.label)} score {pair.score:.4f} box {box}"
    if math.isinf(pair.badness):
        return f"{head}: no partner on the other side"
    iou = "n/a" if pair.mask_iou is None else f"{pair.mask_iou:.4f}"
    return f"{head}: Δbox {pair.d_box:.1f} px, Δscore {_number(pair.d_score)}, IoU {iou}"


def _threshold_note(report: CheckReport, checked: list[ImageParity], unmatched: int) -> list[str]:
    """One line when the two sides were selected with different score thresholds."""
    skipped = sum(image.not_compared for image in checked)
    if skipped:
        return [f"{skipped} detection(s) of one side score below this check's --score-threshold "
                f"{report.threshold:g} and were not compared: that side was made with a lower one"]
    if unmatched and sum(image.cut_elsewhere for image in checked) == unmatched:
        return [f"all {unmatched} unmatched detection(s) score below every detection the other side has: it was "
                f"made with a higher --score-threshold than this check's ({report.threshold:g})"]
    return []


def summary(report: CheckReport) -> list[str]:
    """A few lines: the verdict, the worst detection, then each failed image's reasons."""
    checked = [image for image in report.images if image.error is None]
    failed = [image for image in checked if not image.passed]
    detections = sum(image.reference_count for image in checked)
    unmatched = sum(len(image.only_reference) + len(image.only_other) for image in checked)
    verdict = "OK" if report.passed else "FAIL"
    lines = [f"parity {verdict} ({report.profile.name}, {report.mode}): {len(checked)} image(s), "
             f"{len(failed)} failed, {len(report.errors)} unreadable; {detections} detections, {unmatched} "
             f"unmatched; {report.seconds:.1f} s"]
    lines += _threshold_note(report, checked, unmatched)
    worst = report.worst()
    if worst is not None:
        lines.append("worst: " + describe(report, *worst))
    lines += [f"  {image.key}: {'; '.join(image.failures)}" for image in failed]
    if report.graph:
        lines.append(f"graph outputs: {report.graph}")
    return lines


def _pair_json(report: CheckReport, pair: PairDiff) -> dict[str, Any]:
    entry = asdict(pair) | {"class": report.name(pair.label)}
    return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in entry.items()}


def to_json(report: CheckReport) -> dict[str, Any]:
    worst = report.worst()
    return {
        "passed": report.passed, "mode": report.mode, "profile": asdict(report.profile),
        "reference": report.reference, "other": report.other, "seconds": round(report.seconds, 3),
        "graph": report.graph, "summary": summary(report),
        "worst": None if worst is None else {"image": worst[0].key, **_pair_json(report, worst[1])},
        "images": [{
            "image": image.key, "passed": image.passed, "error": image.error, "failures": image.failures,
            "reference_detections": image.reference_count, "other_detections": image.other_count,
            "top_agreement": image.top_agreement, "mean_mask_iou": image.mean_mask_iou,
            "matched": [_pair_json(report, p) for p in image.pairs],
            "only_reference": [_pair_json(report, p) for p in image.only_reference],
            "only_other": [_pair_json(report, p) for p in image.only_other],
        } for image in report.images],
    }


def to_junit(report: CheckReport) -> bytes:
    """One <testcase> per image in one <testsuite>: <failure> for parity, <error> for unreadable."""
    suite = ET.Element("testsuite", name=f"yolact-check {report.profile.name}", tests=str(len(report.images)),
                       failures=str(sum(not i.passed and i.error is None for i in report.images)),
                       errors=str(len(report.errors)), time=f"{report.seconds:.3f}")
    for image in report.images:
        case = ET.SubElement(suite, "testcase", classname=f"yolact-check.{report.mode}", name=image.key)
        if image.error is not None:
            ET.SubElement(case, "error", message=image.error)
        elif not image.passed:
            worst = image.worst()
            detail = describe(report, image, worst) if worst is not None else ""
            ET.SubElement(case, "failure", message="; ".join(image.failures)).text = detail
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
