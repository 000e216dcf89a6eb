"""The README's code runs as written: its Python blocks are executed, and the C++ snippets of README.md
and runtime/cpp/README.md are compiled (a project over the installed package, as a user links it) and
run, in a folder laid out as a clone after `make demo` (demo_out/yolact_shapes.onnx, examples/, models/)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_cpp_package import BUILD, CONSUMER_CMAKE, _cpp_detections, _run

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(python|cpp)\n(.*?)^```", re.S | re.M)
IMAGE = "examples/shapes/images/000005.jpg"  # the image the snippets segment
SHAPE_CLASSES = {"disc", "rectangle", "triangle", "star", "ring"}


def blocks(path: Path, language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(path.read_text()) if lang == language]


PYTHON = blocks(REPO / "README.md", "python")
CPP = {"readme": blocks(REPO / "README.md", "cpp"), "cpp_readme": blocks(REPO / "runtime" / "cpp" / "README.md", "cpp")}


@pytest.fixture
def clone(tmp_path: Path, shipped_onnx: Path) -> Path:
    (tmp_path / "demo_out").mkdir()
    shutil.copy(shipped_onnx, tmp_path / "demo_out" / "yolact_shapes.onnx")
    for name in ("examples", "models"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def _summary(line: str) -> tuple[int, list[str], list[float]]:
    """`Result(3 detections: disc 1.00, rectangle 0.99, …; masks …)` -> (3, names, scores)."""
    count = int(re.match(r"Result\((\d+) detection", line)[1])
    pairs = re.findall(r"([a-z]+) (\d\.\d\d)", line.split(":", 1)[1].split(";")[0])
    return count, [name for name, _ in pairs], [float(score) for _, score in pairs]


def test_the_readme_has_the_snippets():
    assert len(PYTHON) >= 2 and len(CPP["readme"]) == 1 and len(CPP["cpp_readme"]) == 1


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_a_readme_python_block_runs_and_prints_what_it_says(index, clone, monkeypatch, capsys):
    code = PYTHON[index]
    monkeypatch.chdir(clone)
    namespace: dict = {}
    exec(compile(code, f"README.md python block {index}", "exec"), namespace)
    if said := re.search(r"print\(result\)\s*# (Result\(.*\))", code):
        printed = capsys.readouterr().out.strip().splitlines()[-1]
        count, names, scores = _summary(printed)
        want_count, want_names, want_scores = _summary(said[1])
        # whatever engine `auto` picks (OpenVINO bf16 on AMX CPUs): same detections, scores to 0.02
        assert (count, names) == (want_count, want_names), printed
        assert all(abs(a - b) <= 0.02 for a, b in zip(scores, want_scores)), printed
    if "dets" in namespace:  # the PyTorch reference finds what the runtime finds on that image
        assert len(namespace["dets"]) > 0 and namespace["dets"].masks.shape[1:] == (320, 320)


def _program(snippet: str) -> str:
    """The snippet's #include lines, then its statements as main's body: the snippet as written."""
    lines = snippet.splitlines()
    includes = [line for line in lines if line.startswith("#include")]
    body = [line for line in lines if not line.startswith("#include")]
    return "\n".join(includes + ["int main() {", *("    " + line for line in body), "}", ""])


@pytest.mark.parametrize("name", sorted(CPP))
def test_a_cpp_snippet_compiles_and_runs(name, cpp_cli, clone, tmp_path):
    prefix, source, build = tmp_path / "prefix", tmp_path / "app", tmp_path / "app-build"
    _run(["cmake", "--install", BUILD, "--prefix", prefix])
    source.mkdir()
    (source / "CMakeLists.txt").write_text(CONSUMER_CMAKE)
    (source / "main.cpp").write_text(_program(CPP[name][0]))
    _run(["cmake", "-S", source, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"])
    _run(["cmake", "--build", build])
    printed = _run([build / "app"], cwd=clone).stdout.splitlines()

    expected = [e for e in _cpp_detections(cpp_cli, clone / "demo_out" / "yolact_shapes.onnx", tmp_path / "all.json",
                                           "--score-threshold", "0") if e["file_name"] == Path(IMAGE).name]
    assert expected, "the shipped model should find shapes in the snippets' image"
    if name == "readme":
        assert printed == [f"{len(expected)} detections"]
    else:  # one line per detection: class name, score, corner, mask pixels; the CLI's rows in its order
        assert len(printed) == len(expected)
        for line, entry in zip(printed, expected):
            name_, score, corner, pixels, unit = line.split()
            x, y, _, _ = entry["bbox"]
            assert name_ in SHAPE_CLASSES and unit == "px" and int(pixels) > 0, line
            assert abs(float(score) - entry["score"]) <= 1e-5 and corner == f"{x},{y}", (line, entry)
