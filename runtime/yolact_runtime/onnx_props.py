"""Read an ONNX file's metadata_props without onnx or a session (to check a model before loading it).

ModelProto is a protobuf message; metadata_props is its field 14, a repeated
StringStringEntryProto {key = 1, value = 2}. Other top-level fields (the graph included) are
skipped by their length, so only a few bytes past the field headers are read.
"""
from __future__ import annotations

import os
from typing import BinaryIO

METADATA_PROPS = 14
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    pass


def _varint(stream: BinaryIO) -> int | None:
    """The next varint, or None at a clean end of the stream."""
    result = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift == 0:
                return None
            raise WireError("truncated varint")
        result |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return result
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise WireError("truncated field")
    return data


def _entry(data: bytes) -> tuple[str, str]:
    """Parse one StringStringEntryProto."""
    fields = {1: "", 2: ""}
    i = 0
    while i < len(data):
        tag, i = _varint_at(data, i)
        if tag & 7 != LENGTH:
            raise WireError("unexpected wire type in a metadata entry")
        size, i = _varint_at(data, i)
        if i + size > len(data):
            raise WireError("truncated metadata entry")
        fields[tag >> 3] = data[i : i + size].decode("utf-8")
        i += size
    return fields[1], fields[2]


def _varint_at(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data):
            raise WireError("truncated varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def read_metadata_props(path: str | os.PathLike[str]) -> dict[str, str]:
    """metadata_props of the ONNX file at `path`; WireError when it is not a protobuf message."""
    props: dict[str, str] = {}
    with open(path, "rb") as stream:
        end = os.fstat(stream.fileno()).st_size
        while (tag := _varint(stream)) is not None:
            field, wire = tag >> 3, tag & 7
            if field == 0:
                raise WireError("field number 0")
            if wire == VARINT:
                if _varint(stream) is None:
                    raise WireError("truncated varint")
            elif wire == FIXED64:
                _read(stream, 8)
            elif wire == FIXED32:
                _read(stream, 4)
            elif wire == LENGTH:
                size = _varint(stream)
                if size is None:
                    raise WireError("truncated length")
                if field == METADATA_PROPS:
                    key, value = _entry(_read(stream, size))
                    props[key] = value
                elif stream.seek(size, os.SEEK_CUR) > end:
                    raise WireError("truncated field")
            else:
                raise WireError(f"unsupported wire type {wire}")
    return props
