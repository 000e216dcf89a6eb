"""Is an encoded image file complete? Decoders may decode a cut-off file without complaint.

OpenCV's cv2.imread decodes the first half of a JPEG (libjpeg pads the rest with grey and only
prints "Premature end of JPEG file"), so each format's end marker or size field is checked
before decoding. The format is recognised by its signature, not the file name:

JPEG  an end-of-image marker (FFD9) after the last start-of-scan (FFDA): entropy-coded data
      cannot hold FFD9, and an embedded EXIF thumbnail's markers come before the image's scans
PNG   the chunk list reaches IEND within the file
BMP   the file is as long as the header's file-size field says (a field of 0 is not checked)
WebP  the file is as long as the RIFF header's size field says
TIFF  (classic, first directory: the image OpenCV reads) the directory, every value it points
      to, and every strip or tile (offsets + byte counts) lie within the file; BigTIFF and later
      pages are left to the decoder

Other formats (PPM/PGM, JPEG 2000) are left to the decoder, which rejects cut-off files.
"""
from __future__ import annotations

import struct

_TIFF_SHORT, _TIFF_LONG = 3, 4
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TIFF_DATA_TAGS = ((273, 279), (324, 325))  # (StripOffsets, StripByteCounts), (TileOffsets, TileByteCounts)


def truncation(data: bytes) -> str | None:
    """Why `data` is a cut-off image file, or None when it looks complete (or is not checked)."""
    if data[:3] == b"\xff\xd8\xff":
        return _jpeg(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png(data)
    if data[:2] == b"BM" and len(data) >= 6:
        return _sized(data, struct.unpack_from("<I", data, 2)[0], "BMP header")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _sized(data, struct.unpack_from("<I", data, 4)[0] + 8, "WebP RIFF header")
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(data)
    return None


def _sized(data: bytes, expected: int, field: str) -> str | None:
    if expected and len(data) < expected:
        return f"truncated image: {len(data)} of the {expected} bytes its {field} gives"
    return None


def _jpeg(data: bytes) -> str | None:
    last_scan = data.rfind(b"\xff\xda")
    if last_scan < 0 or data.find(b"\xff\xd9", last_scan) < 0:
        return "truncated image: the JPEG has no end-of-image marker (FFD9)"
    return None


def _png(data: bytes) -> str | None:
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        position += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            return None if position <= len(data) else "truncated image: the PNG's IEND chunk is cut off"
    return "truncated image: the PNG ends before its IEND chunk"


def _tiff(data: bytes) -> str | None:
    order = "<" if data[:2] == b"II" else ">"
    directory = struct.unpack_from(order + "I", data, 4)[0] if len(data) >= 8 else len(data)
    if directory + 2 > len(data):
        return "truncated image: the TIFF's image directory lies past the end of the file"
    count = struct.unpack_from(order + "H", data, directory)[0]
    if directory + 2 + 12 * count + 4 > len(data):  # entries, then the next directory's offset
        return "truncated image: the TIFF's image directory is cut off"
    entries = {}
    for index in range(count):
        tag, kind, values, inline = struct.unpack_from(order + "HHI4s", data, directory + 2 + 12 * index)
        size = _TIFF_TYPE_SIZES.get(kind, 0) * values
        if size > 4 and struct.unpack(order + "I", inline)[0] + size > len(data):
            return f"truncated image: the TIFF's tag {tag} values lie past the end of the file"
        entries[tag] = (kind, values, inline)
    for offsets_tag, counts_tag in _TIFF_DATA_TAGS:
        if offsets_tag in entries and counts_tag in entries:
            offsets = _tiff_values(data, order, *entries[offsets_tag])
            sizes = _tiff_values(data, order, *entries[counts_tag])
            end = max((o + s for o, s in zip(offsets, sizes)), default=0)
            if end > len(data):
                return f"truncated image: the TIFF's image data needs {end} bytes, the file has {len(data)}"
    return None


def _tiff_values(data: bytes, order: str, kind: int, count: int, inline: bytes) -> list[int]:
    """A SHORT or LONG array of a directory entry (inline when it fits in 4 bytes; within the file)."""
    if kind not in (_TIFF_SHORT, _TIFF_LONG):
        return []
    code = "H" if kind == _TIFF_SHORT else "I"
    if struct.calcsize(code) * count <= 4:
        return list(struct.unpack_from(f"{order}{count}{code}", inline))
    return list(struct.unpack_from(f"{order}{count}{code}", data, struct.unpack(order + "I", inline)[0]))
