"""The one rendering of yolact-bench results (Markdown: yolact-bench prints it, and
python -m yolact_export.bench.report RESULT.json ... renders saved files)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .flops import compute_line
from .postload import postload_line


def _f(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def machine_line(doc: dict) -> str:
    m = doc["machine"]
    flags = [k for k, v in m["isa_flags"].items() if v]
    return (f"{m['cpu']} (family {m.get('cpu_id', {}).get('cpu family', '?')}, model "
            f"{m.get('cpu_id', {}).get('model', '?')}), {m['logical_cores']} logical / {m['physical_cores']} physical "
            f"cores, {m['threads']} threads; onnxruntime {m['onnxruntime']} ({', '.join(m['onnxruntime_providers'])}), "
            f"torch {m.get('torch')}; ISA: {', '.join(flags)}; int8 kernel: {m['int8_kernel']}{_openvino(m)}")


def _openvino(machine: dict) -> str:
    ep = machine.get("openvino_ep")
    if not ep or not ep.get("version"):
        return ""
    return f"; OpenVINO EP {ep['version']}: " + ("a CPU device" if ep["cpu_device"] else f"no device ({ep['why_not']})")


def paths_table(doc: dict) -> list[str]:
    lines = ["| path | median ms | p90 ms | min ms | images/s | speed-up vs PyTorch fp32 | preprocess ms | "
             "inference ms | postprocess ms | top-10 agreement vs PyTorch fp32 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    skipped = []
    for name, e in doc["paths"].items():
        if e["status"] != "ok":
            skipped.append(f"{name} {e['status']} ({e.get('note', '')})")
            continue
        t, s = e["total"], e["stages"]
        agree = e.get("agreement_vs_pytorch_fp32", {})
        agree_text = (f"{agree['matched']}/{agree['of']}" if agree.get("of") else "–")
        label = name if t["runs"] == doc["settings"]["runs"] else f"{name} ({t['runs']} runs)"
        lines.append(f"| {label} | {_f(t['median_ms'])} | {_f(t['p90_ms'])} | {_f(t['min_ms'])} | "
                     f"{_f(t['images_per_s'], 2)} | {_f(e.get('speedup_vs_pytorch_fp32'), 2)}× | "
                     f"{_f(s['preprocess']['median_ms'])} | {_f(s['inference']['median_ms'])} | "
                     f"{_f(s['postprocess']['median_ms'])} | {agree_text} |")
    if skipped:
        lines += ["", "Not measured: " + "; ".join(skipped) + "."]
    return lines


def nms_table(doc: dict) -> list[str]:
    lines = ["| scenario | candidates / class scores > 0.05 | method | median ms | p90 ms | min ms | × fast-onnx | "
             "kept | agreement with traditional |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scenario, entry in doc["nms"]["scenarios"].items():
        i = entry["inputs"]
        for k, (method, r) in enumerate(entry["methods"].items()):
            t = r["timing"]
            head = (f"{scenario} ({i['priors']} priors × {i['classes']} classes)",
                    f"{i['candidates']} / {i['class_scores_above_threshold']}") if k == 0 else ("", "")
            lines.append(f"| {head[0]} | {head[1]} | {method} | {_f(t['median_ms'], 2)} | {_f(t['p90_ms'], 2)} | "
                         f"{_f(t['min_ms'], 2)} | {_f(entry['ratios_median'].get(method + ' / fast-onnx'), 2)} | "
                         f"{r['detections']} | {_f(r.get('agreement_with_traditional'), 2)} |")
    return lines


def notes(doc: dict) -> list[str]:
    """The sentences under a model's table: what is compared, INT8 agreement, fp16 casts, conv, compute,
    load, folder."""
    out = ["All paths share yolact_runtime's preprocessing and postprocessing (masks upsampled to the image, "
           "score threshold as in the settings); only the engine differs. Timings are wall-clock per batch; "
           "images/s = batch / median."]
    if "pytorch-bf16" in doc["paths"] and doc["machine"].get("torch_mkldnn_bf16") is False:
        out.append("pytorch-bf16: this CPU has no oneDNN bf16 support (needs avx512bw/avx512_bf16/amx): torch "
                   "runs bf16 convolutions in aten::_slow_conv2d_forward (naive im2col), not a fast kernel.")
    int8 = doc.get("int8", {})
    a = doc["paths"].get("onnx-int8", {}).get("agreement_vs_onnx_fp32")
    if a:
        out.append(f"INT8 vs ONNX fp32: {a['matched']}/{a['of']} top-{a['top']} detections found again "
                   f"(same class, box IoU > {a['iou']}), mean best box IoU {a['mean_best_iou']}, mean mask IoU "
                   f"{a.get('mask_iou_mean')}.")
    if doc.get("fp16", {}).get("ort_cpu_inserted_fp32_casts"):
        out.append(f"onnx-fp16 on this CPU: {doc['fp16']['note']} "
                   f"({doc['fp16']['ort_cpu_inserted_fp32_casts']} casts inserted).")
    if "conv_microbench" in int8:
        c = int8["conv_microbench"]
        out.append(f"Single conv ({c['conv']}): fp32 {_f(c['fp32']['median_ms'])} ms, int8 (u8×s8) "
                   f"{_f(c['int8']['median_ms'])} ms = {c['int8_speedup']:.2f}×, u8×u8 "
                   f"{_f(c['int8_u8u8']['median_ms'])} ms = {c['int8_u8u8_speedup']:.2f}×; ORT ran "
                   f"{', '.join(f'{k} {v}' for k, v in c['int8_ops'].items())}.")
    if "compute" in doc:
        out.append(f"Compute: {compute_line(doc['compute'])}.")
    if "postprocess_load" in doc:
        out.append(f"Under load: {postload_line(doc['postprocess_load'])}.")
    if "folder" in doc:
        f = doc["folder"]
        seq = f["sequential"]
        stages = ", ".join(f"{k} {_f(v['median_ms'])}" for k, v in seq["stages"].items())
        out.append(f"Folder run ({f['images']} images, onnx-fp32, CPU): {_f(seq['total']['median_ms'])} ms/image "
                   f"sequential ({stages} ms, medians); yolact-run's pipelined runner "
                   f"{_f(f['pipelined']['images_per_s'], 2)} images/s{_keeps_up(f)}.")
    return out


def _keeps_up(folder: dict) -> str:
    """The pipelined rates against 1 / engine time (older results have neither)."""
    if "engine_ms" not in folder:
        return ""
    bare = folder.get("pipelined_no_overlays", {})
    return (f" ({100 * folder['pipelined']['keeps_up']:.0f} % of 1 / engine time {_f(folder['engine_ms'])} ms), "
            f"{_f(bare.get('images_per_s'), 2)} images/s without overlays ({100 * (bare.get('keeps_up') or 0):.0f} %)")


def render(docs: list[dict]) -> str:
    out: list[str] = []
    for doc in docs:
        model = doc["model"]
        s = doc["settings"]
        out += [f"### {model['config']} @ {model['input_size']} ({model['source']})", "",
                f"{s['runs']} runs after {s['warmup']} warm-up, batch {s['batch']}, {len(s['images'])} images, "
                f"postprocess score threshold {s['score_threshold']}. Machine: {machine_line(doc)}.", ""]
        out += paths_table(doc) + [""]
        out += notes(doc)
        out.append("")
    nms_docs = [d for d in docs if "nms" in d]
    if nms_docs:
        doc = nms_docs[-1]
        out += [f"### NMS at full prior count ({doc['model']['config']} run)", "", *nms_table(doc), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    files = argv if argv is not None else sys.argv[1:]
    print(render([json.loads(Path(f).read_text()) for f in files]))


if __name__ == "__main__":
    main()
