#!/usr/bin/python3
"""PyTorch runner: BiT from bit_torch.py (weights standardized once, channels_last, inference_mode).
usage: run_torch.py MODEL_DIR --size S --batch B --threads T --runs N --warmup W [--export-onnx FILE]
Prints one JSON line: median_ms (of one forward call), runs, and, when MODEL_DIR has a reference.safetensors
(transformers' float64 outputs), max_abs_diff of pooler_output against it. --export-onnx writes the same
model as ONNX (static shape, output pooler_output) for run_ort.js instead of timing."""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bit_torch import load_bit, read_safetensors  # noqa: E402


def reference_diff(model, folder):
    ref = pathlib.Path(folder) / "reference.safetensors"
    if not ref.exists():
        return None
    r = read_safetensors(ref)
    name = next(k[: -len(".pixel_values")] for k in r if k.endswith(".pixel_values"))
    with torch.inference_mode():
        pooled, _ = model(torch.from_numpy(r[name + ".pixel_values"]))
    return float(np.abs(pooled.numpy().ravel() - r[name + ".pooler_output"].ravel()).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--export-onnx")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)  # Debian's torch may default to 1 thread
    model = load_bit(a.model)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((a.batch, 3, a.size, a.size), dtype=np.float32))
    if a.export_onnx:
        torch.onnx.export(model, (x,), a.export_onnx, input_names=["pixel_values"],
                          output_names=["pooler_output", "logits"], opset_version=17)
        return
    diff = reference_diff(model, a.model)
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for i in range(a.warmup + a.runs):
            start = time.perf_counter()
            model(x)
            if i >= a.warmup:
                times.append(1000 * (time.perf_counter() - start))
    print(json.dumps({"median_ms": statistics.median(times), "runs": a.runs, "threads": torch.get_num_threads(),
                      "max_abs_diff_vs_reference": diff, "version": f"torch {torch.__version__}"}))


if __name__ == "__main__":
    main()
