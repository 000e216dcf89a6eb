"""Model configurations: the seven official presets and the facts the exporter and runtime need.

Everything here is plain data (no torch), so a config can be stored inside a checkpoint
(weights_only-safe) and inside ONNX metadata.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)

# COCO category id for each contiguous class index (0-based, without background).
COCO_CATEGORY_IDS: tuple[int, ...] = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27,
    28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
    54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80,
    81, 82, 84, 85, 86, 87, 88, 89, 90,
)

MEANS_BGR = (103.94, 116.78, 123.68)
STD_BGR = (57.38, 57.12, 58.40)

V1_SCALES = (24.0, 48.0, 96.0, 192.0, 384.0)
ASPECT_RATIOS = (1.0, 0.5, 2.0)


@dataclass
class YolactConfig:
    name: str
    # Backbone: "resnet" (bottleneck or basic blocks) or "darknet".
    backbone: str = "resnet"
    block: str = "bottleneck"  # resnet only: "bottleneck" (50/101) or "basic" (18/34)
    layers: tuple[int, ...] = (3, 4, 23, 3)
    # Per stage, which block indices use DCNv2 (YOLACT++).
    dcn_blocks: tuple[tuple[int, ...], ...] = ((), (), (), ())
    selected_layers: tuple[int, ...] = (1, 2, 3)
    base_width: int = 64  # resnet stem/first-stage width (64 for official configs)
    # Priors: one list of pixel scales per FPN level; aspect ratios shared by all levels.
    pred_scales: tuple[tuple[float, ...], ...] = tuple((s,) for s in V1_SCALES)
    aspect_ratios: tuple[float, ...] = ASPECT_RATIOS
    use_square_anchors: bool = True
    max_size: int = 550
    num_classes: int = 81  # including background
    class_names: tuple[str, ...] = COCO_CLASSES
    category_ids: tuple[int, ...] | None = COCO_CATEGORY_IDS
    fpn_features: int = 256
    num_downsample: int = 2
    mask_dim: int = 32
    use_maskiou: bool = False
    maskiou_channels: tuple[int, ...] = (8, 16, 32, 64, 128)
    # Preprocessing: "normalize" = (x - mean) / std in BGR, then RGB; "to_float" = x / 255, RGB.
    transform: str = "normalize"
    mean_bgr: tuple[float, float, float] = MEANS_BGR
    std_bgr: tuple[float, float, float] = STD_BGR
    # Eval defaults of the original (eval.py --fast_nms=True).
    nms_top_k: int = 200
    nms_conf_thresh: float = 0.05
    nms_thresh: float = 0.5
    max_num_detections: int = 100

    @property
    def num_priors_per_location(self) -> int:
        return len(self.pred_scales[0]) * len(self.aspect_ratios)

    @property
    def has_dcn(self) -> bool:
        return any(self.dcn_blocks)

    @property
    def channel_order(self) -> str:
        return "RGB"

    def at_size(self, size: int) -> "YolactConfig":
        """The config at another input size, anchors scaled with it (the original's im400/im700 rule)."""
        if size == self.max_size:
            return self
        scales = tuple(tuple(float(int(s / self.max_size * size)) for s in level) for level in self.pred_scales)
        return self.replace(max_size=size, pred_scales=scales)

    def replace(self, **changes) -> "YolactConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain-python form: safe for torch.load(weights_only=True) and for JSON."""
        out = dataclasses.asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict) -> "YolactConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(unknown)}")

        def as_tuple(v):
            return tuple(as_tuple(x) for x in v) if isinstance(v, (list, tuple)) else v

        return cls(**{k: as_tuple(v) for k, v in data.items()})


def _plus_scales() -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(s * 2 ** (j / 3.0) for j in range(3)) for s in V1_SCALES)


def _dcn_blocks(layers: tuple[int, ...], dcn_layers: tuple[int, ...], interval: int) -> tuple[tuple[int, ...], ...]:
    """Block indices that use DCN, following ResNetBackbone._make_layer of the original."""
    out = []
    for blocks, n_dcn in zip(layers, dcn_layers):
        first = (0,) if n_dcn >= blocks else ()
        rest = tuple(i for i in range(1, blocks) if i + n_dcn >= blocks and i % interval == 0)
        out.append(first + rest)
    return tuple(out)


_BASE = YolactConfig(name="yolact_base")

PRESETS: dict[str, YolactConfig] = {
    "yolact_base": _BASE,
    "yolact_im400": _BASE.at_size(400).replace(name="yolact_im400"),
    "yolact_im700": _BASE.at_size(700).replace(name="yolact_im700"),
    "yolact_resnet50": _BASE.replace(name="yolact_resnet50", layers=(3, 4, 6, 3)),
    "yolact_darknet53": _BASE.replace(
        name="yolact_darknet53", backbone="darknet", layers=(1, 2, 8, 8, 4),
        dcn_blocks=((),) * 5, selected_layers=(2, 3, 4), transform="to_float",
    ),
    "yolact_plus_base": _BASE.replace(
        name="yolact_plus_base", dcn_blocks=_dcn_blocks((3, 4, 23, 3), (0, 4, 23, 3), 3),
        pred_scales=_plus_scales(), use_square_anchors=False, use_maskiou=True,
    ),
    "yolact_plus_resnet50": _BASE.replace(
        name="yolact_plus_resnet50", layers=(3, 4, 6, 3),
        dcn_blocks=_dcn_blocks((3, 4, 6, 3), (0, 4, 6, 3), 1),
        pred_scales=_plus_scales(), use_square_anchors=False, use_maskiou=True,
    ),
    # Small model trained from scratch on the synthetic shapes set (yolact-synth), CPU friendly.
    "yolact_shapes": _BASE.replace(
        name="yolact_shapes", block="basic", layers=(2, 2, 2, 2), base_width=16, max_size=320,
        pred_scales=((20.0,), (40.0,), (80.0,), (160.0,), (280.0,)), num_classes=6,
        class_names=("disc", "rectangle", "triangle", "star", "ring"), category_ids=(1, 2, 3, 4, 5),
        fpn_features=64, mask_dim=16,
    ),
}


def get_config(name: str) -> YolactConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown config {name!r}; choose one of: {', '.join(PRESETS)}") from None

# The seven configs of the original repository, whose checkpoints users hold.
OFFICIAL_CONFIGS: tuple[str, ...] = ("yolact_base", "yolact_im400", "yolact_im700", "yolact_resnet50",
                                     "yolact_darknet53", "yolact_plus_base", "yolact_plus_resnet50")
