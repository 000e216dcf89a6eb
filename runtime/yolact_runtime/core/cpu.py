"""The CPU this process runs on: model name, ISA flags and ids, from /proc/cpuinfo (Linux)."""
from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

# Native bf16 arithmetic: what makes OpenVINO (and oneDNN) choose bf16 over f32 by default.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_info() -> tuple[str, frozenset[str], dict[str, str]]:
    """(model name, ISA flags, vendor_id / family / model / stepping)."""
    model, flags, ids = platform.processor() or platform.machine(), set(), {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, frozenset(flags), ids
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and value.strip():
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
        elif key in ("vendor_id", "cpu family", "model", "stepping") and key not in ids:
            ids[key] = value.strip()
    return model, frozenset(flags), ids


def bf16_flags() -> list[str]:
    """The native-bf16 flags this CPU has (none: OpenVINO runs f32 whatever the hint)."""
    return [flag for flag in BF16_FLAGS if flag in cpu_info()[1]]
