#!/usr/bin/python3
"""visbone bf16 against f32 on one machine: `visbone bench --precision X` alternated (f32, bf16, f32, bf16, ...)
for --rounds rounds per size/batch cell, each run its own process. Reports per cell the median over rounds of
each precision's median ms/batch, the bf16 speed-up as the median of the per-round ratios (interleaving keeps
the ratio honest on a shared, noisy machine) and each precision's peak RSS.

On a machine shared with other work, wall time is mostly waiting. --cpu-time measures instead the CPU time a
forward pass costs: each round runs every precision twice, with --runs and with 2x --runs, and takes the
difference of the two processes' user+system time over the extra runs (model loading and warm-up cancel out).
Use it with --threads 1, where CPU time is the work done (no spinning at barriers).

  bench/precision_compare.py build/bin/visbone tests/data/models/bit-50-random-fp16 --cells 224x1 224x8
"""
import argparse
import json
import os
import platform
import statistics
import subprocess


def cpu_line():
    model, flags = "", ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and not model:
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = " ".join(f for f in line.split(":", 1)[1].split() if "avx512" in f or f.startswith("amx"))
    return f"{model} ({platform.machine()}); {flags}"


def run(a, size, batch, precision, runs):
    """(the bench JSON, CPU seconds of the process)."""
    cmd = [a.visbone, "bench", a.model, "--size", str(size), "--batch", str(batch), "--precision", precision,
           "--runs", str(runs), "--warmup", str(a.warmup), "--threads", str(a.threads), "--json"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_utime + usage.ru_stime


def bench(a, size, batch, precision):
    result, cpu = run(a, size, batch, precision, a.runs)
    if a.cpu_time:
        _, cpu2 = run(a, size, batch, precision, 2 * a.runs)
        result["median_ms"] = 1000.0 * (cpu2 - cpu) / a.runs  # CPU ms per forward pass
        result["ms_per_image"] = result["median_ms"] / batch
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("visbone")
    ap.add_argument("model")
    ap.add_argument("--cells", nargs="+", default=["224x1", "224x8"], help="SIZExBATCH")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cpu-time", action="store_true", help="CPU ms per forward pass instead of wall-clock")
    a = ap.parse_args()
    what = "CPU time per pass" if a.cpu_time else "wall-clock medians"
    print(f"CPU: {cpu_line()}; threads {a.threads or 'all'}; {a.rounds} interleaved rounds of {a.runs} runs; "
          f"{what}\n")
    print("| cell | f32 ms/img | bf16 ms/img | bf16 speed-up (median of round ratios) | round ratios | "
          "peak RSS f32 / bf16 MiB |")
    print("|---|---|---|---|---|---|")
    for cell in a.cells:
        size, batch = (int(v) for v in cell.split("x"))
        runs = {"f32": [], "bf16": []}
        for _ in range(a.rounds):
            for precision in ("f32", "bf16"):
                runs[precision].append(bench(a, size, batch, precision))
        ratios = [f["median_ms"] / b["median_ms"] for f, b in zip(runs["f32"], runs["bf16"])]
        ms = {p: statistics.median(r["ms_per_image"] for r in runs[p]) for p in runs}
        rss = {p: max(r["peak_rss_mib"] for r in runs[p]) for p in runs}
        print(f"| {size} b{batch} | {ms['f32']:.1f} | {ms['bf16']:.1f} | {statistics.median(ratios):.2f}x | "
              f"{', '.join(f'{r:.2f}' for r in ratios)} | {rss['f32']:.0f} / {rss['bf16']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
