"""yolact-run when things go wrong: a write fails, the run is interrupted, inputs come from a list.

Exit codes are exact: 0 all done, 1 some input or output failed (the others are still
processed), 2 unusable model or engine, 130 interrupted (SIGINT). Every failure is one line naming
the input, and no temp file is left behind. (Writes fail by an injected OSError: the tests run as
root here, for whom a read-only folder is writable.)
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from yolact_runtime.cli import main


@pytest.fixture()
def folder(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(folder / name), rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    return folder


def _run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]


def _failing_writes(monkeypatch, fragment: str) -> None:
    """Path.write_bytes raises ENOSPC for temp files whose name contains `fragment`."""
    real = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if fragment in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_a_failed_write_names_the_input_and_leaves_no_temp_file(monkeypatch, model_path, folder, tmp_path):
    _failing_writes(monkeypatch, ".b.")  # every output of b.png (overlay, record)
    out = tmp_path / "out"
    code, stdout, stderr = _run(folder, "--model", model_path, "--out", out, "--json", out / "r.json",
                                "--score-threshold", "0")
    assert code == 1
    lines = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder / 'b.png'}: ") and "No space left" in lines[0]
    assert "Traceback" not in stderr
    assert _temp_files(out) == []
    assert sorted(p.name for p in (out / "detections").iterdir()) == ["a.json", "c.json"]
    assert {e["file_name"] for e in json.loads((out / "r.json").read_text())} == {"a.png", "c.png"}
    assert "2 images" in stdout and "1 failed" in stdout


def test_a_failed_json_write_is_one_line_exit_2(monkeypatch, model_path, folder, tmp_path):
    _failing_writes(monkeypatch, ".results.")
    out = tmp_path / "out"
    code, _, stderr = _run(folder, "--model", model_path, "--out", out, "--json", out / "results.json", "-q")
    assert code == 2  # an output that cannot be written
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "No space left" in lines[0], stderr
    assert "results" in lines[0]
    assert not (out / "results.json").exists() and _temp_files(out) == []


def test_files_from_lists_inputs_with_comments_and_a_missing_entry(model_path, folder, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# inputs\n{folder / 'a.png'}\n\n{tmp_path / 'gone.png'}\n  {folder / 'c.png'}  \n")
    out = tmp_path / "out"
    code, _, stderr = _run("--files-from", listing, "--model", model_path, "--out", out, "--json", out / "r.json",
                           "-q")
    assert code == 1
    assert stderr.strip().splitlines() == [f"error: {tmp_path / 'gone.png'}: no such file or folder"]
    assert {e["file_name"] for e in json.loads((out / "r.json").read_text())} == {"a.png", "c.png"}


def test_no_input_at_all_is_a_usage_error_exit_2(model_path, tmp_path):
    code, _, stderr = _run("--model", model_path, "--out", tmp_path / "out")
    assert code == 2 and "give at least one input" in stderr


def _default_sigint() -> None:
    # A child inherits an ignored SIGINT (an earlier in-process Ray start or a background shell sets
    # SIG_IGN), and Python then never raises KeyboardInterrupt: give the child the default, as a terminal does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_exits_130_with_one_line_and_no_temp_files(model_path, tmp_path):
    folder, out = tmp_path / "many", tmp_path / "out"
    folder.mkdir()
    image = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for i in range(400):
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "yolact_runtime", str(folder), "--model", str(model_path),
                             "--out", str(out), "--save-masks", "--quiet", "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while not (out / "detections").is_dir() or not any((out / "detections").iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["yolact-run: interrupted"]
    assert "Traceback" not in stderr
    assert _temp_files(out) == []
    done = len(list((out / "detections").iterdir()))
    assert 0 < done < 400


@pytest.mark.parametrize("address", ["ray://127.0.0.1:1", "127.0.0.1:1"])  # Ray Client; a GCS address
def test_an_unreachable_ray_address_is_one_line_exit_2(model_path, folder, tmp_path, address):
    import ray  # noqa: F401  installed by `make test` (the ray extra); missing it is a failure, not a skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    run = subprocess.run([sys.executable, "-m", "yolact_runtime", str(folder), "--model", str(model_path),
                          "--out", str(tmp_path / "out"), "--engine", "ray", "--ray-address", address,
                          "--quiet"], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --ray-address {address}: cannot join Ray"), lines
    assert not (tmp_path / "out" / "detections").exists()
