"""Contract-following fake models for the tests: constant detections, any batch size.

Needs the `onnx` package (the export extra). One image's detections are the runtime's own
RawDetections; the fake graph returns them for every image of a batch (the inverse of split_batch).
"""
from __future__ import annotations

import os

import numpy as np

from yolact_runtime import contract
from yolact_runtime.core.raw import RawDetections

COCO_LIKE_NAMES = ("person", "bicycle", "car", "motorcycle", "airplane")


def random_detections(
    max_detections: int = 10,
    count: int = 6,
    mask_dim: int = 4,
    proto_size: int = 16,
    num_classes: int = len(COCO_LIKE_NAMES),
    seed: int = 0,
) -> RawDetections:
    """Sorted scores, boxes inside the image, zeros past `count` (as the contract pads)."""
    rng = np.random.default_rng(seed)
    d, k = max_detections, mask_dim
    centre = rng.uniform(0.2, 0.8, (d, 2))
    half = rng.uniform(0.05, 0.2, (d, 2))
    boxes = np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)
    scores = np.sort(rng.uniform(0.05, 1.0, d)).astype(np.float32)[::-1].copy()
    classes = rng.integers(0, num_classes, d).astype(np.int64)
    coefficients = np.tanh(rng.normal(0, 2, (d, k))).astype(np.float32)
    prototypes = np.maximum(rng.normal(0, 2, (proto_size, proto_size, k)), 0).astype(np.float32)
    for array in (boxes, scores, classes, coefficients):
        array[count:] = 0
    return RawDetections(boxes, scores, classes, coefficients, prototypes, count)


def default_metadata(
    class_names: tuple[str, ...] = COCO_LIKE_NAMES,
    input_size: int = 64,
    transform: str = "normalize",
    outputs: tuple[str, ...] = contract.REQUIRED_OUTPUTS,
    category_ids: list[int] | None = None,
    mask_dim: int = 4,
    max_detections: int = 10,
) -> dict[str, str]:
    return contract.write_metadata(contract.ModelInfo(
        contract_version=contract.CONTRACT_VERSION, class_names=tuple(class_names), input_size=input_size,
        preprocess=contract.PreprocessSpec(transform=transform), outputs=tuple(outputs),
        category_ids=None if category_ids is None else tuple(category_ids), exporter_version="0.1.0",
        config="fake", mask_dim=mask_dim,
        nms={"score_threshold": 0.05, "iou_threshold": 0.5, "top_k": 200, "max_detections": max_detections,
             "cross_class": False}))


def make_fake_model(
    detections: RawDetections,
    metadata: dict[str, str] | None = None,
    input_size: int = 64,
    batch: int | None = None,
):
    """An onnx.ModelProto: input `images` [B, 3, S, S]; outputs are the constants expanded to B.

    metadata=None builds realistic metadata for these detections; pass {} for a model without any.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    arrays = _output_arrays(detections)
    if metadata is None:
        metadata = default_metadata(
            input_size=input_size,
            outputs=tuple(arrays),
            mask_dim=detections.coefficients.shape[1],
            max_detections=detections.scores.shape[0],
        )
    nodes = [
        helper.make_node("Shape", ["images"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
    ]
    initializers = [numpy_helper.from_array(np.array([0], np.int64), "zero"),
                    numpy_helper.from_array(np.array([1], np.int64), "one")]
    outputs = []
    batch_dim: int | str = batch if batch else "batch"
    for name, value in arrays.items():
        per_image = value[None]
        initializers.append(numpy_helper.from_array(per_image, f"{name}_value"))
        initializers.append(numpy_helper.from_array(np.array(value.shape, np.int64), f"{name}_rest"))
        nodes.append(helper.make_node("Concat", ["batch", f"{name}_rest"], [f"{name}_shape"], axis=0))
        nodes.append(helper.make_node("Expand", [f"{name}_value", f"{name}_shape"], [name]))
        dtype = helper.np_dtype_to_tensor_dtype(value.dtype)
        outputs.append(helper.make_tensor_value_info(name, dtype, [batch_dim, *value.shape]))
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch_dim, 3, input_size, input_size])
    graph = helper.make_graph(nodes, "fake_yolact", [images], outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="yolact-fake")
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def save_fake_model(path: str | os.PathLike[str], detections: RawDetections, **kwargs) -> str:
    import onnx

    onnx.save(make_fake_model(detections, **kwargs), os.fspath(path))
    return os.fspath(path)


def _output_arrays(d: RawDetections) -> dict[str, np.ndarray]:
    arrays = {
        contract.BOXES: d.boxes.astype(np.float32),
        contract.SCORES: d.scores.astype(np.float32),
        contract.CLASSES: d.classes.astype(np.int64),
        contract.COEFFICIENTS: d.coefficients.astype(np.float32),
        contract.PROTOTYPES: d.prototypes.astype(np.float32),
        contract.NUM_DETECTIONS: np.array(d.num_detections, dtype=np.int64),
    }
    if d.masks is not None:
        arrays[contract.MASKS] = d.masks.astype(np.float32)
    if d.mask_scores is not None:
        arrays[contract.MASK_SCORES] = d.mask_scores.astype(np.float32)
    return arrays
