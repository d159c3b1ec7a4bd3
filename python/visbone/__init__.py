"""visbone from Python: the same BiT backbones, image processor and pipelines as the C++ library.

    import visbone
    backbone = visbone.load_backbone("google/bit-50", out_features=["stage2", "stage3", "stage4"])
    processor = visbone.ImageProcessor.from_pretrained("google/bit-50")
    outputs = backbone(**processor(["cat.jpg"]))   # {"stage2": (1, 512, 28, 28) float32, ...}

Arrays cross without copies where possible: C-contiguous float32 input is read in place, outputs are numpy
arrays owning the C++ buffers. Forward passes and pipeline runs release the GIL. Failures raise
visbone.Error subclasses carrying the C++ error's type and message.
"""

import json as _json
import os as _os

from ._visbone import (
    Backbone,
    ConfigError,
    Error,
    FormatError,
    IoError,
    NetworkError,
    NotFoundError,
    ShapeError,
    __version__,
    load_backbone,
)
from ._visbone import _run
from .image_processor import ImageProcessor

# Shown as visbone.ConfigError (not visbone._visbone.ConfigError) in tracebacks.
for _cls in (Backbone, ConfigError, Error, FormatError, IoError, NetworkError, NotFoundError, ShapeError):
    _cls.__module__ = __name__

__all__ = [
    "Backbone",
    "ConfigError",
    "Error",
    "FormatError",
    "ImageProcessor",
    "IoError",
    "NetworkError",
    "NotFoundError",
    "ShapeError",
    "load_backbone",
    "run",
]


def run(config_path, input=None, output=None):
    """Runs the YAML pipeline `config_path` as `visbone run` does (the GIL released meanwhile).

    input replaces the config's sources (a folder, glob, video, .txt list or image), output its output_dir;
    relative paths in the YAML resolve against the YAML file's folder, these against the working folder.
    Returns the summary (items, ok, failed, seconds, stages, accuracy, outputs, ...) as a dict; inputs that
    failed are counted there, not raised. Raises ConfigError, NotFoundError, IoError, ... otherwise.
    """
    fspath = lambda p: None if p is None else _os.fspath(p)
    return _json.loads(_run(_os.fspath(config_path), fspath(input), fspath(output)))
