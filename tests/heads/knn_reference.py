#!/usr/bin/env python3
"""numpy's top-k for the knn head's test (tests/heads/knn_head_test.cpp): the gallery is the digits features
(tests/data/digits/features.safetensors, ids in its metadata), the queries the first 10 of those rows (each
finds itself, and exact duplicates among the digits tie) and the first 10 rows of random_features.safetensors.
Cosine in float64; order: score descending, ties ordered by id, then by gallery row (np.lexsort).
    /usr/bin/python3 tests/heads/knn_reference.py      # writes tests/data/knn/reference.json
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from stacked_safetensors import read_stacked  # noqa: E402
DATA = os.path.join(HERE, "..", "data")
K = 8


def read(path):
    x, ids, _ = read_stacked(path)
    return x, ids


def unit(x):
    x = x.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def main():
    gallery, ids = read(os.path.join(DATA, "digits", "features.safetensors"))
    randoms, _ = read(os.path.join(DATA, "digits", "random_features.safetensors"))
    g = unit(gallery)
    id_keys = np.array(ids)
    out = {"k": K, "queries": []}
    for source, rows in (("features.safetensors", gallery[:10]), ("random_features.safetensors", randoms[:10])):
        scores = unit(rows) @ g.T
        for i, s in enumerate(scores):
            order = np.lexsort((np.arange(len(s)), id_keys, -s))[:K]
            out["queries"].append({"file": source, "row": i, "rows": [int(r) for r in order],
                                   "ids": [ids[r] for r in order], "scores": [float(s[r]) for r in order]})
    with open(os.path.join(DATA, "knn", "reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
