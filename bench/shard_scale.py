#!/usr/bin/python3
"""Scale figures of `visbone run` for sharded runs (issue #17 item 5), each run its own process:
  1. throughput of bit-50 feature extraction on this machine: configs/bit50-features.yaml (the maps of
     stages 1-4 per input and the L2-normalised embeddings, stacked, to safetensors; stage-3 heat maps;
     records) over --images pictures (the test pictures, cycled), images/s over the process's wall time
     (model load and writing included) and as the run reports it;
  2. the overhead of sharding + merge at N = --shards: the N shard processes one after the other plus
     `visbone merge`, against the single run (percent of the single run's wall time), interleaved over
     --rounds rounds (the order alternates), medians; the merged files are checked to be the single run's;
  3. peak RSS (wait4's ru_maxrss) of `visbone run` of the digits model over 1,000 and 10,000 tiny inputs
     (8x8 digit PNGs, hard links of the 300 bundled ones) to JSON Lines, CSV and stacked safetensors, and
     of `visbone merge` of those runs split in --shards shards.
The model is tests/data/models/bit-50-random-fp16 in place of the config's google/bit-50 (the same
architecture with random weights: the same speed; no download). Times depend on what else runs on the machine: say so when quoting them.
usage: bench/shard_scale.py [--images 48] [--shards 4] [--rounds 3] [--tiny 1000,10000] [--visbone PATH]
                            [--skip-bit50] [--skip-rss]"""
import argparse
import filecmp
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def cpu_model():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def run(command, log):
    """Runs `command`; returns (wall seconds, peak RSS MiB, stdout). Exits on failure with its stderr."""
    with open(log, "w+") as out:
        start = time.perf_counter()
        p = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        sys.exit(f"shard_scale: {' '.join(map(str, command))} exited {p.returncode}:\n{text}")
    return seconds, usage.ru_maxrss / 1024, text


def reported_rate(text):
    """The images/s of the run's own `items: ...` line."""
    for line in text.splitlines():
        if line.startswith("items:") and "images/s" in line:
            return float(line.rsplit(",", 1)[1].split()[0])
    return float("nan")


def bit50_config(work, images):
    """configs/bit50-features.yaml (stage 1-4 maps per input, stacked embeddings, stage-3 heat maps, records)
    with the random-weight copy of its model, over `images` pictures."""
    folder = work / "bit50-images"
    pictures = sorted((DATA / "preprocess" / "images").iterdir())
    folder.mkdir()
    for i in range(images):
        src = pictures[i % len(pictures)]
        os.link(src, folder / f"{i:05d}_{src.name}")
    shipped = (ROOT / "configs" / "bit50-features.yaml").read_text()
    if "checkpoint: google/bit-50\n" not in shipped:
        sys.exit("shard_scale: configs/bit50-features.yaml no longer names google/bit-50; update this script")
    config = work / "bit50-features.yaml"  # its relative paths (source, output_dir) are replaced on the command line
    config.write_text(shipped.replace("checkpoint: google/bit-50\n",
                                      f"checkpoint: {DATA / 'models' / 'bit-50-random-fp16'}\n"))
    return config, folder, ["features.safetensors", "embeddings.safetensors", "records.jsonl"]


def tiny_config(work, count):
    folder = work / f"tiny{count}"
    digits = sorted((ROOT / "data" / "digits").rglob("*.png"))
    for i in range(count):
        src = digits[i % len(digits)]
        (folder / src.parent.name).mkdir(parents=True, exist_ok=True)
        os.link(src, folder / src.parent.name / f"{i:06d}.png")
    config = work / f"tiny{count}.yaml"
    config.write_text(
        f"source: {{type: folder, path: {folder}, labels_from_folders: true}}\n"
        f"model: {{checkpoint: {DATA / 'models' / 'bit-tiny-digits'}}}\n"
        "preprocess: checkpoint\n"
        "heads:\n  - {type: classification, top_k: 3}\n  - {type: embedding}\n"
        "sinks:\n"
        "  - {type: jsonl, path: predictions.jsonl}\n"
        "  - {type: csv, path: predictions.csv}\n"
        "  - {type: safetensors, path: embeddings.safetensors, heads: [embedding], stack: true}\n"
        "batch_size: 32\nthreads: 1\n")
    return config


def run_single(visbone, config, out, log, extra=()):
    shutil.rmtree(out, ignore_errors=True)
    return run([visbone, "run", config, "--output", out, "--progress", "none", *extra], log)


