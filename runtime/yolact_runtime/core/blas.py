"""Matrix products on one BLAS thread, so that the engine keeps its cores.

numpy's OpenBLAS splits even a small product over all cores, and its worker threads then
busy-wait for a while before they sleep. The engine uses the same cores, so that spin lands on
the next inference and slows it (measured in docs/performance.md). One thread computes the same
products (OpenBLAS splits rows and columns, never the k-long chain of an element) without it.
"""
from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import ThreadpoolController

_lock = threading.Lock()  # the BLAS thread count is process-wide: one limited call at a time
_controller: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()  # scans the loaded libraries once
    return _controller


def matmul_one_thread(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """np.matmul(a, b, out=out) with numpy's BLAS limited to one thread for the call."""
    with _lock, _blas().limit(limits=1, user_api="blas"):
        return np.matmul(a, b, out=out)
