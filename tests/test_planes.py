"""Recycled mask planes (core/masks/planes.py): reused only when no view of a result is alive, handed out
clean and read-only; per-thread scratch buffers (core/scratch.py)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from yolact_runtime.core.masks.planes import painted
from yolact_runtime.core.scratch import scratch

H, W = 90, 160


def _windows(rng: np.random.Generator, count: int) -> list:
    out = []
    for i in range(count):
        top, left = int(rng.integers(0, H - 10)), int(rng.integers(0, W - 10))
        out.append((i, top, left, rng.random((int(rng.integers(1, H - top)), int(rng.integers(1, W - left)))) < 0.5))
    return out


def _dense(windows: list, count: int) -> np.ndarray:
    out = np.zeros((count, H, W), bool)
    for i, top, left, pixels in windows:
        out[i, top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    return out


def test_planes_are_read_only() -> None:
    masks = painted(_windows(np.random.default_rng(0), 3), 3, H, W)
    with pytest.raises(ValueError, match="read-only"):
        masks[0, 0, 0] = True


def test_dropped_planes_come_back_clean() -> None:
    rng = np.random.default_rng(1)
    first = painted(_windows(rng, 7), 7, H, W)
    address = first.ctypes.data
    del first
    windows = _windows(rng, 5)
    second = painted(windows, 5, H, W)
    assert second.ctypes.data == address  # the same memory again ...
    assert np.array_equal(second, _dense(windows, 5))  # ... with nothing left of the first result


def test_planes_with_a_live_view_are_not_reused() -> None:
    rng = np.random.default_rng(2)
    windows = _windows(rng, 4)
    first = painted(windows, 4, H, W)
    one_plane = first[2]  # a view keeps the planes in use
    del first
    second = painted(_windows(rng, 4), 4, H, W)
    assert not np.shares_memory(one_plane, second)
    assert np.array_equal(one_plane, _dense(windows, 4)[2])


def test_scratch_is_per_name_and_per_thread() -> None:
    a = scratch("test a", (4, 5))
    a.fill(7)
    again = scratch("test a", (2, 3), zeroed=True)
    assert np.shares_memory(a, again) and not again.any()
    assert not np.shares_memory(a, scratch("test b", (4, 5)))
    other: list[np.ndarray] = []
    thread = threading.Thread(target=lambda: other.append(scratch("test a", (4, 5))))
    thread.start()
    thread.join()
    assert not np.shares_memory(a, other[0])


@pytest.mark.parametrize(("setting", "value"), [("KEEP_BYTES", 0), ("RECYCLE", False)])
def test_planes_over_the_budget_or_without_the_gil_are_not_kept(monkeypatch: pytest.MonkeyPatch, setting: str,
                                                                 value: object) -> None:
    from yolact_runtime.core.masks import planes

    monkeypatch.setattr(planes, setting, value)
    monkeypatch.setattr(planes, "_kept", [])
    rng = np.random.default_rng(3)
    first = painted(_windows(rng, 6), 6, H, W)
    assert planes._kept == []
    windows = _windows(rng, 6)
    second = painted(windows, 6, H, W)
    assert not np.shares_memory(first, second) and np.array_equal(second, _dense(windows, 6))
