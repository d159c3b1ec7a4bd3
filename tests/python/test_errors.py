"""C++ errors arrive as visbone.Error subclasses of the same name, with the C++ message."""

import subprocess

import numpy as np
import pytest

import support
import visbone

TINY = support.MODELS / "tiny-preact"


def cli_error(*args):
    p = subprocess.run([support.BINARY, *map(str, args)], capture_output=True, text=True)
    assert p.returncode != 0
    return p.stderr


def test_hierarchy():
    for name in ["IoError", "FormatError", "ConfigError", "ShapeError", "NotFoundError", "NetworkError"]:
        cls = getattr(visbone, name)
        assert issubclass(cls, visbone.Error) and cls.__name__ == name
    assert issubclass(visbone.Error, RuntimeError)


def test_bad_selection_is_a_config_error_with_the_cli_message():
    with pytest.raises(visbone.ConfigError) as e:
        visbone.load_backbone(TINY, out_features=["stage9"])
    assert "stage9" in str(e.value)
    assert str(e.value) in cli_error("inspect", TINY, "--out-features", "stage9")


def test_missing_model_is_not_found():
    with pytest.raises(visbone.NotFoundError, match="no-such-model"):
        visbone.load_backbone("no-such-model")


def test_width_mismatch_names_the_tensor():
    with pytest.raises(visbone.ShapeError, match="bit.norm.weight"):
        visbone.load_backbone(support.MODELS / "tiny-width2")


def test_bad_input_shapes(tiny):
    with pytest.raises(visbone.ShapeError, match="N, C, H, W"):
        tiny(np.zeros((3, 32, 32), np.float32))
    with pytest.raises(visbone.ShapeError, match="channels"):
        tiny(np.zeros((1, 1, 32, 32), np.float32))
    with pytest.raises(TypeError, match="float32"):
        tiny("not pixels")
    with pytest.raises(TypeError):
        visbone.load_backbone(TINY, out_features="stage1")  # a list is expected, as in transformers


def test_negative_threads():
    with pytest.raises(visbone.ConfigError, match="threads"):
        visbone.load_backbone(TINY, threads=-1)


def test_processor_errors(tmp_path):
    processor = visbone.ImageProcessor()
    with pytest.raises(visbone.IoError, match="missing.png"):
        processor(str(tmp_path / "missing.png"))
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(visbone.FormatError, match="junk.png"):
        processor(tmp_path / "junk.png")
    with pytest.raises(visbone.FormatError, match=r"images\[1\].*float32"):
        processor([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(visbone.ShapeError, match="5 channels"):
        processor(np.zeros((8, 8, 5), np.uint8))
    with pytest.raises(visbone.ShapeError, match="empty"):
        processor([])
    with pytest.raises(TypeError, match="images\\[0\\]"):
        processor(42)
    with pytest.raises(visbone.NotFoundError, match="preprocessor_config.json"):
        visbone.ImageProcessor.from_pretrained(TINY)


def test_pipeline_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: {type: folder, path: images}\nmodel: {checkpoint: x}\nbatch_sise: 8\n")
    with pytest.raises(visbone.ConfigError) as e:
        visbone.run(bad)
    assert "bad.yaml:3" in str(e.value) and "batch_size" in str(e.value)
    assert str(e.value) in cli_error("run", bad)
    with pytest.raises(visbone.IoError):
        visbone.run(tmp_path / "missing.yaml")
