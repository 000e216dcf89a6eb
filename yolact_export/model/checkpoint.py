"""Checkpoints: loading the original's (and ours) with the config inferred from the weights
alone, and writing and resuming ours (yolact-train)."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from yolact_runtime.tools import first_line
from yolact_runtime.tools import atomic_path

from .config import COCO_CATEGORY_IDS, COCO_CLASSES, PRESETS, YolactConfig, get_config
from .config import _plus_scales
from .yolact import YolactNet


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not match a YOLACT layout."""


def _load(path: str | Path) -> object:
    """The object stored in a checkpoint file: the one place that calls torch.load (weights_only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt pickles
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {_why_unreadable(path, exc)}") from None


def _why_unreadable(path: Path, error: Exception) -> str:
    """The cause in words: torch's own (a bare number for a text file, a cut-off sentence) says little."""
    with path.open("rb") as file:
        head = file.read(4)
    if head != b"PK\x03\x04":  # torch.save's format since 1.6 is a zip archive
        if head[:1] == b"\x80":
            return f"a legacy (pickle) torch.save file that does not unpickle ({type(error).__name__})"
        return "neither torch.save's zip archive nor a legacy pickle"
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except zipfile.BadZipFile:
        return "a zip archive cut off or damaged (no central directory): a partial download or copy?"
    if damaged:
        return f"a damaged zip archive ({damaged} fails its checksum)"
    return first_line(error)


