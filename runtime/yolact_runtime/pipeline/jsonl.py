"""--jsonl: one JSON line per image and per video or stream frame, written and flushed as each is done.

The file is streamed, not written whole and renamed: each line is complete once flushed, so a
run stopped with Ctrl-C (or a reader following the file) sees only whole lines.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonLines:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def write(self, value: dict[str, Any]) -> None:
        self.file.write(json.dumps(value, separators=(",", ":")) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
