"""The ONNX output contract (version 1.1): tensor names, metadata keys, their writer and reader,
and the node scopes of the network that the graph converters (fp16, int8) work on.

This is the one module that knows the names; everything else asks it (the exporter too).
The C++ runtime keeps its own copy (runtime/cpp/src/contract.hpp); tests/test_contract_names.py checks it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ModelError
from .onnx_props import WireError, read_metadata_props

# `yolact.contract_version` holds the major version (what readers gate on); additions bump
# `yolact.contract_minor`, so every 1.x reader still opens the file. 1.1 added `yolact.precision`.
CONTRACT_VERSION = 1
CONTRACT_MINOR = 1

INPUT = "images"
BOXES = "boxes"
SCORES = "scores"
CLASSES = "classes"
COEFFICIENTS = "coefficients"
PROTOTYPES = "prototypes"
NUM_DETECTIONS = "num_detections"
MASKS = "masks"
MASK_SCORES = "mask_scores"
REQUIRED_OUTPUTS = (BOXES, SCORES, CLASSES, COEFFICIENTS, PROTOTYPES, NUM_DETECTIONS)
OPTIONAL_OUTPUTS = (MASKS, MASK_SCORES)

PREFIX = "yolact."
KEY_CONTRACT_VERSION = PREFIX + "contract_version"
KEY_EXPORTER_VERSION = PREFIX + "exporter_version"
KEY_CONFIG = PREFIX + "config"
KEY_CLASS_NAMES = PREFIX + "class_names"
KEY_CATEGORY_IDS = PREFIX + "category_ids"
KEY_INPUT_SIZE = PREFIX + "input_size"
KEY_PREPROCESS = PREFIX + "preprocess"
KEY_NMS = PREFIX + "nms"
KEY_MASK_DIM = PREFIX + "mask_dim"
KEY_OUTPUTS = PREFIX + "outputs"
KEY_DCN = PREFIX + "dcn"  # YOLACT++: "native" (ONNX DeformConv) or "decomposed"
KEY_CONTRACT_MINOR = PREFIX + "contract_minor"
KEY_PRECISION = PREFIX + "precision"
KEY_QUANTIZATION = PREFIX + "quantization"  # written by yolact-export --int8; informative, not read

# The one default of every command that selects (box score > this, see select_rows); 0 for evaluation.
DEFAULT_SCORE_THRESHOLD = 0.3

PRECISIONS = ("fp32", "fp16", "int8")  # of the network; I/O, decoding and NMS are fp32 in all

TRANSFORMS = ("normalize", "to_float")


@dataclass(frozen=True)
class PreprocessSpec:
    """How an image becomes the `images` tensor (the original FastBaseTransform)."""

    transform: str = "normalize"
    mean_bgr: tuple[float, float, float] = (103.94, 116.78, 123.68)
    std_bgr: tuple[float, float, float] = (57.38, 57.12, 58.40)
    channel_order: str = "RGB"
    resize: str = "bilinear"


@dataclass(frozen=True)
class ModelInfo:
    """Everything the runtime needs from the model's metadata_props."""

    contract_version: int
    class_names: tuple[str, ...]
    input_size: int
    preprocess: PreprocessSpec
    outputs: tuple[str, ...]
    category_ids: tuple[int, ...] | None = None
    exporter_version: str = ""
    config: str = ""
    mask_dim: int | None = None
    nms: Mapping[str, Any] = field(default_factory=dict)
    dcn: str | None = None
    contract_minor: int = 0
    precision: str = "fp32"  # files before contract 1.1 carry no key: they are fp32

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_masks(self) -> bool:
        return MASKS in self.outputs

    @property
    def has_mask_scores(self) -> bool:
        return MASK_SCORES in self.outputs


def write_metadata(info: ModelInfo) -> dict[str, str]:
    """The metadata_props that say `info`: the inverse of parse_metadata (strings, JSON where structured)."""
    props = {
        KEY_CONTRACT_VERSION: str(info.contract_version),
        KEY_EXPORTER_VERSION: info.exporter_version,
        KEY_CONFIG: info.config,
        KEY_CLASS_NAMES: json.dumps(list(info.class_names)),
        KEY_CATEGORY_IDS: json.dumps(None if info.category_ids is None else list(info.category_ids)),
        KEY_INPUT_SIZE: str(info.input_size),
        KEY_PREPROCESS: json.dumps(asdict(info.preprocess)),
        KEY_NMS: json.dumps(dict(info.nms)),
        KEY_MASK_DIM: None if info.mask_dim is None else str(info.mask_dim),
        KEY_OUTPUTS: json.dumps(list(info.outputs)),
        KEY_DCN: info.dcn,
        KEY_CONTRACT_MINOR: str(info.contract_minor),
        KEY_PRECISION: info.precision,
    }
    if info.contract_minor < 1:  # contract 1.0 files carry neither key (and are fp32)
        del props[KEY_CONTRACT_MINOR], props[KEY_PRECISION]
    return {key: value for key, value in props.items() if value is not None}


def read_model_info(path: str | os.PathLike[str]) -> ModelInfo:
    """The ModelInfo of an ONNX file, read without loading the model (so before any engine build)."""
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise ModelError(f"{source}: model file not found")
    try:
        props = read_metadata_props(source)
    except OSError as error:
        raise ModelError(f"{source}: cannot read the model ({error.strerror or error})") from None
    except (WireError, UnicodeDecodeError) as error:
        raise ModelError(f"{source}: not an ONNX model ({error})") from None
    return parse_metadata(props, source)


