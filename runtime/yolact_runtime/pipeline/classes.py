"""--classes: which of the model's classes to keep, by name or 0-based id."""
from __future__ import annotations

from collections.abc import Sequence


def parse_classes(given: Sequence[str], class_names: Sequence[str]) -> frozenset[int] | None:
    """Names or ids (each given value may hold several, comma-separated) -> class ids; None keeps all.

    A name matches case-insensitively; a number is an id. Anything else is a ValueError whose one
    line lists the model's classes.
    """
    values = [part.strip() for value in given for part in value.split(",") if part.strip()]
    if not values:
        return None
    by_name = {name.lower(): index for index, name in enumerate(class_names)}
    ids: set[int] = set()
    for value in values:
        if value.lower() in by_name:
            ids.add(by_name[value.lower()])
        elif value.isdigit() and int(value) < len(class_names):
            ids.add(int(value))
        else:
            listed = ", ".join(f"{index} {name}" for index, name in enumerate(class_names))
            raise ValueError(f"--classes: the model has no class {value!r}; its classes are {listed}")
    return frozenset(ids)
