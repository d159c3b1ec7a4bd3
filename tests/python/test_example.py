"""The visbone calls of examples/python/feature_extractor.py (its Ray Data map_batches function and its
DataLoader loop), run with a plain Python loop since Ray and PyTorch are not installed here."""

import importlib.util
import subprocess
import sys

import numpy as np
from PIL import Image

import support
import visbone

EXAMPLE = support.ROOT / "examples" / "python" / "feature_extractor.py"
MODEL = support.MODELS / "bit-tiny-digits"
DIGITS = sorted((support.ROOT / "data" / "digits" / "5").glob("*.png"))[:6]


def load_example():
    spec = importlib.util.spec_from_file_location("feature_extractor", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_map_batches_function():
    example = load_example()
    extractor = example.FeatureExtractor(MODEL, stage="stage2")
    images = [np.asarray(Image.open(p).convert("RGB")) for p in DIGITS]
    backbone = visbone.load_backbone(MODEL, out_features=["stage2"])
    pixels = visbone.ImageProcessor.from_pretrained(MODEL)(images)["pixel_values"]
    expected = backbone(pixels, pooled=True)
    for start in range(0, len(images), 4):  # what map_batches does: batches of rows as numpy
        batch = extractor({"image": images[start : start + 4], "path": DIGITS[start : start + 4]})
        np.testing.assert_array_equal(batch["embedding"], expected["pooled"][start : start + 4])
        np.testing.assert_array_equal(batch["stage2"], expected["stage2"][start : start + 4])
        assert len(batch["path"]) == len(batch["embedding"])


def test_dataloader_loop():
    example = load_example()
    backbone = visbone.load_backbone(MODEL)
    processor = visbone.ImageProcessor.from_pretrained(MODEL)
    pixels = processor(DIGITS)["pixel_values"]
    loader = [pixels[i : i + 4] for i in range(0, len(DIGITS), 4)]  # stands in for the DataLoader
    features = np.concatenate(list(example.extract_features(backbone, loader)))
    np.testing.assert_array_equal(features, backbone(pixels)["pooled"])


def test_command_line():
    p = subprocess.run([sys.executable, EXAMPLE, str(MODEL), *map(str, DIGITS[:2])], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("embedding") == 2
