"""Recycled memory for result masks: zeroed full-size planes, handed out again once no result holds them.

A [n, H, W] bool result is mostly zeros, and only its windows are written. But on first touch
every fresh 4 KB page costs a page fault (about 3-4 us on the VMs measured, a third of a 1280x720
postprocess), and the memory goes back to the system when the result is dropped. So the planes
of results that are no longer referenced are kept (a few), their written windows zeroed, and
handed out again: a loop over frames then touches no fresh pages after the first few. The
planes handed out are read-only (copy them to edit), so nothing but their windows is ever dirty.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field

import numpy as np

# Planes kept for reuse, at most: a few results in flight at 1280x720 (~100 MB each), bounded so
# that large frames do not pin much memory (pages once written stay resident while kept).
KEEP_BYTES = 400 << 20
# "No view alive" is read from CPython's reference count: exact with the GIL, not elsewhere.
RECYCLE = sys.implementation.name == "cpython" and getattr(sys, "_is_gil_enabled", lambda: True)()


@dataclass(eq=False)  # identity: records hold arrays
class _Planes:
    backing: np.ndarray  # bool [capacity, H, W]
    dirty: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # plane, top, left, rows, cols

    def idle(self) -> bool:
        # referenced by this record and by getrefcount's argument only: no view of it is alive
        return sys.getrefcount(self.backing) <= 2

    def clean(self) -> None:
        for i, top, left, rows, cols in self.dirty:
            self.backing[i, top:top + rows, left:left + cols] = False
        self.dirty.clear()


_lock = threading.Lock()
_kept: list[_Planes] = []


def _take(count: int, height: int, width: int) -> _Planes:
    capacity = -(-max(count, 1) // 8) * 8  # untouched planes cost address space only
    with _lock:
        idle = [p for p in _kept if p.idle()]
        fits = [p for p in idle if p.backing.shape[1:] == (height, width) and p.backing.shape[0] >= count]
        if fits:
            planes = min(fits, key=lambda p: p.backing.shape[0])
            planes.clean()
            return planes
        planes = _Planes(np.zeros((capacity, height, width), dtype=bool))
        if not RECYCLE:
            return planes
        while idle and sum(p.backing.nbytes for p in _kept) + planes.backing.nbytes > KEEP_BYTES:
            _kept.remove(idle.pop(0))  # make room: idle planes of other sizes go first
        if sum(p.backing.nbytes for p in _kept) + planes.backing.nbytes <= KEEP_BYTES:
            _kept.append(planes)
        return planes


def painted(windows: list[tuple[int, int, int, np.ndarray]], count: int, height: int, width: int) -> np.ndarray:
    """Read-only bool [count, height, width] masks, zero but for their windows, on recycled planes."""
    planes = _take(count, height, width)
    out = planes.backing[:count]
    for i, top, left, pixels in windows:
        rows, cols = pixels.shape
        out[i, top:top + rows, left:left + cols] = pixels
        planes.dirty.append((i, top, left, rows, cols))
    out.flags.writeable = False
    return out
