"""yolact-run on live sources: an MJPEG-over-HTTP server on 127.0.0.1 started here, and a missing webcam."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from moving_shapes import make_frames
from mjpeg import mjpeg_server
from yolact_runtime.core.model import Yolact
from yolact_runtime.cli import main
from yolact_runtime.pipeline.live import stream_name

SERVED = 40
FPS = 100.0  # the source: a frame every 10 ms
MODEL_SECONDS = 0.04  # the model, made slower than the source


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return [image for image, _ in make_frames(10)]


@pytest.fixture()
def slow_model(monkeypatch):
    infer = Yolact.infer

    def slow(self, batch):
        time.sleep(MODEL_SECONDS)
        return infer(self, batch)

    monkeypatch.setattr(Yolact, "infer", slow)


def _run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_slow_model_drops_frames_and_keeps_up(tmp_path, model_path, frames, slow_model) -> None:
    out = tmp_path / "out"
    with mjpeg_server(frames, FPS, SERVED) as url:
        code, stdout, stderr = _run(url, "--model", model_path, "--out", out, "--jsonl", out / "live.jsonl")
    assert code == 0, stderr
    numbers = [line["frame"] for line in _lines(out / "live.jsonl")]
    assert 2 <= len(numbers) < SERVED and numbers == sorted(set(numbers))
    assert numbers[-1] == SERVED - 1  # the newest frame is taken, not a backlog
    dropped = SERVED - len(numbers)  # every served frame was read: each was processed or dropped
    assert f"{dropped} live frames dropped" in stdout
    assert f"the stream stopped after {SERVED} frames" in stderr  # the server closed on us: a warning
    name = stream_name(url)
    record = json.loads((out / "detections" / f"{name}.json").read_text())
    assert record["frame_numbers"] == numbers and record["file_name"] == url
    capture = cv2.VideoCapture(str(out / "overlays" / f"{name}.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(numbers)
    capture.release()


def test_no_drop_keeps_every_frame(tmp_path, model_path, frames, slow_model) -> None:
    out = tmp_path / "out"
    with mjpeg_server(frames, FPS, SERVED) as url:
        code, stdout, stderr = _run(url, "--model", model_path, "--out", out, "--jsonl", out / "live.jsonl",
                                    "--no-drop", "--no-overlays", "--vid-stride", "2")
    assert code == 0, stderr
    assert [line["frame"] for line in _lines(out / "live.jsonl")] == list(range(0, SERVED, 2))
    assert "dropped" not in stdout


def test_a_server_dying_mid_frame_ends_the_item_with_a_warning(tmp_path, model_path, frames) -> None:
    out = tmp_path / "out"
    with mjpeg_server(frames, FPS, 12, die_mid_frame=True) as url:
        code, _, stderr = _run(url, "--model", model_path, "--out", out, "--no-drop", "--jsonl", out / "l.jsonl")
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if "stopped" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"yolact-run: warning: {url}: the stream stopped after")
    assert "Traceback" not in stderr
    assert len(_lines(out / "l.jsonl")) >= 12  # every whole frame (FFmpeg may pass on the cut one too)


def test_sources_that_cannot_be_opened_are_one_line_each(tmp_path, model_path, frames) -> None:
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), frames[0])
    with mjpeg_server(frames, FPS, 1) as url:
        closed = url  # the server is gone once the block ends
    code, _, stderr = _run("9", closed, image, "--model", model_path, "--out", tmp_path / "out", "-q")
    assert code == 1
    assert stderr.splitlines() == ["error: 9: cannot open webcam 9 (no such camera, or it is busy)",
                                   f"error: {closed}: cannot open stream"]
    assert (tmp_path / "out" / "detections" / "a.json").is_file()  # the other input is still done


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal gives it (see test_failure_paths.py)


def test_ctrl_c_leaves_valid_outputs(tmp_path, model_path, frames) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with mjpeg_server(frames, 30.0, 100_000) as url:
        proc = subprocess.Popen([sys.executable, "-m", "yolact_runtime", url, "--model", str(model_path), "--out",
                                 str(out), "--jsonl", str(out / "live.jsonl"), "--threads", "1", "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                preexec_fn=_default_sigint)
        deadline = time.monotonic() + 60
        while not (out / "live.jsonl").is_file() or len((out / "live.jsonl").read_text().splitlines()) < 5:
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it was interrupted"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["yolact-run: interrupted"]
    lines = _lines(out / "live.jsonl")  # every line whole
    assert len(lines) >= 5
    name = stream_name(url)
    record = json.loads((out / "detections" / f"{name}.json").read_text())
    assert len(record["frames"]) == len(lines)
    capture = cv2.VideoCapture(str(out / "overlays" / f"{name}.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(lines)
    capture.release()
    assert [p for p in out.rglob("*") if p.name.startswith(".")] == []
