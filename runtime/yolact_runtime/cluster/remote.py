"""Inputs beyond the local disk: URIs that pyarrow file systems understand (s3://, gs://, hdfs://,
file://, ...), listed and read like local folders and files. Used by the Ray engine; needs pyarrow
only when a URI is given.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path, PurePosixPath

from ..errors import NOT_FOUND, InputError, first_line
from ..pipeline.discover import InputItem, discover, kind_of, named
from ..pipeline.live import is_stream

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(path: str | os.PathLike[str]) -> bool:
    """A file or folder URI for pyarrow (a live stream's URL is not one: discover() takes those)."""
    return bool(_URI.match(os.fspath(path))) and not is_stream(os.fspath(path))


@lru_cache(maxsize=64)
def _filesystem(parent: str):
    """(pyarrow FileSystem, path of `parent` in it), one per folder URI (clients are not cheap)."""
    from pyarrow import fs

    return fs.FileSystem.from_uri(parent)


def _split_uri(uri: str) -> tuple[str, str, str]:
    """scheme://a/b/c.jpg?q -> ("scheme://a/b?q", "c.jpg", "?q")."""
    base, mark, query = uri.partition("?")
    parent, _, name = base.rstrip("/").rpartition("/")
    suffix = mark + query
    return parent + suffix, name, suffix


def read_uri(uri: str) -> bytes:
    """The bytes of a file named by a URI; InputError naming it and the cause."""
    parent, name, _ = _split_uri(uri)
    try:
        filesystem, folder = _filesystem(parent)
        with filesystem.open_input_stream(f"{folder.rstrip('/')}/{name}") as stream:
            return stream.read()
    except (OSError, ValueError) as error:
        raise InputError(f"{uri}: cannot read file ({first_line(error)})") from None


def local_model(model_path: str | os.PathLike[str]) -> str:
    """A local file for the model: URIs are copied once per process into a temporary folder."""
    path = os.fspath(model_path)
    if not is_uri(path):
        return path
    target = Path(tempfile.mkdtemp(prefix="yolact-model-")) / (_split_uri(path)[1] or "model.onnx")
    target.write_bytes(read_uri(path))
    return str(target)


def _remote_candidates(uri: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(file URI, key) under a URI (sorted as the local walk sorts), or the error line."""
    from pyarrow import fs

    base, mark, query = uri.partition("?")
    suffix = mark + query
    try:
        filesystem, root = fs.FileSystem.from_uri(uri)
        info = filesystem.get_file_info(root)
        if info.type == fs.FileType.File:
            return [(uri, _split_uri(uri)[1])], []
        if info.type != fs.FileType.Directory:
            return [], [f"{uri}: {NOT_FOUND}"]
        listing = filesystem.get_file_info(fs.FileSelector(root, recursive=True))
    except (OSError, ValueError) as error:
        return [], [f"{uri}: cannot list ({first_line(error)})"]
    prefix = root.rstrip("/") + "/"
    found = []
    for entry in listing:
        if entry.type != fs.FileType.File or not entry.path.startswith(prefix):
            continue
        relative = PurePosixPath(entry.path[len(prefix):])
        if any(part.startswith(".") for part in relative.parts) or kind_of(Path(relative.name)) is None:
            continue
        found.append(relative)
    found.sort()  # by path components, as discover() sorts
    if not found:
        return [], [f"{uri}: no images or videos found in this folder"]
    return [(f"{base.rstrip('/')}/{r.as_posix()}{suffix}", r.as_posix()) for r in found], []


def discover_inputs(inputs: Sequence[str | os.PathLike[str]],
                    exclude: Path | None = None) -> tuple[list[InputItem], list[str]]:
    """discover() that also takes URIs (their items carry the URI, a str, as `path`).

    Without URIs this is discover() itself; URIs follow the same rules (a file's key is its name,
    a folder's files are found recursively, sorted, hidden names skipped; output names as layout.py says).
    """
    if not any(is_uri(raw) for raw in inputs):
        return discover(list(inputs), exclude=exclude)
    items: list[InputItem] = []
    errors: list[str] = []
    seen: set[str] = set()
    for raw in inputs:
        if is_uri(raw):
            found, problems = _remote_candidates(os.fspath(raw))
            candidates = [InputItem(file, key, kind_of(Path(PurePosixPath(key).name)) or "image")
                          for file, key in found]
        else:
            candidates, problems = discover([raw], exclude=exclude)
        errors.extend(problems)
        for item in candidates:
            path = os.fspath(item.path)
            identity = path if is_uri(path) or item.kind == "stream" else str(Path(path).resolve())
            if identity not in seen:  # the same file given twice is done once
                seen.add(identity)
                items.append(item)
    return named(items), errors
