"""A small Open Inference Protocol v2 (KServe / Triton REST) client, written from the protocol's text:
JSON tensors, and the binary tensor extension (a JSON header of Inference-Header-Content-Length bytes,
then each binary tensor's bytes in order), plus the helpers the serve tests share (safetensors I/O in pure
Python, a server started on a free loopback port and always stopped)."""
import json
import os
import select
import signal
import struct
import subprocess
import time

import requests

TIMEOUT = 30  # seconds for any one HTTP call


def infer(base, model, values, shape, binary_input=False, binary_output=False, outputs=None, timeout=TIMEOUT):
    """POST /v2/models/{model}/infer with one FP32 input `pixel_values`; returns {name: (shape, data)}
    (data: a flat list of floats for FP32, of str for BYTES) and the raw response."""
    inp = {"name": "pixel_values", "shape": list(shape), "datatype": "FP32"}
    body_tail = b""
    if binary_input:
        body_tail = struct.pack("<%df" % len(values), *values)
        inp["parameters"] = {"binary_data_size": len(body_tail)}
    else:
        inp["data"] = list(values)
    req = {"id": "t1", "inputs": [inp]}
    if outputs is not None:
        req["outputs"] = [{"name": n, "parameters": {"binary_data": binary_output}} for n in outputs]
    elif binary_output:
        req["parameters"] = {"binary_data_output": True}
    header = json.dumps(req).encode()
    headers = {"Content-Type": "application/json"}
    if binary_input:
        headers["Inference-Header-Content-Length"] = str(len(header))
        headers["Content-Type"] = "application/octet-stream"
    r = requests.post(f"{base}/v2/models/{model}/infer", data=header + body_tail, headers=headers, timeout=timeout)
    if r.status_code != 200:
        return None, r
    return decode_response(r), r


def decode_response(r):
    raw = r.content
    n = int(r.headers.get("Inference-Header-Content-Length", len(raw)))
    doc = json.loads(raw[:n])
    offset = n
    out = {}
    for o in doc["outputs"]:
        size = o.get("parameters", {}).get("binary_data_size")
        if size is None:
            out[o["name"]] = (o["shape"], o["data"])
            continue
        chunk = raw[offset:offset + size]
        offset += size
        if o["datatype"] == "FP32":
            out[o["name"]] = (o["shape"], list(struct.unpack("<%df" % (size // 4), chunk)))
        else:  # BYTES: 4-byte little-endian length, then the bytes, per element
            items, i = [], 0
            while i < len(chunk):
                (k,) = struct.unpack("<I", chunk[i:i + 4])
                items.append(chunk[i + 4:i + 4 + k].decode())
                i += 4 + k
            out[o["name"]] = (o["shape"], items)
    assert offset == len(raw), "binary section length does not match the outputs' binary_data_size"
    return out


def write_safetensors(path, tensors):
    """tensors: {name: (shape, flat float list)} as float32."""
    header, blobs, offset = {}, [], 0
    for name, (shape, data) in tensors.items():
        blob = struct.pack("<%df" % len(data), *data)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        a, b = info["data_offsets"]
        out[name] = (info["shape"], list(struct.unpack("<%df" % ((b - a) // 4), raw[8 + n + a:8 + n + b])))
    return out


def max_relative_error(got, want):
    scale = max(max(abs(v) for v in want), 1e-30)
    return max(abs(a - b) for a, b in zip(got, want)) / scale


class Server:
    """`visbone serve CONFIG --port 0` on 127.0.0.1: waits (bounded) for "listening on http://H:P"."""

    def __init__(self, visbone, config, start_timeout=60, env=None, args=("--host", "127.0.0.1", "--port", "0")):
        self.proc = subprocess.Popen([visbone, "serve", str(config), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + start_timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                self.stop()
                raise RuntimeError(f"server did not start within {start_timeout} s")
            c = os.read(self.proc.stdout.fileno(), 1)
            if not c:
                self.proc.wait(30)
                message = self.proc.stderr.read().decode(errors="replace")
                self.stop()
                raise RuntimeError("server exited: " + message)
            line += c
        text = line.decode().strip()
        assert text.startswith("listening on http://127.0.0.1:"), text
        self.url = text[len("listening on "):]
        self.port = int(self.url.rsplit(":", 1)[1])

    def terminate(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig`; returns the exit status (killing the server if it does not exit in time)."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for s in (self.proc.stdout, self.proc.stderr):
            s.close()
