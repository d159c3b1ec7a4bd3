"""visbone.load_backbone from Python gives what `visbone forward` gives, on every transformers fixture."""

import json

import numpy as np
import pytest

import support
import visbone

PARITY_MODELS = ["tiny-preact", "tiny-bottleneck-same-os8", "tiny-preact-same-os16", "tiny-gray-dynstem",
                 "bit-50-random-fp16"]


def cli_forward(model, key, out_indices, tmp_path):
    out = tmp_path / f"{model.name}.{key}.safetensors"
    support.run_visbone("forward", model, "--input", model / "reference.safetensors", "--key",
                        f"{key}.pixel_values", "--output", out, "--out-indices", ",".join(map(str, out_indices)))
    return support.read_safetensors(out)


@pytest.mark.parametrize("name", PARITY_MODELS)
def test_outputs_equal_the_forward_command(name, tmp_path):
    model = support.MODELS / name
    reference = json.loads((model / "reference.json").read_text())
    inputs = support.read_safetensors(model / "reference.safetensors")
    stages = reference["stage_names"]
    every_stage = visbone.load_backbone(model, out_indices=list(range(len(stages))))
    indices = reference["backbone_out_indices"]
    selected = visbone.load_backbone(str(model), out_indices=indices)
    assert every_stage.stage_names == stages
    assert selected.out_features == reference["backbone_out_features"]
    for key in reference["inputs"]:
        cli = cli_forward(model, key, indices, tmp_path)
        pixels = inputs[f"{key}.pixel_values"]
        out = every_stage(pixels)
        for i, stage in enumerate(stages):
            assert out[stage].dtype == np.float32
            support.assert_close(out[stage], cli[f"hidden_states.{i}"], what=f"{name} {key} {stage}")
        support.assert_close(out["pooled"], cli["pooler_output"].reshape(out["pooled"].shape), what="pooled")
        if "logits" in cli:
            support.assert_close(out["logits"], cli["logits"], what="logits")
        else:
            assert "logits" not in out
        maps = selected(pixels)
        for stage, j in zip(selected.out_features, selected.out_indices):
            support.assert_close(maps[stage], cli[f"backbone.feature_maps.{j}"], what=f"feature_maps.{j}")


def test_selection_and_shapes():
    model = support.MODELS / "tiny-preact"
    backbone = visbone.load_backbone(model, out_features=["stage2", "stage4"])
    assert backbone.out_features == ["stage2", "stage4"]
    assert backbone.out_indices == [2, 4]
    assert visbone.load_backbone(model, out_indices=[-1]).out_features == ["stage4"]
    shapes = backbone.output_shape()
    assert list(shapes) == backbone.stage_names  # every stage, selected or not, in order
    assert shapes["stage2"] == {"channels": 64, "stride": 8}
    assert shapes["stage4"]["channels"] == 256
    assert backbone.channels == [64, 256]  # transformers' BitBackbone.channels
    assert repr(backbone) == "<visbone.Backbone out_features=['stage2', 'stage4'] channels=[64, 256]>"
    out = backbone(np.zeros((2, 3, 64, 64), np.float32))
    assert out["stage2"].shape == (2, 64, 8, 8)
    assert out["stage4"].shape == (2, 256, 64 // shapes["stage4"]["stride"], 64 // shapes["stage4"]["stride"])
    assert out["pooled"].shape == (2, backbone.pooled_channels)


def test_pooled_and_logits_follow_the_selection(tiny):
    pixels = support.read_safetensors(support.MODELS / "tiny-preact" / "reference.safetensors")["a.pixel_values"]
    early = visbone.load_backbone(support.MODELS / "tiny-preact", out_features=["stage1"])
    # An early selection computes only up to it: no pooled features or logits unless asked for.
    assert list(early(pixels)) == ["stage1"]
    forced = early(pixels, pooled=True, logits=True)
    full = tiny(pixels)
    assert list(forced) == ["stage1", "pooled", "logits"]
    np.testing.assert_array_equal(forced["pooled"], full["pooled"])
    np.testing.assert_array_equal(forced["logits"], full["logits"])
    assert "pooled" not in tiny(pixels, pooled=False)
    assert tiny.labels is None or len(tiny.labels) == full["logits"].shape[1]


def test_other_dtypes_and_layouts_are_converted_once(tiny):
    pixels = support.read_safetensors(support.MODELS / "tiny-preact" / "reference.safetensors")["a.pixel_values"]
    expected = tiny(pixels)
    nhwc = np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))
    for variant in (pixels.astype(np.float64), nhwc.transpose(0, 3, 1, 2), pixels.tolist(),
                    np.asfortranarray(pixels), pixels.astype(">f4")):
        got = tiny(variant)
        for k in expected:
            np.testing.assert_array_equal(got[k], expected[k])


def test_read_only_input(tiny):
    pixels = np.zeros((1, 3, 32, 32), np.float32)
    pixels.flags.writeable = False
    assert tiny(pixels)["stage1"].shape == (1, 32, 8, 8)


def test_precision():
    model = support.MODELS / "tiny-preact"
    assert visbone.load_backbone(model, precision="f32").stage_names[0] == "stem"
    with pytest.raises(ValueError, match="'f32', 'bf16', 'auto'"):
        visbone.load_backbone(model, precision="fp64")


def test_threads_option():
    backbone = visbone.load_backbone(support.MODELS / "tiny-preact", threads=1)
    assert backbone.threads == 1
    assert visbone.load_backbone(support.MODELS / "tiny-preact").threads is None
    pixels = np.ones((1, 3, 32, 32), np.float32)
    support.assert_close(backbone(pixels)["stage4"],
                         visbone.load_backbone(support.MODELS / "tiny-preact")(pixels)["stage4"], what="threads=1")
