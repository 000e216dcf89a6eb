"""Every option of every command has a help text (pyproject's [project.scripts], all click commands)."""
from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parents[1]


def _scripts() -> dict[str, str]:
    section = (REPO / "pyproject.toml").read_text().split("[project.scripts]")[1].split("\n\n")[0]
    pairs = (line.split("=", 1) for line in section.strip().splitlines() if "=" in line)
    return {name.strip(): target.strip().strip('"') for name, target in pairs}


@pytest.mark.parametrize("name, target", sorted(_scripts().items()))
def test_every_option_has_help(name, target) -> None:
    module, attribute = target.split(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command), f"{name}: not a click command"
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert options, name
    missing = [p.opts[0] for p in options if not (p.help or "").strip()]
    assert missing == [], f"{name}: options without help: {missing}"


def test_cpp_help_names_every_flag(cpp_cli) -> None:
    """yolact-cpp-run parses by hand: every flag the parser knows is explained in --help."""
    source = (REPO / "runtime" / "cpp" / "examples" / "cli_args.hpp").read_text()
    flags = {part.split('"')[0] for part in source.split('s == "')[1:]} - {"-h", "--help"}
    usage = subprocess.run([str(cpp_cli), "--help"], capture_output=True, text=True).stdout
    explained = {line.split()[0] for line in usage.splitlines() if line.startswith("  --")}
    assert flags - {"--provider"} <= explained and "--provider: the old name" in usage  # the deprecated alias
