"""Fault injection for the Ray engine's tests: a YolactPredictor whose actor dies on chosen images.

The tests put it in place of yolact_runtime.cluster.ray_engine.YolactPredictor (monkeypatch) and have Ray
pickle this module by value, so that the actors, which cannot import tests/, run it too.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from yolact_runtime.cluster.ray_predictor import YolactPredictor, text

# "<key>|<marker file>": the actor handed that key exits hard the first time (it creates the marker
# first), so that Ray restarts it and retries the batch; "<key>|" (no marker): it exits every time, so
# that the key is reported as not processed. Several specs are separated by ";". Workers inherit it.
CRASH_ENV = "YOLACT_RAY_TEST_CRASH"


class CrashingPredictor(YolactPredictor):
    def __call__(self, batch: Any) -> dict[str, Any]:
        keys = {text(k) for k in batch.get("key", [])} if isinstance(batch, dict) else set()
        for spec in filter(None, os.environ.get(CRASH_ENV, "").split(";")):
            key, _, marker = spec.partition("|")
            if key in keys and not (marker and os.path.exists(marker)):
                if marker:
                    Path(marker).write_text("crashed once\n")
                os._exit(70)
        return super().__call__(batch)
