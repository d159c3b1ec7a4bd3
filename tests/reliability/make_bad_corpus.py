#!/usr/bin/env python3
"""Writes the bad-input corpus tests/data/bad/<kind>/<file> and its manifest tests/data/bad/expected.json:
for every file, the reader that must reject it, the exception type and a substring of the message that names
the problem. tests/reliability/bad_corpus_test.cpp reads each file with its reader and checks all three (and
that the message names the file). Entries may carry "options": limits set below their defaults for that read,
so that an oversized input stays a small file. Valid images to damage come from fuzz/corpus/fuzz_image.
Usage: python3 tests/reliability/make_bad_corpus.py (rewrites the corpus; stdlib only)."""
import io
import json
import pathlib
import shutil
import struct
import zipfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
SEEDS = ROOT / "fuzz" / "corpus" / "fuzz_image"
manifest = {}


def add(path, data, reader, error, contains, options=None):
    """path: '<kind>/<file>' under tests/data/bad."""
    target = BAD / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data if isinstance(data, bytes) else data.encode())
    entry = {"reader": reader, "error": error, "contains": contains}
    if options:
        entry["options"] = options
    assert path not in manifest, path
    manifest[path] = entry


# ---------------------------------------------------------------- safetensors

def st(header, data=b"", length=None):
    text = header if isinstance(header, bytes) else (header if isinstance(header, str) else json.dumps(header)).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def f32(name, n, begin):
    return {name: {"dtype": "F32", "shape": [n], "data_offsets": [begin, begin + 4 * n]}}


