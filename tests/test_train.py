"""Training pieces: encoding, matching, losses, a tiny end-to-end run and data set errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from yolact_export.model.checkpoint import load_checkpoint
from yolact_export.model.config import get_config
from yolact_export.data.coco import DatasetError, load_coco
from yolact_export.data.synthetic import SynthOptions, generate
from yolact_export.detection.boxes import box_iou, decode_boxes, encode, point_form
from yolact_export.model.yolact import RawOutputs
from yolact_export.train.loss import Target, hard_negative_mask, yolact_loss
from yolact_export.train.matching import match
from yolact_export.train.cli import train_main

CFG = get_config("yolact_shapes")


def test_encode_decode_round_trip() -> None:
    g = torch.Generator().manual_seed(0)
    priors = torch.cat([torch.rand(50, 2, generator=g), torch.rand(50, 2, generator=g) * 0.5 + 0.05], 1)
    xy = torch.rand(50, 2, generator=g) * 0.6
    gt = torch.cat([xy, xy + torch.rand(50, 2, generator=g) * 0.4 + 0.01], 1)
    assert torch.allclose(decode_boxes(encode(gt, priors), priors), gt, atol=1e-5)


def test_matching_thresholds_and_forced_prior() -> None:
    gt = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.7, 0.7, 0.8, 0.8]])
    labels = torch.tensor([2, 4])
    # IoU with gt 0: 1.0, 0.45 (neutral), 0.3 (negative); gt 1 overlaps prior 3 only, at 0.25.
    priors_pf = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.0, 0.0, 0.4, 0.18], [0.0, 0.0, 0.4, 0.12],
                              [0.7, 0.7, 0.75, 0.75], [0.2, 0.6, 0.3, 0.7]])
    priors = torch.cat([(priors_pf[:, :2] + priors_pf[:, 2:]) / 2, priors_pf[:, 2:] - priors_pf[:, :2]], 1)
    iou = box_iou(gt, point_form(priors))
    assert torch.allclose(iou[0, :3], torch.tensor([1.0, 0.45, 0.3]), atol=1e-5)
    assert torch.isclose(iou[1, 3], torch.tensor(0.25), atol=1e-5)
    conf_t, idx_t = match(gt, labels, priors)
    assert conf_t.tolist() == [3, -1, 0, 5, 0]  # class + 1; forced match for gt 1 despite IoU 0.25
    assert idx_t[0] == 0 and idx_t[3] == 1


def test_hard_negative_mining_ratio() -> None:
    g = torch.Generator().manual_seed(1)
    conf = torch.randn(2, 200, 6, generator=g)
    conf_t = torch.zeros(2, 200, dtype=torch.long)
    conf_t[0, :5] = 2
    conf_t[0, 5:20] = -1
    conf_t[1, :40] = -1  # no positives: no negatives either
    keep = hard_negative_mask(conf, conf_t)
    neg = keep & (conf_t == 0)
    assert int(neg[0].sum()) == 15 and int(neg[1].sum()) == 0
    assert not (keep & (conf_t < 0)).any()
    bg_loss = torch.logsumexp(conf[0], -1) - conf[0, :, 0]
    candidates = bg_loss[conf_t[0] == 0]
    assert torch.isclose(bg_loss[neg[0]].min(), candidates.topk(15).values.min())


def _case(correct: bool) -> tuple[RawOutputs, list[Target], torch.Tensor]:
    priors = torch.tensor([[0.3, 0.3, 0.4, 0.4], [0.7, 0.7, 0.2, 0.2]] + [[0.5, 0.5, 0.05, 0.05]] * 10)
    boxes = torch.tensor([[0.1, 0.1, 0.5, 0.5]])
    masks = torch.zeros(1, 32, 32)
    masks[0, 4:12, 4:16] = 1
    target = Target(boxes, torch.tensor([1]), masks)
    loc = torch.full((1, 12, 4), 1.0)
    conf = torch.full((1, 12, 6), -5.0)
    conf[0, :, 0] = 5.0
    if correct:
        loc[0, 0] = encode(boxes, priors[:1])[0]
        conf[0, 0, 0], conf[0, 0, 2] = -5.0, 5.0
    proto = (masks[0] * 20 - 10).reshape(32, 32, 1)  # one prototype equal to the mask
    coeffs = torch.full((1, 12, 1), 1.0 if correct else -1.0)
    segm = (masks * 20 - 10).reshape(1, 1, 32, 32).repeat(1, 5, 1, 1)
    segm[0, [0, 2, 3, 4]] = -10.0
    if not correct:
        segm = -segm
    return RawOutputs(loc, conf, coeffs, proto[None], segm), [target], priors


def test_perfect_prediction_has_lower_loss() -> None:
    good = yolact_loss(*_case(True))
    bad = yolact_loss(*_case(False))
    assert set(good) == {"B", "C", "M", "S"}
    for key in good:
        assert good[key] < bad[key], key
    assert good["B"] == 0 and good["C"] < 1e-3 and good["M"] < 1e-2


def test_each_loss_known_values() -> None:
    """Every loss on a hand-made case whose value is worked out by hand (weights 1.5/1/6.125/1)."""
    import math

    outputs, targets, priors = _case(True)  # prior 0 is the only positive (IoU 1), 11 negatives
    delta = torch.tensor([0.5, -2.0, 0.0, 0.25])  # smooth-L1: 0.125 + 1.5 + 0 + 0.03125
    loc = outputs.loc.clone()
    loc[0, 0] = encode(targets[0].boxes, priors[:1])[0] + delta
    conf = torch.zeros(1, 12, 6)
    conf[0, 0, 2] = 4.0  # the positive, class 1 (+1 for background)
    for prior, logit in zip((3, 5, 7, 9), (3.0, 2.5, 2.0, 1.0)):  # the hardest negatives, in order
        conf[0, prior, 1] = logit
    proto = torch.zeros(1, 32, 32, 1)  # sigmoid(0) = 0.5 everywhere: BCE ln 2 per pixel
    segm = torch.zeros(1, 5, 32, 32)
    losses = yolact_loss(RawOutputs(loc, conf, outputs.coeffs, proto, segm), targets, priors)

    assert losses["B"].item() == pytest.approx(1.5 * (0.125 + 1.5 + 0.03125), rel=1e-5)
    # OHEM keeps 3 negatives per positive: the ones with logits 3, 2.5, 2 (not 1, not the zeros).
    expected_c = sum(math.log(5 + math.exp(v)) for v in (3.0, 2.5, 2.0)) + math.log(5 + math.exp(4.0)) - 4.0
    assert losses["C"].item() == pytest.approx(expected_c, rel=1e-5)
    # Box [0.1, 0.5] at 32 px, padded by a pixel: columns/rows 3..16 (14 x 14) of BCE ln 2,
    # divided by the box area 12.8 x 12.8 px.
    assert losses["M"].item() == pytest.approx(6.125 * math.log(2) * 14 * 14 / (12.8 * 12.8), rel=1e-5)
    assert losses["S"].item() == pytest.approx(5 * math.log(2), rel=1e-5)  # 5 classes, per pixel mean


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate(out, 4, seed=3, opts=SynthOptions(size=96, empty_fraction=0.25))
    return out


def _train_args(data: Path, out: Path, iterations: int) -> list[str]:
    return ["--annotations", str(data / "annotations.json"), "--images", str(data / "images"),
            "--out", str(out), "--iterations", str(iterations), "--batch-size", "2", "--warmup", "2",
            "--no-progress", "--threads", "1"]


def test_tiny_training_run_and_resume(tiny_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.pth"
    result = CliRunner().invoke(train_main, _train_args(tiny_set, out, 3) + ["--config", "yolact_shapes"])
    assert result.exit_code == 0, result.output
    model, config = load_checkpoint(out)
    assert config == CFG and config.name == "yolact_shapes"
    resume = tmp_path / "tiny.resume.pth"
    state = torch.load(resume, weights_only=True)
    assert state["iteration"] == 3 and "optimizer" in state
    result = CliRunner().invoke(train_main, _train_args(tiny_set, out, 4) + ["--resume", str(resume)])
    assert result.exit_code == 0, result.output
    assert torch.load(resume, weights_only=True)["iteration"] == 4


def _broken(tiny_set: Path, tmp_path: Path, edit) -> Path:
    data = json.loads((tiny_set / "annotations.json").read_text())
    edit(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["annotations"][0].update(image_id=999), "references missing image 999"),
    (lambda d: d["categories"].pop(), "do not match config"),
    (lambda d: d["images"][0].update(file_name="nope.png"), "file not found"),
    (lambda d: d.pop("annotations"), "'annotations'"),
])
def test_malformed_dataset(tiny_set: Path, tmp_path: Path, edit, message: str) -> None:
    path = _broken(tiny_set, tmp_path, edit)
    with pytest.raises(DatasetError, match=message):
        load_coco(path, tiny_set / "images", CFG)


def test_cli_reports_one_line_error(tiny_set: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for annotations in (bad, tmp_path / "missing.json"):
        args = ["--annotations", str(annotations), "--images", str(tiny_set / "images"), "--config",
                "yolact_shapes", "--out", str(tmp_path / "x.pth"), "--iterations", "1"]
        result = CliRunner().invoke(train_main, args)
        assert result.exit_code == 2  # a missing or invalid annotations file (README, "Exit status")
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output


def test_missing_images_dir(tiny_set: Path, tmp_path: Path) -> None:
    shutil.copy(tiny_set / "annotations.json", tmp_path / "a.json")
    with pytest.raises(DatasetError, match="images directory not found"):
        load_coco(tmp_path / "a.json", tmp_path / "nowhere", CFG)


def test_resume_restores_weights_and_optimizer_state(tiny_set: Path, tmp_path: Path) -> None:
    """4 iterations straight = 2, then --resume to 4: the same weights, bit for bit (the momentum
    buffers and the weights come back, not only the iteration counter)."""
    straight, split = tmp_path / "straight.pth", tmp_path / "split.pth"
    args = ["--config", "yolact_shapes"]
    assert CliRunner().invoke(train_main, _train_args(tiny_set, straight, 4) + args).exit_code == 0
    assert CliRunner().invoke(train_main, _train_args(tiny_set, split, 2) + args).exit_code == 0
    halfway = torch.load(tmp_path / "split.resume.pth", weights_only=True)
    result = CliRunner().invoke(train_main, _train_args(tiny_set, split, 4) + ["--resume",
                                                                             str(tmp_path / "split.resume.pth")])
    assert result.exit_code == 0, result.output
    want = torch.load(straight, weights_only=True)["state_dict"]
    got = torch.load(split, weights_only=True)["state_dict"]
    assert want.keys() == got.keys()
    differing = [k for k in want if not torch.equal(want[k], got[k])]
    assert differing == [], f"{len(differing)} tensors differ, e.g. {differing[:3]}"
    moved = [k for k in want if not torch.equal(want[k], halfway["state_dict"][k])]
    assert len(moved) > 10, "two more iterations changed nothing: the test would not see a lost state"
    momentum = torch.load(straight.with_name("straight.resume.pth"), weights_only=True)["optimizer"]["state"]
    assert momentum and all("momentum_buffer" in s for s in momentum.values())
