"""Upsample + threshold one soft mask inside an output window only, bit for bit what cv2.resize gives.

cv2.resize(INTER_LINEAR) on float32 (through Intel IPP on x86) samples at half-pixel centres
(align_corners=False), clamps at the borders, and runs rows first, then columns, each step as one
fused multiply-add a + (b - a) * t rounded to float32. Written out here in float64 (the product
of two float32 is exact there), a window of the output is computed from just the source rows and
columns it reads: the same pixels as a whole-frame resize at a fraction of the cost. A build of
OpenCV that rounds otherwise is caught by `matches_cv2` and the caller resizes whole frames.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .resize import bilinear

Window = tuple[int, int, int, np.ndarray]  # detection index, top row, left column, bool pixels

# round-to-float32(x) > 0.5 exactly when x > 0.5 + 2**-25 (the tie rounds to even: to 0.5).
_ABOVE_HALF = 0.5 + 2.0**-25


@lru_cache(maxsize=64)
def taps(small: int, large: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of `large` output pixels: the first source tap and its float32 weight t, as cv2 has them."""
    position = (np.arange(large, dtype=np.float64) + 0.5) * (1.0 / (large / small)) - 0.5
    first = np.floor(position).astype(np.int64)
    weight = (position - first).astype(np.float32).astype(np.float64)
    clamped = (first < 0) | (first >= small - 1)
    first = np.clip(first, 0, small - 1)
    weight[clamped] = 0.0
    return first, weight


def _lerp_rows(src: np.ndarray, first: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """float64 src[first] + float32(src[first + 1] - src[first]) * weight, along axis 0.

    The product of a float32 step and a float32 weight is exact in float64, so the one rounding is
    the sum's: a fused multiply-add. Clamped taps have weight 0, so any finite step serves them.
    """
    if src.shape[0] == 1:
        return src.astype(np.float64)[first]
    step = src[1:] - src[:-1]  # float32, as cv2 rounds it
    out = step[np.minimum(first, src.shape[0] - 2)] * weight[:, None]
    out += src[first]
    return out


def window_mask(mask: np.ndarray, height: int, width: int, rows: tuple[int, int],
                cols: tuple[int, int]) -> np.ndarray:
    """bool (bilinear(mask, height, width) > 0.5)[rows[0]:rows[1], cols[0]:cols[1]], computed in the window."""
    h, w = mask.shape
    ys, ty = taps(h, height)
    xs, tx = taps(w, width)
    ys, ty = ys[rows[0]:rows[1]], ty[rows[0]:rows[1]]
    xs, tx = xs[cols[0]:cols[1]], tx[cols[0]:cols[1]]
    r0, r1 = int(ys[0]), min(int(ys[-1]) + 2, h)
    c0, c1 = int(xs[0]), min(int(xs[-1]) + 2, w)
    src = mask[r0:r1, c0:c1]
    across = _lerp_rows(src.T, xs - c0, tx).T.astype(np.float32)  # rows first, rounded as cv2 does
    return _lerp_rows(across, ys - r0, ty) > _ABOVE_HALF


@lru_cache(maxsize=1)
def matches_cv2() -> bool:
    """Whether window_mask gives this OpenCV's pixels (checked once on a noisy, non-integer-scale case)."""
    mask = np.random.default_rng(0).random((23, 29)).astype(np.float32)
    whole = bilinear(mask, 157, 211) > np.float32(0.5)
    mask_near_half = (mask - np.float32(0.5)) * np.float32(1e-6) + np.float32(0.5)
    whole_near = bilinear(mask_near_half, 157, 211) > np.float32(0.5)
    return bool(np.array_equal(window_mask(mask, 157, 211, (0, 157), (0, 211)), whole)
                and np.array_equal(window_mask(mask_near_half, 157, 211, (0, 157), (0, 211)), whole_near))


def _extent(any_along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last True index per row of a [n, m] bool array (0, 0 when none)."""
    has = any_along.any(axis=1)
    first = np.where(has, any_along.argmax(axis=1), 0)
    last = np.where(has, any_along.shape[1] - any_along[:, ::-1].argmax(axis=1), 0)
    return first, last


def _span(first: int, last: int, small: int, large: int) -> tuple[int, int]:
    """Output pixels that bilinear taps in [first, last) can reach, with a pixel to spare."""
    scale = large / small
    return max(0, math.floor((first - 1) * scale - 1)), min(large, math.ceil((last + 1) * scale + 1))


def _window_is_cheaper(window_pixels: int, frame_pixels: int) -> bool:
    """numpy in the window (~50 us + 3.5 ns/pixel) vs OpenCV on the whole frame (~0.36 ns/pixel).

    Measured on a 2-core AVX2 EPYC; both give the same pixels, so this only moves the cost.
    """
    return 50_000 + 3.5 * window_pixels < 0.36 * frame_pixels


def mask_windows(masks: np.ndarray, height: int, width: int, whole_frame: bool | None = None) -> list[Window]:
    """Soft [n, h, w] masks -> the window of each upsampled (bilinear, > 0.5) mask that can hold a pixel.

    An upsampled pixel is a convex mix of its source taps, so it can pass 0.5 only near source
    pixels that (almost) do; outside the padded crop box the mask is 0. Masks with none are left out.
    whole_frame resizes each mask whole and cuts the window out (the benchmark's "before"); by
    default that is done for windows too large for numpy to beat OpenCV, or everywhere when this
    OpenCV's rounding is not matched.
    """
    n, h, w = masks.shape
    hot = masks > np.float32(0.5 - 1e-4)
    row_first, row_last = _extent(hot.any(axis=2))
    col_first, col_last = _extent(hot.any(axis=1))
    exact = matches_cv2() if whole_frame is None else not whole_frame
    windows: list[Window] = []
    extents = zip(row_first.tolist(), row_last.tolist(), col_first.tolist(), col_last.tolist())
    for i, (top, bottom, left, right) in enumerate(extents):
        if bottom == 0:
            continue
        rows = _span(top, bottom, h, height)
        cols = _span(left, right, w, width)
        if exact and _window_is_cheaper((rows[1] - rows[0]) * (cols[1] - cols[0]), height * width):
            pixels = window_mask(masks[i], height, width, rows, cols)
        else:
            pixels = bilinear(masks[i], height, width)[rows[0]:rows[1], cols[0]:cols[1]] > np.float32(0.5)
        windows.append((i, rows[0], cols[0], pixels))
    return windows


def paint(windows: list[Window], count: int, height: int, width: int, column_major: bool = False) -> np.ndarray:
    """bool [count, height, width] masks, zero but for their windows (only those pages are touched).

    column_major stores each mask column by column (a transposed view, what COCO RLE reads).
    """
    out = np.zeros((count, width, height) if column_major else (count, height, width), dtype=bool)
    planes = out.transpose(0, 2, 1) if column_major else out
    for i, top, left, pixels in windows:
        planes[i, top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    return planes