def safetensors():
    r = "safetensors"
    add("safetensors/empty.safetensors", b"", r, "FormatError", "file is 0 bytes, shorter than the 8-byte header length")
    add("safetensors/seven-bytes.safetensors", b"\x02" * 7, r, "FormatError", "shorter than the 8-byte header length")
    add("safetensors/header-past-end.safetensors", st("{}", length=1000), r, "FormatError",
        "header length 1000 runs past the end of the file")
    add("safetensors/header-over-limit.safetensors", st("{}", length=100_000_001), r, "FormatError",
        "header length 100000001 is over the limit of 100000000 bytes")
    add("safetensors/header-over-configured-limit.safetensors", st(f32("w", 2, 0), bytes(8)), r, "FormatError",
        "is over the limit of 16 bytes (SafetensorsLimits::max_header_bytes)", {"max_header_bytes": 16})
    add("safetensors/header-not-utf8.safetensors", st(b'{"\xff\xfe": {}}'), r, "FormatError",
        "header is not valid UTF-8 (byte 2 of the header)")
    add("safetensors/header-invalid-json.safetensors", st('{"w": {"dtype": "F32", '), r, "FormatError", "invalid JSON")
    add("safetensors/header-is-array.safetensors", st("[1, 2]"), r, "FormatError",
        "header is a JSON array, expected an object")
    add("safetensors/entry-not-object.safetensors", st({"w": 5}), r, "FormatError",
        "tensor 'w' is described by a integer, expected an object")
    add("safetensors/entry-unknown-key.safetensors",
        st({"w": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "stride": [1]}}, bytes(4)), r, "FormatError",
        "has the unknown key 'stride'")
    add("safetensors/no-dtype.safetensors", st({"w": {"shape": [1], "data_offsets": [0, 4]}}, bytes(4)), r,
        "FormatError", "tensor 'w' has no dtype")
    add("safetensors/unknown-dtype.safetensors", st({"w": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
        r, "FormatError", "unsupported dtype 'F8'")
    add("safetensors/negative-dim.safetensors", st({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
                                                   bytes(4)), r, "FormatError",
        "shape entry 0 is -1, expected a non-negative integer")
    add("safetensors/shape-is-string.safetensors",
        st({"w": {"dtype": "F32", "shape": "2x2", "data_offsets": [0, 16]}}, bytes(16)), r, "FormatError",
        "shape is a string, expected an array")
    add("safetensors/shape-overflow.safetensors",
        st({"w": {"dtype": "U8", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 0]}}), r,
        "FormatError", "has more elements than fit in 64 bits")
    add("safetensors/offsets-reversed.safetensors",
        st({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, bytes(8)), r, "FormatError",
        "data_offsets [8, 4] ends before it begins")
    add("safetensors/offsets-not-pair.safetensors",
        st({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, bytes(4)), r, "FormatError",
        "expected two non-negative integers [begin, end]")
    add("safetensors/size-contradicts-shape.safetensors", st(f32("w", 1, 0) | {"w": {"dtype": "F32", "shape": [2],
                                                                                     "data_offsets": [0, 4]}}, bytes(4)),
        r, "FormatError", "has 4 bytes (data_offsets [0, 4]) but shape [2] of dtype F32 needs 8")
    add("safetensors/gap.safetensors", st(f32("w", 1, 4), bytes(8)), r, "FormatError",
        "gap in the data section: bytes [0, 4) belong to no tensor")
    add("safetensors/overlap.safetensors", st(f32("a", 2, 0) | f32("b", 1, 4), bytes(8)), r, "FormatError",
        "tensor 'b' (data_offsets [4, 8]) overlaps tensor 'a'")
    add("safetensors/trailing-bytes.safetensors", st(f32("w", 1, 0), bytes(12)), r, "FormatError",
        "8 trailing bytes after the last tensor")
    add("safetensors/truncated-data.safetensors", st(f32("a", 2, 0) | f32("b", 4, 8), bytes(12)), r, "FormatError",
        "runs past the end of the data section (12 bytes): the file is truncated")
    add("safetensors/duplicate-tensor.safetensors",
        st('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
           '"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', bytes(4)), r, "FormatError",
        "header has the key 'w' twice")
    add("safetensors/metadata-not-string.safetensors", st({"__metadata__": {"format": 1}}), r, "FormatError",
        "__metadata__ entry 'format' is a integer, expected a string")
    many = {}
    for i in range(3):
        many |= f32(f"t{i}", 1, 4 * i)
    add("safetensors/too-many-tensors.safetensors", st(many, bytes(12)), r, "FormatError",
        "header describes 3 tensors, more than the limit of 2 (SafetensorsLimits::max_tensors)", {"max_tensors": 2})
    wide = {}
    for i in range(64):
        wide |= f32(f"encoder.layer.{i}.weight", 1, 4 * i)
    add("safetensors/over-memory-limit.safetensors", st(wide, bytes(256)), r, "FormatError",
        "the header needs more than 4096 bytes of memory (the limit, SafetensorsLimits::max_memory_bytes)",
        {"max_memory_bytes": 4096})


# ---------------------------------------------------------------- sharded index
# The test puts each file as model.safetensors.index.json in a folder holding config.json and three shards:
# model-00001-of-00002.safetensors (a.weight, a.bias), model-00002-of-00002.safetensors (b.weight) and
# duplicate.safetensors (a.bias).

S1, S2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
GOOD_MAP = {"a.weight": S1, "a.bias": S1, "b.weight": S2}


def index(weight_map, **extra):
    return json.dumps({"metadata": {"total_size": 52}, **extra, "weight_map": weight_map}, indent=2)


def sharded_index():
    r = "sharded_index"
    add("sharded_index/empty.json", "", r, "FormatError", "invalid JSON")
    add("sharded_index/truncated.json", index(GOOD_MAP)[:60], r, "FormatError", "invalid JSON")
    add("sharded_index/no-weight-map.json", json.dumps({"metadata": {}}), r, "FormatError",
        'expected an object with a "weight_map" object')
    add("sharded_index/weight-map-is-list.json", json.dumps({"weight_map": [S1, S2]}), r, "FormatError",
        'expected an object with a "weight_map" object')
    add("sharded_index/entry-not-string.json", index({"a.weight": 1}), r, "FormatError",
        "weight_map entry 'a.weight' is a integer, expected a shard file name")
    add("sharded_index/shard-outside-folder.json", index(GOOD_MAP | {"a.weight": "../" + S1}), r, "FormatError",
        "maps 'a.weight' to '../model-00001-of-00002.safetensors', expected the plain name of a file in the "
        "checkpoint folder")
    add("sharded_index/shard-absolute-path.json", index(GOOD_MAP | {"b.weight": "/etc/hostname"}), r, "FormatError",
        "expected the plain name of a file in the checkpoint folder")
    add("sharded_index/missing-shard.json", index(GOOD_MAP | {"b.weight": "model-00003-of-00003.safetensors"}), r,
        "NotFoundError", "shard 'model-00003-of-00003.safetensors' does not exist")
    add("sharded_index/wrong-shard.json", index(GOOD_MAP | {"a.weight": S2}), r, "FormatError",
        "tensor 'a.weight' is mapped to shard 'model-00002-of-00002.safetensors', but it is in shard "
        "'model-00001-of-00002.safetensors'")
    add("sharded_index/tensor-in-no-shard.json", index(GOOD_MAP | {"c.weight": S2}), r, "FormatError",
        "tensor 'c.weight' is mapped to shard 'model-00002-of-00002.safetensors', which does not contain it")
    unlisted = dict(GOOD_MAP)
    del unlisted["a.bias"]
    add("sharded_index/tensor-not-listed.json", index(unlisted), r, "FormatError",
        "shard 'model-00001-of-00002.safetensors' holds tensor 'a.bias', which the weight_map does not list")
    add("sharded_index/tensor-in-two-shards.json", index(GOOD_MAP | {"a.bias": "duplicate.safetensors"}), r,
        "FormatError", "tensor 'a.bias' is in two shards, 'duplicate.safetensors' and 'model-00001-of-00002.safetensors'")
    add("sharded_index/shard-not-safetensors.json", index(GOOD_MAP | {"b.weight": "config.json"}), r, "FormatError",
        "config.json: header length")
    add("sharded_index/too-many-entries.json", index(GOOD_MAP), r, "FormatError",
        "weight_map lists 3 tensors, more than the limit of 2 (SafetensorsLimits::max_tensors)", {"max_tensors": 2})


# ---------------------------------------------------------------- config.json (BitConfig)

BASE_CONFIG = {"model_type": "bit", "depths": [1, 1], "hidden_sizes": [32, 64], "embedding_size": 16, "num_groups": 4}


def config():
    r = "config"
    add("config/empty.json", "", r, "FormatError", "invalid JSON")
    add("config/truncated.json", json.dumps(BASE_CONFIG, indent=2)[:50], r, "FormatError", "invalid JSON")
    add("config/invalid-utf8.json", b'{"model_type": "b\xffit"}', r, "FormatError", "invalid JSON")
    add("config/too-deep.json", '{"id2label": ' + "[" * 40 + "]" * 40 + "}", r, "FormatError", "invalid JSON")
    add("config/not-an-object.json", "[1, 2, 3]", r, "ConfigError", "expected a JSON object, got array")
    add("config/not-bit.json", json.dumps({"model_type": "vit"}), r, "ConfigError",
        "key 'model_type' has value \"vit\", expected \"bit\" (this is not a BiT config)")
    add("config/depths-is-string.json", json.dumps(BASE_CONFIG | {"depths": "3,4,6,3"}), r, "ConfigError",
        "key 'depths' has value \"3,4,6,3\", expected a list of integers")
    add("config/depth-zero.json", json.dumps(BASE_CONFIG | {"depths": [1, 0]}), r, "ConfigError",
        "'depths' is [1, 0], expected positive numbers of units per stage")
    add("config/hidden-sizes-contradict-depths.json", json.dumps(BASE_CONFIG | {"hidden_sizes": [32, 64, 128]}), r,
        "ConfigError", "'hidden_sizes' is [32, 64, 128], expected one entry per stage like depths [1, 1]")
    add("config/hidden-size-huge.json", json.dumps(BASE_CONFIG | {"hidden_sizes": [32, 2147483647]}), r,
        "ConfigError", "expected channel counts from 1 to 65536")
    add("config/width-factor-huge.json", json.dumps(BASE_CONFIG | {"width_factor": 1000}), r, "ConfigError",
        "key 'width_factor' has value 1000, expected an integer in [1, 64]")
    add("config/groups-do-not-divide.json", json.dumps(BASE_CONFIG | {"num_groups": 7}), r, "ConfigError",
        "'num_groups' is 7, expected a divisor of every normalised channel count")
    add("config/unknown-activation.json", json.dumps(BASE_CONFIG | {"hidden_act": "swish"}), r, "ConfigError",
        "key 'hidden_act' has value \"swish\", expected one of: relu, gelu, gelu_new, selu")
    add("config/output-stride-12.json", json.dumps(BASE_CONFIG | {"output_stride": 12}), r, "ConfigError",
        "'output_stride' is 12, expected 8, 16 or 32")
    add("config/drop-path-rate-1.json", json.dumps(BASE_CONFIG | {"drop_path_rate": 1.0}), r, "ConfigError",
        "expected a rate in [0, 1)")
    add("config/unknown-out-feature.json", json.dumps(BASE_CONFIG | {"out_features": ["stage9"]}), r, "ConfigError",
        "out_features/out_indices:")
    add("config/id2label-gap.json", json.dumps(BASE_CONFIG | {"id2label": {"0": "cat", "2": "dog"}}), r,
        "ConfigError", "consecutive class indices 0..N-1 (missing 1)")
    add("config/id2label-bad-key.json", json.dumps(BASE_CONFIG | {"id2label": {"first": "cat"}}), r, "ConfigError",
        "non-negative integer keys with string names (entry \"first\")")


def timm_config():
    r = "timm_config"
    add("timm_config/truncated.json", '{"architecture": "resnetv2_50x1_bit", "model_args": {', r, "FormatError",
        "invalid JSON")
    add("timm_config/not-an-object.json", '"resnetv2_50x1_bit"', r, "ConfigError", "expected a JSON object")
    add("timm_config/not-bit.json", json.dumps({"architecture": "resnet50", "num_classes": 1000}), r, "ConfigError",
        "architecture 'resnet50' is not a BiT model (expected resnetv2_{50,101,152}x{N}_bit)")
    add("timm_config/width-overflows.json", json.dumps({"architecture": "resnetv2_50x99999999999_bit"}), r,
        "ConfigError", "is not a BiT model")
    add("timm_config/num-classes-fraction.json", json.dumps({"architecture": "resnetv2_50x1_bit", "num_classes": 1.5}),
        r, "ConfigError", "num_classes is 1.5E0, expected an integer from 0 to 1000000")
    add("timm_config/num-classes-huge.json", json.dumps({"architecture": "resnetv2_50x1_bit",
                                                         "num_classes": 1000000000000}), r, "ConfigError",
        "num_classes is 1000000000000, expected an integer from 0 to 1000000")
    add("timm_config/num-classes-string.json", json.dumps({"architecture": "resnetv2_50x1_bit", "num_classes": "10"}),
        r, "ConfigError", "num_classes is \"10\", expected an integer")
    add("timm_config/model-args-not-object.json", json.dumps({"architecture": "resnetv2", "model_args": [1, 1]}), r,
        "ConfigError", "model_args must be an object")
    add("timm_config/layers-wrong-type.json", json.dumps({"architecture": "resnetv2", "model_args": {"layers": "3"}}),
        r, "ConfigError", "model_args:")
    add("timm_config/stem-huge.json", json.dumps({"architecture": "resnetv2", "model_args": {"stem_chs": 1 << 40}}),
        r, "ConfigError", "model_args.stem_chs is 1099511627776, expected 0 to 1048576")
    add("timm_config/not-preactivation.json",
        json.dumps({"architecture": "resnetv2", "model_args": {"layers": [1, 1, 1, 1], "preact": False}}), r,
        "ConfigError", "model_args.preact false (a ResNetV2 without pre-activation) is not a BiT model")
    add("timm_config/deep-stem.json", json.dumps({"architecture": "resnetv2", "model_args": {"stem_type": "deep"}}),
        r, "ConfigError", "is not BiT's 'fixed' stem")


# ---------------------------------------------------------------- preprocessor_config.json

def preprocessor_config():
    r = "preprocessor_config"
    add("preprocessor_config/empty.json", "", r, "FormatError", "invalid JSON")
    add("preprocessor_config/truncated.json", '{"size": {"shortest_edge": 224}, "crop_size": {"hei', r,
        "FormatError", "invalid JSON")
    add("preprocessor_config/not-an-object.json", "[224, 224]", r, "ConfigError",
        "expected an object of image processor settings, found array")
    add("preprocessor_config/size-negative.json", json.dumps({"size": {"shortest_edge": -5}}), r, "ConfigError",
        "size.shortest_edge is -5, expected 1 to 1048576")
    add("preprocessor_config/size-height-only.json", json.dumps({"size": {"height": 10}}), r, "ConfigError",
        "expected {shortest_edge}, {shortest_edge, longest_edge} or {height, width}")
    add("preprocessor_config/size-unknown-key.json", json.dumps({"size": {"short_edge": 3}}), r, "ConfigError",
        "unsupported key 'short_edge'")
    add("preprocessor_config/size-too-many-pixels.json", json.dumps({"size": {"height": 20000, "width": 20000}}), r,
        "ConfigError", "size 20000x20000 has more than 178956970 pixels")
    add("preprocessor_config/crop-three-values.json", json.dumps({"crop_size": [1, 2, 3]}), r, "ConfigError",
        "key 'crop_size': expected an integer, [height, width] or {height, width}")
    add("preprocessor_config/crop-fraction.json", json.dumps({"crop_size": 224.5}), r, "ConfigError",
        "key 'crop_size': expected an integer, found number 2.245E2")
    add("preprocessor_config/resample-7.json", json.dumps({"resample": 7}), r, "ConfigError", "is not a PIL filter")
    add("preprocessor_config/mean-std-lengths-differ.json",
        json.dumps({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5]}), r, "ConfigError",
        "image_mean has 3 values but image_std has 2")
    add("preprocessor_config/std-zero.json", json.dumps({"image_mean": [0.5], "image_std": [0]}), r, "ConfigError",
        "must be finite and image_std non-zero")
    add("preprocessor_config/rescale-not-number.json", json.dumps({"rescale_factor": "1/255"}), r, "ConfigError",
        "key 'rescale_factor': expected a number, found string")
    add("preprocessor_config/do-resize-string.json", json.dumps({"do_resize": "yes"}), r, "ConfigError",
        "key 'do_resize': expected true or false, found string")
    # Valid to read, but preprocessing any image with it takes 1.5 GB (a 10000x10000 float32 output).
    add("preprocessor_config/preprocess-over-memory-limit.json",
        json.dumps({"size": {"height": 10000, "width": 10000}, "do_center_crop": False}), "image_processor",
        "ShapeError", "bytes of memory, more than the limit of 1073741824 per image")


# ---------------------------------------------------------------- .npz

def npy(data, descr="<f4", shape=(2,), fortran="False", version=1, header_extra=0):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}" + " " * header_extra
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H", len(header)) + header.encode() + data


def zip_of(members, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def npz():
    r = "npz"
    good = zip_of([("a.npy", npy(struct.pack("<2f", 1, 2))), ("b.npy", npy(struct.pack("<3f", 1, 2, 3), shape=(3,)))])
    add("npz/empty.npz", b"", r, "FormatError", "not a zip archive (0 bytes)")
    add("npz/text.npz", "this is not an archive, just text that is long enough", r, "FormatError",
        "not a zip archive (no end-of-central-directory record; truncated?)")
    add("npz/truncated.npz", good[: len(good) // 2], r, "FormatError", "no end-of-central-directory record")
    eocd = good.rfind(b"PK\x05\x06")
    outside = bytearray(good)
    outside[eocd + 16 : eocd + 20] = struct.pack("<I", 1_000_000)
    add("npz/directory-outside-file.npz", bytes(outside), r, "FormatError", "the zip directory lies outside the file")
    local = bytearray(good)
    cd = good.find(b"PK\x01\x02")
    local[cd + 42 : cd + 46] = struct.pack("<I", 5)
    add("npz/local-header-missing.npz", bytes(local), r, "FormatError", "member 'a.npy': no local header at byte 5")
    add("npz/compressed-bzip2.npz", zip_of([("a.npy", npy(bytes(400), shape=(100,)))], zipfile.ZIP_BZIP2), r,
        "FormatError", "is compressed with zip method 12; only stored (0) and deflate (8) members are read")
    encrypted = bytearray(good)
    encrypted[cd + 8] |= 1
    add("npz/encrypted.npz", bytes(encrypted), r, "FormatError", "member 'a.npy' is encrypted")
    add("npz/not-npy.npz", zip_of([("a.npy", b"just some bytes, not numpy")]), r, "FormatError",
        "not a .npy array (bad magic)")
    add("npz/npy-version-9.npz", zip_of([("a.npy", npy(bytes(8), version=9))]), r, "FormatError",
        "unsupported .npy version 9")
    add("npz/big-endian.npz", zip_of([("a.npy", npy(bytes(8), descr=">f4"))]), r, "FormatError",
        "unsupported dtype; expected little-endian floats, integers or bools")
    add("npz/object-dtype.npz", zip_of([("a.npy", npy(bytes(16), descr="|O"))]), r, "FormatError",
        "unsupported dtype")
    add("npz/fortran-order-maybe.npz", zip_of([("a.npy", npy(bytes(8), fortran="Maybe"))]), r, "FormatError",
        "fortran_order must be True or False")
    add("npz/shape-contradicts-data.npz", zip_of([("a.npy", npy(bytes(8), shape=(3,)))]), r, "FormatError",
        "shape [3] of F32 needs 12 bytes but the array has 8")
    add("npz/shape-overflow.npz", zip_of([("a.npy", npy(b"", shape=(4294967296, 4294967296, 4)))]), r,
        "FormatError", "member 'a.npy': shape [4294967296, 4294967296, 4] has too many elements")
    add("npz/duplicate-array.npz", zip_of([("a.npy", npy(bytes(8))), ("a", npy(bytes(8)))]), r, "FormatError",
        "duplicate array name")
    add("npz/npy-header-over-limit.npz", zip_of([("a.npy", npy(bytes(8), header_extra=10_050))]), r, "FormatError",
        "is over the limit of 10000 bytes (NpzLimits::max_npy_header_bytes)")
    add("npz/too-many-arrays.npz", good, r, "FormatError", "2 entries, more than the limit of 1 arrays",
        {"max_arrays": 1})


# ---------------------------------------------------------------- images

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, rows=None, ihdr_extra=None, chunks_before=(), iend=True, idat=None):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0) if ihdr_extra is None else ihdr_extra
    raw = rows if rows is not None else b"".join(b"\0" + bytes(3 * width) for _ in range(height))
    idat = zlib.compress(raw) if idat is None else idat
    out = b"\x89PNG\r\n\x1a\n" + b"".join(chunks_before) + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
    return out + (chunk(b"IEND", b"") if iend else b"")


def tiff(entries, extra=b"", little=True):
    """entries: (tag, type, count, value); values fit in the entry."""
    e = "<" if little else ">"
    out = (b"II" if little else b"MM") + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", len(entries))
    for tag, kind, count, value in entries:
        field = struct.pack(e + "HH", value, 0) if kind == 3 else struct.pack(e + "I", value)
        out += struct.pack(e + "HHI", tag, kind, count) + field
    return out + struct.pack(e + "I", 0) + extra


def bmp(width, height, header_size=40, pixels=None, bpp=24):
    row = (abs(width) * bpp // 8 + 3) // 4 * 4
    data = pixels if pixels is not None else bytes(row * abs(height))
    info = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, bpp, 0, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(data), 0, 0, 14 + len(info)) + info + data


def images():
    r = "image"
    good_png = png(4, 3)
    add("png/empty.png", b"", r, "FormatError", "empty file (0 bytes), expected a PNG, JPEG, BMP, TIFF or WebP image")
    add("png/truncated.png", good_png[: len(good_png) - 20], r, "FormatError", "truncated PNG")
    add("png/no-iend.png", png(4, 3, iend=False), r, "FormatError", "without an IEND chunk")
    add("png/huge-dimensions.png", png(100000, 100000, rows=b""), r, "FormatError",
        "PNG header gives a size of 100000x100000 = 10000000000 pixels, more than the limit of 178956970")
    add("png/zero-width.png", png(0, 5, rows=b""), r, "FormatError", "corrupt PNG: IHDR gives a size of 0x5")
    add("png/ihdr-not-first.png", png(4, 3, chunks_before=[chunk(b"tEXt", b"Comment\0hello")]), r, "FormatError",
        "expected the 13-byte IHDR chunk first, found 'tEXt'")
    huge_chunk = bytearray(good_png)
    huge_chunk[33:37] = struct.pack(">I", 0x80000000)  # the IDAT length
    add("png/chunk-length-huge.png", bytes(huge_chunk), r, "FormatError",
        "corrupt PNG: chunk 'IDAT' declares 2147483648 bytes")
    add("png/corrupt-idat.png", png(4, 3, idat=b"\x78\x9c" + b"\xff" * 9), r, "FormatError",
        "cannot decode the PNG data (4x3 header)")

    jpg = (SEEDS / "q75.jpg").read_bytes()
    add("jpeg/truncated-in-header.jpg", jpg[: len(jpg) // 2], r, "FormatError",
        "truncated JPEG: segment 0xFFC4 at byte 210 runs past the end of the file (329 bytes)")
    add("jpeg/truncated-in-scan.jpg", jpg[:-20], r, "FormatError",
        "truncated JPEG: no end-of-image marker after the image data")
    add("jpeg/eoi-first.jpg", b"\xff\xd8\xff\xd9", r, "FormatError", "end-of-image marker before any image data")
    add("jpeg/scan-before-frame.jpg", b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + bytes(8) + b"\xff\xd9", r,
        "FormatError", "image data before the frame header")
    sof = jpg.find(b"\xff\xc0")
    dnl = bytearray(jpg)
    dnl[sof + 5 : sof + 7] = b"\x00\x00"
    add("jpeg/height-zero.jpg", bytes(dnl), r, "FormatError", "a height defined later by a DNL marker is not supported")
    huge = bytearray(jpg)
    huge[sof + 5 : sof + 9] = b"\xff\xff\xff\xff"
    add("jpeg/huge-dimensions.jpg", bytes(huge), r, "FormatError",
        "JPEG header gives a size of 65535x65535 = 4294836225 pixels, more than the limit")
    add("jpeg/segment-past-end.jpg", b"\xff\xd8\xff\xe1\x40\x00Exif\0\0", r, "FormatError",
        "truncated JPEG: segment 0xFFE1 at byte 2 runs past the end of the file")
    add("jpeg/not-a-marker.jpg", b"\xff\xd8\xff\xe0\x00\x04\0\0\x12\x34", r, "FormatError",
        "corrupt JPEG: expected a marker at byte 8, found 0x12")

    add("bmp/truncated-header.bmp", b"BM" + bytes(10), r, "FormatError", "truncated BMP: the file ends inside the header")
    add("bmp/header-size-20.bmp", bmp(2, 2, header_size=20), r, "FormatError", "corrupt or truncated BMP header (size 20)")
    add("bmp/negative-width.bmp", bmp(-4, 4), r, "FormatError", "corrupt BMP: header gives a size of -4x4")
    add("bmp/huge-dimensions.bmp", bmp(30000, 30000, pixels=b""), r, "FormatError",
        "BMP header gives a size of 30000x30000 = 900000000 pixels, more than the limit")
    add("bmp/pixels-missing.bmp", bmp(64, 64, pixels=bytes(100)), r, "FormatError", "cannot decode the BMP data")

    base = [(256, 4, 1, 4), (257, 4, 1, 3), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 0),
            (277, 3, 1, 1), (278, 4, 1, 3), (279, 4, 1, 12)]
    add("tiff/ifd-outside-file.tiff", b"II*\0" + struct.pack("<I", 1 << 20), r, "FormatError",
        "first IFD offset 1048576 lies outside the 8-byte TIFF data")
    add("tiff/bigtiff-truncated.tiff", b"II+\0\x08\0", r, "FormatError", "TIFF header is truncated")
    entries_past_end = bytearray(tiff(base))
    entries_past_end[8:10] = struct.pack("<H", 1000)
    add("tiff/entries-past-end.tiff", bytes(entries_past_end), r, "FormatError",
        "first IFD declares 1000 entries but the TIFF data ends first")
    add("tiff/no-size.tiff", tiff([e for e in base if e[0] not in (256, 257)]), r, "FormatError",
        "the first IFD has no ImageWidth/ImageLength")
    add("tiff/strips-outside-file.tiff", tiff([e if e[0] != 273 else (273, 4, 1, 1 << 24) for e in base]), r,
        "FormatError", "cannot decode the TIFF data (4x3 header)")
    wide = [(256, 4, 1, 13000), (257, 4, 1, 13000), (258, 3, 1, 64), (277, 3, 1, 1), (339, 3, 1, 3)]
    add("tiff/wide-samples-over-memory.tiff", tiff(wide), r, "FormatError",
        "decoding this 13000x13000 TIFF may take 5915000000 bytes of memory, more than the limit of 4294967296 "
        "(DecodeOptions::max_bytes)")

    webp = (SEEDS / "lossless.webp").read_bytes()
    add("webp/truncated.webp", webp[:30], r, "FormatError", "truncated WebP: chunk 'VP8L' at byte 12 declares")
    add("webp/no-image-chunk.webp", b"RIFF\x04\0\0\0WEBP", r, "FormatError", "truncated WebP: no image chunk")
    add("webp/unknown-first-chunk.webp", b"RIFF\x10\0\0\0WEBPABCD\x04\0\0\0abcd", r, "FormatError",
        "expected a 'VP8 ', 'VP8L' or 'VP8X' chunk first, found 'ABCD'")
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (16383).to_bytes(3, "little") + (16383).to_bytes(3, "little")
    add("webp/huge-canvas.webp", b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x, r, "FormatError",
        "WebP header gives a size of 16384x16384 = 268435456 pixels, more than the limit")
    corrupt = bytearray(webp)
    corrupt[25:] = b"\xff" * (len(webp) - 25)
    add("webp/corrupt-bitstream.webp", bytes(corrupt), r, "FormatError", "cannot decode the WebP data")

    add("other/animation.gif", b"GIF89a\x01\0\x01\0\0\0\0;", r, "FormatError",
        "not a supported image: the first bytes match no PNG, JPEG, BMP, TIFF or WebP signature (14 bytes)")
    add("other/notes.txt", "not an image at all\n", r, "FormatError", "not a supported image")


# ---------------------------------------------------------------- pipeline YAML

GOOD_PIPELINE = """\
source: {type: folder, path: images}
model: {checkpoint: ../models/bit-tiny-digits}
heads: [{type: classification, top_k: 3}]
"""


def pipeline():
    r = "pipeline_config"
    add("pipeline_yaml/empty.yaml", "", r, "ConfigError", "the config is empty; expected a mapping")
    add("pipeline_yaml/invalid-syntax.yaml", "source: {type: folder, path: [images\nheads: []\n", r, "ConfigError",
        "invalid YAML")
    add("pipeline_yaml/top-level-list.yaml", "- source\n- model\n", r, "ConfigError", "expected a mapping")
    add("pipeline_yaml/misspelt-key.yaml", GOOD_PIPELINE + "batch_sise: 8\n", r, "ConfigError", "batch_sise")
    add("pipeline_yaml/duplicate-key.yaml", GOOD_PIPELINE + "batch_size: 8\nbatch_size: 16\n", r, "ConfigError",
        "key 'batch_size' is given twice")
    add("pipeline_yaml/wrong-type.yaml", GOOD_PIPELINE + "batch_size: many\n", r, "ConfigError",
        "batch_size: expected an integer from 1 to 4096, found 'many'")
    add("pipeline_yaml/out-of-range.yaml", GOOD_PIPELINE + "batch_size: 0\n", r, "ConfigError",
        "batch_size: expected an integer from 1 to 4096, found '0'")
    add("pipeline_yaml/no-model.yaml", "source: {type: folder, path: images}\nheads: [{type: classification}]\n", r,
        "ConfigError", "missing required key 'model'")
    add("pipeline_yaml/source-and-sources.yaml", GOOD_PIPELINE + "sources: [{type: folder, path: more}]\n", r,
        "ConfigError", "give either 'source' (one) or 'sources' (a list), not both")
    add("pipeline_yaml/in-flight-below-batch.yaml", GOOD_PIPELINE + "batch_size: 16\nmax_in_flight: 4\n", r,
        "ConfigError", "so a batch can fill")
    add("pipeline_yaml/duplicate-head-names.yaml",
        GOOD_PIPELINE.replace("heads: [{type: classification, top_k: 3}]",
                              "heads: [{type: classification}, {type: embedding, name: classification}]"), r,
        "ConfigError", "a head named 'classification' already exists")
    deep = "model: " + "{a: " * 70 + "1" + "}" * 70 + "\n"
    add("pipeline_yaml/nested-too-deep.yaml", deep, r, "ConfigError",
        "mappings and lists nested 65 deep, more than the limit of 64 (YamlLimits::max_depth)")
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    add("pipeline_yaml/alias-bomb.yaml", bomb + GOOD_PIPELINE, r, "ConfigError",
        "nodes when every alias is counted where it is used (the limit, YamlLimits::max_nodes)")
    add("pipeline_yaml/over-size-limit.yaml", GOOD_PIPELINE + "# " + "padding " * 20 + "\n", r, "IoError",
        "more than the limit of 200", {"max_bytes": 200})


def main():
    if BAD.exists():
        shutil.rmtree(BAD)
    safetensors()
    sharded_index()
    config()
    timm_config()
    preprocessor_config()
    npz()
    images()
    pipeline()
    (BAD / "expected.json").write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    (BAD / "README.md").write_text(
        "# Bad inputs\n\nFiles visbone must reject, one folder per kind, with `expected.json` giving for each the\n"
        "reader, the exception type and a substring of the message. Written by\n"
        "`tests/reliability/make_bad_corpus.py`; checked by `tests/reliability/bad_corpus_test.cpp`.\n")
    print(f"{len(manifest)} files")


if __name__ == "__main__":
    main()
