"""yolact-bench: CPU / GPU latency of the export paths side by side, a stage breakdown, NMS variants.

One run measures every path on the same images with the same pre- and postprocessing
(yolact_runtime's), so the engines are what differs: PyTorch eager (fp32, bf16 autocast),
ONNX Runtime CPU (fp32, fp16 when it runs, INT8 QDQ), and CUDA / TensorRT when onnxruntime
offers them. Results go to stdout and to benchmarks/results/<name>.json.
"""
