"""The user cache folder where engines keep what they compiled: $XDG_CACHE_HOME/yolact or ~/.cache/yolact."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(engine: str) -> Path:
    """The folder for one engine's cache (tensorrt, openvino), made if missing."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(root) / "yolact" / engine
    path.mkdir(parents=True, exist_ok=True)
    return path
