"""Postprocessing on hand-made inputs: crop padding, box truncation, in-graph masks, selection."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from yolact_runtime import Yolact
from yolact_export.bench.before import crop_masks, paint
from yolact_runtime.core.masks.planes import painted
from yolact_runtime.core.masks.soft import assemble_masks
from yolact_runtime.core.masks.windows import mask_windows
from yolact_runtime.core.postprocess import PostprocessOptions, boxes_to_pixels, postprocess
from yolact_runtime.core.raw import RawDetections
from yolact_runtime.core.resize import bilinear
from fakes import random_detections, save_fake_model

NAMES = ("person", "bicycle", "car")


def _raw(boxes, scores, classes, *, k=2, proto=8, masks=None, mask_scores=None, count=None) -> RawDetections:
    boxes = np.asarray(boxes, np.float32)
    d = len(boxes)
    rng = np.random.default_rng(0)
    return RawDetections(
        boxes=boxes,
        scores=np.asarray(scores, np.float32),
        classes=np.asarray(classes, np.int64),
        coefficients=rng.normal(0, 1, (d, k)).astype(np.float32),
        prototypes=np.maximum(rng.normal(0, 1, (proto, proto, k)), 0).astype(np.float32),
        num_detections=d if count is None else count,
        masks=masks,
        mask_scores=None if mask_scores is None else np.asarray(mask_scores, np.float32),
    )


def test_crop_pads_one_proto_pixel_with_float_comparisons() -> None:
    # w = h = 8; x: 0.25 * 8 - 1 = 1.0 (column 1 kept: >=), 0.5 * 8 + 1 = 5.0 (column 5 dropped: <)
    masks = np.ones((3, 8, 8), np.float32)
    boxes = np.array(
        [
            [0.25, 0.5, 0.5, 0.75],  # x keeps 1..4, y: 4 - 1 = 3 .. 6 + 1 = 7 -> rows 3..6
            [0.5, 0.75, 0.25, 0.5],  # the same box with its corners swapped
            [-0.3, 0.9, 1.4, 0.9],  # clamped to 0 and 8; y: 7.2 - 1 = 6.2 .. 8 -> row 7 only
        ],
        np.float32,
    )
    crop_masks(masks, boxes)
    expected = np.zeros((8, 8), np.float32)
    expected[3:7, 1:5] = 1
    assert np.array_equal(masks[0], expected)
    assert np.array_equal(masks[1], expected)
    expected = np.zeros((8, 8), np.float32)
    expected[7, :] = 1
    assert np.array_equal(masks[2], expected)


def test_boxes_are_scaled_ordered_clamped_and_truncated() -> None:
    boxes = np.array(
        [
            [0.1, 0.2, 0.5, 0.9],
            [0.5, 0.9, 0.1, 0.2],  # swapped corners
            [-0.2, -0.1, 1.3, 1.5],  # outside: clamped
            [0.4999, 0.00999, 0.99999, 0.5001],  # truncated, not rounded
        ],
        np.float32,
    )
    got = boxes_to_pixels(boxes, 100, 200)
    assert got.dtype == np.int64
    assert got.tolist() == [[10, 40, 50, 180], [10, 40, 50, 180], [0, 0, 100, 200], [49, 1, 99, 100]]


def test_assembled_masks_are_sigmoid_of_prototypes_times_coefficients() -> None:
    rng = np.random.default_rng(3)
    protos = rng.normal(0, 1, (8, 8, 3)).astype(np.float32)
    coeffs = rng.normal(0, 1, (2, 3)).astype(np.float32)
    boxes = np.array([[0, 0, 1, 1], [0.25, 0.5, 0.5, 0.75]], np.float32)
    got = assemble_masks(protos, coeffs, boxes)
    expected = 1 / (1 + np.exp(-np.einsum("hwk,nk->nhw", protos, coeffs)))
    assert np.allclose(got[0], expected[0], atol=1e-6)
    assert np.allclose(got[1][3:7, 1:5], expected[1][3:7, 1:5], atol=1e-6)
    assert got[1].sum() == pytest.approx(expected[1][3:7, 1:5].sum(), abs=1e-4)


@pytest.mark.parametrize(("proto", "height", "width"), [(8, 48, 64), (16, 481, 640), (20, 13, 9)])
def test_upsample_is_bilinear_then_threshold(proto: int, height: int, width: int) -> None:
    rng = np.random.default_rng(4)
    centre = rng.uniform(0.1, 0.9, (12, 2))
    half = rng.uniform(0.02, 0.5, (12, 2))
    boxes = np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)
    protos = np.maximum(rng.normal(0, 1, (proto, proto, 4)), 0).astype(np.float32)
    soft = assemble_masks(protos, rng.normal(0, 2, (12, 4)).astype(np.float32), boxes)
    got = painted(mask_windows(soft, height, width), len(soft), height, width)
    full = np.stack([bilinear(m, height, width) for m in soft])
    assert got.shape == (12, height, width) and got.dtype == bool
    assert np.array_equal(got, full > 0.5)
    assert not got.flags.writeable  # recycled planes: read-only
    column_major = paint(mask_windows(soft, height, width), 12, height, width, column_major=True)
    assert column_major.shape == got.shape and np.array_equal(column_major, got)
    assert column_major.transpose(1, 2, 0).flags.f_contiguous


def test_postprocess_valid_rows_only_and_result_fields() -> None:
    raw = _raw([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.9, 0.8], [0, 0, 0, 0]], [0.9, 0.4, 0.0], [2, 0, 0], count=2)
    result = postprocess(raw, (60, 80), NAMES, category_ids=[1, 2, 3])
    assert len(result) == 2
    assert result.class_names == ["car", "person"]
    assert result.category_ids.tolist() == [3, 1]
    assert result.boxes.tolist() == [[8, 6, 40, 30], [16, 12, 72, 48]]
    assert result.masks is not None and result.masks.shape == (2, 60, 80)
    assert result.mask_scores is None
    assert postprocess(raw, (60, 80), NAMES).category_ids.tolist() == [3, 1]  # class id + 1


def test_score_threshold_and_top_k() -> None:
    raw = _raw([[0.1, 0.1, 0.5, 0.5]] * 4, [0.9, 0.6, 0.3, 0.1], [0, 1, 2, 0])
    # The original's postprocess: box score > threshold (a score at the threshold is dropped).
    assert postprocess(raw, (10, 10), NAMES, options=PostprocessOptions(score_threshold=0.3)).scores.tolist() == \
        pytest.approx([0.9, 0.6])
    assert len(postprocess(raw, (10, 10), NAMES, options=PostprocessOptions(top_k=2))) == 2
    empty = postprocess(raw, (10, 10), NAMES, options=PostprocessOptions(score_threshold=0.95))
    assert len(empty) == 0 and empty.masks.shape == (0, 10, 10) and empty.boxes.shape == (0, 4)


def test_mask_scores_are_carried_and_rank_the_detections() -> None:
    raw = _raw([[0.1, 0.1, 0.5, 0.5]] * 3, [0.9, 0.8, 0.7], [0, 1, 2], mask_scores=[0.2, 0.7, 0.5])
    result = postprocess(raw, (10, 10), NAMES)
    assert result.mask_scores.tolist() == pytest.approx([0.7, 0.5, 0.2])
    assert result.scores.tolist() == pytest.approx([0.8, 0.7, 0.9])
    # The threshold applies to the box score, before re-scoring (the original's postprocess), then
    # the mask score ranks (prep_display): box 0.8 > 0.75 is kept although its mask score is 0.7,
    # box 0.7 is dropped although its mask score is 0.5 > 0.2 of the kept person.
    top = postprocess(raw, (10, 10), NAMES, options=PostprocessOptions(score_threshold=0.75))
    assert top.class_names == ["bicycle", "person"]
    assert top.mask_scores.tolist() == pytest.approx([0.7, 0.2])
    best = postprocess(raw, (10, 10), NAMES, options=PostprocessOptions(score_threshold=0.75, top_k=1))
    assert best.class_names == ["bicycle"]
    coco = top.to_coco(image_id=7)
    assert [d["score"] for d in coco] == pytest.approx([0.7, 0.2])
    assert [d["box_score"] for d in coco] == pytest.approx([0.8, 0.9])
    assert all("box_score" not in d for d in top.to_coco(image_id=7, iou_type="bbox"))


def test_mask_modes_agree() -> None:
    raw = _raw([[0.1, 0.1, 0.6, 0.7], [0.3, 0.2, 0.9, 0.9]], [0.9, 0.8], [0, 1], k=4, proto=16)
    image = postprocess(raw, (50, 70), NAMES)
    proto = postprocess(raw, (50, 70), NAMES, options=PostprocessOptions(masks="proto"))
    rle = postprocess(raw, (50, 70), NAMES, options=PostprocessOptions(masks="rle"))
    none = postprocess(raw, (50, 70), NAMES, options=PostprocessOptions(masks="none"))
    assert proto.masks.shape == (2, 16, 16)
    assert rle.masks is None and np.array_equal(rle.image_masks(), image.masks)
    assert none.masks is None and none.rles is None and none.boxes.tolist() == image.boxes.tolist()


def test_in_graph_masks_are_used_when_present(tmp_path) -> None:
    d = random_detections(max_detections=4, count=2, proto_size=8)
    d.prototypes[:] = 0  # assembling would give sigmoid(0) = 0.5 everywhere: nothing passes > 0.5
    masks = np.zeros((4, 8, 8), np.float32)
    masks[0, 2:4, 2:6] = 1.0
    masks[1, 5:8, 0:3] = 0.9
    with_masks = dataclasses.replace(d, masks=masks)
    model = Yolact(save_fake_model(tmp_path / "masks.onnx", with_masks), providers="cpu")
    assert model.info.has_masks
    result = model(np.zeros((16, 16, 3), np.uint8))
    assert np.array_equal(result.masks[0], np.kron(masks[0] > 0.5, np.ones((2, 2), bool)))
    assert np.array_equal(result.masks[1], np.kron(masks[1] > 0.5, np.ones((2, 2), bool)))

    plain = Yolact(save_fake_model(tmp_path / "plain.onnx", d), providers="cpu")
    assert not plain(np.zeros((16, 16, 3), np.uint8)).masks.any()
