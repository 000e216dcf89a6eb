"""Start-up of a model: Yolact(model, providers) opened, then one prediction, each in a fresh process.

    python scripts/startup_time.py MODEL.onnx

Runs ONNX Runtime's CPU once, then OpenVINO with an empty compile cache and twice from it (the
cache lives in a temporary XDG_CACHE_HOME), and prints seconds from the start of each process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from yolact_runtime.tools import cpu_info

CHILD = r"""
import sys, time
start = time.perf_counter()
import numpy as np
from yolact_runtime import Yolact
model = Yolact(sys.argv[1], sys.argv[2], intra_op_threads=2)
opened = time.perf_counter() - start
model(np.zeros((481, 640, 3), np.uint8))
print(f"{opened:.2f} {time.perf_counter() - start:.2f} {model.providers[0]} {model.precision}")
"""
RUNS = (("ONNX Runtime CPU", "cpu"), ("OpenVINO, empty cache", "openvino"), ("OpenVINO, cached", "openvino"),
        ("OpenVINO, cached again", "openvino"))


def main(model: str) -> None:
    name, flags, _ids = cpu_info()
    print(f"{model} on {name} ({', '.join(sorted(f for f in flags if f.startswith(('avx512_bf16', 'amx'))))})")
    env = dict(os.environ, XDG_CACHE_HOME=tempfile.mkdtemp())
    for label, providers in RUNS:
        proc = subprocess.run([sys.executable, "-c", CHILD, model, providers], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{label}: {proc.stderr.strip().splitlines()[-1]}")
        opened, done, engine, precision = proc.stdout.split()
        print(f"{label:24s} opened {opened} s, first prediction done {done} s ({engine}, {precision})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    main(sys.argv[1])
