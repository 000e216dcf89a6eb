"""Small contract-conforming ONNX models for the C++ tests: constant detections whose scores depend on
the preprocessed input (so preprocessing shows in them), written with onnx.helper; the metadata is the
test fakes' (the contract's writer)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from fakes import default_metadata

from yolact_export.bench.before import crop_masks


COCO_NAMES = (
    "person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
    "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella "
    "handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard "
    "surfboard tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange "
    "broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop "
    "mouse remote keyboard cell_phone microwave oven toaster sink refrigerator book clock vase scissors "
    "teddy_bear hair_drier toothbrush").split()
COCO_NAMES = [n.replace("_", " ") for n in COCO_NAMES]
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def make_contract_model(path: Path, *, in_graph_masks: bool = False, metadata: bool = True,
                        size: int = 550, proto: int = 138, k: int = 32, max_det: int = 100,
                        valid: int = 12, seed: int = 0) -> Path:
    """Write an ONNX model following the contract: constant detections, with scores shifted by
    0.05 x the mean of one preprocessed input channel (so the preprocessing shows in them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    centers = rng.uniform(0.15, 0.85, (valid, 2))
    half = rng.uniform(0.05, 0.3, (valid, 2))
    boxes = np.zeros((1, max_det, 4), np.float32)
    boxes[0, :valid] = np.concatenate([centers - half, centers + half], axis=1)
    boxes[0, 1] = [0.9, 0.8, 0.4, 0.3]      # corners swapped: the runtime orders them
    boxes[0, 2] = [-0.1, 0.5, 0.3, 1.15]    # beyond the image: clamped
    boxes[0, 3] = [0.5, 0.5, 0.504, 0.503]  # tiny
    base = np.zeros((1, max_det), np.float32)
    base[0, :valid] = np.linspace(0.95, 0.2, valid)
    gain = np.zeros((1, max_det), np.float32)
    gain[0, :valid] = 0.05
    channel = np.arange(max_det, dtype=np.int64) % 3
    classes = np.zeros((1, max_det), np.int64)
    classes[0, :valid] = rng.integers(0, len(COCO_NAMES), valid)

    # Prototypes: channel 0 is a constant (a bias), the others Gaussian blobs at the boxes' centres.
    yy, xx = np.mgrid[0:proto, 0:proto].astype(np.float32) + 0.5
    protos = np.zeros((1, proto, proto, k), np.float32)
    protos[0, :, :, 0] = 1.0
    coefs = np.zeros((1, max_det, k), np.float32)
    for d in range(valid):
        c = 1 + d % (k - 1)
        cx, cy = (boxes[0, d, 0] + boxes[0, d, 2]) / 2 * proto, (boxes[0, d, 1] + boxes[0, d, 3]) / 2 * proto
        spread = 2.5 if d % 2 else 1.2  # the wide ones spill over their box: the crop shows
        sx = max(abs(boxes[0, d, 2] - boxes[0, d, 0]) * proto / spread, 1.0)
        sy = max(abs(boxes[0, d, 3] - boxes[0, d, 1]) * proto / spread, 1.0)
        protos[0, :, :, c] += 3 * np.exp(-((xx - cx) / sx) ** 2 / 2 - ((yy - cy) / sy) ** 2 / 2)
        coefs[0, d, 0] = -1.0
        coefs[0, d, c] = 0.9
        coefs[0, d, rng.integers(1, k)] += rng.uniform(-0.3, 0.3)

    consts = {"boxes": boxes, "base": base, "gain": gain, "channel": channel, "classes": classes,
              "coefficients": coefs, "prototypes": protos}
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["means"], axes=[2, 3], keepdims=0),
        helper.make_node("Gather", ["means", "channel"], ["picked"], axis=1),
        helper.make_node("Mul", ["picked", "gain"], ["shift"]),
        helper.make_node("Add", ["base", "shift"], ["scores"]),
        helper.make_node("Identity", ["boxes_c"], ["boxes"]),
        helper.make_node("Identity", ["classes_c"], ["classes"]),
        helper.make_node("Identity", ["coefficients_c"], ["coefficients"]),
        helper.make_node("Identity", ["prototypes_c"], ["prototypes"]),
        helper.make_node("Identity", ["num_c"], ["num_detections"]),
    ]
    consts = {(n if n in ("base", "gain", "channel") else n + "_c"): v for n, v in consts.items()}
    consts["num_c"] = np.array([valid], np.int64)
    outputs = [("boxes", TensorProto.FLOAT, [1, max_det, 4]), ("scores", TensorProto.FLOAT, [1, max_det]),
               ("classes", TensorProto.INT64, [1, max_det]), ("coefficients", TensorProto.FLOAT, [1, max_det, k]),
               ("prototypes", TensorProto.FLOAT, [1, proto, proto, k]), ("num_detections", TensorProto.INT64, [1])]
    if in_graph_masks:  # YOLACT++ style; masks deliberately differ from what P, C would assemble
        other = coefs[0, :valid].copy()
        other[:, 0] = -0.3  # larger masks than P, C assemble to
        soft = np.zeros((1, max_det, proto, proto), np.float32)
        logits = (protos[0].reshape(-1, k) @ other.T).T.reshape(valid, proto, proto)
        soft[0, :valid] = crop_masks((1 / (1 + np.exp(-logits))).astype(np.float32), boxes[0, :valid])
        consts["masks_c"], consts["mask_iou"] = soft, rng.uniform(0.5, 1.0, (1, max_det)).astype(np.float32)
        nodes += [helper.make_node("Identity", ["masks_c"], ["masks"]),
                  helper.make_node("Mul", ["scores", "mask_iou"], ["mask_scores"])]
        outputs += [("masks", TensorProto.FLOAT, [1, max_det, proto, proto]),
                    ("mask_scores", TensorProto.FLOAT, [1, max_det])]
    graph = helper.make_graph(
        nodes, "yolact_contract_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 3, size, size])],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=[numpy_helper.from_array(v, n) for n, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata:
        helper.set_model_props(model, default_metadata(
            class_names=tuple(COCO_NAMES) if not in_graph_masks else tuple(f"thing {i}" for i in range(len(COCO_NAMES))),
            category_ids=None if in_graph_masks else COCO_IDS, input_size=size, outputs=tuple(n for n, _, _ in outputs),
            mask_dim=k, max_detections=max_det))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
