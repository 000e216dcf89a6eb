"""Fault injection for the Ray engine's tests: a YolactPredictor whose actor dies on a chosen image.

The tests put it in place of yolact_runtime.ray_engine.YolactPredictor (monkeypatch) and have Ray
pickle this module by value, so that the actors, which cannot import tests/, run it too.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from yolact_runtime.ray_predictor import YolactPredictor, text

# "<key>|<marker file>": the actor handed that key exits hard the first time (it creates the marker
# first), so that Ray restarts it and retries the batch. Workers inherit the environment.
CRASH_ONCE_ENV = "YOLACT_RAY_TEST_CRASH_ONCE"


class CrashingPredictor(YolactPredictor):
    def __call__(self, batch: Any) -> dict[str, Any]:
        key, _, marker = os.environ.get(CRASH_ONCE_ENV, "").partition("|")
        keys = {text(k) for k in batch.get("key", [])} if isinstance(batch, dict) else set()
        if key in keys and marker and not os.path.exists(marker):
            Path(marker).write_text("crashed once\n")
            os._exit(70)
        return super().__call__(batch)
