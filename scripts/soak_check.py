#!/usr/bin/python3
"""Checks a `visbone run` output folder after a run that may have been killed or have hit a full disk
(scripts/soak.sh): every file, in the per-input folders too, parses completely (JSON Lines, CSV, JSON, PNG,
JPEG, safetensors; hidden temporary files of a killed run are allowed). With _SUCCESS present the folder must
hold exactly one complete run: every output the summary lists is there; the jsonl, csv and summary agree on
the number of inputs; the safetensors files, the embedding index and every per-input folder (annotated
images, heat maps) hold exactly the inputs the jsonl says succeeded, by id; and no other file is there.
usage: soak_check.py DIR [--expect-complete] [--state]"""
import csv
import json
import pathlib
import struct
import sys

PER_INPUT = (".png", ".jpg")


def safetensors_metadata(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if len(data) != 8 + n + end:
        raise ValueError("size does not match the header")
    return header.get("__metadata__", {})


def parse(f):
    """What one file says about the run (a dict), or raises ValueError when it is not complete."""
    data = f.read_bytes()
    if f.suffix == ".jsonl":
        if data and not data.endswith(b"\n"):
            raise ValueError("last line not complete")
        records = [json.loads(line) for line in data.decode().splitlines()]
        if [r["index"] for r in records] != list(range(len(records))):
            raise ValueError("indices are not 0..n-1")
        return {"items": len(records), "ok_ids": [r["id"] for r in records if r["ok"]]}
    if f.suffix == ".csv":
        rows = list(csv.reader(data.decode().splitlines()))
        if any(len(r) != len(rows[0]) for r in rows):
            raise ValueError("rows of different lengths")
        return {"items": len(rows) - 1}
    if f.suffix == ".json":
        summary = json.loads(data)
        return {"items": summary["items"], "ok": summary["ok"], "summary": summary}
    if f.suffix == ".png":
        if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[-8:-4] != b"IEND":
            raise ValueError("not a complete PNG")
        return {}
    if f.suffix == ".jpg":
        if not data.startswith(b"\xff\xd8") or not data.rstrip(b"\0").endswith(b"\xff\xd9"):
            raise ValueError("not a complete JPEG")
        return {}
    if f.suffix == ".safetensors":
        meta = safetensors_metadata(data)
        if "ids" in meta:  # stacked: one row per input
            return {"ok_ids": json.loads(meta["ids"])}
        return {"ok_ids_set": sorted(json.loads(meta.get("content_keys", "{}")))}
    return {}


def output_name(id_, ext):
    """sink_outputs.h's output_name: the id's path with .ext appended, '..' turned into '__'."""
    parts = [("__" if p == ".." else p) for p in id_.split("/") if p not in ("", ".")]
    return "/".join(parts) + "." + ext


def check(folder):
    """(findings, complete, facts): facts maps each file (relative) to what parse() found."""
    found, facts = [], {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if f.is_dir() or f.name.startswith(".") or rel == "_SUCCESS":
            continue
        try:
            facts[rel] = parse(f)
        except (ValueError, KeyError, IndexError, TypeError, struct.error, UnicodeDecodeError) as e:
            found.append(f"{f}: {e}")
    complete = (folder / "_SUCCESS").exists()
    if complete and not found:
        found += one_run(folder, facts)
    return found, complete, facts


def one_run(folder, facts):
    """What makes a folder with _SUCCESS more (or less) than one complete run."""
    found = []
    summaries = [v["summary"] for v in facts.values() if "summary" in v]
    if len(summaries) != 1:
        return [f"{folder}: has _SUCCESS but {len(summaries)} summary files"]
    summary = summaries[0]
    owned = {k for k, v in facts.items() if "summary" in v}
    per_input_dirs = []
    for out in summary["outputs"]:
        rel = pathlib.Path(out["path"]).resolve().relative_to(folder.resolve()).as_posix()
        if (folder / rel).is_dir():
            per_input_dirs.append(rel)
        elif rel not in facts:
            found.append(f"{folder}: has _SUCCESS but the {out['sink']} output {rel} is missing")
        owned.add(rel)
    items = {k: v["items"] for k, v in facts.items() if "items" in v}
    if len(set(items.values())) > 1:
        found.append(f"{folder}: has _SUCCESS but its files disagree on the number of inputs: {items}")
    ok_ids = next((v["ok_ids"] for k, v in facts.items() if k.endswith(".jsonl")), None)
    if ok_ids is None:
        return found + [f"{folder}: has _SUCCESS but no jsonl to check the other outputs against"]
    if summary["ok"] != len(ok_ids):
        found.append(f"{folder}: summary ok {summary['ok']}, jsonl {len(ok_ids)} ok records")
    for k, v in facts.items():
        if v.get("ok_ids", ok_ids) != ok_ids or v.get("ok_ids_set", sorted(ok_ids)) != sorted(ok_ids):
            found.append(f"{folder}: has _SUCCESS but {k} holds other inputs than the jsonl's ok ones")
    for d in per_input_dirs:
        images = {k[len(d) + 1:] for k in facts if k.startswith(d + "/") and k.endswith(PER_INPUT)}
        owned |= {d + "/" + i for i in images}
        exts = {i.rsplit(".", 1)[1] for i in images} or {"png"}
        want = {output_name(i, e) for i in ok_ids for e in exts}
        if images != want:
            found.append(f"{folder}: has _SUCCESS but {d}/ holds {len(images)} images for {len(ok_ids)} ok inputs"
                         f" ({len(images - want)} not of this run, {len(want - images)} missing)")
    stray = sorted(set(facts) - owned)
    if stray:
        found.append(f"{folder}: has _SUCCESS but holds files no output of the run accounts for: {stray[:5]}")
    return found


def main():
    folder = pathlib.Path(sys.argv[1])
    if not folder.exists():  # a run killed before it created its folder
        if "--state" in sys.argv:
            print("incomplete")
        return 0
    found, complete, facts = check(folder)
    if "--expect-complete" in sys.argv and not complete:
        found.append(f"{folder}: no _SUCCESS after a complete run")
    for p in found:
        print("soak_check:", p)
    if "--state" in sys.argv:  # for soak.sh's tally: complete, or incomplete (mixed: two runs' files)
        counts = {v["items"] for v in facts.values() if "items" in v}
        print("complete" if complete else "incomplete-mixed" if len(counts) > 1 else "incomplete")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
