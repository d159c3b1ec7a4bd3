"""What the pytest suites share: where the fixtures and the `visbone` program are, reading safetensors files,
running the program, the process's resident memory, and comparing within a relative tolerance."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("VISBONE_TEST_DATA", ROOT / "tests" / "data"))
MODELS = DATA / "models"
BINARY = os.environ.get("VISBONE_BINARY", str(ROOT / "build" / "bin" / "visbone"))

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    """{name: array} of a safetensors file (the dtypes the fixtures and the program write)."""
    raw = Path(path).read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    header.pop("__metadata__", None)
    body = 8 + size
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        out[name] = np.frombuffer(raw[body + begin : body + end], dtype=dtype).reshape(info["shape"])
    return out


def run_visbone(*args):
    """Runs the program; returns the completed process (raises with its stderr when it fails)."""
    p = subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"visbone {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def rss_bytes():
    """The process's resident set size now (not the peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def assert_close(actual, expected, rel=1e-6, what=""):
    """max |actual - expected| <= rel * max |expected|, shapes equal."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected.astype(np.float64)))) or 1.0
    err = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    assert err <= rel * scale, f"{what}: max abs error {err:.3g} > {rel:g} x {scale:.3g}"
