#!/usr/bin/python3
"""The checkpoint `visbone fit` writes, loaded the way transformers loads it: bench/bit_torch.py is BiT in
PyTorch under transformers' parameter names, loaded with a strict name and shape match (what
BitForImageClassification.from_pretrained checks), and its logits on random inputs must equal `visbone
forward`'s on the fitted folder within the fp32 budget (1e-4 of the largest logit). transformers itself is not
a Debian package; this is the closest check that runs here. Needs python3-torch (bench/install.sh): without
it the test is skipped (exit 77).

usage: torch_load_test.py VISBONE REPO_ROOT
"""
import json
import pathlib
import subprocess
import sys
import tempfile

SKIP = 77


def main():
    visbone, root = sys.argv[1], pathlib.Path(sys.argv[2])
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"skipped: {e} (install python3-torch)")
        return SKIP
    sys.path.insert(0, str(root / "bench"))
    from bit_torch import load_bit, read_safetensors, transformers_names, write_safetensors

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        out = tmp / "probe"
        subprocess.run([visbone, "fit", str(root / "configs/fit/digits.yaml"), "--input", str(root / "data/digits"),
                        "--output", str(out), "--cache-dir", str(tmp / "cache")], check=True, capture_output=True)
        config = json.loads((out / "config.json").read_text())
        assert config["num_labels"] == 10 and len(config["id2label"]) == 10, config
        model = load_bit(out)  # strict: every transformers name present, no other, shapes equal
        names = set(transformers_names(model, config).values())
        stored = set(read_safetensors(out / "model.safetensors"))
        assert names == stored, f"names only in the file: {stored - names}; only in the model: {names - stored}"

        x = np.random.default_rng(1).standard_normal((4, 3, 32, 32)).astype(np.float32)
        write_safetensors(tmp / "x.safetensors", {"pixel_values": x})
        subprocess.run([visbone, "forward", "--model", str(out), "--input", str(tmp / "x.safetensors"),
                        "--output", str(tmp / "y.safetensors")], check=True, capture_output=True)
        ours = read_safetensors(tmp / "y.safetensors")["logits"]
        with torch.no_grad():
            theirs = model(torch.from_numpy(x))
        theirs = (theirs[1] if isinstance(theirs, (tuple, list)) else theirs).numpy()
        assert ours.shape == theirs.shape == (4, 10), (ours.shape, theirs.shape)
        err = float(np.abs(ours - theirs).max())
        scale = float(np.abs(theirs).max())
        print(f"strict load of {len(names)} tensors; logits max abs difference {err:.2e} (largest logit {scale:.3f})")
        assert np.isfinite(ours).all() and err <= 1e-4 * scale, err
    return 0


if __name__ == "__main__":
    sys.exit(main())
