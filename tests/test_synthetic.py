"""The synthetic shapes generator: determinism and a valid COCO instances file."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from yolact_export.data.synthetic import SHAPE_NAMES, SynthOptions, generate

OPTS = SynthOptions(size=128, empty_fraction=0.25)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_a")
    generate(out, 8, seed=7, opts=OPTS)
    return out


def _load(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_deterministic(synth: Path, tmp_path: Path) -> None:
    generate(tmp_path, 8, seed=7, opts=OPTS)
    assert (tmp_path / "annotations.json").read_bytes() == (synth / "annotations.json").read_bytes()
    for image in sorted((synth / "images").iterdir()):
        assert (tmp_path / "images" / image.name).read_bytes() == image.read_bytes()


def test_seed_changes_output(synth: Path, tmp_path: Path) -> None:
    generate(tmp_path, 8, seed=8, opts=OPTS)
    assert (tmp_path / "images" / "000000.png").read_bytes() != (synth / "images" / "000000.png").read_bytes()


def test_valid_coco(synth: Path) -> None:
    coco = _load(synth / "annotations.json")
    cats = coco.loadCats(coco.getCatIds())
    assert [(c["id"], c["name"]) for c in cats] == list(zip(range(1, 6), SHAPE_NAMES))
    assert len(coco.getImgIds()) == 8
    anns = coco.loadAnns(coco.getAnnIds())
    assert anns
    for ann in anns:
        assert ann["iscrowd"] == 0 and 1 <= ann["category_id"] <= 5
        m = coco.annToMask(ann)
        assert m.shape == (128, 128)
        ys, xs = np.nonzero(m)
        x, y, w, h = ann["bbox"]
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + h)
        assert ann["area"] == m.sum() >= 40


def test_empty_images(synth: Path) -> None:
    coco = _load(synth / "annotations.json")
    empty = [i for i in coco.getImgIds() if not coco.getAnnIds(imgIds=[i])]
    assert len(empty) == 2


def test_visible_masks_disjoint(synth: Path) -> None:
    data = json.loads((synth / "annotations.json").read_text())
    for image in data["images"]:
        masks = [mask_utils.decode(a["segmentation"]) for a in data["annotations"] if a["image_id"] == image["id"]]
        if masks:
            assert np.stack(masks).sum(axis=0).max() <= 1  # occluded parts belong to the top object only
