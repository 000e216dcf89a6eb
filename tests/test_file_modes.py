"""Files written atomically get the mode a plain open() gives them: 0666 less the umask (mkstemp alone gives 0600)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from yolact_runtime.core.io import umask, write_bytes

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, mask, mode) -> None:
    old = os.umask(mask)
    try:
        assert umask() == mask
        write_bytes(tmp_path / "a.json", b"{}")
        plain = tmp_path / "plain"
        plain.write_bytes(b"")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == mode == stat.S_IMODE(plain.stat().st_mode)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_yolact_run_outputs_follow_the_umask(tmp_path, model_path, mask, mode) -> None:
    import cv2
    import numpy as np

    images = tmp_path / "in"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.full((40, 50, 3), 90, np.uint8))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "yolact_runtime.cli", str(images), "--model", str(model_path),
               "--out", str(out), "--json", str(out / "r.json"), "--save-masks", "--providers", "cpu", "-q"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          preexec_fn=lambda: os.umask(mask))
    assert proc.returncode == 0, proc.stderr
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 4  # overlay, mask, record, COCO JSON
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: oct(mode) for p in written}


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_yolact_cpp_run_outputs_follow_the_umask(tmp_path, cpp_cli, model_path, mask, mode) -> None:
    """The C++ CLI's --json and overlays (runtime/cpp/examples/output_file.hpp), written under that umask."""
    import cv2
    import numpy as np

    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.full((40, 50, 3), 90, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    command = [str(cpp_cli), str(model_path), str(image), "--json", str(out / "r.json"), "--overlay",
               str(out / "overlays"), "--providers", "cpu"]
    proc = subprocess.run(command, capture_output=True, text=True, preexec_fn=lambda: os.umask(mask))
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["overlays/a.png", "r.json"]  # no temporary file left
    assert {p: oct(stat.S_IMODE((out / p).stat().st_mode)) for p in written} == {p: oct(mode) for p in written}
