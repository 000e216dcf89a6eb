"""Reading images and writing files atomically (a temp file beside the target, then os.replace)."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import NOT_FOUND, InputError
from .truncation import truncation


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """BGR uint8 HxWx3 from a file; InputError naming the file and the cause."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise InputError(f"{path}: {NOT_FOUND}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read file ({error.strerror or error})") from None
    return decode_image(data, os.fspath(path))


def decode_image(data: bytes, name: str) -> np.ndarray:
    """BGR uint8 HxWx3 from encoded bytes (cv2.imdecode: cv2.imread's decoders, EXIF orientation
    applied); a cut-off file is an InputError too, not a partial picture (truncation.py)."""
    if not data:
        raise InputError(f"{name}: empty file")
    cause = truncation(data)
    if cause is not None:
        raise InputError(f"{name}: {cause}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{name}: cannot decode image (corrupt or unsupported format)")
    return image


def umask() -> int:
    """The process umask, read without setting it (os.umask sets it, racing other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside `path` (same extension); on success it replaces `path`, with the
    mode a plain open() would give it (mkstemp makes 0600 whatever the umask)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    try:
        yield Path(temp)
        os.chmod(temp, 0o666 & ~umask())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def write_json(path: str | os.PathLike[str], value: Any) -> None:
    write_bytes(path, json.dumps(value, separators=(",", ":")).encode("utf-8"))


def encode_image(image: np.ndarray, extension: str) -> bytes:
    """Encode for `extension` (".png", ".jpg", ...); PNG for extensions OpenCV cannot write."""
    ext = extension.lower() if cv2.haveImageWriter(f"x{extension.lower()}") else ".png"
    ok, data = cv2.imencode(ext, image)
    if not ok:
        raise OSError(f"cannot encode image as {ext}")
    return data.tobytes()


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> None:
    write_bytes(path, encode_image(image, Path(path).suffix))


def unwritable(path: str | os.PathLike[str]) -> str:
    """Why a file cannot be written at `path` ('' when it can): checked before a long run, so that a
    bad output path fails at once (exit 2) rather than after the work."""
    target = Path(path)
    if target.is_dir():
        return f"{target}: is a folder"
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{target}: cannot be written ({folder} is not a folder)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{target}: cannot be written (permission denied in {folder})"
    return ""
