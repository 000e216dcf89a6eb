"""Where yolact-run writes each input's outputs, and whether they are all there (--resume).

OUT/overlays/<key>                  overlay image (same extension; videos: .mp4, or .avi kept)
OUT/masks/<key stem>.png            instance map (0 = none, i + 1 = detection i), uint8 or uint16
OUT/masks/<video key stem>/NNNNNN.png   the same per video frame
OUT/detections/<key stem>.json      the item's detections (written last: it marks the item done)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .discover import InputItem
from .video import output_video_path


@dataclass(frozen=True)
class OutputLayout:
    root: Path
    overlays: bool = True
    masks: bool = False

    def overlay_path(self, item: InputItem) -> Path:
        path = self.root / "overlays" / item.key
        return output_video_path(path) if item.kind == "video" else path

    def masks_path(self, item: InputItem, frame: int | None = None) -> Path:
        stem = self.root / "masks" / Path(item.key).with_suffix("")
        return stem / f"{frame:06d}.png" if frame is not None else stem.with_name(stem.name + ".png")

    def record_path(self, item: InputItem) -> Path:
        stem = self.root / "detections" / Path(item.key).with_suffix("")
        return stem.with_name(stem.name + ".json")

    def is_done(self, item: InputItem) -> bool:
        """All outputs this run asks for exist (the record last, as it is written last)."""
        if self.overlays and not self.overlay_path(item).is_file():
            return False
        if self.masks:
            masks = self.masks_path(item, 0 if item.kind == "video" else None)
            if not (masks.parent.is_dir() if item.kind == "video" else masks.is_file()):
                return False
        return self.record_path(item).is_file()
