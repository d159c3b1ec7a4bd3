#!/usr/bin/python3
"""Checks a `visbone run` output folder after a run that may have been killed (scripts/soak.sh): every file
parses completely (JSON Lines, CSV, JSON, PNG, safetensors; hidden temporary files of a killed run are
allowed); with _SUCCESS present, the folder holds one complete run: the jsonl, csv and summary agree on the
number of inputs and the jsonl indices are 0..n-1. usage: soak_check.py DIR [--expect-complete]"""
import csv
import json
import pathlib
import struct
import sys


def problems_counts(folder):
    return problems(folder, with_counts=True)


def problems(folder, with_counts=False):
    found = []
    counts = {}
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or f.is_dir() or f.name == "_SUCCESS":
            continue
        data = f.read_bytes()
        try:
            if f.suffix == ".jsonl":
                if data and not data.endswith(b"\n"):
                    raise ValueError("last line not complete")
                records = [json.loads(line) for line in data.decode().splitlines()]
                if [r["index"] for r in records] != list(range(len(records))):
                    raise ValueError("indices are not 0..n-1")
                counts[f.name] = len(records)
            elif f.suffix == ".csv":
                rows = list(csv.reader(data.decode().splitlines()))
                if any(len(r) != len(rows[0]) for r in rows):
                    raise ValueError("rows of different lengths")
                counts[f.name] = len(rows) - 1
            elif f.suffix == ".json":
                summary = json.loads(data)
                counts[f.name] = summary["items"]
            elif f.suffix == ".png":
                if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[-8:-4] != b"IEND":
                    raise ValueError("not a complete PNG")
            elif f.suffix == ".safetensors":
                n = struct.unpack("<Q", data[:8])[0]
                header = json.loads(data[8:8 + n])
                end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
                if len(data) != 8 + n + end:
                    raise ValueError("size does not match the header")
        except (ValueError, KeyError, IndexError, struct.error, UnicodeDecodeError) as e:
            found.append(f"{f}: {e}")
    if with_counts:
        return counts
    complete = (folder / "_SUCCESS").exists()
    if complete and len(set(counts.values())) > 1:
        found.append(f"{folder}: has _SUCCESS but its files disagree on the number of inputs: {counts}")
    return found, complete


def main():
    folder = pathlib.Path(sys.argv[1])
    if not folder.exists():  # a run killed before it created its folder
        if "--state" in sys.argv:
            print("incomplete")
        return 0
    found, complete = problems(folder)
    if "--expect-complete" in sys.argv and not complete:
        found.append(f"{folder}: no _SUCCESS after a complete run")
    for p in found:
        print("soak_check:", p)
    if "--state" in sys.argv:  # for soak.sh's tally: complete, or incomplete (mixed: two runs' files)
        counts = problems_counts(folder)
        print("complete" if complete else "incomplete-mixed" if len(set(counts.values())) > 1 else "incomplete")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
