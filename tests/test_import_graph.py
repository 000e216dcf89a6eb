"""The runtime's import graph: no circles, and `from yolact_runtime import Yolact` loads only what one
prediction needs. (Layers and the yolact_export boundary: lint-imports, pyproject.toml.)"""
from __future__ import annotations

import json
import subprocess
import sys

import grimp  # import-linter's graph library (the test extra)

# Not needed to predict one image: drawing, polygons, the OpenVINO wrapper, the command lines and the
# pipeline, the cluster, and RLE (pycocotools) unless RLE masks are asked for.
NOT_FOR_ONE_PREDICTION = ("yolact_runtime.core.draw", "yolact_runtime.core.polygons", "yolact_runtime.core.openvino",
                          "yolact_runtime.core.masks.rle", "yolact_runtime.cli", "yolact_runtime.pipeline",
                          "yolact_runtime.cluster", "yolact_runtime.parity", "pycocotools", "openvino")


def circles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan's components > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module) & modules):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = stack[stack.index(module):]
            del stack[stack.index(module):]
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_the_runtime_has_no_import_circles() -> None:
    graph = grimp.build_graph("yolact_runtime", exclude_type_checking_imports=True, cache_dir=None)
    assert circles(graph, set(graph.modules)) == []


def test_circles_are_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    assert circles(graph, set(graph.modules)) == []
    graph.add_import(importer="p.c", imported="p.a")
    assert circles(graph, set(graph.modules)) == [["p.a", "p.b", "p.c"]]


def test_importing_yolact_loads_only_what_one_prediction_needs() -> None:
    code = ("import sys, json; from yolact_runtime import Yolact; "
            "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    unneeded = [m for m in loaded if m.startswith(NOT_FOR_ONE_PREDICTION)]
    assert unneeded == []
    assert "yolact_runtime.core.model" in loaded and "yolact_runtime.core.masks.build" in loaded
