"""Inputs: files and folders (recursive, sorted) -> images and videos, each with an output key."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ..errors import NOT_FOUND
from .layout import output_names
from .live import is_stream, stream_name

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})

Kind = Literal["image", "video", "stream"]


@dataclass(frozen=True)
class InputItem:
    """One input: `key` names it in records (its relative path, POSIX); `name` is where its outputs go
    (layout.py: unique in the run; "" means the key without its extension)."""

    path: Path | str  # a URI or live source: the str as given
    key: str
    kind: Kind
    name: str = ""


def kind_of(path: Path) -> Kind | None:
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    return None


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _walk(folder: Path, exclude: Path | None) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside(Path(root, d).resolve(), exclude))
        found.extend(Path(root, f) for f in files if not f.startswith(".") and kind_of(Path(f)))
    return sorted(found)


def image_files(folder: Path) -> list[Path]:
    """The images under a folder, found as yolact-run finds them (recursive, sorted, no hidden names)."""
    return [path for path in _walk(folder, None) if kind_of(path) == "image"]


def images_under(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, folders replaced by their image_files."""
    found: list[Path] = []
    for path in map(Path, paths):
        found += image_files(path) if path.is_dir() else [path]
    return found


def discover(inputs: list[str | os.PathLike[str]], exclude: Path | None = None) -> tuple[list[InputItem], list[str]]:
    """Items in input order (folders expanded, sorted) and one error line per unusable input.

    A webcam index (0, 1, ...) or a stream URL (rtsp://, http(s)://, ...) is a live source (live.py).
    A file given by name is taken whatever its extension (as an image unless it looks like a
    video); folders are searched for the usual image and video extensions, skipping hidden names
    and `exclude` (the output folder). Keys: a file's name, or a folder file's path inside it;
    inputs whose keys or stems collide all keep their own outputs (layout.output_names).
    """
    items: list[InputItem] = []
    errors: list[str] = []
    seen: set[Path] = set()
    excluded = exclude.resolve() if exclude is not None else None
    for raw in inputs:
        path = Path(raw)
        if is_stream(os.fspath(raw)):
            items.append(InputItem(os.fspath(raw), os.fspath(raw), "stream"))
            continue
        if path.is_dir():
            candidates = [(p, p.relative_to(path).as_posix()) for p in _walk(path, excluded)]
            if not candidates:
                errors.append(f"{path}: no images or videos found in this folder")
        elif path.is_file():
            candidates = [(path, path.name)]
        else:
            errors.append(f"{path}: {NOT_FOUND}")
            continue
        for file, key in candidates:
            if file.resolve() not in seen:  # the same file given twice is done once
                seen.add(file.resolve())
                items.append(InputItem(file, key, kind_of(file) or "image"))
    return named(items), errors


def named(items: list[InputItem]) -> list[InputItem]:
    """The items with their output names (layout.output_names over the whole run)."""
    keys = [stream_name(i.key) if i.kind == "stream" else i.key for i in items]
    return [replace(item, name=name) for item, name in zip(items, output_names(keys))]
