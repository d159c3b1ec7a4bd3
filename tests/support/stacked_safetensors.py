"""Reads what a `safetensors` sink with `stack: true` writes for an embedding head (the (N, C) float32 tensor
`embedding` and the N ids in the metadata), with numpy alone, for the reference scripts in tests/."""
import json
import struct

import numpy as np


def read_stacked(path, tensor="embedding"):
    """(float32 array (N, C), list of N ids, the file's bytes)."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    info = header[tensor]
    assert info["dtype"] == "F32", info
    begin, end = info["data_offsets"]
    x = np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype="<f4").reshape(info["shape"])
    return x, json.loads(header["__metadata__"]["ids"]), raw