def run_sharded(visbone, config, out, shards, log, extra=()):
    """The shards one after the other, then merge: (total seconds, merge seconds, max shard RSS, merge RSS)."""
    shutil.rmtree(out, ignore_errors=True)
    total, rss = 0.0, 0.0
    for i in range(shards):
        s, r, _ = run([visbone, "run", config, "--output", out, "--progress", "none", "--shard", f"{i}/{shards}",
                       *extra], log)
        total, rss = total + s, max(rss, r)
    merge_s, merge_rss, _ = run([visbone, "merge", out], log)
    return total + merge_s, merge_s, rss, merge_rss


def same_files(a, b, names):
    # In blocks: this process stays small, since a child's ru_maxrss counts what it had before exec (a
    # fork of this process) too.
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def bench_bit50(args, work):
    config, folder, outputs = bit50_config(work, args.images)
    bench_bit50_runs(args, work, config, ["--input", folder], outputs)


def bench_bit50_runs(args, work, config, extra, outputs):
    log = work / "log.txt"
    singles, sharded, merges, rates = [], [], [], []
    for r in range(args.rounds):
        order = ["single", "sharded"] if r % 2 == 0 else ["sharded", "single"]
        for what in order:
            if what == "single":
                s, rss, text = run_single(args.visbone, config, work / "single", log, extra)
                singles.append(s)
                rates.append(reported_rate(text))
                print(f"  round {r + 1}: single run {s:.2f} s ({args.images / s:.2f} images/s, run's own "
                      f"{rates[-1]:.2f} images/s), peak RSS {rss:.0f} MiB", flush=True)
            else:
                s, m, rss, mrss = run_sharded(args.visbone, config, work / "sharded", args.shards, log, extra)
                sharded.append(s)
                merges.append(m)
                print(f"  round {r + 1}: {args.shards} shards + merge {s:.2f} s (merge {m:.2f} s), peak RSS "
                      f"shard {rss:.0f} MiB, merge {mrss:.0f} MiB", flush=True)
        if not same_files(work / "single", work / "sharded", outputs):
            sys.exit("shard_scale: the merged bit-50 outputs differ from the single run's")
    single, split = statistics.median(singles), statistics.median(sharded)
    print(f"bit-50 feature extraction (configs/bit50-features.yaml), {args.images} images, batch 4: "
          f"{args.images / single:.2f} images/s (median wall {single:.2f} s over {args.rounds} runs; "
          f"run's own figure {statistics.median(rates):.2f} images/s)")
    print(f"sharding + merge at N = {args.shards}: {split:.2f} s vs {single:.2f} s single, "
          f"+{100 * (split / single - 1):.1f} % (merge alone {statistics.median(merges):.2f} s); "
          f"merged files byte-identical to the single run's: yes")


def bench_rss(args, work):
    log = work / "log.txt"
    for count in args.tiny:
        config = tiny_config(work, count)
        s, rss, _ = run_single(args.visbone, config, work / f"tiny{count}-single", log)
        total, _, shard_rss, merge_rss = run_sharded(args.visbone, config, work / f"tiny{count}-sharded",
                                                     args.shards, log)
        same = same_files(work / f"tiny{count}-single", work / f"tiny{count}-sharded",
                          ["predictions.jsonl", "predictions.csv", "embeddings.safetensors"])
        print(f"{count} tiny inputs: single run {s:.2f} s, peak RSS {rss:.1f} MiB; {args.shards} shards: peak "
              f"RSS {shard_rss:.1f} MiB; merge peak RSS {merge_rss:.1f} MiB; merged = single: {same}",
              flush=True)
        shutil.rmtree(work / f"tiny{count}")
        shutil.rmtree(work / f"tiny{count}-single")
        shutil.rmtree(work / f"tiny{count}-sharded")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=48)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tiny", default="1000,10000")
    p.add_argument("--visbone", default=str(ROOT / "build" / "bin" / "visbone"))
    p.add_argument("--skip-bit50", action="store_true")
    p.add_argument("--skip-rss", action="store_true")
    args = p.parse_args()
    args.tiny = [int(x) for x in args.tiny.split(",")]
    if not os.access(args.visbone, os.X_OK):
        sys.exit(f"shard_scale: {args.visbone} not built")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory(prefix="visbone-shard-scale-") as tmp:
        work = pathlib.Path(tmp)
        if not args.skip_bit50:
            bench_bit50(args, work)
        if not args.skip_rss:
            bench_rss(args, work)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
