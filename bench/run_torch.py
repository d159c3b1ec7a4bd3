#!/usr/bin/python3
"""PyTorch runner: BiT from bit_torch.py (weights standardized once, channels_last, inference_mode).
usage: run_torch.py MODEL_DIR --size S --batch B --threads T --runs N --warmup W [--precision f32|bf16]
                    [--export-onnx FILE]
Prints one JSON line: median_ms (of one forward call), runs, and, when MODEL_DIR has a reference.safetensors
(transformers' outputs), the max abs difference and the cosine of pooler_output against it. --precision bf16
runs the model cast to bf16 with GroupNorm, pooling and the classifier in fp32 (bit_torch.to_bf16). --export-onnx writes the same
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
from bit_torch import load_bit, read_safetensors, to_bf16  # noqa: E402


def agreement(pooled, reference):
    """Max abs difference and cosine of two pooled feature vectors."""
    a, b = np.asarray(pooled, np.float64).ravel(), np.asarray(reference, np.float64).ravel()
    return float(np.abs(a - b).max()), float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def reference_agreement(model, folder, dtype):
    ref = pathlib.Path(folder) / "reference.safetensors"
    if not ref.exists():
        return None, None
    r = read_safetensors(ref)
    name = next(k[: -len(".pixel_values")] for k in r if k.endswith(".pixel_values"))
    with torch.inference_mode():
        pooled, _ = model(torch.from_numpy(r[name + ".pixel_values"]).to(dtype))
    return agreement(pooled.float().numpy(), r[name + ".pooler_output"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--export-onnx")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)  # Debian's torch may default to 1 thread
    model = load_bit(a.model)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((a.batch, 3, a.size, a.size), dtype=np.float32))
    if a.export_onnx:
        torch.onnx.export(model, (x,), a.export_onnx, input_names=["pixel_values"],
                          output_names=["pooler_output", "logits"], opset_version=17)
        return
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float32
    if a.precision == "bf16":
        model = to_bf16(model)
    diff, cosine = reference_agreement(model, a.model, dtype)
    model = model.to(memory_format=torch.channels_last)
    x = x.to(dtype).contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for i in range(a.warmup + a.runs):
            start = time.perf_counter()
            model(x)
            if i >= a.warmup:
                times.append(1000 * (time.perf_counter() - start))
    print(json.dumps({"median_ms": statistics.median(times), "runs": a.runs, "threads": torch.get_num_threads(),
                      "max_abs_diff_vs_reference": diff, "cosine_vs_reference": cosine,
                      "precision": a.precision, "version": f"torch {torch.__version__}"}))


if __name__ == "__main__":
    main()
