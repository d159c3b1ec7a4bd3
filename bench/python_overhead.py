#!/usr/bin/env python3
"""What the Python binding adds to a forward pass: a batch-8 forward from Python (visbone.load_backbone, the
same work as `visbone bench`: every stage, the pool and the classifier) against `visbone bench` at the same
shape, in interleaved rounds (so load on the machine hits both alike), comparing the medians. On a machine
shared with other work, OMP_WAIT_POLICY=passive (for both sides) keeps OpenMP's spinning from dominating.

    PYTHONPATH=build/python python3 bench/python_overhead.py [--model DIR] [--size 224] [--batch 8]
                                                             [--rounds 5] [--runs 5] [--threads 0]

The Python side also reorders the last stage to NCHW (it returns stage4; `visbone bench` asks for the pooled
features and logits only): about 3 MiB of copying in a batch-8 R50 pass, counted against the binding.
"""

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

import visbone

ROOT = Path(__file__).resolve().parents[1]


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def cli_round(binary, args):
    """One `visbone bench` round: its median and fastest ms per batch."""
    out = subprocess.run([binary, "bench", args.model, "--size", str(args.size), "--batch", str(args.batch),
                          "--threads", str(args.threads), "--runs", str(args.runs), "--warmup", "2", "--json"],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["median_ms"], result["min_ms"]


def python_round(backbone, pixels, runs):
    """One Python round: the median and fastest ms of `runs` calls, as `visbone bench` times them."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        backbone(pixels, pooled=True, logits=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def fixed_cost_us(backbone, batch, size):
    """What a call costs the binding besides the pass, bounded from above: a call whose input the model
    rejects at once (wrong channel count) still goes through the input path, the GIL release and the C++
    call, plus an exception's translation, which a normal call does not pay."""
    bad = np.zeros((batch, 2, size, size), np.float32)
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        try:
            backbone(bad, pooled=True, logits=True)
        except visbone.ShapeError:
            pass
        times.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "tests/data/models/bit-50-random-fp16"))
    p.add_argument("--binary", default=str(ROOT / "build/bin/visbone"))
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: all cores)")
    args = p.parse_args()

    backbone = visbone.load_backbone(args.model, threads=args.threads or None)
    pixels = np.random.default_rng(0).standard_normal((args.batch, 3, args.size, args.size), np.float32)
    for _ in range(2):  # warm-up, as `visbone bench --warmup 2`
        backbone(pixels, pooled=True, logits=True)

    cli, py = [], []
    for r in range(args.rounds):
        # Each side goes first every other round, so a trend in the machine's load favours neither.
        if r % 2:
            py.append(python_round(backbone, pixels, args.runs))
            cli.append(cli_round(args.binary, args))
        else:
            cli.append(cli_round(args.binary, args))
            py.append(python_round(backbone, pixels, args.runs))
        print(f"round {r + 1}: visbone bench {cli[-1][0]:.1f} ms, Python {py[-1][0]:.1f} ms (medians)", flush=True)
    c, q = statistics.median(m for m, _ in cli), statistics.median(m for m, _ in py)
    c_min, q_min = min(f for _, f in cli), min(f for _, f in py)
    fixed = fixed_cost_us(backbone, args.batch, args.size)
    print(f"{cpu_model()}, {args.threads or 'all'} threads, batch {args.batch} x {args.size}x{args.size}, "
          f"{args.rounds} rounds x {args.runs} runs")
    print(f"median of round medians: visbone bench {c:.1f} ms, Python {q:.1f} ms per batch: "
          f"{100 * (q - c) / c:+.2f}%")
    # Under load from other processes the fastest run is the steadiest estimate of a pass's own time.
    print(f"fastest run: visbone bench {c_min:.1f} ms, Python {q_min:.1f} ms: {100 * (q_min - c_min) / c_min:+.2f}%")
    print(f"round medians range: visbone bench {min(m for m, _ in cli):.1f}..{max(m for m, _ in cli):.1f} ms, "
          f"Python {min(m for m, _ in py):.1f}..{max(m for m, _ in py):.1f} ms")
    print(f"binding's fixed cost per call (upper bound): {fixed:.0f} us = {100 * fixed / 1000 / q_min:.4f}% "
          f"of the fastest pass")

if __name__ == "__main__":
    main()