def _is_ours(obj: object) -> bool:
    return isinstance(obj, dict) and "state_dict" in obj and isinstance(obj.get("config"), dict)


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """Returns (state_dict, stored config dict or None)."""
    obj = _load(path)
    if _is_ours(obj):
        return dict(obj["state_dict"]), obj["config"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    return dict(obj), None


def resume_path(out: Path) -> Path:
    """Where yolact-train keeps optimizer state and iteration, next to the model checkpoint."""
    return out.with_name(out.stem + ".resume" + out.suffix)


def save_training_state(model: YolactNet, optimizer: torch.optim.Optimizer, iteration: int, out: Path) -> None:
    """Our format: {config, state_dict} at `out` (what load_checkpoint reads), plus optimizer
    state and iteration at resume_path(out); each written to a temp file, then renamed."""
    state = {"config": model.config.to_dict(), "state_dict": model.state_dict()}
    for path, obj in ((out, state), (resume_path(out), dict(state, optimizer=optimizer.state_dict(),
                                                                  iteration=iteration))):
        with atomic_path(path) as temp:
            torch.save(obj, temp)


@dataclass(frozen=True)
class TrainingState:
    config: YolactConfig
    state_dict: dict[str, torch.Tensor]
    optimizer: dict | None
    iteration: int


def read_training_state(path: str | Path, config: YolactConfig | None = None) -> TrainingState:
    """What save_training_state wrote (a --resume file); `config`, if given, must be the stored one."""
    obj = _load(path)
    if not _is_ours(obj):
        raise CheckpointError(f"{path}: not a yolact-train checkpoint (needs 'config' and 'state_dict')")
    stored = YolactConfig.from_dict(obj["config"])
    if config is not None and config.to_dict() != stored.to_dict():
        raise CheckpointError(f"{path}: stored config {stored.name} differs from --config {config.name}")
    return TrainingState(stored, obj["state_dict"], obj.get("optimizer"), int(obj.get("iteration", 0)))


def _max_index(keys: list[str], prefix: str, position: int) -> int:
    idx = [int(k.split(".")[position]) for k in keys if k.startswith(prefix)]
    return max(idx) if idx else -1


def infer_config(sd: dict[str, torch.Tensor], input_size: int = 550) -> YolactConfig:
    """Infer architecture facts from an original-layout state_dict."""
    keys = list(sd)
    required = ["fpn.lat_layers.0.weight", "proto_net.10.weight", "prediction_layers.0.bbox_layer.weight",
                "prediction_layers.0.conf_layer.weight"]
    missing = [k for k in required if k not in sd]
    if missing:
        raise CheckpointError(f"not a YOLACT state_dict: missing {', '.join(missing)}")
    num_stages = _max_index(keys, "backbone.layers.", 2) + 1
    stages = [_max_index(keys, f"backbone.layers.{i}.", 3) + 1 for i in range(num_stages)]
    if "backbone._preconv.0.weight" in sd:
        family = dict(backbone="darknet", block="bottleneck", layers=tuple(n - 1 for n in stages),
                      dcn_blocks=((),) * num_stages, transform="to_float", base_width=64)
    elif "backbone.conv1.weight" in sd:
        bottleneck = "backbone.layers.0.0.conv3.weight" in sd
        dcn = tuple(tuple(sorted(int(k.split(".")[3]) for k in keys
                                 if k.startswith(f"backbone.layers.{i}.") and k.endswith("conv_offset_mask.weight")))
                    for i in range(num_stages))
        family = dict(backbone="resnet", block="bottleneck" if bottleneck else "basic", layers=tuple(stages),
                      dcn_blocks=dcn, transform="normalize", base_width=sd["backbone.conv1.weight"].shape[0])
    else:
        raise CheckpointError("unknown backbone: neither backbone.conv1 (ResNet) nor backbone._preconv (DarkNet)")
    num_lat = _max_index(keys, "fpn.lat_layers.", 2) + 1
    anchors = sd["prediction_layers.0.bbox_layer.weight"].shape[0] // 4
    num_classes = sd["prediction_layers.0.conf_layer.weight"].shape[0] // anchors
    if anchors == 3:
        scales, square = PRESETS["yolact_base"].pred_scales, True
    elif anchors == 9:
        scales, square = _plus_scales(), False
    else:
        raise CheckpointError(f"unsupported head: {anchors} priors per location (expected 3 for YOLACT, 9 for YOLACT++)")
    maskiou = tuple(sd[f"maskiou_net.maskiou_net.{2 * i}.weight"].shape[0]
                    for i in range(_max_index(keys, "maskiou_net.maskiou_net.", 2) // 2))
    coco = num_classes == 81
    cfg = YolactConfig(
        name="custom", selected_layers=tuple(range(num_stages - num_lat, num_stages)),
        pred_scales=scales, use_square_anchors=square, num_classes=num_classes,
        class_names=COCO_CLASSES if coco else tuple(f"class_{i + 1}" for i in range(num_classes - 1)),
        category_ids=COCO_CATEGORY_IDS if coco else None,
        fpn_features=sd["fpn.lat_layers.0.weight"].shape[0], mask_dim=sd["proto_net.10.weight"].shape[0],
        use_maskiou=bool(maskiou), maskiou_channels=maskiou or YolactConfig.maskiou_channels, **family)
    cfg = cfg.at_size(input_size)
    return cfg.replace(name=_preset_name(cfg))


def _preset_name(cfg: YolactConfig) -> str:
    for name, preset in PRESETS.items():
        if preset.replace(name="custom") == cfg:
            return name
    return "custom"


def input_size_from_filename(path: str | Path) -> int | None:
    m = re.search(r"_im(\d+)_", Path(path).name)
    return int(m.group(1)) if m else None


def drop_legacy_keys(sd: dict[str, torch.Tensor], num_downsample: int) -> dict[str, torch.Tensor]:
    """The original's load_weights rules: old `backbone.layerN` keys and surplus FPN downsample layers."""
    def keep(k: str) -> bool:
        if k.startswith("backbone.layer") and not k.startswith("backbone.layers"):
            return False
        if k.startswith("fpn.downsample_layers."):
            return int(k.split(".")[2]) < num_downsample
        return True

    return {k: v for k, v in sd.items() if keep(k)}


def _check_layout(model: YolactNet, sd: dict[str, torch.Tensor]) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = [f"{k} {tuple(sd[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in sd and sd[k].shape != v.shape]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:5])}{more}")
    if problems:
        raise CheckpointError(f"checkpoint does not match config {model.config.name}: " + "; ".join(problems))


def load_checkpoint(path: str | Path, config: YolactConfig | str | None = None,
                    input_size: int | None = None) -> tuple[YolactNet, YolactConfig]:
    """Load an original YOLACT / YOLACT++ checkpoint (or one of ours) unchanged, in eval mode.

    Without `config`, it comes from the checkpoint (ours store it) or is inferred from the weights;
    the input size then comes from `input_size`, the official file name (`*_im700_*`), or 550.
    """
    sd, stored = read_state_dict(path)
    if isinstance(config, str):
        config = get_config(config)
    if config is None and stored is not None:
        config = YolactConfig.from_dict(stored)
    if config is None:
        try:
            config = infer_config(sd, input_size or input_size_from_filename(path) or 550)
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
    if input_size:
        config = config.at_size(input_size)
    sd = drop_legacy_keys(sd, config.num_downsample)
    model = YolactNet(config)
    try:
        _check_layout(model, sd)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    model.load_state_dict(sd, strict=True)
    return model.eval(), config