def parse_metadata(metadata: Mapping[str, str], source: str = "model") -> ModelInfo:
    if KEY_CONTRACT_VERSION not in metadata:
        raise ModelError(
            f"{source}: not a yolact-export model (metadata key '{KEY_CONTRACT_VERSION}' is missing);"
            " export it with yolact-export"
        )
    version = _int(_value(metadata, KEY_CONTRACT_VERSION, source), KEY_CONTRACT_VERSION, source)
    if version != CONTRACT_VERSION:
        raise ModelError(
            f"{source}: ONNX contract version {version} is not supported by this runtime"
            f" (it reads version {CONTRACT_VERSION})"
        )
    class_names = _class_names(_value(metadata, KEY_CLASS_NAMES, source), source)
    category_ids = _category_ids(metadata, len(class_names), source)
    outputs = _outputs(_value(metadata, KEY_OUTPUTS, source), source)
    mask_dim = _optional(metadata, KEY_MASK_DIM, source)
    nms = _optional(metadata, KEY_NMS, source)
    return ModelInfo(
        contract_version=version,
        class_names=class_names,
        input_size=_positive_int(_value(metadata, KEY_INPUT_SIZE, source), KEY_INPUT_SIZE, source),
        preprocess=_preprocess(_value(metadata, KEY_PREPROCESS, source), source),
        outputs=outputs,
        category_ids=category_ids,
        exporter_version=str(metadata.get(KEY_EXPORTER_VERSION, "")),
        config=str(metadata.get(KEY_CONFIG, "")),
        mask_dim=None if mask_dim is None else _positive_int(mask_dim, KEY_MASK_DIM, source),
        nms=nms if isinstance(nms, dict) else {},
        dcn=metadata.get(KEY_DCN),
        contract_minor=_int(metadata.get(KEY_CONTRACT_MINOR, "0"), KEY_CONTRACT_MINOR, source),
        precision=_precision(metadata.get(KEY_PRECISION, "fp32"), source),
    )


def _precision(value: str, source: str) -> str:
    if value not in PRECISIONS:
        raise ModelError(f"{source}: metadata key '{KEY_PRECISION}' is {value!r} (expected one of {list(PRECISIONS)})")
    return value


def _value(metadata: Mapping[str, str], key: str, source: str) -> Any:
    if key not in metadata:
        raise ModelError(f"{source}: metadata key '{key}' is missing")
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise ModelError(f"{source}: metadata key '{key}' is not valid JSON ({error.msg})") from None


def _optional(metadata: Mapping[str, str], key: str, source: str) -> Any:
    return _value(metadata, key, source) if key in metadata else None


def _int(value: Any, key: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ModelError(f"{source}: metadata key '{key}' must be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ModelError(f"{source}: metadata key '{key}' must be an integer, got {value!r}") from None


def _positive_int(value: Any, key: str, source: str) -> int:
    number = _int(value, key, source)
    if number <= 0:
        raise ModelError(f"{source}: metadata key '{key}' must be positive, got {number}")
    return number


def _class_names(value: Any, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ModelError(f"{source}: metadata key '{KEY_CLASS_NAMES}' must be a non-empty list of strings")
    return tuple(value)


def _category_ids(metadata: Mapping[str, str], num_classes: int, source: str) -> tuple[int, ...] | None:
    value = _optional(metadata, KEY_CATEGORY_IDS, source)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != num_classes:
        raise ModelError(
            f"{source}: metadata key '{KEY_CATEGORY_IDS}' must be null or a list of {num_classes} integers"
        )
    return tuple(_int(v, KEY_CATEGORY_IDS, source) for v in value)


def _outputs(value: Any, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ModelError(f"{source}: metadata key '{KEY_OUTPUTS}' must be a list of output names")
    missing = [name for name in REQUIRED_OUTPUTS if name not in value]
    if missing:
        raise ModelError(f"{source}: metadata key '{KEY_OUTPUTS}' lacks required outputs {missing}")
    return tuple(value)


def _preprocess(value: Any, source: str) -> PreprocessSpec:
    if not isinstance(value, dict):
        raise ModelError(f"{source}: metadata key '{KEY_PREPROCESS}' must be a JSON object")
    transform = value.get("transform")
    if transform not in TRANSFORMS:
        raise ModelError(
            f"{source}: preprocess transform {transform!r} is not supported (expected one of {list(TRANSFORMS)})"
        )
    resize = value.get("resize", "bilinear")
    if resize != "bilinear":
        raise ModelError(f"{source}: preprocess resize {resize!r} is not supported (expected 'bilinear')")
    order = value.get("channel_order", "RGB")
    if order not in ("RGB", "BGR"):
        raise ModelError(f"{source}: preprocess channel_order {order!r} is not supported (expected 'RGB' or 'BGR')")
    defaults = PreprocessSpec()
    return PreprocessSpec(
        transform=transform,
        mean_bgr=_triple(value.get("mean_bgr", defaults.mean_bgr), "mean_bgr", source),
        std_bgr=_triple(value.get("std_bgr", defaults.std_bgr), "std_bgr", source),
        channel_order=order,
        resize=resize,
    )


def _triple(value: Any, name: str, source: str) -> tuple[float, float, float]:
    ok = isinstance(value, (list, tuple)) and len(value) == 3
    if not ok or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ModelError(f"{source}: preprocess {name} must be a list of 3 numbers, got {value!r}")
    if name == "std_bgr" and any(v == 0 for v in value):
        raise ModelError(f"{source}: preprocess std_bgr must not contain zeros")
    return (float(value[0]), float(value[1]), float(value[2]))
