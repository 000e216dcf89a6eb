"""Real image files in every format the runtimes check for truncation (test_runtime_inputs,
test_cpp_package): a photo re-encoded by OpenCV, plus a TIFF laid out the other way round."""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

FORMATS = [".jpg", ".png", ".bmp", ".tif", ".tif-directory-first", ".webp"]


def _tiff_directory_first(image: np.ndarray, rows_per_strip: int = 16) -> bytes:
    """An uncompressed RGB TIFF with its directory before the pixels (OpenCV writes it after), so
    that cutting the file loses strips but keeps the directory."""
    height, width = image.shape[:2]
    strips = [image[r : r + rows_per_strip, :, ::-1].tobytes() for r in range(0, height, rows_per_strip)]
    short = [(256, width), (257, height), (259, 1), (262, 2), (277, 3), (278, rows_per_strip), (284, 1)]
    count = len(short) + 3
    tables = 8 + 2 + 12 * count + 4  # BitsPerSample, StripOffsets, StripByteCounts follow the directory
    offsets_at, sizes_at, data_at = tables + 6, tables + 6 + 4 * len(strips), tables + 6 + 8 * len(strips)
    starts = np.cumsum([data_at] + [len(s) for s in strips[:-1]]).tolist()
    entries = [(tag, 3, 1, struct.pack("<HH", value, 0)) for tag, value in short]
    entries += [(258, 3, 3, struct.pack("<I", tables)), (273, 4, len(strips), struct.pack("<I", offsets_at)),
                (279, 4, len(strips), struct.pack("<I", sizes_at))]
    directory = b"".join(struct.pack("<HHI", t, k, n) + v for t, k, n, v in sorted(entries))
    return (b"II*\x00" + struct.pack("<IH", 8, count) + directory + struct.pack("<I", 0)
            + struct.pack("<3H", 8, 8, 8) + struct.pack(f"<{len(strips)}I", *starts)
            + struct.pack(f"<{len(strips)}I", *map(len, strips)) + b"".join(strips))


def encoded(photo: Path, extension: str) -> bytes:
    """The photo's bytes in a format (".png": the file itself; others: OpenCV's encoder)."""
    if extension == ".png":
        return photo.read_bytes()
    image = cv2.imread(str(photo))
    if extension == ".tif-directory-first":
        return _tiff_directory_first(image)
    ok, data = cv2.imencode(extension, image)
    assert ok, extension
    return data.tobytes()
