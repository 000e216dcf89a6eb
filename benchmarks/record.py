"""Where an experiment script's JSON goes: --out (a file, written atomically), else stdout."""
from __future__ import annotations

import json
import sys

from yolact_runtime.tools import write_bytes


def write_record(doc: dict, out: str | None) -> None:
    text = json.dumps(doc, indent=1) + "\n"
    if out:
        write_bytes(out, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
