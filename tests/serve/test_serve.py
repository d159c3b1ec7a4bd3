"""`visbone serve` from the outside: an Open Inference Protocol v2 client, the image endpoint, dynamic
batching, limits, hostile input and shutdown. Each class starts its own server on 127.0.0.1 (--port 0) and
always stops it. Needs VISBONE (the visbone binary) in the environment; run a class with
`python3 test_serve.py ClassName`."""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from oip_client import (TIMEOUT, Server, infer, max_relative_error, read_safetensors,
                        write_safetensors)

VISBONE = os.environ.get("VISBONE", "build/bin/visbone")
DATA = Path(__file__).resolve().parent.parent / "data"
DIGITS = DATA / "models" / "bit-tiny-digits"
DIGIT_PNG = DATA / "digits" / "images" / "digit_0000.png"
JPEG = next((DATA / "preprocess" / "images").glob("*.jp*g"))
STAGES = ["stem", "stage1", "stage2", "stage3", "stage4"]


def write_config(folder, serve):
    path = Path(folder) / "serve.yaml"
    path.write_text(json.dumps({
        "serve": serve,
        "model": {"checkpoint": str(DIGITS), "out_features": ["stage2", "stage4"]},
        "heads": [{"type": "classification", "top_k": 3}],
    }))
    return path


def random_pixels(n, seed, size=32):
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(n * 3 * size * size)], [n, 3, size, size]


def png_bytes(width, height):
    """A valid grayscale PNG of zeros (compresses to almost nothing whatever its size)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"\0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def raw_http(port, data, shutdown_write=False, timeout=10):
    """Sends bytes on a fresh connection; returns everything the server sends before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)


class ServerCase(unittest.TestCase):
    serve = {"max_queue_delay_microseconds": 2000}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(VISBONE, write_config(cls.tmp.name, cls.serve))
        cls.base = cls.server.url

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def assert_error(self, r, status, *words):
        self.assertEqual(r.status_code, status, r.text)
        message = r.json()["error"]
        for w in words:
            self.assertIn(w, message)
        # ... and the server keeps serving
        self.assertEqual(requests.get(f"{self.base}/v2/health/ready", timeout=TIMEOUT).status_code, 200)


