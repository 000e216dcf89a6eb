"""What the numbers were measured on: CPU model, cores, ISA flags, load, library versions, providers."""
from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

import cv2
import numpy
import onnxruntime as ort
import torch
from yolact_runtime.tools import cpu_info

# ISA extensions that decide which MLAS / oneDNN kernels run.
FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
         "amx_tile", "amx_int8", "amx_bf16")


def physical_cores() -> int | None:
    try:
        blocks = Path("/proc/cpuinfo").read_text().split("\n\n")
    except OSError:
        return None
    cores = {tuple(re.findall(r"^(?:physical id|core id)\s*:\s*(\S+)", block, re.M)) for block in blocks}
    return len(cores - {()}) or None


def int8_kernel(flags: set[str] | frozenset[str]) -> str:
    """The int8 GEMM path ONNX Runtime's MLAS dispatches to on this CPU (x86-64), from its flags."""
    no_vnni = " (no VNNI: u8s8 via vpmaddubsw, may saturate)"
    kernels = ((("amx_tile", "amx_int8"), "AMX-INT8"), (("avx512_vnni",), "AVX512-VNNI"), (("avx_vnni",), "AVX-VNNI"),
               (("avx512bw",), "AVX512BW" + no_vnni), (("avx2",), "AVX2" + no_vnni))
    return next((kernel for needs, kernel in kernels if set(needs) <= flags), "generic")


def mkldnn_bf16() -> bool:
    """Whether torch has oneDNN bf16 kernels here (an old torch without the probe: assume so)."""
    return bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)())


def load_average() -> list[float] | None:
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def describe(threads: int | None = None) -> dict:
    model, flags, ids = cpu_info()
    return {"cpu": model, "cpu_id": ids, "logical_cores": os.cpu_count(), "physical_cores": physical_cores(),
            "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "threads": threads, "isa_flags": {f: f in flags for f in FLAGS}, "int8_kernel": int8_kernel(flags),
            "platform": platform.platform(), "python": sys.version.split()[0], "numpy": numpy.__version__,
            "opencv": cv2.__version__, "onnxruntime": ort.__version__,
            "onnxruntime_providers": ort.get_available_providers(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch_mkldnn_bf16": mkldnn_bf16(),
            "load_average": load_average()}
