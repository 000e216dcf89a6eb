"""One video's or live stream's outputs as its frames are committed (in order): the overlay video,
track IDs (--track), the JSON lines (--jsonl) and, at its end, its detections record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.io import write_json
from .discover import InputItem
from .events import FrameDone
from .jsonl import JsonLines
from .layout import OutputLayout
from .records import video_record
from .track import Tracks
from .video import VideoSink


@dataclass
class VideoOutputs:
    item: InputItem
    fps: float
    layout: OutputLayout
    tracks: Tracks | None = None
    sink: VideoSink | None = None
    size: tuple[int, int] | None = None
    frames: list[list[dict[str, Any]]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    failed: bool = False

    def add(self, event: FrameDone, jsonl: JsonLines | None) -> None:
        """The next frame: track IDs given (and its overlay drawn by them), written to every output."""
        overlay = event.overlay
        if event.tracked is not None and self.tracks is not None:
            image, result = event.tracked
            ids = self.tracks.ids(result)
            for detection, track_id in zip(event.detections, ids):
                detection["track_id"] = track_id
            overlay = result.draw(image, track_ids=ids) if image is not None else None
        if overlay is not None:
            if self.sink is None:
                height, width = event.size
                self.sink = VideoSink(self.layout.overlay_path(self.item), self.fps, (width, height))
            self.sink.write(overlay)
        self.size = event.size
        self.frames.append(event.detections)
        self.numbers.append(event.number)
        if jsonl is not None:
            height, width = event.size
            jsonl.write({"file_name": self.item.key, "frame": event.number, "width": width, "height": height,
                         "detections": event.detections})

    def finish(self) -> None:
        """Close the overlay video and write the record (it marks the item done)."""
        if not self.frames or self.size is None:
            raise ValueError("no frame could be read from this video")
        if self.sink is not None:
            self.sink.close()
        write_json(self.layout.record_path(self.item),
                   video_record(self.item, self.size, self.fps, self.frames, self.numbers))

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()
