"""How a check ends, for yolact-check and yolact-export --check alike: one error line per input that
could not be checked, the summary, the reports written, and the exit status."""
from __future__ import annotations

import json
from collections.abc import Callable

from ..core.io import write_bytes
from .check import failed_input
from .report import CheckReport, summary, to_json, to_junit

OK, FAILED, USAGE = 0, 1, 2  # FAILED: parity, or some inputs; USAGE: also a missing model or an unwritable report


class ReportWriteError(OSError):
    """A --json / --junit file that could not be written (one line naming it)."""


def finish(report: CheckReport, input_errors: list[str], echo: Callable[[str], None],
           echo_error: Callable[[str], None], json_path: str | None = None, junit_path: str | None = None) -> int:
    """Print the errors and the summary, write the reports; the exit status."""
    report.images += [failed_input(line.split(": ", 1)[0], line) for line in input_errors]
    for image in report.errors:
        echo_error(f"error: {image.error}")
    for line in summary(report):
        echo(line)
    try:
        if json_path:
            write_bytes(json_path, json.dumps(to_json(report), indent=1).encode("utf-8"))
        if junit_path:
            write_bytes(junit_path, to_junit(report))
    except OSError as error:
        raise ReportWriteError(f"{error.filename or json_path or junit_path}: {error.strerror or error}") from None
    if not report.images:
        return USAGE
    return OK if report.passed else FAILED
