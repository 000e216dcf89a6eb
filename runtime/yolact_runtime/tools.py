"""Public helpers the exporter, the trainer and the benchmark share with the runtime: atomic writes,
image reading, image folders, the host's CPU, per-image rows of a batch. One home for each; they
are re-exported here so that nothing outside the runtime imports its internals (import-linter)."""
from __future__ import annotations

from .core.cpu import cpu_info
from .core.io import atomic_path, read_image, unwritable, write_bytes
from .core.raw import split_batch
from .errors import first_line
from .pipeline.discover import image_files, images_under

__all__ = ["atomic_path", "cpu_info", "first_line", "image_files", "images_under", "read_image",
           "split_batch", "unwritable", "write_bytes"]
