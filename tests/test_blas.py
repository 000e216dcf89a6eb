"""The mask matmul runs on one BLAS thread (core/blas.py): the count seen inside the call is 1,
the caller's count is back afterwards, and the product is numpy's own, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

from yolact_runtime.core import blas
from yolact_runtime.core.masks.soft import assemble_masks


def blas_threads(controller: ThreadpoolController) -> list[int]:
    return [pool.num_threads for pool in controller.select(user_api="blas").lib_controllers]


@pytest.fixture()
def two_blas_threads():
    controller = ThreadpoolController()
    if not blas_threads(controller):
        pytest.skip("threadpoolctl sees no BLAS library behind this numpy")
    with controller.limit(limits=2, user_api="blas"):
        yield controller


def test_the_mask_matmul_sees_one_blas_thread_and_restores_the_count(two_blas_threads, monkeypatch):
    seen: list[list[int]] = []
    real = np.matmul

    def spy(*args, **kwargs):
        seen.append(blas_threads(two_blas_threads))
        return real(*args, **kwargs)

    rng = np.random.default_rng(0)
    prototypes = np.maximum(rng.standard_normal((40, 40, 32)), 0).astype(np.float32)
    coefficients = np.tanh(rng.standard_normal((9, 32))).astype(np.float32)
    boxes = np.tile(np.float32([0.1, 0.2, 0.8, 0.9]), (9, 1))
    expected = real(coefficients, prototypes.reshape(-1, 32).T)
    monkeypatch.setattr(blas.np, "matmul", spy)
    soft = assemble_masks(prototypes, coefficients, boxes)
    assert seen == [[1] * len(seen[0])]
    assert blas_threads(two_blas_threads) == [2] * len(seen[0])
    inside = soft[:, 9:37, 5:33]  # within every padded crop: the sigmoid of numpy's own logits
    logits = expected.reshape(9, 40, 40)[:, 9:37, 5:33]
    assert np.array_equal(inside, np.float32(1) / (np.exp(-logits) + np.float32(1)))
