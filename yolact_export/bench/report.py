"""The one rendering of yolact-bench results: Markdown tables from rows and notes, from the JSON.
yolact-bench prints it; `python -m yolact_export.bench.report RESULT.json ...` renders saved files."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _f(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [f"| {' | '.join(cells)} |" for cells in (header, ["---"] + ["---:"] * (len(header) - 1), *rows)] + [""]


def path_rows(doc: dict) -> list[list[str]]:
    return [[name, *(_f(e["total"][k]) for k in ("median_ms", "p90_ms", "min_ms")), _f(e["total"]["images_per_s"], 2),
             f"{_f(e.get('speedup_vs_pytorch_fp32'), 2)}×", *(_f(t["median_ms"]) for t in e["stages"].values()),
             f"{a['matched']}/{a['of']}" if (a := e.get("agreement_vs_pytorch_fp32")) else "–"]
            for name, e in doc["paths"].items() if e["status"] == "ok"]


def postload_rows(load: dict) -> list[list[str]]:
    modes = load["modes"]  # windowed masks ("after") against the whole-frame path ("before")
    return [[mode, _f(modes.get(f"{mode} before", {}).get("median_ms")), _f(t["median_ms"]), _f(t["min_ms"]),
             f"{100 * t['share_of_end_to_end']:.1f} %", f"{_f(t.get('speedup_vs_before'))}×"]
            for mode, t in modes.items() if not mode.endswith(" before")]


def tables(doc: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table of one result."""
    out = [("", ["path", "median ms", "p90 ms", "min ms", "images/s", "speed-up vs PyTorch fp32", "preprocess ms",
                 "inference ms", "postprocess ms", "top-10 agreement vs PyTorch fp32"], path_rows(doc))]
    if load := doc.get("postprocess_load"):
        out.append((f"Postprocess of {load['detections']} detections at {load['frame']['width']}x"
                    f"{load['frame']['height']} (share: of an onnx-fp32 request):", ["masks", "before (whole frame) ms",
                    "after (windows) ms", "after min ms", "share", "speed-up"], postload_rows(load)))
    return out


def machine_line(m: dict) -> str:
    ids = m.get("cpu_id", {})
    return (f"{m['cpu']} (family {ids.get('cpu family', '?')}, model {ids.get('model', '?')}), {m['logical_cores']} "
            f"logical / {m['physical_cores']} physical cores, {m['threads']} threads, load {m.get('load_average')}; "
            f"onnxruntime {m['onnxruntime']} ({', '.join(m['onnxruntime_providers'])}), torch {m.get('torch')}; ISA: "
            f"{', '.join(k for k, v in m['isa_flags'].items() if v)}; int8 kernel: {m['int8_kernel']}")


def notes(doc: dict) -> list[str]:
    """The sentences under a model's tables: skipped paths, the INT8 agreement."""
    skipped = [f"{name} {e['status']} ({e.get('note', '')})" for name, e in doc["paths"].items() if e["status"] != "ok"]
    out = [f"Not measured: {'; '.join(skipped)}."] if skipped else []
    if a := doc["paths"].get("onnx-int8", {}).get("agreement_vs_onnx_fp32"):
        out.append(f"INT8 vs ONNX fp32: {a['matched']}/{a['of']} top-{a['top']} detections found again (same "
                   f"class, box IoU > {a['iou']}), mean mask IoU of those {a['mask_iou_mean']}.")
    return out


def render(docs: list[dict]) -> str:
    out: list[str] = []
    for doc in docs:
        model, s = doc["model"], doc["settings"]
        out += [f"### {model['config']} @ {model['input_size']} ({model['source']})", "",
                f"{s['runs']} runs after {s['warmup']} warm-up, batch 1, {len(s['images'])} images, postprocess "
                f"score threshold {s['score_threshold']}; every path with yolact_runtime's pre- and postprocessing, "
                f"only the engine differs. Machine: {machine_line(doc['machine'])}.", ""]
        for title, header, rows in tables(doc):
            out += ([title, ""] if title else []) + table(header, rows)
        out += notes(doc) + [""]
    return "\n".join(out)


if __name__ == "__main__":
    failed = 0
    for name in sys.argv[1:]:
        try:
            print(render([json.loads(Path(name).read_text())]))
        except (OSError, ValueError, KeyError, TypeError) as error:  # unreadable, or not a yolact-bench result
            print(f"error: {name}: not a readable yolact-bench result ({type(error).__name__}: {error})",
                  file=sys.stderr)
            failed = 1
    sys.exit(failed)
