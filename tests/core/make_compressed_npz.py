#!/usr/bin/python3
"""Writes the compressed-.npz fixtures (rerun after changing them; needs numpy, Debian's python3-numpy):
- tests/data/models/timm-tiny-w2/npz-compressed/model.npz: the stored npz/model.npz of the same folder,
  re-saved with np.savez_compressed (every member deflated; C- and Fortran-ordered arrays as they were), so
  loading it must give exactly the same arrays and model outputs;
- tests/data/npz-deflate/*.npz: small archives whose deflated members are damaged in one way each, written
  byte by byte (zipfile cannot write lies), for tests/core/npz_deflate_test.cpp.
Usage: /usr/bin/python3 tests/core/make_compressed_npz.py"""
import pathlib
import struct
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "data" / "models" / "timm-tiny-w2"
BAD = ROOT / "tests" / "data" / "npz-deflate"


def resave_compressed():
    stored = np.load(MODEL / "npz" / "model.npz")
    arrays = {name: stored[name] for name in stored.files}
    out = MODEL / "npz-compressed" / "model.npz"
    out.parent.mkdir(exist_ok=True)
    np.savez_compressed(out, **arrays)
    again = np.load(out)
    assert again.files == stored.files
    for name in stored.files:
        assert again[name].dtype == arrays[name].dtype and np.array_equal(again[name], arrays[name]), name
        assert again[name].flags["F_CONTIGUOUS"] == arrays[name].flags["F_CONTIGUOUS"], name
    print(f"{out.relative_to(ROOT)}: {len(stored.files)} arrays, {out.stat().st_size} bytes "
          f"(stored: {(MODEL / 'npz' / 'model.npz').stat().st_size})")


def npy(data, shape, descr="<f4"):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as zip stores it
    return c.compress(data) + c.flush()


def zip_member(name, body, size, crc, method=8):
    """One-member zip archive holding `body` as written, declaring `size` and `crc`."""
    name = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(body), size, len(name), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(body), size,
                          len(name), 0, 0, 0, 0, 0, 0)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(local) + len(name) + len(body), 0)
    return local + name + body + central + name + end


def write(name, data):
    (BAD / name).write_bytes(data)
    print(f"{(BAD / name).relative_to(ROOT)}: {len(data)} bytes")


def damaged():
    BAD.mkdir(exist_ok=True)
    values = np.arange(1000, dtype="<f4").tobytes()
    good = npy(values, (1000,))
    body = deflate(good)
    write("good.npz", zip_member("a.npy", body, len(good), zlib.crc32(good)))
    # The member inflates to 1 MiB past what the directory (and the .npy header) declare.
    bomb = good + bytes(1 << 20)
    write("inflates-past-declared-size.npz", zip_member("a.npy", deflate(bomb), len(good), zlib.crc32(good)))
    # The deflate stream is cut after its first half: it ends before the declared size.
    write("stream-cut-short.npz", zip_member("a.npy", body[: len(body) // 2], len(good), zlib.crc32(good)))
    # The stream ends (a final empty stored block would be longer; here: data for only 10 of the 1000 floats).
    short = npy(values[:40], (1000,))
    write("stream-ends-early.npz", zip_member("a.npy", deflate(short), len(good), zlib.crc32(good)))
    # One bit of the inflated data differs from what the CRC-32 was computed over.
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    write("crc-mismatch.npz", zip_member("a.npy", deflate(bytes(flipped)), len(good), zlib.crc32(good)))
    # A first block of the reserved type 3: zlib's "invalid block type", found while reading the header.
    write("invalid-block-type.npz", zip_member("a.npy", b"\x07" + body[1:], len(good), zlib.crc32(good)))
    # 1 GiB declared from a few hundred bytes: more than deflate's 1032:1 can give, refused before inflating.
    write("declares-more-than-deflate-can-give.npz", zip_member("a.npy", body, 1 << 30, zlib.crc32(good)))
    # bzip2 (zip method 12), which np.savez never writes.
    write("method-bzip2.npz", zip_member("a.npy", body, len(good), zlib.crc32(good), method=12))


if __name__ == "__main__":
    resave_compressed()
    damaged()
