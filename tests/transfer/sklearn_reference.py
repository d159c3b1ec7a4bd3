#!/usr/bin/env python3
"""Reference numbers for `visbone fit` (ctest ProbeReference.*): scikit-learn's LogisticRegression and a
numpy nearest-class-mean on the same digits features, at 1, 5 and 10 shots per class.

The features are visbone's own pooled features of data/digits, committed in tests/data/digits (rows in the
order of the `ids` metadata): features.safetensors (the bundled bit-tiny-digits model, trained on digits)
and random_features.safetensors (tiny-preact, random weights: a harder problem), made with
    build/bin/visbone run tests/transfer/features_digits.yaml
    build/bin/visbone run tests/transfer/features_random.yaml
Split (the test suite builds the same): per class, image files in sorted name order; the first k are the
k-shot training set, every file from the 11th on is the test set (200 images, the same for every k).

    tests/transfer/debian_sklearn.sh /usr/bin/python3 tests/transfer/sklearn_reference.py
writes tests/data/digits/fit_reference.json.
"""
import hashlib
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from stacked_safetensors import read_stacked  # noqa: E402
DATA = os.path.join(HERE, "..", "data", "digits")
SHOTS = (1, 5, 10)
CS = (0.1, 1.0, 10.0)
TEST_FROM = 10


def read_features(path):
    x, ids, raw = read_stacked(path)
    return x.astype(np.float64), ids, hashlib.sha256(raw).hexdigest()


def split(ids):
    classes = sorted({i.split("/")[0] for i in ids})
    by_class = {c: sorted((i for i in ids if i.split("/")[0] == c), key=lambda i: i.split("/")[-1]) for c in classes}
    index = {i: r for r, i in enumerate(ids)}
    label = {i: classes.index(i.split("/")[0]) for i in ids}
    train = {k: [index[i] for c in classes for i in by_class[c][:k]] for k in SHOTS}
    test = [index[i] for c in classes for i in by_class[c][TEST_FROM:]]
    y = np.array([label[i] for i in ids])
    return classes, train, test, y


def prototype_accuracy(x, y, train, test, num_classes):
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    protos = np.stack([unit[train][y[train] == c].mean(axis=0) for c in range(num_classes)])
    protos /= np.maximum(np.linalg.norm(protos, axis=1, keepdims=True), 1e-12)
    return float(np.mean(np.argmax(unit[test] @ protos.T, axis=1) == y[test]))


FEATURE_SETS = {"bit-tiny-digits": "features.safetensors", "tiny-preact-random": "random_features.safetensors"}


def reference(file):
    x, ids, digest = read_features(os.path.join(DATA, file))
    classes, train, test, y = split(ids)
    rows = []
    for k in SHOTS:
        row = {"shots": k, "train": len(train[k]), "test": len(test),
               "prototype_accuracy": prototype_accuracy(x, y, train[k], test, len(classes)), "probe": []}
        for c in CS:
            clf = LogisticRegression(C=c, solver="lbfgs", max_iter=100000, tol=1e-10)
            clf.fit(x[train[k]], y[train[k]])
            row["probe"].append({"C": c, "accuracy": float(clf.score(x[test], y[test]))})
        rows.append(row)
        print(file, k, "shots: prototype", row["prototype_accuracy"], " probe",
              ", ".join(f"C={p['C']}: {p['accuracy']}" for p in row["probe"]))
    return {"file": file, "features_sha256": digest, "classes": classes, "rows": rows}


def main():
    out = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__, "test_from": TEST_FROM,
           "sets": {name: reference(file) for name, file in FEATURE_SETS.items()}}
    with open(os.path.join(DATA, "fit_reference.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
