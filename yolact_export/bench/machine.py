"""What the numbers were measured on: CPU model, cores, ISA flags, library versions, providers."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from yolact_runtime.core.cpu import cpu_info

# ISA extensions that decide which MLAS / oneDNN kernels run.
FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
         "amx_tile", "amx_int8", "amx_bf16")


def physical_cores() -> int | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    cores, phys, core = set(), None, None
    for line in text.splitlines() + [""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            phys = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not line.strip():
            if core is not None:
                cores.add((phys, core))
            phys = core = None
    return len(cores) or None


def int8_kernel(flags: set[str]) -> str:
    """The int8 GEMM path ONNX Runtime's MLAS dispatches to on this CPU (x86-64), from its flags."""
    if {"amx_tile", "amx_int8"} <= flags:
        return "AMX-INT8"
    if "avx512_vnni" in flags:
        return "AVX512-VNNI"
    if "avx_vnni" in flags:
        return "AVX-VNNI"
    if "avx512bw" in flags:
        return "AVX512BW (no VNNI: u8s8 via vpmaddubsw, may saturate)"
    if "avx2" in flags:
        return "AVX2 (no VNNI: u8s8 via vpmaddubsw, may saturate)"
    return "generic"


def openvino_ep() -> dict:
    """The OpenVINO plugin EP: its version, whether it has a CPU device here, why not."""
    from importlib.metadata import PackageNotFoundError, version

    from yolact_runtime.core import openvino

    try:
        release = version("onnxruntime-ep-openvino")
    except PackageNotFoundError:
        release = None
    devices, problem = openvino.cpu_devices()
    return {"version": release, "cpu_device": bool(devices), "why_not": problem or None}


def describe(threads: int | None = None) -> dict:
    import numpy
    import onnxruntime as ort

    model, flags, ids = cpu_info()
    out = {
        "cpu": model,
        "cpu_id": ids,
        "logical_cores": os.cpu_count(),
        "physical_cores": physical_cores(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": threads,
        "isa_flags": {f: f in flags for f in FLAGS},
        "int8_kernel": int8_kernel(flags),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "onnxruntime": ort.__version__,
        "onnxruntime_providers": ort.get_available_providers(),
    }
    out["openvino_ep"] = openvino_ep()
    try:
        import torch

        out["torch"] = torch.__version__
        out["torch_threads"] = torch.get_num_threads()
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        out["torch_mkldnn_bf16"] = bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: None)())
    except Exception:  # torch is optional for the runtime paths
        out["torch"] = None
    try:
        import cv2

        out["opencv"] = cv2.__version__
    except ImportError:
        pass
    try:
        out["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return out
