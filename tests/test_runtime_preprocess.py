"""Preprocessing = FastBaseTransform, against a numpy reference of align_corners=False bilinear."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import PHOTOS

from yolact_runtime.contract import PreprocessSpec
from yolact_runtime.core.preprocess import preprocess_batch, preprocess_image
from yolact_runtime.core.resize import bilinear


def _axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def reference_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """F.interpolate(mode="bilinear", align_corners=False), written out in float64."""
    x = image.astype(np.float64)
    y0, y1, wy = _axis(x.shape[0], height)
    x0, x1, wx = _axis(x.shape[1], width)
    wy = wy.reshape(-1, *([1] * (x.ndim - 1)))
    rows = x[y0] * (1 - wy) + x[y1] * wy
    wx = wx.reshape(1, -1, *([1] * (x.ndim - 2)))
    return rows[:, x0] * (1 - wx) + rows[:, x1] * wx


def reference_preprocess(image: np.ndarray, spec: PreprocessSpec, size: int) -> np.ndarray:
    x = reference_bilinear(image, size, size)
    if spec.transform == "normalize":
        x = (x - np.array(spec.mean_bgr)) / np.array(spec.std_bgr)
    else:
        x = x / 255.0
    return x[..., ::-1].transpose(2, 0, 1)


@pytest.mark.parametrize(("shape", "size"), [((7, 5), 13), ((48, 64), 64), ((120, 90), 64), ((37, 211), 50)])
def test_bilinear_matches_align_corners_false(shape: tuple[int, int], size: int) -> None:
    rng = np.random.default_rng(0)
    for channels in (None, 3):
        image = rng.random(shape if channels is None else (*shape, channels)).astype(np.float32)
        got = bilinear(image, size, size + 3)
        assert np.abs(got - reference_bilinear(image, size, size + 3)).max() < 1e-4


@pytest.mark.parametrize("transform", ["normalize", "to_float"])
@pytest.mark.parametrize("shape", [(48, 64), (120, 90), (64, 64)])
def test_preprocess_matches_reference(transform: str, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    spec = PreprocessSpec(transform=transform)
    got = preprocess_image(image, spec, 64)
    assert got.dtype == np.float32 and got.shape == (3, 64, 64)
    assert np.abs(got - reference_preprocess(image, spec, 64)).max() < 1e-3


def test_channels_come_out_rgb() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    x = preprocess_image(image, PreprocessSpec(transform="to_float"), 4)
    assert np.allclose(x[2], 1.0) and np.allclose(x[:2], 0.0)


def test_batch_of_different_sizes() -> None:
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, s, dtype=np.uint8) for s in [(30, 40, 3), (90, 20, 3)]]
    spec = PreprocessSpec()
    batch = preprocess_batch(images, spec, 32)
    assert batch.shape == (2, 3, 32, 32) and batch.flags.c_contiguous
    for image, x in zip(images, batch):
        assert np.abs(x - reference_preprocess(image, spec, 32)).max() < 1e-3


def test_grey_images_become_bgr_and_bad_input_is_refused() -> None:
    grey = np.full((10, 10), 100, np.uint8)
    assert preprocess_image(grey, PreprocessSpec(), 8).shape == (3, 8, 8)
    with pytest.raises(ValueError, match="uint8"):
        preprocess_image(np.zeros((4, 4, 3), np.float32), PreprocessSpec(), 8)


def whole_image_form(image: np.ndarray, spec: PreprocessSpec, size: int) -> np.ndarray:
    """The contract's float32 steps on the whole image: resize, (x - mean) / std or x / 255, BGR -> RGB, CHW."""
    x = bilinear(image.astype(np.float32), size, size)
    if spec.transform == "normalize":
        x = (x - np.asarray(spec.mean_bgr, np.float32)) / np.asarray(spec.std_bgr, np.float32)
    else:
        x = x / np.float32(255.0)
    chw = x.transpose(2, 0, 1)
    return np.ascontiguousarray(chw[::-1] if spec.channel_order == "RGB" else chw)


@pytest.mark.parametrize("spec", [PreprocessSpec(), PreprocessSpec(transform="to_float", channel_order="BGR"),
                                  PreprocessSpec(mean_bgr=(1.5, 2.25, 3.0), std_bgr=(3.0, 7.0, 0.3))])
def test_plane_by_plane_is_the_whole_image_form_bit_for_bit(spec: PreprocessSpec) -> None:
    for path in sorted(PHOTOS.glob("*.png")):
        image = cv2.imread(str(path))
        for size in (550, 97):
            assert np.array_equal(preprocess_image(image, spec, size), whole_image_form(image, spec, size)), path


def test_outputs_are_fresh_arrays_and_out_is_written_in_place() -> None:
    rng = np.random.default_rng(3)
    a, b = (rng.integers(0, 256, (40, 50, 3), dtype=np.uint8) for _ in range(2))
    first = preprocess_image(a, PreprocessSpec(), 32)
    kept = first.copy()
    second = preprocess_image(b, PreprocessSpec(), 32)
    assert not np.shares_memory(first, second) and np.array_equal(first, kept)
    out = np.full((3, 32, 32), np.nan, np.float32)
    assert preprocess_image(a, PreprocessSpec(), 32, out) is out and np.array_equal(out, kept)
