"""The three checks: the runtime against a reference side (the PyTorch one lives with the exporter),
against a golden results file, and file against file."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ..errors import InputError
from ..core.io import read_image
from ..core.model import Yolact
from ..core.raw import RawDetections
from ..pipeline.discover import InputItem, discover
from .compare import ImageParity, compare_images
from .detections import DetectionSet, from_result
from .profiles import Profile, profile_for
from .report import CheckReport
from .results_file import Entries, find_key, to_set

# One image -> (reference side, runtime side); raises InputError for an unreadable image.
SidesOf = Callable[[np.ndarray, InputItem], tuple[DetectionSet, DetectionSet]]


class ReferenceSide(Protocol):
    """What reference mode compares the runtime with (yolact_export.exporter.reference.Reference)."""

    def detect(self, image_bgr: np.ndarray, runtime_raw: RawDetections) -> DetectionSet: ...

    def graph_summary(self) -> str | None: ...


def failed_input(key: str, error: str) -> ImageParity:
    """An image that could not be checked: unreadable, or not found."""
    return ImageParity(key, 0, 0, [], [], [], error=error)


def _each_image(items: list[InputItem], sides_of: SidesOf, report: CheckReport) -> CheckReport:
    start = time.perf_counter()
    for item in items:
        try:
            image = read_image(item.path)
            reference, other = sides_of(image, item)
        except InputError as error:
            report.images.append(failed_input(item.key, str(error)))
            continue
        report.images.append(compare_images(item.key, reference, other, report.profile, report.threshold))
    report.seconds = time.perf_counter() - start
    return report


def _runtime_side(model: Yolact, image: np.ndarray) -> tuple[RawDetections, DetectionSet]:
    raw = model.infer(model.preprocess([image]))[0]
    return raw, from_result(model.postprocess(raw, image.shape[:2]))


def _names(model: Yolact) -> dict[int, str]:
    ids = model.info.category_ids or range(1, len(model.class_names) + 1)
    return dict(zip(ids, model.class_names))


def _report(mode: str, model: Yolact, reference: str, profile: Profile, threshold: float) -> CheckReport:
    return CheckReport(mode, profile, reference, f"{model.path} ({model.providers[0]})", names=_names(model),
                       threshold=threshold)


def runtime_profile(model: Yolact) -> Profile:
    """exact for fp32 graphs, reduced for fp16 / int8 and for OpenVINO running bf16 (read back)."""
    return profile_for("bf16" if model.precision == "bf16" else model.info.precision)


def check_reference(model: Yolact, reference: ReferenceSide, inputs: Sequence[str], weights: str,
                    profile: Profile | None = None, threshold: float = 0.0) -> tuple[CheckReport, list[str]]:
    """Reference mode (yolact-check --weights, yolact-export --check): the report and the input
    error lines. `model` runs at score threshold 0; the comparison selects at `threshold`."""
    items, input_errors = discover(list(inputs))
    report = _report("reference", model, weights, profile or runtime_profile(model), threshold)

    def sides(image: np.ndarray, _item: InputItem) -> tuple[DetectionSet, DetectionSet]:
        raw, other = _runtime_side(model, image)
        return reference.detect(image, raw), other

    _each_image(items, sides, report)
    report.graph = reference.graph_summary()
    return report, input_errors


def check_golden(model: Yolact, golden: dict[str, Entries], golden_path: str, items: list[InputItem],
                 profile: Profile, threshold: float) -> CheckReport:
    report = _report("golden", model, golden_path, profile, threshold)

    def sides(image: np.ndarray, item: InputItem) -> tuple[DetectionSet, DetectionSet]:
        key = find_key(golden, item.key)
        got = _runtime_side(model, image)[1]
        if key is None and len(got.split(threshold)[0]):  # (a golden names only images with detections)
            raise InputError(f"{item.key}: not in the golden file {golden_path}")
        return (to_set(golden[key], image.shape[:2]) if key is not None else DetectionSet.empty()), got

    return _each_image(items, sides, report)


def check_against(reference: dict[str, Entries], other: dict[str, Entries], names: tuple[str, str],
                  profile: Profile, threshold: float) -> CheckReport:
    """Two results files, image by image (every image either names); the first is the reference."""
    report = CheckReport("against", profile, names[0], names[1], threshold=threshold)
    start = time.perf_counter()
    keys = list(reference) + [k for k in other if find_key(reference, k) is None]
    for key in keys:
        mine, theirs = find_key(reference, key), find_key(other, key)
        expected = to_set(reference[mine]) if mine is not None else DetectionSet.empty()
        got = to_set(other[theirs]) if theirs is not None else DetectionSet.empty()
        report.images.append(compare_images(key, expected, got, profile, threshold))
    report.seconds = time.perf_counter() - start
    return report
