"""COCO bbox / mask AP of a checkpoint (PyTorch path) or an exported model (runtime path)."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# One image in, COCO results of that image out (image_id filled in by the caller).
Detector = Callable[[np.ndarray], list[dict]]


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def torch_detector(weights: str | Path) -> Detector:
    from ..model.checkpoint import load_checkpoint
    from ..detection.predict import predict

    model, cfg = load_checkpoint(weights)
    ids = cfg.category_ids or tuple(range(1, cfg.num_classes))

    def detect(image: np.ndarray) -> list[dict]:
        det = predict(model, image)
        mask_scores = det.scores if det.mask_scores is None else det.mask_scores
        return [{"category_id": int(ids[int(c)]), "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]),
                                                            float(b[3] - b[1])],
                 "score": float(s), "mask_score": float(ms), "segmentation": _rle(m)}
                for b, s, ms, c, m in zip(det.boxes, det.scores, mask_scores, det.classes, det.masks)]

    return detect


def onnx_detector(model_path: str | Path, providers: str = "cpu", precision: str = "default") -> Detector:
    from yolact_runtime import Yolact

    model = Yolact(str(model_path), providers=providers, score_threshold=0.0, precision=precision)

    def detect(image: np.ndarray) -> list[dict]:
        result = model(image)
        boxes = result.to_coco(0, iou_type="bbox")
        masks = result.to_coco(0, iou_type="segm")
        return [{**b, "mask_score": m["score"], "segmentation": m["segmentation"]} for b, m in zip(boxes, masks)]

    return detect


def _results(detect: Detector, coco: COCO, images_dir: Path, image_ids: list[int],
             progress: Callable[[Iterator], Iterator], unreadable: list[str]) -> tuple[list[dict], list[int]]:
    """The results and the ids of the images read; one line per image that is not, in `unreadable`."""
    from yolact_runtime import InputError
    from yolact_runtime.tools import read_image

    results, done = [], []
    for image_id in progress(image_ids):
        path = images_dir / coco.loadImgs(image_id)[0]["file_name"]
        try:
            image = read_image(path)
        except InputError as error:
            unreadable.append(str(error))
            continue
        results += [{**r, "image_id": image_id} for r in detect(image)]
        done.append(image_id)
    return results, done


def _ap(coco: COCO, results: list[dict], iou_type: str, image_ids: list[int]) -> dict[str, float]:
    if not results:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), iou_type)
        ev.params.imgIds = image_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"AP": 100 * ev.stats[0], "AP50": 100 * ev.stats[1], "AP75": 100 * ev.stats[2]}


def evaluate(model_path: str | Path, annotations: str | Path, images_dir: str | Path, limit: int | None = None,
             progress: Callable[[Iterator], Iterator] = iter, providers: str = "cpu",
             precision: str = "default", unreadable: list[str] | None = None) -> dict[str, dict[str, float]]:
    """{"box": {AP, AP50, AP75}, "mask": {...}} in percent. `.onnx` runs the runtime, else PyTorch.

    An image that cannot be read is left out of the AP, its line added to `unreadable` (when given).

    providers / precision choose the runtime's execution provider (see yolact_runtime.Yolact).

    As in the original's COCO eval, masks are ranked by the mask score (YOLACT++ re-scoring) and
    boxes by the box score.
    """
    onnx = str(model_path).endswith(".onnx")
    detect = onnx_detector(model_path, providers, precision) if onnx else torch_detector(model_path)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(annotations))
    image_ids = sorted(coco.getImgIds())[:limit]
    results, image_ids = _results(detect, coco, Path(images_dir), image_ids, progress,
                                  unreadable if unreadable is not None else [])
    if not image_ids:
        raise ValueError(f"{images_dir}: none of the {annotations} images could be read")
    boxes = [{k: v for k, v in r.items() if k not in ("segmentation", "mask_score")} for r in results]
    masks = [{**{k: v for k, v in r.items() if k not in ("bbox", "mask_score")}, "score": r["mask_score"]}
             for r in results]
    return {"box": _ap(coco, boxes, "bbox", image_ids), "mask": _ap(coco, masks, "segm", image_ids)}
