"""The docs' performance tables are the results files: benchmarks/doc_tables.py renders every
`<!-- table: NAME -->` block of README.md and docs/*.md from benchmarks/results/*.json, and the
committed text must equal what it renders (run `python benchmarks/doc_tables.py` after a bench)."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("doc_tables", REPO / "benchmarks" / "doc_tables.py")
doc_tables = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(doc_tables)


@pytest.mark.parametrize("path", doc_tables.DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_tables_equal_their_results_files(path):
    text = path.read_text()
    assert doc_tables.rendered(text, path) == text, \
        f"{path.relative_to(REPO)}: tables differ from benchmarks/results; run python benchmarks/doc_tables.py"


def test_every_table_is_used_and_names_its_file_date_and_cpu():
    used = {name for path in doc_tables.DOCS for name in re.findall(r"<!-- table: ([\w.-]+) -->", path.read_text())}
    assert used == set(doc_tables.TABLES), "a table no doc shows, or a block with no renderer"
    for name, render in doc_tables.TABLES.items():
        first = render()[0]
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", first) and "family" in first and "load" in first, (name, first)
        assert re.search(r"avx2|avx512f", first), (name, first)  # the ISA flags, not only the model name


def test_a_changed_result_changes_its_table(tmp_path, monkeypatch):
    """The check can fail: a median edited in a copy of a results file shows up in the rendered text."""
    stem = "yolact_resnet50-550-random"
    doc = json.loads((doc_tables.RESULTS / f"{stem}.json").read_text())
    doc["paths"]["onnx-int8"]["total"]["median_ms"] = 123.456
    for path in doc_tables.RESULTS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / f"{stem}.json").write_text(json.dumps(doc))
    before = "\n".join(doc_tables.TABLES["summary"]())
    monkeypatch.setattr(doc_tables, "RESULTS", tmp_path)
    after = "\n".join(doc_tables.TABLES["summary"]())
    assert "123.5" in after and "123.5" not in before


def test_links_to_the_results_files_resolve_from_each_doc():
    for path in doc_tables.DOCS:
        for target in re.findall(r"\]\(([^)#]*benchmarks/results/[^)]+)\)", path.read_text()):
            assert (path.parent / target).is_file(), (path.relative_to(REPO), target)
