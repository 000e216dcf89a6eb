"""Where yolact-run writes each input's outputs, and whether they are all there (--resume).

Each item has an output NAME (InputItem.name), chosen by `output_names` over the whole run's keys:

- the key without its extension (`photos/a.jpg` -> `photos/a`), when no other input has that stem;
- the whole key (`c/twin.png`, `c/twin.jpg`), when two or more inputs share the stem: every one
  of them keeps its extension, so no input is left out and the names do not depend on order;
- a live source: live/webcam0, live/<URL with every run of other characters as one _>;
- the same key from two different files (two folders holding `a.png`, given side by side): the
  later ones, in input order, get `~2`, `~3`, ... before the extension (`a~2.png`).

The names depend only on the run's inputs, so a re-run with the same inputs finds its outputs
again (--resume); adding an input that shares a stem renames both (they are then redone).

OUT/overlays/<name><ext>            overlay image (the input's extension; videos: .mp4, or .avi kept)
OUT/masks/<name>.png                instance map (0 = none, i + 1 = detection i), uint8 or uint16
OUT/masks/<name>/NNNNNN.png         the same per video frame (NNNNNN: its number in the source)
OUT/labels/<name>.txt               --save-txt: YOLO segmentation labels (videos: <name>/NNNNNN.txt)
OUT/detections/<name>.json          the item's detections (written last: it marks the item done)
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .discover import InputItem


def _without_suffix(key: str) -> str:
    return str(PurePosixPath(key).with_suffix(""))


def _distinct_keys(keys: Sequence[str]) -> list[str]:
    """Keys made distinct: a repeat gets ~2, ~3, ... before its extension, in order."""
    taken = set(keys)
    seen: Counter[str] = Counter()
    out = []
    for key in keys:
        seen[key] += 1
        if seen[key] == 1:
            out.append(key)
            continue
        path = PurePosixPath(key)
        number = seen[key]
        while (candidate := str(path.with_name(f"{path.stem}~{number}{path.suffix}"))) in taken:
            number += 1
        taken.add(candidate)
        out.append(candidate)
    return out


def output_names(keys: Sequence[str]) -> list[str]:
    """The output name of each key of one run (the rules in this module's docstring)."""
    distinct = _distinct_keys(keys)
    stems = Counter(_without_suffix(key) for key in distinct)
    return [_without_suffix(key) if stems[_without_suffix(key)] == 1 else key for key in distinct]


def output_name(item: InputItem) -> str:
    """The item's output name (an item made without one: its key without the extension)."""
    return item.name or _without_suffix(item.key)


def _video_suffix(key: str) -> str:
    """.avi stays .avi (MJPG); every other video becomes .mp4 (mp4v)."""
    return ".avi" if PurePosixPath(key).suffix.lower() == ".avi" else ".mp4"


@dataclass(frozen=True)
class OutputLayout:
    root: Path
    overlays: bool = True
    masks: bool = False
    labels: bool = False

    def _path(self, folder: str, item: InputItem, suffix: str) -> Path:
        return self.root / folder / (output_name(item) + suffix)

    def overlay_path(self, item: InputItem) -> Path:
        suffix = PurePosixPath(item.key).suffix if item.kind == "image" else _video_suffix(item.key)
        return self._path("overlays", item, suffix)

    def masks_path(self, item: InputItem, frame: int | None = None) -> Path:
        if frame is not None:
            return self._path("masks", item, "") / f"{frame:06d}.png"
        return self._path("masks", item, ".png")

    def labels_path(self, item: InputItem, frame: int | None = None) -> Path:
        if frame is not None:
            return self._path("labels", item, "") / f"{frame:06d}.txt"
        return self._path("labels", item, ".txt")

    def record_path(self, item: InputItem) -> Path:
        return self._path("detections", item, ".json")

    def is_done(self, item: InputItem) -> bool:
        """All outputs this run asks for exist (the record last, as it is written last); a live
        source is never done (it is read again)."""
        if item.kind == "stream":
            return False
        if self.overlays and not self.overlay_path(item).is_file():
            return False
        video = item.kind != "image"
        for wanted, path in ((self.masks, self.masks_path), (self.labels, self.labels_path)):
            first = path(item, 0 if video else None)
            if wanted and not (first.parent.is_dir() if video else first.is_file()):
                return False
        return self.record_path(item).is_file()
