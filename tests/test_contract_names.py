"""The C++ runtime's copy of the contract's names (runtime/cpp/src/contract.hpp) equals the Python
module's (yolact_runtime.contract), name for name."""
from __future__ import annotations

import re
from pathlib import Path

from yolact_runtime import contract

HEADER = Path(__file__).resolve().parents[1] / "runtime" / "cpp" / "src" / "contract.hpp"


def _cpp_constants() -> dict[str, str | int]:
    """kSomeName -> its value, for every `constexpr ... kSomeName = value;` of the header."""
    found: dict[str, str | int] = {}
    for name, value in re.findall(r"constexpr [\w\s*]+? (k\w+) = ([^;]+);", HEADER.read_text()):
        found[name] = int(value) if value.isdigit() else value.strip('"')
    return found


def _python_name(cpp_name: str) -> str:
    """kKeyClassNames -> KEY_CLASS_NAMES."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cpp_name[1:]).upper()


def test_every_cpp_name_equals_the_python_one() -> None:
    constants = _cpp_constants()
    assert len(constants) >= 15, constants
    for cpp_name, value in constants.items():
        assert getattr(contract, _python_name(cpp_name)) == value, cpp_name


def test_the_cpp_runtime_knows_every_output_and_every_key_it_needs() -> None:
    values = set(_cpp_constants().values())
    assert set(contract.REQUIRED_OUTPUTS + contract.OPTIONAL_OUTPUTS) <= values
    read_by_cpp = {contract.KEY_CONTRACT_VERSION, contract.KEY_CLASS_NAMES, contract.KEY_CATEGORY_IDS,
                   contract.KEY_INPUT_SIZE, contract.KEY_PREPROCESS, contract.KEY_NMS, contract.KEY_MASK_DIM}
    assert read_by_cpp <= values


def test_the_cpp_source_spells_no_name_itself() -> None:
    source = "".join(path.read_text() for path in sorted(HEADER.parent.glob("*.[ch]pp")) if path != HEADER)
    for value in _cpp_constants().values():
        if isinstance(value, str):
            assert f'"{value}"' not in source, value
