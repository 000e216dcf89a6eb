"""The windowed postprocess gives the whole-frame pixels: bilinear windows against cv2.resize, and
COCO RLE built from windows against pycocotools on the dense masks (exact equality)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from yolact_runtime.core.resize import bilinear
from yolact_runtime.core.masks.rle import encode_rles, encode_window_rles
from yolact_runtime.core.masks.windows import matches_cv2, window_mask

SIZES = [(138, 138, 720, 1280), (69, 69, 481, 640), (8, 8, 48, 64), (20, 20, 13, 9), (1, 5, 3, 7)]


# window_mask reproduces OpenCV's float resize through Intel IPP (x86 wheels). Without IPP, OpenCV
# rounds otherwise, matches_cv2() is False and the postprocess resizes whole frames (exact, slower).
needs_ipp = pytest.mark.skipif(not cv2.ipp.useIPP(), reason="this OpenCV resizes without Intel IPP")


@needs_ipp
def test_this_opencv_is_matched() -> None:
    assert matches_cv2(), "window_mask does not round as this OpenCV build does"


@needs_ipp
@pytest.mark.parametrize(("h", "w", "height", "width"), SIZES)
def test_window_is_the_whole_frame_resize_cut(h: int, w: int, height: int, width: int) -> None:
    rng = np.random.default_rng(h + width)
    # values packed around 0.5, so rounding differences would flip pixels
    mask = (rng.random((h, w), dtype=np.float32) - 0.5) * np.float32(1e-5) + np.float32(0.5)
    whole = bilinear(mask, height, width) > np.float32(0.5)
    assert np.array_equal(window_mask(mask, height, width, (0, height), (0, width)), whole)
    for _ in range(8):
        y0 = int(rng.integers(0, height)); y1 = int(rng.integers(y0 + 1, height + 1))
        x0 = int(rng.integers(0, width)); x1 = int(rng.integers(x0 + 1, width + 1))
        got = window_mask(mask, height, width, (y0, y1), (x0, x1))
        assert np.array_equal(got, whole[y0:y1, x0:x1]), (y0, y1, x0, x1)


def _window_case(rng: np.random.Generator, height: int, width: int) -> tuple[int, int, np.ndarray]:
    top = int(rng.integers(0, height)); left = int(rng.integers(0, width))
    rows = int(rng.integers(1, height - top + 1)); cols = int(rng.integers(1, width - left + 1))
    choice = int(rng.integers(0, 4))
    if choice == 0:  # full height, so runs carry on from one column into the next
        top, rows = 0, height
    if choice == 1:  # the whole frame, all ones: one run, no trailing zeros
        return 0, 0, np.ones((height, width), bool)
    return top, left, rng.random((rows, cols)) < rng.uniform(0.05, 0.95)


@pytest.mark.parametrize(("height", "width"), [(7, 5), (48, 64), (720, 1280), (1, 9)])
def test_rle_from_windows_equals_pycocotools(height: int, width: int) -> None:
    rng = np.random.default_rng(height * width)
    windows, dense = [], np.zeros((12, height, width), bool)
    for i in range(12):
        if i == 3:
            continue  # a mask with no window: all zeros
        top, left, pixels = _window_case(rng, height, width)
        windows.append((i, top, left, pixels))
        dense[i, top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    assert encode_window_rles(windows, 12, height, width) == encode_rles(dense)
    assert encode_window_rles([], 0, height, width) == []


def test_sigmoid_inside_the_crops_only_is_sigmoid_then_crop() -> None:
    from yolact_export.bench.before import crop_masks
    from yolact_runtime.core.masks.soft import assemble_masks

    rng = np.random.default_rng(5)
    protos = rng.normal(0, 1, (24, 24, 8)).astype(np.float32)
    coeffs = rng.normal(0, 3, (20, 8)).astype(np.float32)
    boxes = rng.uniform(-0.2, 1.2, (20, 4)).astype(np.float32)  # swapped, outside, tiny: all kinds
    boxes[0] = [0.25, 0.25, 0.5, 0.5]  # crop edges on whole prototype pixels
    logits = coeffs @ protos.reshape(-1, 8).T
    with np.errstate(over="ignore"):
        whole = (np.float32(1) / (np.float32(1) + np.exp(-logits))).astype(np.float32)
    expected = crop_masks(whole.reshape(-1, 24, 24), boxes)
    assert np.array_equal(assemble_masks(protos, coeffs, boxes), expected)


@needs_ipp
@pytest.mark.parametrize("seed", range(12))
def test_batched_windows_give_the_whole_frame_pixels(seed: int) -> None:
    """mask_windows batches windows of similar width (ragged rows, padded columns), takes tight
    spans and sends large windows to cv2: every pixel must still be the whole-frame resize's."""
    from yolact_export.bench.before import paint
    from yolact_runtime.core.masks.windows import mask_windows

    rng = np.random.default_rng(seed)
    n, h, w = int(rng.integers(1, 40)), int(rng.integers(1, 70)), int(rng.integers(1, 70))
    height, width = int(rng.integers(1, 700)), int(rng.integers(1, 700))
    if seed % 3 == 0:  # downscaling: some hot pixels are read by no output pixel
        height, width = max(1, h // 4), max(1, w // 3)
    masks = (rng.random((n, h, w), dtype=np.float32) - 0.5) * np.float32(1e-5) + np.float32(0.5)
    for i in range(n):  # crops anywhere: at the borders, one pixel, the whole plane
        top, left = int(rng.integers(0, h)), int(rng.integers(0, w))
        keep = np.zeros((h, w), bool)
        keep[top:top + int(rng.integers(1, h + 1)), left:left + int(rng.integers(1, w + 1))] = True
        masks[i][~keep] = 0
    masks[0] = 0  # a mask with no pixel: no window
    windows = mask_windows(masks, height, width)
    assert [i for i, *_ in windows] == sorted(i for i, *_ in windows) and all(i != 0 for i, *_ in windows)
    whole = np.stack([bilinear(m, height, width) > np.float32(0.5) for m in masks])
    assert np.array_equal(paint(windows, n, height, width), whole)
