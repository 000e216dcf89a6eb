"""The performance tables of the docs, rendered from benchmarks/results/*.json and nothing else.

    python benchmarks/doc_tables.py            # rewrite every table block in README.md and docs/*.md
    python benchmarks/doc_tables.py --check    # exit 1 naming each block that differs (tests/test_docs_tables.py)

A block is `<!-- table: NAME -->` ... `<!-- /table -->`; NAME is a key of TABLES. Each block opens
with its source line: the results file(s), the date, the CPU (model, ISA flags), threads and load.
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from yolact_export.bench.report import postload_rows, render, table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "models" / "README.md",
        REPO / "runtime" / "cpp" / "README.md")
BLOCK = re.compile(r"(<!-- table: ([\w.-]+) -->\n)(.*?)(<!-- /table -->)", re.S)
ISA = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_bf16")  # what decides the kernels


def result(stem: str) -> dict:
    return json.loads((RESULTS / f"{stem}.json").read_text())


def cpu(machine: dict) -> str:
    flags, ids = machine["isa_flags"], machine.get("cpu_id", {})
    if isinstance(flags, dict):  # every flag checked: name what is missing too
        have = [f for f in ISA if flags.get(f)]
        missing = [f for f in ISA if f not in have]
        isa = ", ".join(have) + (f"; no {', '.join(missing)}" if missing else "")
    else:  # a list of the flags found, as the recorder wrote it
        isa = ", ".join(flags)
    return f"{machine['cpu']} (family {ids.get('cpu family', '?')} model {ids.get('model', '?')}; {isa})"


def load(doc: dict) -> str:
    start = doc.get("load_average_at_start") or doc["machine"].get("load_average")
    end = doc.get("load_average_end") or doc["machine"].get("load_average_end")
    return f"load {start[0]:.1f}" + (f" → {end[0]:.1f}" if end else "")


def source(*stems: str) -> list[str]:
    """The source line: one entry per results file, with its date, CPU, threads and load."""
    entries = []
    for stem in stems:
        doc = result(stem)
        threads = doc["machine"].get("threads") or doc.get("settings", {}).get("threads")
        entries.append(f"[`{stem}.json`](benchmarks/results/{stem}.json): {doc['created'][:10]}, "
                       f"{cpu(doc['machine'])}, {f'{threads} threads, ' if threads else ''}{load(doc)}")
    return [f"<sub>From {'; '.join(entries)}.</sub>", ""]


def ms(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def nms_rows(scenario: dict) -> list[list[str]]:
    """The NMS comparison of an older results file (benchmarks/nms_methods.py measures it now)."""
    return [[method, *(ms(r["timing"][k], 2) for k in ("median_ms", "p90_ms", "min_ms")), ms(r.get("x_fast_onnx"), 2),
             str(r["detections"]), ms(r["agreement_with_traditional"], 2)] for method, r in scenario["methods"].items()]


SUMMARY = ("yolact_shapes-320", "yolact_resnet50-550-random", "yolact_base-550-random")
SUMMARY_PATHS = {"pytorch-fp32": "PyTorch eager fp32", "onnx-fp32": "ONNX fp32 (yolact_runtime)",
                 "onnx-fp16": "ONNX fp16 graph", "onnx-int8": "ONNX INT8 (static QDQ)"}


def summary() -> list[str]:
    docs = [result(stem) for stem in SUMMARY]
    header = ["path", *(f"{d['model']['config']} @{d['model']['input_size']} ({d['model']['source'].split(':')[0]})"
                        for d in docs)]
    rows = [[label, *(f"{ms(p['total']['median_ms'])} ({p['speedup_vs_pytorch_fp32']:.2f}×)"
                      for p in (d["paths"][path] for d in docs))] for path, label in SUMMARY_PATHS.items()]
    return source(*SUMMARY) + table(header, rows)


def ratios() -> list[str]:
    """The ratios the targets are stated in, per model, from the same runs as the summary."""
    docs = [result(stem) for stem in SUMMARY]

    def over(doc: dict, slow: str, fast: str) -> str:
        return f"{doc['paths'][slow]['total']['median_ms'] / doc['paths'][fast]['total']['median_ms']:.2f}×"

    def nms_share(doc: dict) -> str:  # the NMS bench runs at 19,248 priors × 80 classes: COCO models only
        fast = doc.get("nms", {}).get("scenarios", {})
        if doc["model"]["priors"] != 19248 or not fast:
            return "–"
        inference = doc["paths"]["onnx-fp32"]["stages"]["inference"]["median_ms"]
        return " – ".join(f"{100 * s['methods']['fast-onnx']['timing']['median_ms'] / inference:.1f} %"
                          for s in fast.values())
    rows = [["ONNX fp32 over PyTorch eager fp32", *(over(d, "pytorch-fp32", "onnx-fp32") for d in docs)],
            ["INT8 over ONNX fp32", *(over(d, "onnx-fp32", "onnx-int8") for d in docs)],
            ["INT8 over PyTorch eager fp32", *(over(d, "pytorch-fp32", "onnx-int8") for d in docs)],
            ["fp16 graph over fp32 graph (CPU)", *(over(d, "onnx-fp32", "onnx-fp16") for d in docs)],
            ["in-graph Fast NMS, share of ONNX fp32 inference", *(nms_share(d) for d in docs)]]
    return source(*SUMMARY) + table(["speed-up", *(f"{d['model']['config']} @{d['model']['input_size']}"
                                                   for d in docs)], rows)


def bench(stem: str) -> Callable[[], list[str]]:
    """Every table yolact-bench rendered for one results file (yolact_export.bench.report)."""
    return lambda: source(stem) + render([result(stem)]).splitlines()[2:]


def postprocess_load() -> list[str]:
    stem = "yolact_resnet50-550-random"
    return source(stem) + table(["masks", "before (whole frame) ms", "after (windows) ms", "after min ms",
                                 "share of a request", "speed-up"], postload_rows(result(stem)["postprocess_load"]))


def nms() -> list[str]:
    stem = "yolact_resnet50-550-random"
    out = source(stem)
    for name, scenario in result(stem)["nms"]["scenarios"].items():
        i = scenario["inputs"]
        out += [f"{name}: {i['candidates']:,} candidates above 0.05, median ms", ""]
        out += table(["method", "median ms", "p90 ms", "min ms", "× in-graph Fast NMS", "kept",
                      "agreement with traditional"], nms_rows(scenario))
    return out


OPENVINO = {"onnx-fp32": "ONNX Runtime CPU, fp32 graph", "onnx-int8": "ONNX Runtime CPU, INT8 QDQ graph",
            "openvino-fp32": "OpenVINO, fp32 graph, `--precision f32`",
            "openvino-bf16": "OpenVINO, fp32 graph, default precision",
            "openvino-int8": "OpenVINO, INT8 QDQ graph, default precision"}


def openvino() -> list[str]:
    stem = "yolact_resnet50-550-openvino-amx"
    paths = result(stem)["paths"]
    base = paths["onnx-fp32"]

    def row(name: str) -> list[str]:
        p, ran = paths[name], paths[name].get("note", "").split("ran ")[-1].split(" (read back)")[0]
        agree = p.get("agreement_vs_onnx_fp32")
        return [OPENVINO[name], ran if "read back" in p.get("note", "") else ("int8" if "int8" in name else "f32"),
                ms(p["total"]["median_ms"]), ms(p["stages"]["inference"]["median_ms"]),
                ms(p["stages"]["postprocess"]["median_ms"]),
                f"{base['total']['median_ms'] / p['total']['median_ms']:.2f}×",
                f"{base['stages']['inference']['median_ms'] / p['stages']['inference']['median_ms']:.2f}×",
                f"{agree['matched']}/{agree['of']}" if agree else "–"]
    return source(stem) + table(["path", "ran (read back)", "end to end ms", "engine ms", "postprocess ms",
                                 "end to end vs ORT fp32", "engine vs ORT fp32", "top-10 vs ORT fp32"],
                                [row(name) for name in OPENVINO])


def cpp_vs_python() -> list[str]:
    doc = result("cpp-vs-python")
    rows = []
    for model, label in (("shipped_model", "shipped (320)"), ("hundred_detections", "contract (550, large masks)")):
        for r in doc[model]:
            py, cc = r["python"], r["cpp"]
            rows.append([label, r["size"].replace("x", "×"), r["masks"],
                         *(f"{ms(py[k])} / {ms(cc[k])}" for k in ("preprocess_ms", "engine_ms", "postprocess_ms")),
                         f"{r['postprocess_ratio_cpp_over_python']:.2f}"])
    e = doc["end_to_end"]
    return source("cpp-vs-python") + table(["model", "frame", "masks", "preprocess", "engine", "postprocess",
                                            "postprocess C++ / Python"], rows) + [
        f"End to end, {e['frames']} frames at {e['size'].replace('x', '×')} ({e['detections']} detections, "
        f"process start included): `yolact-cpp-run` {e['cpp_s']:.2f} s, `yolact-run --providers cpu` "
        f"{e['python_s']:.2f} s ({e['ratio_cpp_over_python']:.2f}×).", ""]


def web_wasm() -> list[str]:
    rows = []
    for name, m in result("web-wasm")["models"].items():
        for threads, t in m["threads"].items():
            stages = [" / ".join(ms(s[k]["median_ms"]) for k in ("preprocess", "inference", "postprocess"))
                      for s in (t["wasm"]["stages"], t["onnxruntime_cpu"]["stages"])]
            rows.append([name.replace("-", " ", 1).replace("-random", " (random)"), threads, *stages,
                         f"{t['wasm_over_python']:.1f}×"])
    return source("web-wasm") + table(["model", "threads", "wasm pre / inference / post",
                                       "ORT CPU pre / inference / post", "wasm / ORT"], rows)


def check_cost() -> list[str]:
    stem = "check-cost-yolact_resnet50-550"
    steps = result(stem)["steps"]
    run = steps["yolact-run --json (writes the golden file)"]["seconds"]
    rows = [[f"`{name.split(' (')[0]}` ({name.split(' (')[1]}", f"{s['seconds']:.1f} s", f"{s['seconds'] / run:.2f}×"]
            for name, s in steps.items()]
    return source(stem) + table(["step", "wall time", "vs `yolact-run`"], rows)


def exporters() -> list[str]:
    spec = importlib.util.spec_from_file_location("exporters", REPO / "benchmarks" / "exporters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stems = sorted(p.stem for p in RESULTS.glob("exporters-*.json"))
    header = table(["config", "nodes TorchScript → dynamo", "file", "ORT CPU engine, 2 threads",
                    "dynamo vs TorchScript on the 4 test photos: largest differences", "dynamo `exact`"], [])[:2]
    first = result(stems[0])  # the runs share one machine: one source line for the lot, dates spanning them
    dates = sorted(result(s)["created"][:10] for s in stems)
    line = (f"<sub>From `benchmarks/results/exporters-*.json` ({len(stems)} files), {dates[0]} – {dates[-1]}, "
            f"{cpu(first['machine'])}, 2 threads, load {min(result(s)['machine']['load_average'][0] for s in stems):.1f}"
            f"–{max(result(s)['machine']['load_average'][0] for s in stems):.1f}.</sub>")
    return [line, "", *header, *(module.table_row(result(s)) for s in stems), ""]


def frame_loop() -> list[str]:
    stem = "frame-loop-yolact_resnet50-550"
    rows = []
    for path, variants in result(stem)["paths"].items():
        for variant, stages in variants.items():
            rows.append([path, variant, *(ms(stages[k]["median_ms"])
                                          for k in ("preprocess", "inference", "postprocess", "end to end"))])
    return source(stem) + table(["engine (ran)", "mask matmul", "preprocess ms", "engine ms", "postprocess ms",
                                 "end to end ms"], rows)


TABLES: dict[str, Callable[[], list[str]]] = {
    "summary": summary, "ratios": ratios, "postprocess-load": postprocess_load, "nms": nms, "openvino-amx": openvino,
    "frame-loop": frame_loop, "cpp-vs-python": cpp_vs_python, "web-wasm": web_wasm, "check-cost": check_cost, "exporters": exporters,
    **{f"bench-{stem}": bench(stem) for stem in (*SUMMARY, "yolact_resnet50-550-openvino-amx")},
}


def rendered(text: str, path: Path) -> str:
    """The text of the doc at `path` with every table block regenerated, its links to the results files
    relative to the doc; an unknown block name is a KeyError naming it."""
    up = "../" * (len(path.relative_to(REPO).parts) - 1)
    return BLOCK.sub(lambda m: m[1] + "\n".join(TABLES[m[2]]()).rstrip("\n").replace(
        "](benchmarks/", f"]({up}benchmarks/") + "\n" + m[4], text)


def main(check: bool) -> int:
    stale = []
    for path in DOCS:
        text = path.read_text()
        new = rendered(text, path)
        if new != text:
            stale.append(path.relative_to(REPO))
            if not check:
                path.write_text(new)
    verb = "differ from benchmarks/results (run python benchmarks/doc_tables.py)" if check else "rewritten"
    for path in stale:
        print(f"{path}: tables {verb}", file=sys.stderr if check else sys.stdout)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
