"""COCO image ids of a run's --json: one rule for yolact-run (local and Ray) and yolact-cpp-run.

With a COCO ground truth (--annotations FILE): the id of its image whose file_name is the input's
key (its path inside the folder given), else its base name; an input it does not list has no id.
Without: an image whose file stem is all digits gets that number (COCO's 000000397133.jpg ->
397133); any other image, and each video frame, gets 2**52 plus the low 52 bits of the FNV-1a
64-bit hash of its key ("key#N" for frame N). Either way an id depends on that input alone, never
on what else is in the run; the hashed ids lie above every numeric stem of up to 15 digits, and
stay exact in a JSON double. runtime/cpp/examples/image_ids.hpp is the C++ twin.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HASHED_BASE = 1 << 52
_FNV_OFFSET, _FNV_PRIME, _MASK64 = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def fnv1a64(text: str) -> int:
    value = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * _FNV_PRIME) & _MASK64
    return value


def default_image_id(key: str, frame: int | None = None) -> int:
    """The id of an input without a ground truth (this module's docstring)."""
    stem = PurePosixPath(key).stem
    if frame is None and stem.isascii() and stem.isdigit() and len(stem) <= 18:  # an int64, as in C++
        return int(stem)
    name = key if frame is None else f"{key}#{frame}"
    return HASHED_BASE + (fnv1a64(name) & (HASHED_BASE - 1))


@dataclass(frozen=True)
class GroundTruth:
    """A COCO ground truth's ids: {file_name: id}, each id also under its base name (when unique)."""

    path: Path
    ids: dict[str, int]


def read_ground_truth(path: Path) -> GroundTruth:
    """ValueError (one line naming the file) when it is not readable COCO JSON with images."""
    try:
        images = json.loads(path.read_text(encoding="utf-8"))["images"]
        listed = {str(image["file_name"]): int(image["id"]) for image in images}
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path}: not a COCO ground truth (needs \"images\" with \"id\" and \"file_name\")") from None
    names: dict[str, list[int]] = {}
    for file_name, image_id in listed.items():
        names.setdefault(PurePosixPath(file_name).name, []).append(image_id)
    by_base = {name: ids[0] for name, ids in names.items() if len(ids) == 1}
    return GroundTruth(path, {**by_base, **listed})


def image_id(key: str, frame: int | None, ground_truth: GroundTruth | None) -> int | None:
    """The input's id under the rule (None: the ground truth does not list it)."""
    if ground_truth is None:
        return default_image_id(key, frame)
    if frame is not None:
        return None
    return ground_truth.ids.get(key, ground_truth.ids.get(PurePosixPath(key).name))
