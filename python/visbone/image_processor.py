"""visbone.ImageProcessor: transformers' BitImageProcessor (the Pillow-exact one BiT checkpoints were made
with) over numpy arrays, PIL images and image files."""

import json
import os

import numpy as np

from ._visbone import _ImageProcessor

# Modes whose pixels the C++ processor takes as they are (gray, gray + alpha, RGB, RGBA) and converts the way
# Pillow's convert("RGB") does; any other mode (palette, CMYK, 16-bit, float, 1-bit) goes through Pillow's
# convert("RGB") first, which is what transformers' processor does with it.
_DIRECT_MODES = {"L", "LA", "RGB", "RGBA"}


def _as_item(image):
    """A path (str) or an array the C++ side takes, for one image."""
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    mode = getattr(image, "mode", None)
    if mode is not None and hasattr(image, "convert"):  # a PIL image (PIL itself is not needed otherwise)
        if mode not in _DIRECT_MODES:
            image = image.convert("RGB")
        return np.asarray(image)
    return image


class ImageProcessor:
    """Turns images into pixel values: convert to RGB, resize (Pillow's resampling), center-crop, rescale,
    normalize, stack. The result equals the C++ ImageProcessor's (and transformers' BitImageProcessorPil's)
    bit for bit.

        processor = visbone.ImageProcessor.from_pretrained("google/bit-50")   # or a folder / the .json file
        batch = processor([pil_image, "dog.jpg", rgb_array])["pixel_values"]  # (3, 3, 224, 224) float32

    Images are numpy uint8 arrays (H, W) gray or (H, W, C) with C = 3 (RGB), 4 (RGBA) or 2 (gray + alpha),
    PIL images, or paths (decoded as transformers' load_image() does, EXIF orientation applied). Processing
    releases the GIL; one processor may be shared by threads.
    """

    def __init__(self, _processor=None):
        """transformers' BitImageProcessor defaults (shortest edge 224, bicubic, 224 crop, CLIP mean/std)."""
        self._processor = _processor if _processor is not None else _ImageProcessor()

    @classmethod
    def from_pretrained(cls, name_or_path):
        """The preprocessor_config.json of a checkpoint folder, a hub id or a preset, or that file itself."""
        return cls(_ImageProcessor.from_pretrained(os.fspath(name_or_path)))

    def __call__(self, images):
        """One image, a list of them or an (N, H, W, C) uint8 array -> {"pixel_values": (N, 3, H, W) float32}."""
        if isinstance(images, np.ndarray) and images.ndim == 4:
            images = list(images)
        elif not isinstance(images, (list, tuple)):
            images = [images]
        return {"pixel_values": self._processor.process([_as_item(i) for i in images])}

    def to_dict(self):
        """The settings as the preprocessor_config.json keys transformers writes (its to_dict() without
        image_processor_type): what from_pretrained read, or the defaults the processor fell back to."""
        return json.loads(self._processor.to_json())

    def __repr__(self):
        return "ImageProcessor " + json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def output_size(self, height, width):
        """(height, width) of the pixel values for an input of height x width pixels."""
        return self._processor.output_size(height, width)

    def set_max_pixels(self, max_pixels):
        """The largest image (in pixels) a path may decode to; larger files fail from their header."""
        self._processor.set_max_pixels(max_pixels)
