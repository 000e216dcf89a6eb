"""The C++ runtime as users meet it, on the shipped model's ONNX and the shapes examples:

- yolact-run and yolact-cpp-run with their default flags keep the same detections;
- a cut-off image file is refused by both, with the same cause;
- `cmake --install` into a fresh prefix, then a separate project with find_package(yolact) and
  target_link_libraries(app PRIVATE yolact::yolact) builds the README's snippet
  (`model.predict(cv::imread(...))`), runs, and prints what yolact-cpp-run writes.
"""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from image_samples import FORMATS, encoded
from pycocotools import mask as mask_utils

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "cpp" / "build"
SHAPES = sorted((REPO / "examples" / "shapes" / "images").glob("*.jpg"))


def _run(command: list, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600, cwd=cwd)
    assert proc.returncode == 0, f"{command[0]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _cpp_detections(cpp_cli: Path, model: Path, out: Path, *flags: str) -> list[dict]:
    _run([cpp_cli, model, *SHAPES, "--json", out, *flags])
    return json.loads(out.read_text())


def _by_image(entries: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {p.name: [] for p in SHAPES}
    for entry in entries:
        grouped[entry["file_name"]].append(entry)
    return grouped


def _mask(segmentation: dict) -> np.ndarray:
    height, width = segmentation["size"]
    counts = segmentation["counts"]
    rle = mask_utils.frPyObjects(segmentation, height, width) if isinstance(counts, list) else \
        {"size": segmentation["size"], "counts": counts.encode("ascii")}
    with warnings.catch_warnings():  # pycocotools vs NumPy 2
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def test_both_command_lines_keep_the_same_detections_by_default(cpp_cli, shipped_onnx, tmp_path):
    out = tmp_path / "py"
    # --providers cpu: yolact-run's "auto" takes OpenVINO where the extra is installed, a different
    # engine; the C++ CLI runs ONNX Runtime's CPU provider. Every other flag is the default.
    _run([sys.executable, "-m", "yolact_runtime", SHAPES[0].parent, "--model", shipped_onnx, "--out", out,
          "--json", out / "results.json", "--quiet", "--providers", "cpu"])
    python = _by_image(json.loads((out / "results.json").read_text()))
    cpp = _by_image(_cpp_detections(cpp_cli, shipped_onnx, tmp_path / "cpp.json"))
    every_row = _cpp_detections(cpp_cli, shipped_onnx, tmp_path / "all.json", "--score-threshold", "0")
    assert any(e["score"] < 0.3 for e in every_row), "the default must matter on these images"
    kept = 0
    for name in python:
        py, cc = python[name], cpp[name]
        assert [(e["category_id"], [int(v) for v in e["bbox"]]) for e in py] == \
            [(e["category_id"], e["bbox"]) for e in cc], name
        assert np.allclose([e["score"] for e in py], [e["score"] for e in cc], rtol=0, atol=1e-4), name
        assert all(e["score"] >= 0.3 for e in cc)
        for a, b in zip(py, cc):
            ma, mb = _mask(a["segmentation"]), _mask(b["segmentation"])
            assert (ma & mb).sum() >= 0.99 * (ma | mb).sum(), name
        kept += len(cc)
    assert kept >= len(SHAPES), "the shipped model should find shapes in every example"
    for command in ([sys.executable, "-m", "yolact_runtime", "--help"], [cpp_cli, "--help"]):
        assert "0.3" in _run(command).stdout.replace("\n", " ")


@pytest.mark.parametrize("extension", FORMATS)
def test_a_cut_file_is_refused_with_the_python_runtimes_cause(cpp_cli, shipped_onnx, tmp_path, extension):
    from yolact_runtime.core.truncation import truncation

    whole = encoded(REPO / "tests" / "data" / "photos" / "yolact_example_1.png", extension)
    cut, kept = tmp_path / f"cut{extension.split('-')[0]}", tmp_path / f"whole{extension.split('-')[0]}"
    cut.write_bytes(whole[: len(whole) // 2])
    kept.write_bytes(whole)
    proc = subprocess.run([str(cpp_cli), str(shipped_onnx), str(cut), str(kept), "--json", str(tmp_path / "o.json"),
                           "--providers", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"yolact-cpp-run: cannot read image {cut}: {truncation(cut.read_bytes())} (skipped)"]
    assert proc.stdout.startswith(f"{kept}: ") and proc.stdout.count("detections") == 1  # the whole file is read


CONSUMER_CMAKE = """cmake_minimum_required(VERSION 3.16)
project(app CXX)
find_package(yolact REQUIRED)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE yolact::yolact)
"""

# The README's snippet (runtime/cpp/README.md, "Linking the library"), run over argv's images.
CONSUMER_MAIN = r"""#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <yolact/yolact.hpp>

int main(int argc, char** argv) {
    yolact::Options options;
    yolact::Model model(argv[1], options);
    for (int i = 2; i < argc; ++i)
        for (const yolact::Detection& d : model.predict(cv::imread(argv[i])))
            std::cout << argv[i] << " " << d.class_name << " " << d.category_id << " " << d.score << " "
                      << d.box.x1 << " " << d.box.y1 << " " << d.box.x2 << " " << d.box.y2 << " "
                      << cv::countNonZero(d.mask) << "\n";
}
"""


def test_a_project_builds_against_the_installed_package(cpp_cli, shipped_onnx, tmp_path):
    prefix, source, build = tmp_path / "prefix", tmp_path / "app", tmp_path / "app-build"
    _run(["cmake", "--install", BUILD, "--prefix", prefix])
    installed = prefix / "bin" / "yolact-cpp-run"
    runpath = _run(["readelf", "-d", installed]).stdout
    assert str(REPO) not in runpath and "$ORIGIN/../lib" in runpath, runpath
    assert (prefix / "lib" / "libonnxruntime.so.1").is_file()  # what $ORIGIN/../lib finds
    source.mkdir()
    (source / "CMakeLists.txt").write_text(CONSUMER_CMAKE)
    (source / "main.cpp").write_text(CONSUMER_MAIN)
    _run(["cmake", "-S", source, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"])
    _run(["cmake", "--build", build])
    app_runpath = _run(["readelf", "-d", build / "app"]).stdout
    assert str(REPO) not in app_runpath and str(prefix / "lib") in app_runpath, app_runpath  # the installed ORT
    printed = _run([build / "app", shipped_onnx, *SHAPES]).stdout.splitlines()

    expected = _cpp_detections(installed, shipped_onnx, tmp_path / "cpp_cli.json", "--score-threshold", "0")
    assert len(printed) == len(expected) > 0
    for line, entry in zip(printed, expected):
        path, name, category, score, x1, y1, x2, y2, pixels = line.split()
        x, y, w, h = entry["bbox"]
        assert (Path(path).name, int(category), [int(x1), int(y1), int(x2), int(y2)]) == \
            (entry["file_name"], entry["category_id"], [x, y, x + w, y + h])
        assert abs(float(score) - entry["score"]) <= 1e-5 and name in ("disc", "rectangle", "triangle", "star", "ring")
        assert int(pixels) == int(_mask(entry["segmentation"]).sum())
