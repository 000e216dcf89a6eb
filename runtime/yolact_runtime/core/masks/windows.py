"""Upsample + threshold soft masks inside their output windows only, bit for bit what cv2.resize gives.

cv2.resize(INTER_LINEAR) on float32 (through Intel IPP on x86) samples at half-pixel centres
(align_corners=False), clamps at the borders, and runs rows first, then columns, each step as one
fused multiply-add a + (b - a) * t rounded to float32. Written out here in float64 (the product
of two float32 is exact there), a window of the output is computed from just the source rows and
columns it reads: the same pixels as a whole-frame resize at a fraction of the cost. window_mask
does one window; mask_windows does all of a frame's together, a few numpy calls per batch of
similar width. A build of OpenCV that rounds otherwise is caught by `matches_cv2`, and then whole
frames are resized.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..resize import bilinear
from ..scratch import scratch

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


def _lerp_rows(src: np.ndarray, rows: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """float64 src[rows] + float32(src[rows + 1] - src[rows]) * weight[:, None], along axis 0.

    The product of a float32 step and a float32 weight is exact in float64, so the one rounding is
    the sum's: a fused multiply-add. Whole rows are gathered (np.take), numpy's cheapest gather. A
    clamped tap has weight 0, so any finite step serves it (the last row's, or one into the next
    window's block). The result is this thread's scratch (core/scratch.py).
    """
    step = scratch("window steps", src.shape)
    np.subtract(src[1:], src[:-1], out=step[:-1])  # float32, as cv2 rounds it
    step[-1] = 0
    # mode="clip": the rows are in range by construction, and "raise" would buffer `out` afresh
    picked = np.take(step, rows, axis=0, out=scratch("window rows", (len(rows), src.shape[1])), mode="clip")
    out = np.multiply(picked, weight[:, None], out=scratch("window sums", picked.shape, np.float64))
    out += np.take(src, rows, axis=0, out=picked, mode="clip")
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


@lru_cache(maxsize=64)
def _reach(small: int, large: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel, the lowest and highest source pixel its bilinear taps read (both non-decreasing)."""
    first, weight = taps(small, large)
    return first, first + (weight > 0)


def _spans(first: np.ndarray, last: np.ndarray, small: int, large: int) -> np.ndarray:
    """[n, 2] output pixels whose taps read a source pixel in [first, last): the others mix only
    pixels below the threshold, so they cannot pass it."""
    lowest, highest = _reach(small, large)
    return np.stack([np.searchsorted(highest, first), np.searchsorted(lowest, last)], axis=1)


def _window_is_cheaper(window_pixels: np.ndarray, frame_pixels: int) -> np.ndarray:
    """numpy on batched windows (~4 ns/pixel) vs OpenCV on the whole frame (~0.2 ns/pixel with the cut).

    Measured on a 2-core AVX2 EPYC (lively yolact_resnet50 and the shipped model's large shapes);
    both give the same pixels, so this only moves the cost.
    """
    return 4.0 * window_pixels < 0.2 * frame_pixels


def _width_classes(cols: np.ndarray) -> np.ndarray:
    """A class per window width (a third of an octave each), so that a batch pads widths by < 26 %."""
    return np.ceil(3 * np.log2(np.maximum(cols, 1))).astype(np.int64)


def _batch_windows(masks: np.ndarray, height: int, width: int, members: np.ndarray, tops: np.ndarray,
                   counts: np.ndarray, lefts: np.ndarray, cols: int) -> list[np.ndarray]:
    """window_mask of masks[members] for rows [top, top + count) and `cols` columns from left, together.

    Rows are ragged: each window's source rows (and then its output rows) are stacked one block
    after another, and every pass is one gather of whole rows over the batch.
    """
    _, h, w = masks.shape
    ys, ty = taps(h, height)
    xs, tx = taps(w, width)
    first_x = xs[lefts[:, None] + np.arange(cols)]
    src_cols = min(w, int((first_x[:, -1] + 2 - first_x[:, 0]).max()))
    c0 = np.minimum(first_x[:, 0], w - src_cols)
    r0 = ys[tops]
    src_rows = np.minimum(ys[tops + counts - 1] + 2, h) - r0
    blocks = np.concatenate([[0], np.cumsum(src_rows)])
    per_row = np.repeat(np.arange(len(members)), src_rows)
    row_in_mask = np.arange(blocks[-1]) - blocks[per_row] + r0[per_row]
    src = sliding_window_view(masks, src_cols, axis=2)[members[per_row], row_in_mask, c0[per_row]]
    # rows first (along x): source rows x output columns, as _lerp_rows on the transposed rows
    shape = (len(per_row), cols)
    flat = np.take(first_x - c0[:, None], per_row, axis=0, out=scratch("taps", shape, np.intp), mode="clip")
    flat += (np.arange(len(per_row)) * src_cols)[:, None]
    weight = np.take(tx[lefts[:, None] + np.arange(cols)], per_row, axis=0, mode="clip",
                     out=scratch("tap weights", shape, np.float64))
    step = np.zeros_like(src)
    np.subtract(src[:, 1:], src[:, :-1], out=step[:, :-1])  # float32, as cv2 rounds it
    picked = np.take(step, flat, out=scratch("tap values", shape), mode="clip")
    sums = np.multiply(picked, weight, out=weight)
    sums += np.take(src, flat, out=picked, mode="clip")
    across = sums.astype(np.float32)  # rounded as cv2 does
    out_rows = np.concatenate([np.arange(t, t + c) for t, c in zip(tops.tolist(), counts.tolist())])
    owner = np.repeat(np.arange(len(members)), counts)
    source_rows = ys[out_rows] - r0[owner] + blocks[owner]  # each output row's first tap, in `across`
    pixels = _lerp_rows(across, source_rows, ty[out_rows]) > _ABOVE_HALF
    return np.split(pixels, np.cumsum(counts)[:-1])


def mask_windows(masks: np.ndarray, height: int, width: int) -> list[Window]:
    """Soft [n, h, w] masks -> the window of each upsampled (bilinear, > 0.5) mask that can hold a pixel.

    An upsampled pixel is a convex mix of its source taps, so it can pass 0.5 only where a tap
    (almost) does; outside the padded crop box the mask is 0. Masks with none are left out.
    Windows are computed in batches of similar width, padded to the widest (the padding holds
    more exact pixels, all False). A window too large for numpy to beat OpenCV, or any window when
    this OpenCV's rounding is not matched, is cut from a whole-frame resize instead.
    """
    n, h, w = masks.shape
    hot = np.greater(masks, np.float32(0.5 - 1e-4), out=scratch("hot pixels", masks.shape, np.bool_))
    row_first, row_last = _extent(hot.any(axis=2))
    col_first, col_last = _extent(hot.any(axis=1))
    row_spans = _spans(row_first, row_last, h, height)
    col_spans = _spans(col_first, col_last, w, width)
    counts = row_spans[:, 1] - row_spans[:, 0]
    cols = col_spans[:, 1] - col_spans[:, 0]
    some = (counts > 0) & (cols > 0)  # empty when no output pixel reads a hot one (downscaling)
    batched = some & matches_cv2() & _window_is_cheaper(counts * cols, height * width)
    windows: dict[int, Window] = {}
    for i in np.flatnonzero(some & ~batched).tolist():
        (top, bottom), (left, right) = row_spans[i].tolist(), col_spans[i].tolist()
        frame = bilinear(masks[i], height, width, scratch("whole frame", (height, width)))
        windows[i] = (i, top, left, frame[top:bottom, left:right] > np.float32(0.5))
    classes = _width_classes(cols)
    for width_class in np.unique(classes[batched]).tolist():
        members = np.flatnonzero(batched & (classes == width_class))
        padded = int(cols[members].max())
        lefts = np.minimum(col_spans[members, 0], width - padded)
        tops = row_spans[members, 0]
        pixels = _batch_windows(masks, height, width, members, tops, counts[members], lefts, padded)
        for i, top, left, window in zip(members.tolist(), tops.tolist(), lefts.tolist(), pixels):
            windows[i] = (i, top, left, window)
    return [windows[i] for i in sorted(windows)]