class Protocol(ServerCase):
    def test_health_and_server_metadata(self):
        self.assertEqual(requests.get(f"{self.base}/v2/health/live", timeout=TIMEOUT).status_code, 200)
        self.assertEqual(requests.get(f"{self.base}/v2/health/ready", timeout=TIMEOUT).status_code, 200)
        self.assertIn("binary_tensor_data", requests.get(f"{self.base}/v2", timeout=TIMEOUT).json()["extensions"])
        self.assertEqual(requests.get(f"{self.base}/v2/models/default/ready", timeout=TIMEOUT).status_code, 200)

    def test_model_metadata(self):
        m = requests.get(f"{self.base}/v2/models/default", timeout=TIMEOUT).json()
        self.assertEqual(m["name"], "default")
        self.assertEqual(m["inputs"], [{"name": "pixel_values", "datatype": "FP32", "shape": [-1, 3, -1, -1]}])
        outs = {o["name"]: o for o in m["outputs"]}
        self.assertEqual(outs["stage2"]["shape"], [-1, 64, -1, -1])
        self.assertEqual(outs["stage4"]["shape"], [-1, 256, -1, -1])
        self.assertEqual(outs["classification"]["datatype"], "BYTES")
        # versioned path, Triton style
        self.assertEqual(requests.get(f"{self.base}/v2/models/default/versions/1", timeout=TIMEOUT).json(), m)

    def test_model_config_as_triton_gives_it(self):
        # Triton's model configuration extension (model_config.proto as JSON): what perf_analyzer reads.
        self.assertIn("model_configuration", requests.get(f"{self.base}/v2", timeout=TIMEOUT).json()["extensions"])
        c = requests.get(f"{self.base}/v2/models/default/config", timeout=TIMEOUT).json()
        self.assertEqual(c["max_batch_size"], 8)  # the server's default
        self.assertEqual(c["dynamic_batching"], {"max_queue_delay_microseconds": 2000})
        self.assertEqual(c["input"], [{"name": "pixel_values", "data_type": "TYPE_FP32", "format": "FORMAT_NCHW",
                                       "dims": [3, -1, -1]}])
        # The outputs are the metadata's, without the batch dimension.
        meta = requests.get(f"{self.base}/v2/models/default", timeout=TIMEOUT).json()
        self.assertEqual([o["name"] for o in c["output"]], [o["name"] for o in meta["outputs"]])
        outs = {o["name"]: o for o in c["output"]}
        self.assertEqual(outs["stage4"], {"name": "stage4", "data_type": "TYPE_FP32", "dims": [256, -1, -1]})
        self.assertEqual(outs["classification"]["data_type"], "TYPE_STRING")
        self.assertEqual(requests.get(f"{self.base}/v2/models/default/versions/1/config", timeout=TIMEOUT).json(), c)
        self.assert_error(requests.get(f"{self.base}/v2/models/nope/config", timeout=TIMEOUT), 404, "'nope'")

    def test_infer_matches_visbone_forward(self):
        values, shape = random_pixels(2, seed=1)
        with tempfile.TemporaryDirectory() as d:
            write_safetensors(f"{d}/in.safetensors", {"pixel_values": (shape, values)})
            subprocess.run([VISBONE, "forward", str(DIGITS), "--input", f"{d}/in.safetensors", "--output",
                            f"{d}/out.safetensors"], check=True, timeout=120, capture_output=True)
            want = read_safetensors(f"{d}/out.safetensors")
        for binary_input in (False, True):
            for binary_output in (False, True):
                got, r = infer(self.base, "default", values, shape, binary_input, binary_output,
                               outputs=STAGES)
                self.assertIsNotNone(got, r.text)
                for i, stage in enumerate(STAGES):
                    w_shape, w = want[f"hidden_states.{i}"]
                    g_shape, g = got[stage]
                    self.assertEqual(g_shape, w_shape, stage)
                    self.assertLessEqual(max_relative_error(g, w), 1e-6, (stage, binary_input, binary_output))

    def test_default_outputs_and_heads(self):
        values, shape = random_pixels(1, seed=2)
        got, r = infer(self.base, "default", values, shape)
        self.assertIsNotNone(got, r.text)
        self.assertEqual(set(got), {"stage2", "stage4", "classification"})
        self.assertEqual(r.json()["id"], "t1")
        record = json.loads(got["classification"][1][0])
        self.assertEqual(len(record["predictions"]), 3)
        got_b, _ = infer(self.base, "default", values, shape, binary_output=True)
        self.assertEqual(got_b["classification"][1], got["classification"][1])

    def test_predict_png_raw_and_multipart(self):
        body = DIGIT_PNG.read_bytes()
        a = requests.post(f"{self.base}/v1/models/default:predict", data=body,
                          headers={"Content-Type": "image/png"}, timeout=TIMEOUT)
        b = requests.post(f"{self.base}/v1/models/default:predict", files={"image": ("d.png", body, "image/png")},
                          timeout=TIMEOUT)
        self.assertEqual(a.status_code, 200, a.text)
        self.assertEqual(b.status_code, 200, b.text)
        preds = a.json()["heads"]["classification"]["predictions"]
        self.assertEqual(preds, b.json()["heads"]["classification"]["predictions"])
        truth = json.loads((DATA / "digits" / "dev_reference.json").read_text())
        entry = next(row for row in truth["rows"] if row["file"] == DIGIT_PNG.name)
        self.assertEqual(preds[0]["index"], entry["predicted"])

    def test_predict_out_features_are_visbone_forwards_maps(self):
        # ?out_features=: the image as the model's processor makes it, those stages as `visbone forward` gives them.
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([VISBONE, "preprocess", "--config", str(DIGITS), "--output", f"{d}/in.safetensors",
                            str(DIGIT_PNG)], check=True, timeout=120, capture_output=True)
            subprocess.run([VISBONE, "forward", str(DIGITS), "--input", f"{d}/in.safetensors", "--key", DIGIT_PNG.name,
                            "--output", f"{d}/out.safetensors"], check=True, timeout=120, capture_output=True)
            want = read_safetensors(f"{d}/out.safetensors")
        r = requests.post(f"{self.base}/v1/models/default:predict?out_features=stage1,stage3", data=DIGIT_PNG.read_bytes(),
                          headers={"Content-Type": "image/png"}, timeout=TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        features = r.json()["features"]
        self.assertEqual(sorted(features), ["stage1", "stage3"])
        for stage in ("stage1", "stage3"):
            w_shape, w = want[f"hidden_states.{STAGES.index(stage)}"]
            self.assertEqual([1] + features[stage]["shape"], w_shape, stage)
            self.assertLessEqual(max_relative_error(features[stage]["data"], w), 1e-6, stage)
        self.assertIn("classification", r.json()["heads"])
        bad = requests.post(f"{self.base}/v1/models/default:predict?out_features=stage9", data=DIGIT_PNG.read_bytes(),
                            headers={"Content-Type": "image/png"}, timeout=TIMEOUT)
        self.assert_error(bad, 400, "out_features: unknown stage 'stage9'")

    def test_predict_jpeg(self):
        r = requests.post(f"{self.base}/v1/models/default:predict", data=JPEG.read_bytes(),
                          headers={"Content-Type": "image/jpeg"}, timeout=TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(len(r.json()["heads"]["classification"]["predictions"]), 3)

    def test_keep_alive_and_metrics(self):
        with requests.Session() as s:
            for _ in range(3):
                self.assertEqual(s.get(f"{self.base}/v2/health/live", timeout=TIMEOUT).status_code, 200)
            text = s.get(f"{self.base}/metrics", timeout=TIMEOUT).text
        for name in ("visbone_requests_total{", "visbone_request_duration_seconds_bucket{", "visbone_queue_depth{",
                     "visbone_batch_size_bucket{", "visbone_queue_wait_seconds_count{", "visbone_images_total{"):
            self.assertIn(name, text)
        self.assertIn('visbone_open_connections', text)


class Batching(ServerCase):
    # a long delay and preferred size 8: eight concurrent requests run as one batch
    serve = {"max_batch_size": 8, "preferred_batch_size": 8, "max_queue_delay_microseconds": 1000000}

    def test_concurrent_requests_equal_single_requests(self):
        inputs = [random_pixels(1, seed=10 + i) for i in range(8)]
        single = []
        for values, shape in inputs:  # one at a time: each waits out the delay alone, a batch of 1
            got, r = infer(self.base, "default", values, shape, binary_output=True, outputs=STAGES)
            self.assertIsNotNone(got, r.text)
            single.append(got)
        results = [None] * 8
        barrier = threading.Barrier(8)

        def call(i):
            barrier.wait()
            results[i] = infer(self.base, "default", *inputs[i], binary_output=True, outputs=STAGES)[0]

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        metrics = requests.get(f"{self.base}/metrics", timeout=TIMEOUT).text
        self.assertIn('visbone_batch_size_bucket{model="default",le="4"} 8\n', metrics)  # 8 singles
        self.assertIn('visbone_batch_size_count{model="default"} 9\n', metrics)  # ... and one batch of 8
        for i in range(8):
            self.assertIsNotNone(results[i])
            for stage in STAGES:
                self.assertEqual(results[i][stage], single[i][stage], (i, stage))  # bit-identical
        # Triton's statistics say the same: 16 images in 9 passes, 8 of size 1 and one of 8.
        stats = requests.get(f"{self.base}/v2/models/default/stats", timeout=TIMEOUT).json()["model_stats"]
        self.assertEqual(len(stats), 1)
        s = stats[0]
        self.assertEqual((s["inference_count"], s["execution_count"]), (16, 9))
        self.assertEqual({b["batch_size"]: b["compute_infer"]["count"] for b in s["batch_stats"]}, {1: 8, 8: 1})
        for phase in ("success", "queue", "compute_input", "compute_infer", "compute_output"):
            self.assertEqual(s["inference_stats"][phase]["count"], 16, phase)
        # every request of the batch of 8 waited out most of the delay in the queue
        self.assertGreater(s["inference_stats"]["queue"]["ns"], 8 * 500_000_000)
        self.assertGreater(s["inference_stats"]["compute_infer"]["ns"], 0)
        self.assertEqual(s["inference_stats"]["fail"]["count"], 0)


class Statistics(ServerCase):
    def stats(self, path="/v2/models/default/stats"):
        r = requests.get(self.base + path, timeout=TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["model_stats"]

    def test_triton_statistics_count_requests_images_and_failures(self):
        self.assertIn("statistics", requests.get(f"{self.base}/v2", timeout=TIMEOUT).json()["extensions"])
        s = self.stats()[0]
        self.assertEqual((s["name"], s["version"], s["inference_count"], s["execution_count"]), ("default", "1", 0, 0))
        self.assertEqual(s["batch_stats"], [])
        before = time.time() * 1000
        values, shape = random_pixels(3, seed=7)
        got, r = infer(self.base, "default", values, shape, binary_input=True)
        self.assertIsNotNone(got, r.text)
        r = requests.post(f"{self.base}/v1/models/default:predict", data=png_bytes(32, 32), timeout=TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        bad = {"inputs": [{"name": "pixel_values", "shape": [1, 3, 2, 2], "datatype": "INT32", "data": [0] * 12}]}
        r = requests.post(f"{self.base}/v2/models/default/infer", data=json.dumps(bad), timeout=TIMEOUT)
        self.assertEqual(r.status_code, 400)
        requests.post(f"{self.base}/v2/models/nope/infer", data=json.dumps(bad), timeout=TIMEOUT)  # not counted
        s = self.stats()[0]
        self.assertEqual((s["inference_count"], s["execution_count"]), (4, 2))
        self.assertEqual({b["batch_size"]: b["compute_infer"]["count"] for b in s["batch_stats"]}, {1: 1, 3: 1})
        self.assertEqual(s["inference_stats"]["success"]["count"], 2)
        self.assertEqual(s["inference_stats"]["fail"]["count"], 1)
        self.assertGreaterEqual(s["last_inference"], before - 1000)
        self.assertLessEqual(s["last_inference"], time.time() * 1000 + 1000)
        self.assertEqual(self.stats("/v2/models/stats"), [s])
        self.assertEqual(self.stats("/v2/models/default/versions/1/stats"), [s])
        self.assert_error(requests.get(f"{self.base}/v2/models/nope/stats", timeout=TIMEOUT), 404, "'nope'")


class HostileInput(ServerCase):
    serve = {"max_body_bytes": 1000000, "max_pixels": 1000000, "max_batch_size": 4}

    def post_infer(self, body, headers=None):
        return requests.post(f"{self.base}/v2/models/default/infer", data=body, headers=headers or {},
                             timeout=TIMEOUT)

    def test_malformed_json(self):
        self.assert_error(self.post_infer(b'{"inputs": ['), 400, "not valid JSON")

    def test_wrong_dtype(self):
        body = {"inputs": [{"name": "pixel_values", "shape": [1, 3, 2, 2], "datatype": "INT32", "data": [0] * 12}]}
        self.assert_error(self.post_infer(json.dumps(body)), 400, "datatype", "INT32")

    def test_wrong_shape(self):
        body = {"inputs": [{"name": "pixel_values", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [0] * 1024}]}
        self.assert_error(self.post_infer(json.dumps(body)), 400, "shape", "3 channels")
        body["inputs"][0]["shape"] = [1, 3, 32]
        self.assert_error(self.post_infer(json.dumps(body)), 400, "[N, C, H, W]")

    def test_data_count_mismatch(self):
        body = {"inputs": [{"name": "pixel_values", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": [0.5]}]}
        self.assert_error(self.post_infer(json.dumps(body)), 400, "3072 values, found 1")

    def test_wrong_input_name_and_output(self):
        body = {"inputs": [{"name": "x", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": [0] * 3072}]}
        self.assert_error(self.post_infer(json.dumps(body)), 400, "inputs[0].name")
        body["inputs"][0]["name"] = "pixel_values"
        body["outputs"] = [{"name": "stage9"}]
        self.assert_error(self.post_infer(json.dumps(body)), 400, "unknown output 'stage9'")

    def test_numbers_out_of_range(self):
        # Found by fuzz/fuzz_serve_request: a dimension above int64 answered 500 "not exact [boost.json...]".
        body = {"inputs": [{"name": "pixel_values", "shape": [2 ** 64 - 1, 3, 2, 2], "datatype": "FP32",
                            "data": [0] * 12}]}
        self.assert_error(self.post_infer(json.dumps(body)), 400, "inputs[0].shape", "2^63 - 1")
        body["inputs"][0]["shape"] = [1, 3, 2, 2]
        body["inputs"][0]["data"] = [0] * 11 + [1e39]
        self.assert_error(self.post_infer(json.dumps(body)), 400, "inputs[0].data", "1E39", "FP32's range")
        del body["inputs"][0]["data"]
        for size in (2 ** 63, -48):
            body["inputs"][0]["parameters"] = {"binary_data_size": size}
            header = json.dumps(body).encode()
            r = self.post_infer(header + b"\0" * 48, {"Inference-Header-Content-Length": str(len(header))})
            self.assert_error(r, 400, "binary_data_size", "byte count")

    def test_binary_size_mismatch(self):
        header = json.dumps({"inputs": [{"name": "pixel_values", "shape": [1, 3, 32, 32], "datatype": "FP32",
                                         "parameters": {"binary_data_size": 3072 * 4}}]}).encode()
        r = self.post_infer(header + b"\0" * 100, {"Inference-Header-Content-Length": str(len(header))})
        self.assert_error(r, 400, "12288 bytes", "found 100")
        r = self.post_infer(header, {"Inference-Header-Content-Length": "12x"})
        self.assert_error(r, 400, "Inference-Header-Content-Length")

    def test_batch_over_max_batch_size(self):
        values, shape = random_pixels(5, seed=3, size=4)
        _, r = infer(self.base, "default", values, shape, binary_input=True)
        self.assert_error(r, 400, "max_batch_size 4")

    def test_tensor_over_max_pixels(self):
        header = json.dumps({"inputs": [{"name": "pixel_values", "shape": [1, 3, 2000, 2000], "datatype": "FP32",
                                         "data": [0]}]})
        self.assert_error(self.post_infer(header), 400, "max_pixels")

    def test_non_image_body(self):
        r = requests.post(f"{self.base}/v1/models/default:predict", data=b"not an image at all", timeout=TIMEOUT)
        self.assert_error(r, 400, "not an image")
        r = requests.post(f"{self.base}/v1/models/default:predict", data=b"", timeout=TIMEOUT)
        self.assert_error(r, 400, "empty")
        truncated = DIGIT_PNG.read_bytes()[:60]
        r = requests.post(f"{self.base}/v1/models/default:predict", data=truncated, timeout=TIMEOUT)
        self.assert_error(r, 400, "not an image")

    def test_image_over_max_pixels(self):
        r = requests.post(f"{self.base}/v1/models/default:predict", data=png_bytes(1100, 1000), timeout=TIMEOUT)
        self.assert_error(r, 400, "pixels")

    def test_body_over_max_body_bytes(self):
        reply = raw_http(self.server.port, b"POST /v1/models/default:predict HTTP/1.1\r\nHost: x\r\n"
                                           b"Content-Length: 2000000\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])
        self.assertIn(b"max_body_bytes", reply)
        self.assertEqual(requests.get(f"{self.base}/v2/health/ready", timeout=TIMEOUT).status_code, 200)

    def test_body_at_max_body_bytes(self):
        # A valid request padded with whitespace to one byte under the limit and to the limit is served; one
        # byte over is refused from its Content-Length.
        limit = self.serve["max_body_bytes"]
        body = json.dumps({"inputs": [{"name": "pixel_values", "shape": [1, 3, 32, 32], "datatype": "FP32",
                                       "data": [0.25] * 3072}]}).encode()
        for size in (limit - 1, limit):
            r = self.post_infer(body + b" " * (size - len(body)))
            self.assertEqual(r.status_code, 200, (size, r.text[:200]))
        reply = raw_http(self.server.port, b"POST /v2/models/default/infer HTTP/1.1\r\nHost: x\r\n"
                                           b"Content-Length: %d\r\n\r\n" % (limit + 1))
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])
        self.assertIn(b"max_body_bytes (%d)" % limit, reply)

    def test_header_at_its_limit(self):
        # The request header (request line, fields and the blank line that ends it) of one byte under 16 KiB
        # and of 16 KiB is served; one byte more gets 431, naming the limit.
        limit = 16 * 1024

        def request_with_header_of(size):
            head = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
            request = head + b"a" * (size - len(head) - 4) + b"\r\n\r\n"
            self.assertEqual(len(request), size)
            return request
        for size in (limit - 1, limit):
            reply = raw_http(self.server.port, request_with_header_of(size))
            self.assertTrue(reply.startswith(b"HTTP/1.1 200"), (size, reply[:200]))
        reply = raw_http(self.server.port, request_with_header_of(limit + 1))
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:200])
        self.assertIn(b"the request header is over 16384 bytes", reply)
        self.assertEqual(requests.get(f"{self.base}/v2/health/ready", timeout=TIMEOUT).status_code, 200)

    def test_truncated_upload(self):
        body = DIGIT_PNG.read_bytes()
        head = (b"POST /v1/models/default:predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        reply = raw_http(self.server.port, head + body[: len(body) // 2], shutdown_write=True)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:200])
        self.assertIn(b"truncated", reply)
        reply = raw_http(self.server.port, b"GET /v2/health/live HTTP/1.1\r\nHo", shutdown_write=True)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:200])
        self.assertIn(b"inside the header", reply)
        # a multipart form cut before its closing boundary
        r = requests.post(f"{self.base}/v1/models/default:predict", data=b"--XY\r\nContent-Disposition: form-data; "
                          b"name=\"image\"\r\n\r\n" + body, headers={"Content-Type": "multipart/form-data; boundary=XY"},
                          timeout=TIMEOUT)
        self.assert_error(r, 400, "closing boundary")

    def test_malformed_http_and_unknown_routes(self):
        reply = raw_http(self.server.port, b"GARBAGE\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:200])
        self.assert_error(requests.get(f"{self.base}/v2/models/nope", timeout=TIMEOUT), 404, "no model named 'nope'")
        self.assert_error(requests.get(f"{self.base}/v3", timeout=TIMEOUT), 404, "no endpoint")
        self.assert_error(requests.get(f"{self.base}/v2/models/default/infer", timeout=TIMEOUT), 405, "POST")


class Limits(ServerCase):
    serve = {"max_batch_size": 8, "max_queue_delay_microseconds": 1500000, "max_queue_size": 2,
             "max_connections": 6, "header_timeout_seconds": 1, "read_timeout_seconds": 1}

    def test_queue_full_gets_503_with_retry_after(self):
        values, shape = random_pixels(1, seed=4)
        results = []

        def call():
            results.append(infer(self.base, "default", values, shape, binary_input=True)[1])

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # both wait in the queue for the 1.5 s delay
        _, r = infer(self.base, "default", values, shape, binary_input=True)
        self.assertEqual(r.status_code, 503, r.text)
        self.assertEqual(r.headers.get("Retry-After"), "1")
        self.assertIn("queue is full", r.json()["error"])
        for t in threads:
            t.join(30)
        self.assertEqual([x.status_code for x in results], [200, 200])

    def test_a_batch_larger_than_the_queue_is_a_client_error(self):
        # 3 images never fit a queue of 2, empty or not: 400 naming the limit, not 503 for ever.
        values, shape = random_pixels(3, seed=5)
        _, r = infer(self.base, "default", values, shape, binary_input=True)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("batch of 3 is over max_queue_size 2: it could never be queued", r.json()["error"])

    def test_slow_header_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")  # never finishes the header
            start = time.monotonic()
            self.assertEqual(s.recv(100), b"")  # closed by the server
            self.assertLess(time.monotonic() - start, 8)
        self.assertEqual(requests.get(f"{self.base}/v2/health/live", timeout=TIMEOUT).status_code, 200)

    def test_slow_body_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"POST /v1/models/default:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            start = time.monotonic()
            self.assertEqual(s.recv(100), b"")
            self.assertLess(time.monotonic() - start, 8)

    def test_connection_limit(self):
        time.sleep(1.2)  # connections of earlier cases are gone
        idle = [socket.create_connection(("127.0.0.1", self.server.port), timeout=10) for _ in range(6)]
        try:
            time.sleep(0.2)
            reply = raw_http(self.server.port, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(reply.startswith(b"HTTP/1.1 503"), reply[:200])
            self.assertIn(b"max_connections", reply)
        finally:
            for s in idle:
                s.close()
        time.sleep(0.2)
        self.assertEqual(requests.get(f"{self.base}/v2/health/live", timeout=TIMEOUT).status_code, 200)


class Shutdown(unittest.TestCase):
    def drain(self, sig):
        with tempfile.TemporaryDirectory() as d:
            server = Server(VISBONE, write_config(d, {"max_queue_delay_microseconds": 1000000}))
            try:
                result = []
                values, shape = random_pixels(1, seed=5)
                t = threading.Thread(target=lambda: result.append(infer(server.url, "default", values, shape)[1]))
                idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                t.start()
                time.sleep(0.3)  # the request waits in the batcher's queue
                code = server.terminate(sig)
                t.join(30)
                self.assertEqual(code, 0)
                self.assertEqual(result[0].status_code, 200, result[0].text)
                self.assertEqual(idle.recv(10), b"")  # the idle connection was closed
                idle.close()
                with self.assertRaises(requests.ConnectionError):
                    requests.get(f"{server.url}/v2/health/live", timeout=5)
            finally:
                server.stop()

    def test_sigterm_drains_and_exits_0(self):
        import signal
        self.drain(signal.SIGTERM)

    def test_sigint_drains_and_exits_0(self):
        import signal
        self.drain(signal.SIGINT)


class Config(unittest.TestCase):
    def run_serve(self, text):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "c.yaml").write_text(text)
            return subprocess.run([VISBONE, "serve", f"{d}/c.yaml", "--port", "0"], capture_output=True, text=True,
                                  timeout=60)

    def test_unknown_serve_key_is_named(self):
        r = self.run_serve(f"serve: {{max_batch_sise: 4}}\nmodel: {{checkpoint: {DIGITS}}}\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("max_batch_sise", r.stderr)
        self.assertIn("max_batch_size", r.stderr)

    def test_a_port_in_use_is_named_with_the_reason(self):
        with socket.socket() as taken, tempfile.TemporaryDirectory() as d:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            (Path(d) / "c.yaml").write_text(f"model: {{checkpoint: {DIGITS}}}\n")
            r = subprocess.run([VISBONE, "serve", f"{d}/c.yaml", "--port", str(port)], capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.strip().splitlines()[-1],
                         f"error: cannot listen on 127.0.0.1:{port}: Address already in use")

    def test_the_flags_override_the_yaml_and_the_host_defaults_to_loopback(self):
        with tempfile.TemporaryDirectory() as d:
            # The YAML's host and port lose to --host / --port ...
            config = Path(d) / "c.yaml"
            config.write_text(f"serve: {{host: 127.0.0.2, port: 1}}\nmodel: {{checkpoint: {DIGITS}}}\n")
            server = Server(VISBONE, config, args=("--host", "127.0.0.1", "--port", "0"))
            try:
                self.assertNotEqual(server.port, 1)
                self.assertEqual(requests.get(server.url + "/v2/health/ready", timeout=TIMEOUT).status_code, 200)
            finally:
                self.assertEqual(server.terminate(), 0)
            # ... and with no host anywhere the server listens on 127.0.0.1 (Server checks the line).
            config.write_text(f"serve: {{port: 0}}\nmodel: {{checkpoint: {DIGITS}}}\n")
            server = Server(VISBONE, config, args=())
            self.assertEqual(server.terminate(), 0)

    def test_unknown_backbone_type_is_named_with_the_closest(self):
        r = self.run_serve(f"model: {{type: R50x2, checkpoint: {DIGITS}}}\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("c.yaml:1:8: model: unknown backbone type 'R50x2'; did you mean 'R50x1'?", r.stderr)

    def test_preprocess_as_run_writes_it(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "c.yaml"
            # transformers' defaults instead of the checkpoint's 32x32: a 224x224 input
            path.write_text(f"model: {{checkpoint: {DIGITS}}}\npreprocess: defaults\nheads: [{{type: classification}}]\n")
            server = Server(VISBONE, path)
            try:
                r = requests.post(f"{server.url}/v1/models/default:predict?heatmap=stage3",
                                  data=DIGIT_PNG.read_bytes(), timeout=TIMEOUT)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual((r.json()["heatmap"]["height"], r.json()["heatmap"]["width"]), (14, 14))
            finally:
                server.stop()

    def test_preprocessing_resolves_as_run_resolves_it(self):
        # tiny-preact has no preprocessor_config.json: without preprocess: the model's defaults, with the notice
        # `visbone run` prints; asked for explicitly, the error names the YAML position of `preprocess:`.
        tiny = DATA / "models" / "tiny-preact"
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "c.yaml"
            path.write_text(f"model: {{checkpoint: {tiny}}}\nheads: [{{type: classification, top_k: 2}}]\n")
            server = Server(VISBONE, path)
            try:
                r = requests.post(f"{server.url}/v1/models/default:predict", data=DIGIT_PNG.read_bytes(),
                                  timeout=TIMEOUT)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(len(r.json()["heads"]["classification"]["predictions"]), 2, r.text)
                self.assertEqual(server.terminate(), 0)
                err = server.proc.stderr.read().decode()
                self.assertIn(f"note: {tiny} has no preprocessor_config.json; preprocessing with BiT's defaults",
                              err)
            finally:
                server.stop()
        r = self.run_serve(f"model: {{checkpoint: {tiny}}}\npreprocess: checkpoint\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("c.yaml:2:13: preprocess: the checkpoint has no preprocessor_config.json", r.stderr)

    def test_a_hub_id_loads_as_run_loads_it(self):
        # A hub cache holding what transformers' from_pretrained leaves (config.json + model.safetensors), offline:
        # the processor file is asked of the same snapshot, as `visbone run` asks (tests/apps/offline_cache_test):
        # unknown to the cache, an error naming it; recorded as absent, the model's defaults with the notice.
        commit = "0123456789abcdef0123456789abcdef01234567"
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as d:
            repo = Path(cache) / "models--someorg--tiny-preact"
            (repo / "blobs").mkdir(parents=True)
            (repo / "snapshots" / commit).mkdir(parents=True)
            (repo / "refs").mkdir()
            (repo / "refs" / "main").write_text(commit)
            for name in ("config.json", "model.safetensors"):
                (repo / "blobs" / (name + "-blob")).write_bytes((DATA / "models" / "tiny-preact" / name).read_bytes())
                (repo / "snapshots" / commit / name).symlink_to(Path("../../blobs") / (name + "-blob"))
            env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=cache, HF_ENDPOINT="http://127.0.0.1:9")
            path = Path(d) / "c.yaml"
            path.write_text("model: {checkpoint: someorg/tiny-preact, revision: main}\n"
                            "heads: [{type: classification, top_k: 1}]\n")
            r = subprocess.run([VISBONE, "serve", str(path), "--port", "0"], capture_output=True, text=True,
                               timeout=60, env=env)
            self.assertNotEqual(r.returncode, 0, r.stderr)
            self.assertIn("preprocessor_config.json", r.stderr)
            self.assertIn("is not in the cache", r.stderr)
            (repo / ".no_exist" / commit).mkdir(parents=True)
            (repo / ".no_exist" / commit / "preprocessor_config.json").write_text("")
            server = Server(VISBONE, path, env=env)
            try:
                r = requests.post(f"{server.url}/v1/models/default:predict", data=DIGIT_PNG.read_bytes(),
                                  timeout=TIMEOUT)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(server.terminate(), 0)
                self.assertIn("has no preprocessor_config.json; preprocessing with BiT's defaults",
                              server.proc.stderr.read().decode())
            finally:
                server.stop()

    def test_several_models_by_name(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "c.yaml"
            path.write_text(json.dumps({"models": {
                "digits": {"model": {"checkpoint": str(DIGITS)}, "heads": [{"type": "classification"}]},
                "features": {"model": {"checkpoint": str(DIGITS), "out_features": ["stage3"]}}}}))
            server = Server(VISBONE, path)
            try:
                self.assertEqual(requests.get(f"{server.url}/v2/models/features", timeout=TIMEOUT).json()["outputs"][0]
                                 ["name"], "stage3")
                r = requests.post(f"{server.url}/v1/models/digits:predict", data=DIGIT_PNG.read_bytes(), timeout=TIMEOUT)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(requests.get(f"{server.url}/v2/models/default", timeout=TIMEOUT).status_code, 404)
            finally:
                server.stop()


if __name__ == "__main__":
    unittest.main()
