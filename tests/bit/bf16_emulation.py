#!/usr/bin/env python3
"""What bf16 itself costs a BiT model: a PyTorch emulation against fp32, written to tests/data/bf16_emulation.json.

The emulation rounds every convolution's input and (standardized) weight to bf16, computes the convolution in
fp32 and rounds its output to bf16; GroupNorm, the residual adds, pooling and the classifier stay fp32. That is
the least a bf16 convolution path can lose, so visbone's bf16 run (tests/bit/bf16_test.cpp) is held to these
numbers: pooled cosine no lower than the emulation's minus 0.0005, logits error at most 1.25x the emulation's.

Models: the bit-50 fixture (random weights, the chelsea image from its reference.safetensors) and the trained
digits model on the 300 images of tests/data/digits/images. Needs Debian's python3-torch and python3-pil;
regenerate with `/usr/bin/python3 tests/bit/bf16_emulation.py` (from the repository root).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def read_safetensors(path):
    """name -> float32 torch tensor (F32, F16 and BF16 entries)."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        body = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        raw = body[begin:end]
        if t["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[t["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(t["shape"]).copy())
    return out


def load_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(folder, "model.safetensors"))
    weights = {}
    for shard in sorted(set(json.load(open(index))["weight_map"].values())):
        weights.update(read_safetensors(os.path.join(folder, shard)))
    return weights


def bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


class Bit:
    """transformers' BitForImageClassification for preactivation models with default padding (what both
    models are), in fp32 or emulated bf16."""

    def __init__(self, folder):
        self.config = json.load(open(os.path.join(folder, "config.json")))
        assert self.config["layer_type"] == "preactivation" and self.config.get("global_padding") is None
        w = load_weights(folder)
        self.p = "bit." if "bit.embedder.convolution.weight" in w else ""
        self.w = w
        self.emulate = False

    def conv(self, name, x, stride=1, padding=0):
        w = self.w[self.p + name + ".weight"].double()
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        w = ((w - mean) / torch.sqrt(var + 1e-8)).float()
        if self.emulate:
            return bf16(F.conv2d(bf16(x), bf16(w), stride=stride, padding=padding))
        return F.conv2d(x, w, stride=stride, padding=padding)

    def norm(self, name, x, act=True):
        y = F.group_norm(x, self.config["num_groups"], self.w[self.p + name + ".weight"],
                         self.w[self.p + name + ".bias"], eps=1e-5)
        return F.relu(y) if act else y

    def forward(self, pixels):
        c = self.config
        x = self.conv("embedder.convolution", pixels, 2, 3)
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
        for s, depth in enumerate(c["depths"]):
            for l in range(depth):
                n = f"encoder.stages.{s}.layers.{l}"
                stride = 2 if s > 0 and l == 0 else 1
                p = self.norm(n + ".norm1", x)
                shortcut = self.conv(n + ".downsample.conv", p, stride) if l == 0 else x
                h = self.conv(n + ".conv1", p)
                h = self.conv(n + ".conv2", self.norm(n + ".norm2", h), stride, 1)
                h = self.conv(n + ".conv3", self.norm(n + ".norm3", h))
                x = h + shortcut
        pooled = self.norm("norm", x).mean(dim=(2, 3))
        logits = pooled @ self.w["classifier.1.weight"].T + self.w["classifier.1.bias"]
        return pooled, logits

    def run(self, pixels, emulate):
        self.emulate = emulate
        with torch.no_grad():
            return self.forward(pixels)


def compare(model, pixels):
    p32, l32 = model.run(pixels, False)
    p16, l16 = model.run(pixels, True)
    cos = F.cosine_similarity(p32.double(), p16.double(), dim=1)
    err = (l16 - l32).abs().max().item() / l32.double().std().item()
    top1 = (l16.argmax(1) == l32.argmax(1)).sum().item()
    return cos.min().item(), err, top1


def digits_pixels():
    """The digits through the model's BitImageProcessor settings (Pillow bilinear resize, center crop)."""
    cfg = json.load(open(os.path.join(DATA, "models", "bit-tiny-digits", "preprocessor_config.json")))
    folder = os.path.join(DATA, "digits", "images")
    images = []
    for name in sorted(os.listdir(folder)):
        img = Image.open(os.path.join(folder, name)).convert("RGB")
        edge = cfg["size"]["shortest_edge"]
        w, h = img.size
        size = (edge, int(edge * h / w)) if w <= h else (int(edge * w / h), edge)
        img = img.resize(size, resample=cfg["resample"])
        ch, cw = cfg["crop_size"]["height"], cfg["crop_size"]["width"]
        left, top = (img.size[0] - cw) // 2, (img.size[1] - ch) // 2
        img = img.crop((left, top, left + cw, top + ch))
        a = np.asarray(img, dtype=np.float32) * cfg["rescale_factor"]
        a = (a - np.array(cfg["image_mean"], np.float32)) / np.array(cfg["image_std"], np.float32)
        images.append(torch.from_numpy(a.transpose(2, 0, 1).copy()))
    return torch.stack(images)


def main():
    torch.manual_seed(0)
    out = {"note": "generated by tests/bit/bf16_emulation.py (torch " + torch.__version__ + "): bf16 emulation "
                   "(conv inputs, weights and outputs rounded to bf16; the rest fp32) against fp32. "
                   "logits_error_over_std = max |bf16 - fp32| / std(fp32 logits)."}
    bit50 = Bit(os.path.join(DATA, "models", "bit-50-random-fp16"))
    pixels = read_safetensors(os.path.join(DATA, "models", "bit-50-random-fp16", "reference.safetensors"))
    # The fp32 model must be transformers' (the fixture's float64 reference) before its bf16 twin means anything.
    ref = pixels["chelsea.logits"]
    fp32_error = (bit50.run(pixels["chelsea.pixel_values"], False)[1] - ref).abs().max().item() / ref.abs().max().item()
    assert fp32_error < 1e-4, f"the fp32 emulation model is off the bit-50 reference by {fp32_error}"
    cos, err, top1 = compare(bit50, pixels["chelsea.pixel_values"])
    out["bit-50-random-fp16"] = {"images": 1, "min_pooled_cosine": cos, "logits_error_over_std": err,
                                 "top1_equal": top1}
    digits = Bit(os.path.join(DATA, "models", "bit-tiny-digits"))
    x = digits_pixels()
    cos, err, top1 = compare(digits, x)
    out["bit-tiny-digits"] = {"images": x.shape[0], "min_pooled_cosine": cos, "logits_error_over_std": err,
                              "top1_equal": top1}
    path = os.path.join(DATA, "bf16_emulation.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.exit(main())
