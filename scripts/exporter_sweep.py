"""yolact-check exact for all seven configs, TorchScript and dynamo graphs of the same weights.

For each config at its own size: lively random weights (yolact_export.model.random_weights, seed 0),
saved as an official-style checkpoint, exported with both exporters; `yolact-check --weights --model
--profile exact` on each graph against the PyTorch reference on the four test photos; the two graphs'
detections compared on ONNX Runtime CPU. Helpers come from benchmarks/exporters.py (one place).

    nice -n 15 .venv/bin/python scripts/exporter_sweep.py [CONFIG ...]
writes benchmarks/results/exporter-sweep-<date>.json (with the machine: CPU model, ISA flags, load).
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import exporters as bench  # noqa: E402  (benchmarks/exporters.py)

CONFIGS = ("yolact_base", "yolact_im400", "yolact_im700", "yolact_resnet50", "yolact_darknet53",
           "yolact_plus_base", "yolact_plus_resnet50")


def sweep_config(config: str, work: Path) -> dict:
    import cv2

    from yolact_export import load_checkpoint
    from yolact_export.detection.preprocess import preprocess
    from yolact_export.exporter.export import export_onnx

    weights = bench.lively_checkpoint(work, config, None)
    model, cfg = load_checkpoint(weights)
    result: dict = {"config": cfg.name, "input_size": cfg.max_size, "exporters": {}}
    paths = {}
    for exporter in bench.EXPORTERS:
        start = time.perf_counter()
        paths[exporter] = export_onnx(model, work / f"{config}-{exporter}.onnx", exporter=exporter)
        check = bench.yolact_check(weights, paths[exporter], work / f"{config}-{exporter}-check.json")
        result["exporters"][exporter] = {"export_and_check_s": round(time.perf_counter() - start, 1),
                                         "check_exact": check, **bench.graph_stats(paths[exporter])}
        result["exporters"][exporter].pop("ops")
    images = preprocess([cv2.imread(str(p)) for p in sorted(bench.PHOTOS.glob("*.png"))], cfg)
    result["dynamo_vs_torchscript"] = bench.compare_graphs(paths, images)
    for path in paths.values():
        path.unlink()
    weights.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(CONFIGS))
    args = parser.parse_args()
    from yolact_export.bench.machine import describe

    date = datetime.datetime.now(datetime.timezone.utc)
    out = bench.RESULTS / f"exporter-sweep-{date:%Y-%m-%d}.json"
    record = {"date": date.isoformat(timespec="seconds"), "profile": "exact", "machine_at_start": describe(),
              "configs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            result = sweep_config(config, Path(tmp))
            record["configs"][config] = result
            verdicts = {e: r["check_exact"]["passed"] for e, r in result["exporters"].items()}
            print(config, verdicts, result["dynamo_vs_torchscript"]["summary"], flush=True)
    record["machine_at_end"] = describe()
    record["all_passed"] = all(r["check_exact"]["passed"] and c["dynamo_vs_torchscript"]["ok"]
                               for c in record["configs"].values() for r in c["exporters"].values())
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"all passed: {record['all_passed']}; wrote {out}")


if __name__ == "__main__":
    main()
