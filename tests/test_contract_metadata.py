"""The ONNX metadata and output contract against an independent source: the checkpoint-layout
fixture (tests/data/yolact_checkpoint_layouts.json), extracted from the original code.

The fixture holds, per official config, the original's COCO label map (COCO category id ->
contiguous class index + 1), MEANS / STD (BGR), the backbone transform (normalize / to_float,
channel order), mask_dim, max_size and the head's output shapes at max_size. Nothing here is
recomputed from our own config module: a shifted category table or a wrong mean fails.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from yolact_export.model.config import get_config
from yolact_export.detection.graph import NmsSettings, YolactDetector
from yolact_export.exporter.export import _output_shapes, build_metadata
from yolact_export.model.yolact import build_model

OFFICIAL = ["yolact_base", "yolact_im400", "yolact_im700", "yolact_resnet50", "yolact_darknet53",
            "yolact_plus_base", "yolact_plus_resnet50"]
FLOAT, INT64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
# The contract's element types (README, "ONNX output contract (version 1)").
OUTPUT_TYPES = {"boxes": FLOAT, "scores": FLOAT, "classes": INT64, "coefficients": FLOAT, "prototypes": FLOAT,
                "num_detections": INT64, "masks": FLOAT, "mask_scores": FLOAT}


def category_ids_from_label_map(label_map: dict[str, int]) -> list[int]:
    """The original's COCO_LABEL_MAP inverted: class index i (0-based) -> its COCO category id."""
    by_index = {index: int(coco_id) for coco_id, index in label_map.items()}
    assert sorted(by_index) == list(range(1, len(by_index) + 1)), "label map is not contiguous"
    return [by_index[i + 1] for i in range(len(by_index))]


def expected_preprocess(original: dict) -> dict:
    transform = original["backbone"]["transform"]
    assert transform["normalize"] != transform["to_float"] and not transform["subtract_means"]
    return {"transform": "normalize" if transform["normalize"] else "to_float",
            "mean_bgr": original["MEANS_BGR"], "std_bgr": original["STD_BGR"],
            "channel_order": transform["channel_order"], "resize": "bilinear"}


@pytest.mark.parametrize("name", OFFICIAL)
def test_metadata_matches_the_original(layouts, name):
    original = layouts[name]["config"]
    config = get_config(name)
    detector = YolactDetector(build_model(config))
    meta = build_metadata(config, NmsSettings.from_config(config), detector.output_names)
    assert json.loads(meta["yolact.category_ids"]) == category_ids_from_label_map(original["label_map"])
    assert json.loads(meta["yolact.class_names"]) == original["class_names"]
    assert len(original["class_names"]) == original["num_classes"] - 1
    pre = json.loads(meta["yolact.preprocess"])
    want = expected_preprocess(original)
    assert pre == want, (pre, want)
    assert int(meta["yolact.input_size"]) == original["max_size"]
    assert int(meta["yolact.mask_dim"]) == original["mask_dim"]
    assert json.loads(meta["yolact.nms"]) == {
        "score_threshold": original["nms_conf_thresh"], "iou_threshold": original["nms_thresh"],
        "top_k": original["nms_top_k"], "max_detections": original["max_num_detections"], "cross_class": False}
    # Output names and shapes at max_size: prototypes are the original's proto output.
    expected_names = ["boxes", "scores", "classes", "coefficients", "prototypes", "num_detections"]
    expected_names += ["masks", "mask_scores"] if original["use_maskiou"] else []
    assert json.loads(meta["yolact.outputs"]) == expected_names
    shapes = _output_shapes(detector, batch=1)
    proto = layouts[name]["shapes_at_max_size"]["head_output_shapes"]["proto"]
    d = original["max_num_detections"]
    assert shapes["prototypes"] == proto
    assert shapes["coefficients"] == [1, d, original["mask_dim"]]
    assert shapes["boxes"] == [1, d, 4] and shapes["scores"] == shapes["classes"] == [1, d]
    if original["use_maskiou"]:
        assert shapes["masks"] == [1, d, proto[1], proto[2]] and shapes["mask_scores"] == [1, d]


@pytest.mark.parametrize("key", ["v1", "plus"])
def test_exported_outputs_have_the_declared_types_and_shapes(exported, key):
    """What onnxruntime returns (types, shapes) is what the graph declares, and what the contract says."""
    path = exported[key][1]
    graph = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in graph.metadata_props}
    size, mask_dim = int(meta["yolact.input_size"]), int(meta["yolact.mask_dim"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"images": np.zeros((2, 3, size, size), np.float32)})
    declared = {o.name: o.type.tensor_type for o in graph.graph.output}
    assert list(declared) == json.loads(meta["yolact.outputs"])
    for (name, tensor_type), value in zip(declared.items(), outputs):
        assert tensor_type.elem_type == OUTPUT_TYPES[name], name
        assert value.dtype == onnx.helper.tensor_dtype_to_np_dtype(OUTPUT_TYPES[name]), name
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in tensor_type.shape.dim]
        assert dims[0] == "batch" and list(value.shape) == [2, *dims[1:]], (name, dims, value.shape)
    shapes = dict(zip(declared, (v.shape for v in outputs)))
    proto = 2 * ((size + 7) // 8)  # twice the P3 grid, as the fixture's 138 at 550
    assert shapes["prototypes"] == (2, proto, proto, mask_dim) and shapes["coefficients"][2] == mask_dim


def test_label_map_inversion_is_not_the_identity(layouts):
    """The COCO ids skip 12, 26, 29, 30, 45, 66, 68, 69, 71, 83: an off-by-one table cannot pass."""
    ids = category_ids_from_label_map(layouts["yolact_base"]["config"]["label_map"])
    assert len(ids) == 80 and ids[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13] and ids[-1] == 90
