"""The detections of one image in pixels: boxes, scores, classes, masks; COCO export and drawing."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Result:
    """Detections of one image, best first.

    boxes: int64 [n, 4] pixel x1 y1 x2 y2; scores: float32 [n] box scores; class_ids: int64 [n]
    (0-based); class_names: n names; category_ids: int64 [n] COCO ids; masks: bool [n, H, W] (or
    [n, h, w] at prototype resolution, or None); mask_scores: float32 [n] (YOLACT++) or None.
    masks="rle" leaves `masks` None: read the masks with `rle()` (COCO RLE dicts {"size", "counts"},
    one per detection, at image size) or `image_masks()` (decoded); `rles` is where they are kept.
    """

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    class_names: list[str]
    category_ids: np.ndarray
    image_size: tuple[int, int]  # (height, width) of the original image
    masks: np.ndarray | None = None
    mask_scores: np.ndarray | None = None
    rles: list[dict[str, Any]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __repr__(self) -> str:
        """`Result(3 detections: person 0.98, dog 0.91, …; masks 480×640)`: the best three."""
        count = len(self)
        text = f"{count} detection{'' if count == 1 else 's'}"
        if count:
            best = [f"{name} {float(score):.2f}" for name, score in zip(self.class_names[:3], self.ranking_scores)]
            text += ": " + ", ".join(best + (["…"] if count > 3 else []))
        return f"Result({text}; {self._masks_summary()})"

    def _masks_summary(self) -> str:
        height, width = self.image_size
        if self.masks is not None:
            mask_h, mask_w = self.masks.shape[1:]
            prototype = (mask_h, mask_w) != (height, width)
            return f"masks {mask_h}×{mask_w}" + (f" (prototype size; image {height}×{width})" if prototype else "")
        if self.rles is not None:
            return f"RLE masks {height}×{width}"
        return f"no masks; image {height}×{width}"

    @property
    def ranking_scores(self) -> np.ndarray:
        """The scores detections are ranked by: mask_scores for YOLACT++, else scores."""
        return self.mask_scores if self.mask_scores is not None else self.scores

    def image_masks(self) -> np.ndarray | None:
        """bool [n, H, W] masks at image size (decoded from RLE when needed), or None."""
        if self.masks is not None:
            if self.masks.shape[1:] != tuple(self.image_size):
                raise ValueError("masks are at prototype resolution; ask for masks='image'")
            return self.masks
        if self.rles is not None:
            from .masks.rle import decode_rles  # pycocotools, only for RLE results

            return decode_rles(self.rles, *self.image_size)
        return None

    def rle(self) -> list[dict[str, Any]] | None:
        """COCO RLEs (counts as str) at image size, one per detection (encoded from the masks unless
        masks="rle" gave them directly), or None without masks."""
        if self.rles is not None:
            return self.rles
        masks = self.image_masks()
        if masks is None:
            return None
        from .masks.rle import encode_rles  # pycocotools, only when RLEs are asked for

        return encode_rles(masks)

    def to_coco(self, image_id: int, iou_type: str = "segm") -> list[dict[str, Any]]:
        """COCO results: bbox [x, y, w, h] and, for "segm", the RLE segmentation.

        "segm" scores with mask_scores when the model has them (YOLACT++) and also gives the box
        score as "box_score" (the original's prep_metrics scores its mask results with the mask
        score, its box results with the box score); "bbox" scores with box scores.
        """
        if iou_type not in ("segm", "bbox"):
            raise ValueError(f"iou_type must be 'segm' or 'bbox', got {iou_type!r}")
        segm = iou_type == "segm"
        rles = self.rle() if segm else None
        scores = self.ranking_scores if segm else self.scores
        detections = []
        for i in range(len(self)):
            x1, y1, x2, y2 = (int(v) for v in self.boxes[i])
            detection: dict[str, Any] = {
                "image_id": image_id,
                "category_id": int(self.category_ids[i]),
                "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                "score": float(scores[i]),
            }
            if segm and self.mask_scores is not None:
                detection["box_score"] = float(self.scores[i])
            if rles is not None:
                detection["segmentation"] = rles[i]
            detections.append(detection)
        return detections

    def instance_map(self) -> np.ndarray:
        """[H, W] instance ids (detection i -> i + 1, 0 = none; better-ranked on top): uint8 or uint16."""
        dtype = np.dtype(np.uint8 if len(self) < 256 else np.uint16)
        masks = self.image_masks()
        if masks is None:
            return np.zeros(self.image_size, dtype=dtype)
        from .instance_ids import paint_ids  # not needed to predict

        return paint_ids(masks, dtype)

    def draw(self, image: np.ndarray, alpha: float = 0.45, track_ids: list[int | None] | None = None) -> np.ndarray:
        """A copy of the BGR image with coloured masks, boxes and labels (coloured by track with track_ids)."""
        from .draw import draw_result

        return draw_result(image, self, alpha=alpha, track_ids=track_ids)

