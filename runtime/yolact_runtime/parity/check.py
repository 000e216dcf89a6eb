"""The three checks: runtime vs the PyTorch reference, vs a golden results file, and file vs file."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..core.errors import InputError
from ..core.io import read_image
from ..core.model import Yolact
from ..pipeline.discover import InputItem
from .compare import ImageParity, compare_images
from .detections import DetectionSet, from_result
from .profiles import Profile
from .report import CheckReport
from .results_file import Entries, find_key, to_set

# One image -> (reference side, runtime side); raises InputError for an unreadable image.
SidesOf = Callable[[np.ndarray, InputItem], tuple[DetectionSet, DetectionSet]]


def failed_input(key: str, error: str) -> ImageParity:
    """An image that could not be checked: unreadable, or not found."""
    return ImageParity(key, 0, 0, [], [], [], error=error)


def _each_image(items: list[InputItem], sides_of: SidesOf, profile: Profile, threshold: float,
                report: CheckReport) -> CheckReport:
    start = time.perf_counter()
    for item in items:
        try:
            image = read_image(item.path)
            reference, other = sides_of(image, item)
        except InputError as error:
            report.images.append(failed_input(item.key, str(error)))
            continue
        report.images.append(compare_images(item.key, reference, other, profile, threshold))
    report.seconds = time.perf_counter() - start
    return report


def _runtime_side(model: Yolact, image: np.ndarray):
    raw = model.infer(model.preprocess([image]))[0]
    return raw, from_result(model.postprocess(raw, image.shape[:2]))


def _names(model: Yolact) -> dict[int, str]:
    ids = model.info.category_ids or range(1, len(model.class_names) + 1)
    return dict(zip(ids, model.class_names))


def check_reference(model: Yolact, reference, items: list[InputItem], profile: Profile, threshold: float,
                    weights: str) -> CheckReport:
    """`reference` is a yolact_export.exporter.reference.Reference (the PyTorch eval path)."""
    report = CheckReport("reference", profile, weights, f"{model.path} ({model.providers[0]})", names=_names(model))

    def sides(image: np.ndarray, _item: InputItem) -> tuple[DetectionSet, DetectionSet]:
        raw, other = _runtime_side(model, image)
        return reference.detect(image, raw), other

    _each_image(items, sides, profile, threshold, report)
    report.graph = reference.graph.summary() if reference.graph.images else None
    return report


def check_golden(model: Yolact, golden: dict[str, Entries], golden_path: str, items: list[InputItem],
                 profile: Profile, threshold: float) -> CheckReport:
    report = CheckReport("golden", profile, golden_path, f"{model.path} ({model.providers[0]})", names=_names(model))

    def sides(image: np.ndarray, item: InputItem) -> tuple[DetectionSet, DetectionSet]:
        key = find_key(golden, item.key)
        got = _runtime_side(model, image)[1]
        if key is None and len(got.above(threshold)):  # (a golden names only images with detections)
            raise InputError(f"{item.key}: not in the golden file {golden_path}")
        return (to_set(golden[key], image.shape[:2]) if key is not None else DetectionSet.empty()), got

    return _each_image(items, sides, profile, threshold, report)


def check_against(reference: dict[str, Entries], other: dict[str, Entries], names: tuple[str, str],
                  profile: Profile, threshold: float) -> CheckReport:
    """Two results files, image by image (every image either names); the first is the reference."""
    report = CheckReport("against", profile, names[0], names[1])
    start = time.perf_counter()
    keys = list(reference) + [k for k in other if find_key(reference, k) is None]
    for key in keys:
        mine, theirs = find_key(reference, key), find_key(other, key)
        expected = to_set(reference[mine]) if mine is not None else DetectionSet.empty()
        got = to_set(other[theirs]) if theirs is not None else DetectionSet.empty()
        report.images.append(compare_images(key, expected, got, profile, threshold))
    report.seconds = time.perf_counter() - start
    return report
