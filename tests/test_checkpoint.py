"""Loading checkpoints saved the way the original saves them, and clear errors for bad ones."""
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from yolact_export import CheckpointError, PRESETS, build_model, load_checkpoint
from yolact_export.model.checkpoint import infer_config
from yolact_export.model.config import OFFICIAL_CONFIGS


@pytest.mark.parametrize("name", OFFICIAL_CONFIGS)  # ours store their config instead
def test_infer_config_from_weights(name):
    cfg = PRESETS[name]
    sd = build_model(name).state_dict()
    assert infer_config(sd, cfg.max_size) == cfg


def _save_like_original(model, path):
    # Yolact.save_weights: torch.save(self.state_dict(), path)
    torch.save(OrderedDict(model.state_dict()), path)


@pytest.mark.parametrize("name,filename", [
    ("yolact_resnet50", "yolact_resnet50_54_800000.pth"),
    ("yolact_plus_resnet50", "yolact_plus_resnet50_54_800000.pth"),
    ("yolact_darknet53", "yolact_darknet53_54_800000.pth"),
    ("yolact_im700", "yolact_im700_54_800000.pth"),
])
def test_roundtrip_original_format(tmp_path, name, filename):
    torch.manual_seed(0)
    model = build_model(name)
    with torch.no_grad():  # non-trivial values everywhere, BN stats included
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.uniform_(0.5, 1.5)
    path = tmp_path / filename
    _save_like_original(model, path)
    loaded, cfg = load_checkpoint(path)
    assert cfg == PRESETS[name]
    assert cfg.name == name
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert not loaded.training


def test_config_argument_overrides_size(tmp_path):
    path = tmp_path / "weights.pth"
    _save_like_original(build_model("yolact_resnet50"), path)
    _, cfg = load_checkpoint(path)
    assert cfg.max_size == 550
    _, cfg = load_checkpoint(path, config=PRESETS["yolact_resnet50"].replace(max_size=400))
    assert cfg.max_size == 400


def test_legacy_keys_are_dropped(tmp_path):
    sd = build_model("yolact_resnet50").state_dict()
    sd["backbone.layer1.0.conv1.weight"] = torch.zeros(1)  # very old checkpoints
    sd["fpn.downsample_layers.2.weight"] = torch.zeros(256, 256, 3, 3)  # v1.0 checkpoints
    path = tmp_path / "old.pth"
    torch.save(sd, path)
    _, cfg = load_checkpoint(path)
    assert cfg.name == "yolact_resnet50"


def test_truncated_file(tmp_path):
    path = tmp_path / "yolact_base_54_800000.pth"
    _save_like_original(build_model("yolact_resnet50"), tmp_path / "full.pth")
    path.write_bytes((tmp_path / "full.pth").read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match="yolact_base_54_800000.pth: not a readable PyTorch checkpoint"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pth")


def test_non_yolact_state_dict(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8)).state_dict(), path)
    with pytest.raises(CheckpointError, match="not a YOLACT state_dict: missing fpn.lat_layers.0.weight"):
        load_checkpoint(path)


def test_non_state_dict_pickle(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="expected a state_dict"):
        load_checkpoint(path)


def test_wrong_class_count_against_config(tmp_path):
    # A 21-class (Pascal) head loaded as an 81-class COCO config must name the mismatching layers.
    coco = PRESETS["yolact_resnet50"]
    path = tmp_path / "pascal.pth"
    _save_like_original(build_model(coco.replace(num_classes=21, class_names=tuple("abcdefghijklmnopqrst"))), path)
    with pytest.raises(CheckpointError, match=r"wrong shape: prediction_layers.0.conf_layer.weight \(63, 256, 3, 3\)"):
        load_checkpoint(path, config="yolact_resnet50")
    # Without a config, the class count is inferred from the weights.
    _, cfg = load_checkpoint(path)
    assert cfg.num_classes == 21 and len(cfg.class_names) == 20


def test_partial_checkpoint_lists_missing_keys(tmp_path):
    sd = build_model("yolact_resnet50").state_dict()
    del sd["semantic_seg_conv.weight"], sd["backbone.layers.2.5.conv1.weight"]
    path = tmp_path / "partial.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="2 missing: backbone.layers.2.5.conv1.weight, semantic_seg_conv.weight"):
        load_checkpoint(path)


@pytest.mark.parametrize("content, cause", [
    (b"not a pickle at all\n", "neither torch.save's zip archive nor a legacy pickle"),
    ("cut", "a zip archive cut off or damaged (no central directory): a partial download or copy?"),
])
def test_an_unreadable_checkpoint_says_why_in_one_sentence(tmp_path, content, cause):
    from yolact_export.model.checkpoint import read_state_dict

    shipped = Path(__file__).resolve().parents[1] / "models" / "yolact_shapes.pth"
    path = tmp_path / "w.pth"
    path.write_bytes(shipped.read_bytes()[:100_000] if content == "cut" else content)
    with pytest.raises(CheckpointError) as error:
        read_state_dict(path)
    assert str(error.value) == f"{path}: not a readable PyTorch checkpoint: {cause}"
