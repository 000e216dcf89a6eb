"""Result: COCO export round-trips through pycocotools; instance maps; drawing."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from yolact_runtime import Result
from yolact_runtime.core.postprocess import PostprocessOptions, postprocess
from yolact_runtime.core.raw import RawDetections
from fakes import random_detections


def _result(mask_scores: bool = False, category_ids=None, masks: str = "image") -> Result:
    d = random_detections(max_detections=8, count=5, proto_size=16)
    raw = RawDetections(d.boxes, d.scores, d.classes, d.coefficients, d.prototypes, d.num_detections,
                        mask_scores=d.scores * 0.5 if mask_scores else None)
    names = ("person", "bicycle", "car", "motorcycle", "airplane")
    return postprocess(raw, (60, 90), names, category_ids, PostprocessOptions(masks=masks))


def _decode(rle: dict) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")}).astype(bool)


def test_to_coco_round_trips_through_pycocotools() -> None:
    result = _result(category_ids=[1, 2, 3, 4, 5])
    assert result.masks is not None and result.masks.any()
    coco = json.loads(json.dumps(result.to_coco(image_id=42)))  # JSON-ready
    assert len(coco) == len(result) == 5
    for i, detection in enumerate(coco):
        assert detection["image_id"] == 42
        assert detection["category_id"] == int(result.class_ids[i]) + 1
        x1, y1, x2, y2 = result.boxes[i].tolist()
        assert detection["bbox"] == [x1, y1, x2 - x1, y2 - y1]
        assert detection["score"] == pytest.approx(float(result.scores[i]))
        assert detection["segmentation"]["size"] == [60, 90]
        assert np.array_equal(_decode(detection["segmentation"]), result.masks[i])


def test_coco_category_ids_come_from_metadata() -> None:
    result = _result(category_ids=[1, 3, 7, 9, 11])
    table = np.array([1, 3, 7, 9, 11])
    assert [d["category_id"] for d in result.to_coco(1)] == table[result.class_ids].tolist()


def test_yolact_plus_plus_scores() -> None:
    result = _result(mask_scores=True)
    segm, bbox = result.to_coco(1), result.to_coco(1, iou_type="bbox")
    assert [d["score"] for d in segm] == pytest.approx(result.mask_scores.tolist())
    assert [d["score"] for d in bbox] == pytest.approx(result.scores.tolist())
    assert "segmentation" not in bbox[0]


def test_rle_mode_and_proto_mode() -> None:
    dense = _result()
    rle = _result(masks="rle")
    assert rle.to_coco(1) == dense.to_coco(1)
    with pytest.raises(ValueError, match="prototype resolution"):
        _result(masks="proto").to_coco(1)


def test_instance_map_puts_the_best_detection_on_top() -> None:
    result = _result()
    ids = result.instance_map()
    assert ids.dtype == np.uint8 and ids.shape == (60, 90)
    assert np.array_equal(ids == 1, result.masks[0])
    for i in range(1, len(result)):
        assert np.all(ids[result.masks[i]] <= i + 1)
        assert np.all(ids[result.masks[i]] >= 1)


def test_draw_keeps_the_image_and_colours_the_masks() -> None:
    result = _result()
    image = np.full((60, 90, 3), 128, np.uint8)
    out = result.draw(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.all(image == 128)  # not drawn in place
    assert (out != image).any(axis=2).sum() > 0
    proto = _result(masks="proto").draw(image)
    assert proto.shape == image.shape


def test_repr_is_a_short_summary() -> None:
    result = _result()
    names = [f"{n} {s:.2f}" for n, s in zip(result.class_names[:3], result.scores[:3].tolist())]
    assert repr(result) == f"Result(5 detections: {', '.join(names)}, …; masks 60×90)"
    plus = _result(mask_scores=True, masks="proto")
    assert repr(plus).startswith(f"Result(5 detections: {plus.class_names[0]} {plus.mask_scores[0]:.2f}, ")
    assert repr(plus).endswith("; masks 16×16 (prototype size; image 60×90))")
    assert repr(_result(masks="rle")).endswith("; RLE masks 60×90)")
    none = _result(masks="none")
    empty = Result(none.boxes[:0], none.scores[:0], none.class_ids[:0], [], none.category_ids[:0], (60, 90))
    assert repr(empty) == "Result(0 detections; no masks; image 60×90)"
    one = Result(none.boxes[:1], none.scores[:1], none.class_ids[:1], none.class_names[:1], none.category_ids[:1],
                 (60, 90))
    assert repr(one) == f"Result(1 detection: {none.class_names[0]} {none.scores[0]:.2f}; no masks; image 60×90)"
