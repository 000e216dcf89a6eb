"""--track: instance IDs across the frames of a video or stream, by ByteTrack from `trackers` (an extra).

One tracker per video or stream, fed each frame's boxes and box scores in frame order; a detection
the tracker has not confirmed yet (an object's first frame) has no ID (None).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import Result
from ..errors import YolactRuntimeError

TRACK_EXTRA = "pip install yolact-export[track]"


def check_tracking() -> None:
    """YolactRuntimeError (one line naming the extra) when the tracking library is missing."""
    try:
        import supervision  # noqa: F401
        import trackers  # noqa: F401
    except ImportError:
        raise YolactRuntimeError(f"--track needs the trackers package, which is not installed here: "
                                 f"{TRACK_EXTRA}") from None


class Tracks:
    """The track IDs of one video's detections, frame after frame."""

    def __init__(self, fps: float) -> None:
        import trackers

        self.tracker: Any = trackers.ByteTrackTracker(frame_rate=fps, minimum_consecutive_frames=1)

    def ids(self, result: Result) -> list[int | None]:
        """The track ID of each detection of the next frame (None: not confirmed yet)."""
        import supervision as sv

        count = len(result)
        detections = sv.Detections(xyxy=result.boxes.astype(np.float32).reshape(-1, 4),
                                   confidence=result.scores.astype(np.float32),
                                   class_id=result.class_ids.astype(int),
                                   data={"row": np.arange(count)})
        tracked = self.tracker.update(detections)
        ids: list[int | None] = [None] * count
        for row, track_id in zip(tracked.data["row"].tolist(), tracked.tracker_id.tolist()):
            ids[row] = int(track_id) if track_id >= 0 else None
        return ids
