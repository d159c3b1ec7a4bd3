#!/usr/bin/python3
"""Side by side on one BiT checkpoint: visbone (`visbone bench --json`), PyTorch (run_torch.py) and ONNX
Runtime (run_ort.js, on the same model exported by run_torch.py), same weights, input size, batch and
threads, each in its own process. visbone is the default (fp32, algorithm auto); visbone-direct and
visbone-winograd force one algorithm for every 3x3 stride-1 convolution. visbone-bf16 and torch-bf16 are the
bf16 paths (torch: the model in bf16 with GroupNorm, pooling and the classifier in fp32, the fairest peer).
The agreement column is each runner's pooled output on the model's reference image against transformers'
(reference.safetensors, when the model folder has one): cosine and max abs difference. --rounds N runs every
runner N times, interleaved (the order rotates each round), so a slow spell of a shared machine hits all
runners alike; the table gives each runner's median over the rounds of its per-round median ms per forward
call, and the ratio to visbone (above 1: visbone is faster). Install the other runners once with
bench/install.sh. ort runs with ONNX Runtime's graph optimizations off (output-equivalent), ort-opt with all
of them (the stem's pad folded into max pooling: not exactly BiT).
usage: bench/compare.py [--quick] [--rounds N] [--runs N] [--warmup W] [--size 224] [--batch 1] [--threads 2]
                        [--runners visbone,visbone-direct,visbone-bf16,torch,torch-bf16,ort,ort-opt] [--model DIR] [--visbone PATH] [--out FILE.json]"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = pathlib.Path(os.environ.get("VISBONE_BENCH_DIR", "/tmp/visbone-bench-compare"))


def cpu_model():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def run_json(command):
    """The last stdout line of `command` as JSON, or the reason it failed."""
    p = subprocess.run(command, capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        return None, (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    return json.loads(lines[-1]), None


def visbone_agreement(visbone, model, precision, algorithm):
    """Cosine and max abs difference of `visbone forward`'s pooled output against the reference."""
    ref = pathlib.Path(model) / "reference.safetensors"
    if not ref.exists():
        return {}
    sys.path.insert(0, str(HERE))
    from bit_torch import read_safetensors  # numpy is needed only here
    import numpy as np
    r = read_safetensors(ref)
    name = next(k[: -len(".pixel_values")] for k in r if k.endswith(".pixel_values"))
    out = CACHE / f"agreement-{precision}-{algorithm}.safetensors"
    CACHE.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([visbone, "forward", model, "--input", str(ref), "--key", name + ".pixel_values",
                        "--output", str(out), "--precision", precision], capture_output=True, text=True,
                       env={**os.environ, "VISBONE_CONV_ALGORITHM": algorithm})
    if p.returncode != 0:
        return {}
    a = read_safetensors(out)["pooler_output"].astype(np.float64).ravel()
    b = r[name + ".pooler_output"].astype(np.float64).ravel()
    return {"max_abs_diff_vs_reference": float(np.abs(a - b).max()),
            "cosine_vs_reference": float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "tests/data/models/bit-50-random-fp16"))
    ap.add_argument("--visbone", default=str(ROOT / "build/bin/visbone"))
    ap.add_argument("--runners", default="visbone,torch,ort")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2 rounds of 2 warm-up + 5 timed runs")
    ap.add_argument("--out", help="also write every measurement as JSON")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.runs, a.warmup = 2, 5, 2
    shape = ["--size", str(a.size), "--batch", str(a.batch), "--threads", str(a.threads)]
    timing = ["--runs", str(a.runs), "--warmup", str(a.warmup)]
    commands = {
        "visbone": [a.visbone, "bench", a.model, *shape, *timing, "--json"],
        "visbone-bf16": [a.visbone, "bench", a.model, *shape, *timing, "--json", "--precision", "bf16"],
        "visbone-direct": [a.visbone, "bench", a.model, *shape, *timing, "--json", "--algorithm", "direct"],
        "visbone-winograd": [a.visbone, "bench", a.model, *shape, *timing, "--json", "--algorithm", "winograd"],
        "torch": [sys.executable, str(HERE / "run_torch.py"), a.model, *shape, *timing],
        "torch-bf16": [sys.executable, str(HERE / "run_torch.py"), a.model, *shape, *timing, "--precision", "bf16"],
    }
    unavailable = {}
    runners = a.runners.split(",")
    if "ort" in runners or "ort-opt" in runners:
        onnx = CACHE / f"{pathlib.Path(a.model).name}-{a.size}-b{a.batch}.onnx"
        if not (CACHE / "node_modules" / "onnxruntime-node").exists():
            unavailable["ort"] = unavailable["ort-opt"] = f"onnxruntime-node not in {CACHE}/node_modules (run bench/install.sh)"
        elif not onnx.exists():
            print(f"compare: exporting {onnx}", file=sys.stderr)
            _, error = run_json([sys.executable, str(HERE / "run_torch.py"), a.model, *shape, "--export-onnx", str(onnx)])
            if not onnx.exists():
                unavailable["ort"] = unavailable["ort-opt"] = f"ONNX export failed: {error}"
        commands["ort"] = ["node", str(HERE / "run_ort.js"), str(onnx), *shape, *timing]
        commands["ort-opt"] = commands["ort"] + ["--optimize"]
    for name in runners:
        if name not in commands:
            sys.exit(f"compare: unknown runner '{name}' (visbone, visbone-bf16, visbone-direct, visbone-winograd, torch, "
                     "torch-bf16, ort, ort-opt)")

    results = {name: [] for name in runners}
    details = {}
    for r in range(a.rounds):
        order = runners[r % len(runners):] + runners[: r % len(runners)]
        for name in order:
            if name in unavailable:
                continue
            out, error = run_json(commands[name])
            if error:
                unavailable[name] = error
                continue
            results[name].append(out["median_ms"])
            if name not in details and name.startswith("visbone"):
                out.update(visbone_agreement(a.visbone, a.model, out.get("precision", "f32"), out.get("algorithm", "auto")))
            details.setdefault(name, out)
            print(f"compare: round {r + 1}/{a.rounds} {name}: {out['median_ms']:.1f} ms", file=sys.stderr)

    medians = {n: statistics.median(v) for n, v in results.items() if v and n not in unavailable}
    base = medians.get("visbone")
    print(f"BiT {pathlib.Path(a.model).name}, {a.size}x{a.size}, batch {a.batch}, {a.threads} threads; "
          f"CPU: {cpu_model()}; {a.rounds} interleaved rounds of {a.warmup} warm-up + {a.runs} timed runs")
    print("| runner | median ms/batch | images/s | ratio to visbone | agreement (pooled vs transformers) "
          "| per-round medians (ms) | notes |")
    print("|---|---|---|---|---|---|---|")
    for name in runners:
        if name in unavailable:
            print(f"| {name} | - | - | - | - | - | unavailable: {unavailable[name]} |")
            continue
        m = medians[name]
        ratio = f"{m / base:.2f}" if base else "-"
        d = details[name]
        agree = (f"cos {d['cosine_vs_reference']:.6f}, max abs {d['max_abs_diff_vs_reference']:.1e}"
                 if d.get("cosine_vs_reference") is not None else "-")
        rounds = ", ".join(f"{v:.1f}" for v in results[name])
        print(f"| {name} | {m:.1f} | {1000 * a.batch / m:.2f} | {ratio} | {agree} | {rounds} | {d.get('version', '')} |")
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps({"cpu": cpu_model(), "args": vars(a), "per_round_ms": results,
                                                   "median_ms": medians, "unavailable": unavailable,
                                                   "details": details}, indent=2) + "\n")
    return 1 if unavailable.get("visbone") else 0


if __name__ == "__main__":
    sys.exit(main())
