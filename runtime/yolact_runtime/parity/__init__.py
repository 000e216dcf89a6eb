"""Parity: do two runs of a model give the same final detections? (`yolact-check`, `yolact-export --check`).

This package is the one place that selects and matches detections for a comparison. It never imports
torch: the PyTorch reference side lives with the exporter and registers itself (cli.REFERENCE_ENTRY_POINTS).
"""
from __future__ import annotations

from .agreement import top_agreement
from .check import ReferenceSide, check_reference, runtime_profile
from .compare import ImageParity, compare_images
from .detections import DetectionSet, from_class_ids, from_result
from .match import Matching, box_iou, match_sets, match_within
from .outcome import ReportWriteError, finish
from .profiles import EXACT, REDUCED, Profile, profile_for
from .report import CheckReport

__all__ = ["CheckReport", "DetectionSet", "EXACT", "ImageParity", "Matching", "Profile", "REDUCED", "ReferenceSide",
           "ReportWriteError", "box_iou", "check_reference", "compare_images", "finish", "from_class_ids",
           "from_result", "match_sets", "match_within", "profile_for", "runtime_profile", "top_agreement"]
