"""visbone.ImageProcessor gives the C++ processor's pixel values (`visbone preprocess`), whatever the images
arrive as: paths, PIL images or their numpy arrays."""

import json

import numpy as np
import pytest
from PIL import Image

import support
import visbone

IMAGES = support.DATA / "preprocess" / "images"
NAMES = ["chelsea.png", "camera_gray.png", "chelsea_rgba.png", "tall_strip.png", "chelsea_q90.jpg"]


def config_file(name, tmp_path):
    """The preprocessor_config.json of a fixture config."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(json.loads((support.DATA / "preprocess" / "reference.json").read_text())[name]["config"]))
    return path


@pytest.mark.parametrize("config", ["default", "imagenet-256-224-bilinear", "exact-hw-nearest-nonorm"])
def test_equal_to_the_cpp_processor(config, tmp_path):
    cfg = config_file(config, tmp_path)
    out = tmp_path / "cli.safetensors"
    support.run_visbone("preprocess", "--config", cfg, "--output", out, *[IMAGES / n for n in NAMES])
    cli = support.read_safetensors(out)
    processor = visbone.ImageProcessor.from_pretrained(cfg)
    from_paths = processor([IMAGES / n for n in NAMES])["pixel_values"]
    assert from_paths.dtype == np.float32 and from_paths.shape[0] == len(NAMES)
    for i, name in enumerate(NAMES):
        np.testing.assert_array_equal(from_paths[i : i + 1], cli[name], err_msg=name)
        if name.endswith(".png"):  # PNG decodes to the same pixels in PIL and visbone (JPEG decoders differ)
            with Image.open(IMAGES / name) as im:
                np.testing.assert_array_equal(processor(im)["pixel_values"], cli[name], err_msg=f"PIL {name}")


def test_pil_image_and_its_array_preprocess_the_same():
    processor = visbone.ImageProcessor()
    for name in NAMES:
        with Image.open(IMAGES / name) as im:
            for mode in {im.mode, "RGB", "L", "RGBA", "LA"}:
                converted = im.convert(mode)
                np.testing.assert_array_equal(processor(converted)["pixel_values"],
                                              processor(np.asarray(converted))["pixel_values"],
                                              err_msg=f"{name} as {mode}")


def test_modes_pillow_converts_first():
    processor = visbone.ImageProcessor()
    with Image.open(IMAGES / "coffee.png") as im:
        rgb = im.convert("RGB")
    palette = rgb.convert("P")
    np.testing.assert_array_equal(processor(palette)["pixel_values"],
                                  processor(np.asarray(palette.convert("RGB")))["pixel_values"])
    cmyk = rgb.convert("CMYK")
    np.testing.assert_array_equal(processor(cmyk)["pixel_values"],
                                  processor(cmyk.convert("RGB"))["pixel_values"])


def test_batches_and_layouts():
    processor = visbone.ImageProcessor()
    with Image.open(IMAGES / "chelsea.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    one = processor(rgb)["pixel_values"]
    assert one.shape == (1, 3, 224, 224)
    assert processor.output_size(300, 451) == (224, 224)
    batch = processor(np.stack([rgb, rgb[:, ::-1]]))["pixel_values"]  # (N, H, W, C) uint8
    np.testing.assert_array_equal(batch[:1], one)
    # A strided view (every other column) is the same as its contiguous copy.
    view = rgb[:, ::2]
    np.testing.assert_array_equal(processor(view)["pixel_values"],
                                  processor(np.ascontiguousarray(view))["pixel_values"])
    np.testing.assert_array_equal(processor([rgb, str(IMAGES / "chelsea.png")])["pixel_values"][1], one[0])


def test_checkpoint_processor_feeds_the_backbone():
    model = support.MODELS / "bit-tiny-digits"
    processor = visbone.ImageProcessor.from_pretrained(model)
    backbone = visbone.load_backbone(model)
    digits = sorted((support.ROOT / "data" / "digits" / "3").glob("*.png"))[:4]
    out = backbone(**processor(digits))
    assert out["logits"].shape == (4, len(backbone.labels))
    assert [backbone.labels[i] for i in out["logits"].argmax(1)].count("3") >= 3


def test_to_dict_is_the_checkpoint_file_and_the_repr_shows_it():
    model = support.MODELS / "bit-tiny-digits"
    saved = json.loads((model / "preprocessor_config.json").read_text())
    del saved["image_processor_type"]
    processor = visbone.ImageProcessor.from_pretrained(model)
    assert processor.to_dict() == saved
    assert repr(processor).startswith('ImageProcessor {\n  "crop_size": {\n    "height": 32,')
    defaults = visbone.ImageProcessor().to_dict()
    assert defaults["size"] == {"shortest_edge": 224} and defaults["resample"] == 3
    assert defaults["image_mean"] == [0.48145466, 0.4578275, 0.40821073]
