#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the test fixtures in tests/data, trimmed small
(a fuzzer mutates small inputs much faster): a few small tensors of each fixture file, a few arrays of the
.npz, configs with their long label lists cut. fuzz_image's seeds are tiny images written once with OpenCV's
encoders and the builders of tests/image/test_files.cpp (EXIF orientation, palettes, gray+alpha, 16 bits)
and are kept as they are. Usage: python3 fuzz/make_seeds.py"""
import io
import json
import pathlib
import struct
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CORPUS = ROOT / "fuzz" / "corpus"
DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, offset, body = {}, 0, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        body += data
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def read_safetensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    return header, raw[8 + n :]


def safetensors_seeds():
    files = sorted(DATA.glob("models/*/model*.safetensors")) + sorted(DATA.glob("models/*/*/model.safetensors"))
    for path in files:
        header, data = read_safetensors(path)
        meta = header.pop("__metadata__", None)
        small = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][1] - kv[1]["data_offsets"][0])[:4]
        tensors = [(k, v["dtype"], v["shape"], data[v["data_offsets"][0] : v["data_offsets"][1]]) for k, v in small]
        write("fuzz_safetensors", f"{path.parent.name}-{path.stem}.safetensors", safetensors(tensors, meta))
    every = [(f"t.{d.lower()}", d, [2, 1], bytes(range(1, 1 + 2 * s))) for d, s in DTYPE_SIZE.items()]
    write("fuzz_safetensors", "every-dtype.safetensors", safetensors(every, {"format": "pt"}))
    write("fuzz_safetensors", "empty-and-scalar.safetensors",
          safetensors([("empty", "F32", [0, 3], b""), ("scalar", "F16", [], b"\x00\x3c")]))
    write("fuzz_safetensors", "no-tensors.safetensors", safetensors([]))


def index_seeds():
    # The fuzz target's folder holds model-00001-of-00002.safetensors (a.weight, a.bias) and
    # model-00002-of-00002.safetensors (b.weight).
    good = {"metadata": {"total_size": 52},
            "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
                           "b.weight": "model-00002-of-00002.safetensors"}}
    write("fuzz_sharded_index", "matches-shards.json", json.dumps(good, indent=2))
    fixture = json.loads((DATA / "models/bit-50-random-fp16/model.safetensors.index.json").read_text())
    fixture["weight_map"] = dict(list(fixture["weight_map"].items())[:6])
    write("fuzz_sharded_index", "bit-50-trimmed.json", json.dumps(fixture, indent=2))


def npy(array_bytes, descr, shape, fortran=False):
    shape_text = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + array_bytes


def npz_seeds():
    with zipfile.ZipFile(DATA / "models/timm-tiny-w2/npz/model.npz") as z:
        small = sorted((i for i in z.infolist()), key=lambda i: i.file_size)[:4]
        members = [(i.filename, z.read(i)) for i in small]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        for name, data in members:
            out.writestr(name, data)
    write("fuzz_npz", "timm-tiny-w2-trimmed.npz", buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        out.writestr("kernel.npy", npy(bytes(range(24)), "<f2", [2, 3, 2], fortran=True))
        out.writestr("bytes.npy", npy(b"\x01\x02\x03", "|u1", [3]))
        out.writestr("scalar.npy", npy(b"\x00\x00\x80\x3f", "<f4", []))
        with out.open("zip64/gamma.npy", "w", force_zip64=True) as f:
            f.write(npy(struct.pack("<4d", 1, 2, 3, 4), "<f8", [1, 1, 1, 4]))
    write("fuzz_npz", "dtypes-orders-zip64.npz", buf.getvalue())


def config_seeds():
    for path in sorted(DATA.glob("models/**/config.json")):
        config = json.loads(path.read_text())
        for key in ("id2label", "label2id"):
            if key in config and len(config[key]) > 5:
                config[key] = dict(list(config[key].items())[:5])
        name = str(path.parent.relative_to(DATA / "models")).replace("/", "-")
        write("fuzz_bit_config", f"{name}.json", json.dumps(config, indent=2))
    write("fuzz_bit_config", "defaults.json", (DATA / "semantics/bitconfig_defaults.json").read_text())
    write("fuzz_bit_config", "timm-architecture.json", json.dumps({"architecture": "resnetv2_101x3_bit.goog_in21k",
                                                                  "num_classes": 3}))


def preprocessor_seeds():
    write("fuzz_preprocessor_config", "digits.json", (DATA / "models/bit-tiny-digits/preprocessor_config.json").read_text())
    write("fuzz_preprocessor_config", "defaults.json", (DATA / "semantics/bitimageprocessor_defaults.json").read_text())
    variants = {
        "int-sizes.json": {"size": 40, "crop_size": 32, "resample": 0, "image_mean": 0.5, "image_std": 0.25},
        "list-sizes.json": {"size": [20, 30], "crop_size": [16, 24], "do_center_crop": False, "resample": 1},
        "edges.json": {"size": {"shortest_edge": 8, "longest_edge": 12}, "do_normalize": False, "resample": 4},
        "height-width.json": {"size": {"height": 6, "width": 9}, "do_rescale": False, "do_convert_rgb": False,
                              "image_mean": [0.1, 0.2, 0.3, 0.4], "image_std": [1, 2, 3, 4], "resample": 5},
    }
    for name, config in variants.items():
        write("fuzz_preprocessor_config", name, json.dumps(config))


def pipeline_seeds():
    write("fuzz_pipeline_config", "default.yaml", (ROOT / "configs/default.yaml").read_text())
    write("fuzz_pipeline_config", "many-parts.yaml", """\
