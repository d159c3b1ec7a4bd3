"""visbone as the feature extractor of a Python data pipeline: a Ray Data `map_batches` function and a
PyTorch `DataLoader` loop.

    PYTHONPATH=build/python python3 examples/python/feature_extractor.py MODEL IMAGE...   # the plain loop
    python3 examples/python/feature_extractor.py --ray MODEL FOLDER                        # needs ray[data]
    python3 examples/python/feature_extractor.py --torch MODEL IMAGE...                    # needs torch

MODEL is anything visbone.load_backbone takes (google/bit-50, a checkpoint folder, a .npz). Ray and PyTorch
are not Debian packages, so the --ray and --torch paths are documentation here; tests/python/test_example.py
runs the visbone calls they make (FeatureExtractor, extract_features) with a plain Python loop.
"""

import sys

import numpy as np

import visbone


class FeatureExtractor:
    """Images in, pooled features (and one stage's maps) out, for Ray Data's map_batches.

    A class, so each Ray actor loads the backbone once and keeps it. A pass uses the cores it is given
    (threads=), with the GIL released: give each actor a share of the node's cores (threads = cores per
    actor) rather than running more actors than cores.
    """

    def __init__(self, model, stage="stage4", threads=None):
        self.backbone = visbone.load_backbone(model, out_features=[stage], threads=threads)
        try:
            self.processor = visbone.ImageProcessor.from_pretrained(model)
        except visbone.NotFoundError:  # a checkpoint saved without preprocessor_config.json
            self.processor = visbone.ImageProcessor()
        self.stage = stage

    def __call__(self, batch):
        """batch["image"]: (N, H, W, 3) uint8 or a list of HWC arrays (what ray.data.read_images gives).
        Adds "embedding" (N, C) float32 and the stage's (N, C, H, W) maps; the arrays own visbone's buffers."""
        pixels = self.processor(list(batch["image"]))["pixel_values"]
        out = self.backbone(pixels, pooled=True, logits=False)
        batch["embedding"] = out["pooled"]
        batch[self.stage] = out[self.stage]
        return batch


def extract_features(backbone, batches):
    """The loop body of a PyTorch DataLoader (or any iterable of float32 (N, C, H, W) batches): yields the
    pooled features of each batch. A contiguous float32 CPU tensor is read in place (numpy's array interface),
    and torch.from_numpy(result) wraps the output without a copy."""
    for pixels in batches:
        yield backbone(np.asarray(pixels), pooled=True, logits=False)["pooled"]


def ray_main(model, folder):
    import ray

    ds = ray.data.read_images(folder, mode="RGB")
    ds = ds.map_batches(FeatureExtractor, fn_constructor_kwargs={"model": model}, batch_size=16,
                        batch_format="numpy", concurrency=2)
    for row in ds.take(4):
        print(row["embedding"].shape)


def torch_main(model, paths):
    import torch
    from torch.utils.data import DataLoader, Dataset

    processor = visbone.ImageProcessor()

    class Images(Dataset):
        def __len__(self):
            return len(paths)

        def __getitem__(self, i):  # preprocessing in the DataLoader's worker processes
            return torch.from_numpy(processor(paths[i])["pixel_values"][0])

    backbone = visbone.load_backbone(model, out_features=["stage4"])
    loader = DataLoader(Images(), batch_size=8, num_workers=2)
    for features in extract_features(backbone, loader):
        print(torch.from_numpy(features).shape)


def main(argv):
    if len(argv) >= 3 and argv[0] == "--ray":
        return ray_main(argv[1], argv[2])
    if len(argv) >= 3 and argv[0] == "--torch":
        return torch_main(argv[1], argv[2:])
    if len(argv) < 2:
        print(__doc__)
        return 2
    extractor = FeatureExtractor(argv[0])
    batch = extractor({"image": [load_rgb(p) for p in argv[1:]]})
    for path, embedding in zip(argv[1:], batch["embedding"]):
        print(f"{path}: embedding {embedding.shape[0]} floats, {extractor.stage} {batch[extractor.stage].shape[1:]}")
    return 0


def load_rgb(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
