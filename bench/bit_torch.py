"""BiT (transformers' BitForImageClassification, preactivation layers) in plain PyTorch, read from a Hugging
Face checkpoint folder (config.json + model.safetensors or shards; F32/F16/BF16) with a numpy safetensors
reader, so the harness needs neither transformers nor the safetensors package. Weight standardization
(eps 1e-8, biased variance per output channel) is folded into the weights once, as visbone does."""
import json
import pathlib
import struct

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = (8 + n + o for o in t["data_offsets"])
        raw = data[begin:end]
        if t["dtype"] == "BF16":  # the upper half of a float32
            a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, DTYPES[t["dtype"]])
        out[name] = a.reshape(t["shape"]).astype(np.float32)
    return out


def write_safetensors(path, tensors):
    """{name: array} as float32 safetensors (what `visbone forward --input` reads)."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    pathlib.Path(path).write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def read_checkpoint(folder):
    folder = pathlib.Path(folder)
    index = folder / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else ["model.safetensors"]
    weights = {}
    for f in files:
        weights.update(read_safetensors(folder / f))
    return weights


class GroupNormRelu(nn.GroupNorm):
    """GroupNorm + ReLU with statistics in fp32 whatever the activations' dtype (to_bf16 keeps these fp32);
    the result goes back to the input's dtype."""
    def forward(self, x):
        return F.relu(super().forward(x.float())).to(x.dtype)


def conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False)


class PreActBottleneck(nn.Module):
    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        mid = cout // 4
        self.downsample = conv(cin, cout, 1, stride) if stride != 1 or cin != cout else None
        self.norm1, self.conv1 = GroupNormRelu(groups, cin), conv(cin, mid, 1)
        self.norm2, self.conv2 = GroupNormRelu(groups, mid), conv(mid, mid, 3, stride)
        self.norm3, self.conv3 = GroupNormRelu(groups, mid), conv(mid, cout, 1)

    def forward(self, x):
        pre = self.norm1(x)
        shortcut = self.downsample(pre) if self.downsample is not None else x
        return self.conv3(self.norm3(self.conv2(self.norm2(self.conv1(pre))))) + shortcut


class Bit(nn.Module):
    def __init__(self, config):
        super().__init__()
        unsupported = {k: config.get(k) for k, ok in [("layer_type", "preactivation"), ("global_padding", None),
                       ("embedding_dynamic_padding", False), ("output_stride", 32), ("width_factor", 1),
                       ("hidden_act", "relu")] if config.get(k, ok) != ok}
        if unsupported:
            raise SystemExit(f"bit_torch: unsupported config values {unsupported}")
        groups, sizes = config["num_groups"], config["hidden_sizes"]
        self.stem = conv(config["num_channels"], config["embedding_size"], 7, 2)
        layers, cin = [], config["embedding_size"]
        for s, (depth, cout) in enumerate(zip(config["depths"], sizes)):
            for i in range(depth):
                layers.append(PreActBottleneck(cin, cout, 2 if s > 0 and i == 0 else 1, groups))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.norm = GroupNormRelu(groups, cin)
        self.classifier = nn.Linear(cin, len(config.get("id2label", {})) or 1000)

    def forward(self, x):
        x = F.max_pool2d(F.pad(self.stem(x), (1, 1, 1, 1)), 3, 2)  # zero pad, then pool
        # The last norm, pooling and classifier run in fp32 (as visbone's bf16 path does).
        pooled = self.norm(self.layers(x).float()).mean((2, 3))
        return pooled, self.classifier(pooled)


def transformers_names(model, config):
    """Our parameter names -> transformers' (bit.encoder.stages.S.layers.L.conv1.weight, ...)."""
    names = {"stem.weight": "bit.embedder.convolution.weight", "norm.weight": "bit.norm.weight",
             "norm.bias": "bit.norm.bias", "classifier.weight": "classifier.1.weight",
             "classifier.bias": "classifier.1.bias"}
    flat = [(s, i) for s, d in enumerate(config["depths"]) for i in range(d)]
    for name, _ in model.named_parameters():
        if name.startswith("layers."):
            _, n, rest = name.split(".", 2)
            s, i = flat[int(n)]
            names[name] = f"bit.encoder.stages.{s}.layers.{i}." + rest.replace("downsample.", "downsample.conv.")
    return names


def load_bit(folder):
    config = json.loads((pathlib.Path(folder) / "config.json").read_text())
    model = Bit(config)
    weights = read_checkpoint(folder)
    state = {}
    for ours, theirs in transformers_names(model, config).items():
        w = torch.from_numpy(weights[theirs].astype(np.float64))
        if w.dim() == 4:  # weight standardization, folded
            flat = w.reshape(w.shape[0], -1)
            w = ((flat - flat.mean(1, keepdim=True)) / torch.sqrt(flat.var(1, unbiased=False, keepdim=True) + 1e-8)).reshape(w.shape)
        state[ours] = w.float()
    model.load_state_dict(state, strict=True)
    return model.eval()


def to_bf16(model):
    """The fairest bf16 peer of visbone's bf16 path: convolutions (weights and activations) in bf16,
    GroupNorm statistics, pooling and the classifier in fp32."""
    model = model.to(torch.bfloat16)
    for m in model.modules():
        if isinstance(m, (nn.GroupNorm, nn.Linear)):
            m.float()
    return model
