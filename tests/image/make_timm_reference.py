#!/usr/bin/python3
"""Writes tests/data/preprocess/timm/: what timm's eval transform makes of the preprocessing images, the
reference for visbone's timm preprocessing (tests/image/timm_reference_test.cpp).

timm (timm.data.transforms_factory.transforms_imagenet_eval) builds, from a model's pretrained_cfg:
  scale = floor(size / crop_pct) per side;
  crop_mode "center": torchvision Resize(scale) (shorter side) for a square size;
  crop_mode "squash": Resize((scale_h, scale_w));
  then CenterCrop(input_size), ToTensor(), Normalize(mean, std).
timm itself is not a Debian package; the same torchvision transforms are built here from the same rule (and
the images opened as timm's loader opens them, PIL .convert("RGB")). The stored output is the uint8 (C, H, W)
image after the crop, the one ToTensor/Normalize turn into pixel values.

Needs Debian's python3-torchvision and python3-pil. Usage: /usr/bin/python3 tests/image/make_timm_reference.py
Writes reference.json ({config name: {"pretrained_cfg": ..., "images": [names]}}) and reference.safetensors
(keys CONFIG/IMAGE, uint8 (C, H, W)); the suite reads them without torchvision."""
import json
import math
import pathlib
import struct

import numpy as np
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "data" / "preprocess" / "images"
OUT = ROOT / "tests" / "data" / "preprocess" / "timm"

ALL = ["chelsea", "astronaut", "coffee", "camera_gray", "chelsea_rgba", "tall_strip", "china", "chelsea_q90"]
HALF = ["chelsea", "camera_gray", "tall_strip", "china"]
HALF_DEFAULT = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
CONFIGS = {
    # timm's resnetv2_50x1_bit.goog_in21k: the default cfg with BiT's mean/std.
    "bit-in21k": ({"input_size": [3, 224, 224], "interpolation": "bilinear", "crop_pct": 0.875} | HALF_DEFAULT, HALF),
    # resnetv2_50x1_bit.goog_in21k_ft_in1k (448 there; the rule does not depend on the size).
    "bit-in1k-squash": ({"input_size": [3, 192, 192], "interpolation": "bilinear", "crop_pct": 1.0,
                         "crop_mode": "squash"} | HALF_DEFAULT, HALF),
    "bicubic-0.9-imagenet": ({"input_size": [3, 160, 160], "interpolation": "bicubic", "crop_pct": 0.9,
                              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, HALF),
    "odd-97-0.95": ({"input_size": [3, 97, 97], "interpolation": "bicubic", "crop_pct": 0.95}, ALL),
    "timm-defaults": ({}, ["chelsea", "tall_strip"]),
    "crop-larger-lanczos": ({"input_size": [3, 64, 64], "interpolation": "lanczos", "crop_pct": 1.3}, ALL),
    "squash-160x128-nearest": ({"input_size": [3, 160, 128], "interpolation": "nearest", "crop_pct": 0.9,
                                "crop_mode": "squash"}, ALL),
    "box-0.8": ({"input_size": [3, 75, 75], "interpolation": "box", "crop_pct": 0.8}, ALL),
}
MODES = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
         "bicubic": InterpolationMode.BICUBIC, "lanczos": InterpolationMode.LANCZOS,
         "box": InterpolationMode.BOX, "hamming": InterpolationMode.HAMMING}


def eval_transform(cfg):
    _, h, w = cfg.get("input_size", [3, 224, 224])
    crop_pct = cfg.get("crop_pct", 0.875)
    mode = MODES[cfg.get("interpolation", "bicubic")]
    scale = (math.floor(h / crop_pct), math.floor(w / crop_pct))
    if cfg.get("crop_mode", "center") == "squash":
        resize = transforms.Resize(scale, interpolation=mode)
    else:
        assert scale[0] == scale[1]
        resize = transforms.Resize(scale[0], interpolation=mode)
    return transforms.Compose([resize, transforms.CenterCrop((h, w))])


def image_file(name):
    return next(p for p in IMAGES.iterdir() if p.stem == name)


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for key, a in tensors.items():
        data = np.ascontiguousarray(a).tobytes()
        header[key] = {"dtype": "U8", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    index, tensors = {}, {}
    for name, (cfg, images) in CONFIGS.items():
        t = eval_transform(cfg)
        for image in images:
            with Image.open(image_file(image)) as im:
                out = t(im.convert("RGB"))
            tensors[f"{name}/{image}"] = np.asarray(out, dtype=np.uint8).transpose(2, 0, 1)
        index[name] = {"pretrained_cfg": cfg, "images": {i: image_file(i).name for i in images}}
    (OUT / "reference.json").write_text(json.dumps(index, indent=1) + "\n")
    write_safetensors(OUT / "reference.safetensors", tensors)
    print(f"{len(tensors)} references in {OUT}")


if __name__ == "__main__":
    main()