plugins: [plugins/libfewshot.so]
sources:
  - {type: files, paths: [a.png, b/c.jpg], labels_from_folders: false}
  - {type: glob, pattern: "images/**/*.png"}
  - {type: list, path: inputs.txt}
  - {type: video, path: clip.mp4, every: 5, max_frames: 100}
  - {type: folder, path: imgs, recursive: false, extensions: [png, .JPG]}
  - {type: my_plugin_source, url: "http://example.invalid"}
model: {preset: bit-50, out_features: [stage2, stage4]}
preprocess:
  from: defaults
  size: {shortest_edge: 256}
  crop_size: {height: 224, width: 224}
  image_mean: [0.5, 0.5, 0.5]
heads:
  - {type: classification, top_k: 5}
  - {type: feature_maps, name: maps}
  - {type: embedding, name: emb}
sinks:
  - {type: safetensors, path: features.safetensors, heads: [maps, emb], stack: true}
  - {type: heatmap, path: heat, stage: stage4, alpha: 0.4, format: jpg, min_size: 128}
  - {type: annotated_images, path: annotated, head: classification, top_k: 2}
  - {type: csv, path: out.csv, top_k: 3}
  - {type: my_plugin_sink, anything: [1, 2]}
output_dir: out
summary: summary.json
batch_size: 4
threads: 2
max_in_flight: 16
max_pixels: 1000000
fail_on_error: false
concurrency: {decode: 1, preprocess: 2, heads: 1}
""")
    write("fuzz_pipeline_config", "anchors.yaml", """\
source: {type: folder, path: &images images}
model: {type: bit, checkpoint: google/bit-50}
preprocess: processor/preprocessor_config.json
heads: [&head {type: classification, top_k: 3}]
sinks: [{type: jsonl, path: *images}]
""")


def serve_request_seeds():
    """fuzz_serve_request: the first byte picks the reader (0 JSON, 1 binary + two bytes of header length,
    2 multipart with the boundary on the first line)."""
    pixels = [[[[0.5, -0.25], [1.0, 0.0]]] * 3]
    body = {"id": "a", "inputs": [{"name": "pixel_values", "datatype": "FP32", "shape": [1, 3, 2, 2],
                                   "data": pixels}],
            "outputs": [{"name": "stage2"}, {"name": "classification", "parameters": {"binary_data": True}}]}
    write("fuzz_serve_request", "json.bin", b"\x00" + json.dumps(body).encode())
    header = json.dumps({"inputs": [{"name": "pixel_values", "datatype": "FP32", "shape": [1, 3, 2, 2],
                                     "parameters": {"binary_data_size": 48}}],
                         "parameters": {"binary_data_output": True}}).encode()
    tensor = struct.pack("<12f", *[0.1 * i for i in range(12)])
    write("fuzz_serve_request", "binary.bin", b"\x01" + struct.pack("<H", len(header)) + header + tensor)
    form = b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n" \
           b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--xyz--\r\n"
    write("fuzz_serve_request", "multipart.bin", b"\x02xyz\n" + form)


if __name__ == "__main__":
    safetensors_seeds()
    index_seeds()
    npz_seeds()
    config_seeds()
    preprocessor_seeds()
    pipeline_seeds()
    serve_request_seeds()
