#!/usr/bin/env python3
"""Throughput of 4 Python threads calling visbone against sequential calls, batch 1 at 224x224:

- one shared backbone: the GIL is released during the pass and LoadedBackbone overlaps BiT's passes, up to
  one per core, dividing the threads between them (a pass started beside k others gets cores / (k + 1), at
  least 1; see the README's Threads rule), with the weights held once;
- one backbone per thread with threads = cores / 4 (at least 1): four copies of the weights, every pass on
  its own threads, the way to run concurrent passes before passes on one backbone could overlap.

    PYTHONPATH=build/python python3 bench/python_threads.py [--model DIR] [--images 16] [--rounds 3]

The three ways run in interleaved rounds (load on the machine hits them alike); medians are reported.
"""

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import visbone

ROOT = Path(__file__).resolve().parents[1]


def images_per_second(calls, workers):
    t0 = time.perf_counter()
    if workers == 1:
        for call in calls:
            call()
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda c: c(), calls))
    return len(calls) / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "tests/data/models/bit-50-random-fp16"))
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224), np.float32)

    shared = visbone.load_backbone(args.model)
    shared(x)
    per_thread_threads = max(1, (os.cpu_count() or 1) // 4)
    own = [visbone.load_backbone(args.model, threads=per_thread_threads) for _ in range(4)]
    for b in own:
        b(x)

    ways = {
        "sequential, one backbone (all cores)": ([lambda: shared(x)] * args.images, 1),
        "4 threads, one shared backbone": ([lambda: shared(x)] * args.images, 4),
        f"4 threads, own backbone each ({per_thread_threads} thread/pass)":
            ([lambda b=own[i % 4]: b(x) for i in range(args.images)], 4),
    }
    rates = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, (calls, workers) in ways.items():
            rates[name].append(images_per_second(calls, workers))
    print(f"{os.cpu_count()} cores, {args.images} images per round, {args.rounds} rounds, batch 1 x 224x224")
    sequential = statistics.median(next(iter(rates.values())))
    for name, r in rates.items():
        m = statistics.median(r)
        print(f"{name:45s} {m:6.2f} images/s ({m / sequential:.2f}x; rounds {min(r):.2f}..{max(r):.2f})")


if __name__ == "__main__":
    main()
