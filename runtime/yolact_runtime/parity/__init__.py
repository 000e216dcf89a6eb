"""Parity: do two runs of a model give the same final detections? (`yolact-check`, `yolact-export --check`).

This package is the one place that matches detections. It never imports torch; the PyTorch
reference side (`reference.py`) imports yolact_export only when asked for.
"""
from __future__ import annotations

from .compare import ImageParity, compare_images
from .detections import DetectionSet
from .match import Matching, box_iou, match_sets, match_within
from .profiles import EXACT, REDUCED, Profile, profile_for

__all__ = ["DetectionSet", "EXACT", "ImageParity", "Matching", "Profile", "REDUCED", "box_iou", "compare_images",
           "match_sets", "match_within", "profile_for"]
