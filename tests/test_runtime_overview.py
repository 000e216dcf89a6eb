"""The overview picture (yolact-run --overview): the image overlays in one captioned grid."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from yolact_runtime.cli import main
from yolact_runtime.pipeline.overview import CAPTION, GAP, MAX_TILES, overview_grid

SHAPES = Path(__file__).resolve().parents[1] / "examples" / "shapes" / "images"


def test_tiles_fit_without_upscaling_and_keep_their_place() -> None:
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (100, 640, 3), dtype=np.uint8)
    small = rng.integers(0, 256, (50, 80, 3), dtype=np.uint8)
    grid = overview_grid([("wide.png", wide), ("small.png", small), ("c.png", small)], tile=320)
    cell = (320 + CAPTION + GAP, 320 + GAP)
    assert grid.shape == (2 * cell[0], 2 * cell[1], 3)  # 3 tiles: 2 columns, 2 rows, one blank
    top, left = GAP // 2 + (320 - 50) // 2, cell[1] + GAP // 2 + (320 - 80) // 2
    assert np.array_equal(grid[top : top + 50, left : left + 80], small)  # not scaled, centred
    shrunk = cv2.resize(wide, (320, 50), interpolation=cv2.INTER_AREA)
    top = GAP // 2 + (320 - 50) // 2
    assert np.array_equal(grid[top : top + 50, GAP // 2 : GAP // 2 + 320], shrunk)
    assert grid[cell[0] + GAP // 2 :, cell[1] :].max() == 40  # the blank tile is background only


def test_at_most_max_tiles_and_long_names_fit() -> None:
    image = np.full((32, 32, 3), 200, np.uint8)
    grid = overview_grid([(f"a/very/long/folder/name/image_{i:04d}.png", image) for i in range(50)], tile=64)
    side = int(np.ceil(np.sqrt(MAX_TILES)))
    assert grid.shape[:2] == (side * (64 + CAPTION + GAP), side * (64 + GAP))
    with pytest.raises(ValueError):
        overview_grid([])


def _run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_overview_is_named_first_and_bad_uses_are_one_line(tmp_path, model_path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = _run(SHAPES, "--model", model_path, "--out", out, "--overview", out / "overview.png")
    assert code == 0
    assert stdout.splitlines()[0] == f"yolact-run: overview of 6 overlays: {out / 'overview.png'}"
    assert cv2.imread(str(out / "overview.png")).shape[:2] == (2 * (320 + CAPTION + GAP), 3 * (320 + GAP))

    code, _, stderr = _run(SHAPES, "--model", model_path, "--out", out, "--no-overlays", "--overview", "o.png")
    assert code == 2 and "--no-overlays" in stderr
    blocked = tmp_path / "file"
    blocked.write_text("a file where the overview's folder would be")
    code, stdout, stderr = _run(SHAPES, "--model", model_path, "--out", tmp_path / "o2", "--overview",
                                blocked / "overview.png")
    assert code == 2 and "Traceback" not in stderr  # an output that cannot be written: before the work
    assert [line for line in stderr.splitlines() if line.startswith("error: ")] == \
        [f"error: {blocked / 'overview.png'}: cannot be written ({blocked} is not a folder)"]
