"""Any input size from Python (issue 15): output_shape(H, W) says what a call gives (as `visbone inspect --size`
does), and a list of images of different sizes gives each image what it gives alone, bit for bit."""

import json

import numpy as np
import pytest

import support
import visbone

# SAME / dynamic padding, output stride 8 and 16, one input channel, timm semantics.
SHAPE_MODELS = ["tiny-preact", "tiny-bottleneck-same-os8", "tiny-preact-same-os16", "tiny-gray-dynstem",
                "timm-tiny-os16/timm"]


def every_stage(model, **options):
    """The backbone at `model` with all its stages selected."""
    return visbone.load_backbone(model, out_features=visbone.load_backbone(model).stage_names, **options)


def channels_of(name):
    """The input channels of a fixture, from its reference pixel values."""
    inputs = support.read_safetensors(support.MODELS / name.split("/")[0] / "reference.safetensors")
    return next(v.shape[1] for k, v in inputs.items() if k.endswith("pixel_values"))


@pytest.mark.parametrize("name", SHAPE_MODELS)
def test_output_shape_for_a_size_is_what_a_call_gives(name):
    model = support.MODELS / name
    backbone = every_stage(model, threads=1)
    channels = channels_of(name)
    rng = np.random.default_rng(15)
    # Random sizes, and tiny ones that some stems cannot take (ShapeError from both then).
    for height, width in [(1, 1), (2, 2), (5, 3)] + [tuple(int(v) for v in rng.integers(33, 301, size=2))
                                                     for _ in range(25)]:
        try:
            shapes = backbone.output_shape(height, width)
        except visbone.ShapeError:
            with pytest.raises(visbone.ShapeError):
                backbone(np.zeros((1, channels, height, width), np.float32))
            continue
        plain = backbone.output_shape()
        assert list(shapes) == backbone.stage_names
        out = backbone(np.zeros((1, channels, height, width), np.float32), pooled=False, logits=False)
        for stage in backbone.stage_names:
            s = shapes[stage]
            assert {"channels": s["channels"], "stride": s["stride"]} == plain[stage]
            assert out[stage].shape == (1, s["channels"], s["height"], s["width"]), f"{name} {height}x{width} {stage}"


@pytest.mark.parametrize("name", ["tiny-preact", "tiny-preact-same-os16", "timm-tiny-os16/timm"])
def test_output_shape_for_a_size_equals_inspect(name):
    model = support.MODELS / name
    backbone = visbone.load_backbone(model)
    for height, width in [(33, 1000), (800, 1216), (97, 64)]:
        cli = json.loads(support.run_visbone("inspect", model, "--size", f"{height},{width}").stdout)
        ours = backbone.output_shape(height, width)
        for stage in backbone.stage_names:
            assert ours[stage] == cli["output_shape"][stage], f"{name} {height}x{width} {stage}"
    assert backbone.size_divisibility == cli["size_divisibility"] == 0
    assert backbone.padding_constraints == cli["padding_constraints"] == {}


def test_output_shape_arguments():
    backbone = visbone.load_backbone(support.MODELS / "tiny-preact")
    with pytest.raises(TypeError, match="both height and width"):
        backbone.output_shape(64)
    with pytest.raises(visbone.ShapeError, match="too small for the stem"):
        visbone.load_backbone(support.MODELS / "tiny-preact-same-os16").output_shape(2, 2)
    assert backbone.output_shape(height=64, width=32)["stage2"] == {"channels": 64, "stride": 8, "height": 8,
                                                                    "width": 4}


def images_of_mixed_sizes(channels, seed):
    """Six images, three sizes, repeats apart; one as (1, C, H, W), the others (C, H, W)."""
    rng = np.random.default_rng(seed)
    sizes = [(64, 80), (97, 64), (64, 80), (50, 71), (97, 64), (64, 80)]
    images = [rng.standard_normal((channels, h, w), dtype=np.float32) for h, w in sizes]
    images[1] = images[1][None]
    return images


@pytest.mark.parametrize("name", ["tiny-preact", "tiny-bottleneck-same-os8", "tiny-gray-dynstem"])
def test_mixed_sizes_equal_each_image_alone(name):
    backbone = every_stage(support.MODELS / name)
    images = images_of_mixed_sizes(channels_of(name), seed=7)
    mixed = backbone(images)
    assert isinstance(mixed, list) and len(mixed) == len(images)
    for i, image in enumerate(images):
        alone = backbone(image if image.ndim == 4 else image[None])
        assert list(mixed[i]) == list(alone)
        for key in alone:
            assert mixed[i][key].dtype == np.float32
            np.testing.assert_array_equal(mixed[i][key], alone[key], err_msg=f"{name} image {i} {key}")
    # A tuple, float64 items (converted once each) and the pooled / logits switches work as for one batch.
    again = backbone(tuple(image.astype(np.float64) for image in images), pooled=False)
    for got, want in zip(again, mixed):
        assert "pooled" not in got
        for key in got:
            np.testing.assert_array_equal(got[key], want[key])
    assert backbone([]) == []


def test_mixed_list_equals_the_forward_command(tmp_path):
    # tiny-preact's reference inputs have two sizes: a (2 images, 64x64) and b (1 image, 75x93). Interleaved in
    # one list, each image gets what `visbone forward` gives for its own batch.
    model = support.MODELS / "tiny-preact"
    inputs = support.read_safetensors(model / "reference.safetensors")
    a, b = inputs["a.pixel_values"], inputs["b.pixel_values"]
    backbone = every_stage(model)
    mixed = backbone([a[0], b[0], a[1]])
    for key, batch, rows in (("a", a, [0, 2]), ("b", b, [1])):
        out = tmp_path / f"{key}.safetensors"
        support.run_visbone("forward", model, "--input", model / "reference.safetensors", "--key",
                            f"{key}.pixel_values", "--output", out, "--out-indices", "0,1,2,3,4")
        cli = support.read_safetensors(out)
        for n, row in enumerate(rows):
            for i, stage in enumerate(backbone.stage_names):
                np.testing.assert_array_equal(mixed[row][stage][0], cli[f"hidden_states.{i}"][n],
                                              err_msg=f"{key}[{n}] {stage}")
            np.testing.assert_array_equal(mixed[row]["pooled"].reshape(-1), cli["pooler_output"][n].reshape(-1))


def test_a_bad_image_in_the_list_is_named(tiny):
    with pytest.raises(visbone.ShapeError, match="image 1"):
        tiny([np.zeros((3, 32, 32), np.float32), np.zeros((2, 3, 32, 32), np.float32)])
    with pytest.raises(TypeError, match=r"pixel_values\[1\]"):
        tiny([np.zeros((3, 32, 32), np.float32), "not an image"])
    # A nested list of numbers is still one batch, as numpy reads it.
    pixels = np.zeros((1, 3, 32, 32), np.float32)
    assert isinstance(tiny(pixels.tolist()), dict)
