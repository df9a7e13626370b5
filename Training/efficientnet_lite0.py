"""EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant: ReLU6, no squeeze-excite, fixed stem and
head) in PyTorch, reading the weights `convert_efficientnet.py` writes. It is the reference that
`Sources/Models/EfficientNetLite0.swift` is checked against, and the model the encoder benchmark
runs in PyTorch and ONNX Runtime.

The checkpoint comes from TensorFlow, so convolutions pad like TensorFlow's "SAME": a stride-2
layer on an even input pads one pixel less at the top/left than at the bottom/right. Batch norm
epsilon is TensorFlow's 1e-3. Input: RGB in [0, 255], normalised as (x − 127.5) / 128.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# (repeats, kernel, stride, expand, in, out) per stage, EfficientNet-B0's table.
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
EPS = 1e-3
# Blocks after which the multi-scale features are taken: strides 8, 16 and 32.
FEATURE_BLOCKS = {"stride8": 4, "stride16": 10, "stride32": 15}


def same_pad(x, kernel, stride):
    """TensorFlow SAME padding for this input size."""
    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + kernel - h, 0)
    pw = max((-(-w // stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class ConvBN(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, groups=1):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(cin, cout, kernel, stride, 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=EPS)

    def forward(self, x):
        return self.bn(self.conv(same_pad(x, self.kernel, self.stride)))


class MBConv(nn.Module):
    def __init__(self, cin, cout, kernel, stride, expand):
        super().__init__()
        mid = cin * expand
        self.expand = ConvBN(cin, mid, 1) if expand != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, 1)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        h = F.relu6(self.expand(x)) if self.expand is not None else x
        h = self.project(F.relu6(self.depthwise(h)))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBN(3, 32, 3, 2)
        blocks = []
        for repeats, k, s, e, cin, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e))
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvBN(320, 1280, 1)
        self.fc = nn.Linear(1280, 1000)

    def forward(self, x):
        """Returns (features by name, pooled 1280-d embedding, logits)."""
        features = {}
        h = F.relu6(self.stem(x))
        for i, block in enumerate(self.blocks):
            h = block(h)
            for name, index in FEATURE_BLOCKS.items():
                if index == i:
                    features[name] = h
        h = F.relu6(self.head(h))
        pooled = h.mean(dim=(2, 3))
        return features, pooled, self.fc(pooled)


def checkpoint_names():
    """Our module names → the checkpoint's (lukemelas-style) names."""
    names = {"stem.conv.weight": "_conv_stem.weight", "head.conv.weight": "_conv_head.weight",
             "fc.weight": "_fc.weight", "fc.bias": "_fc.bias"}
    for p in ("weight", "bias", "running_mean", "running_var"):
        names[f"stem.bn.{p}"] = f"_bn0.{p}"
        names[f"head.bn.{p}"] = f"_bn1.{p}"
    model = EfficientNetLite0()
    for i, block in enumerate(model.blocks):
        parts = [("depthwise", "_depthwise_conv", "_bn1"), ("project", "_project_conv", "_bn2")]
        if block.expand is not None:
            parts.append(("expand", "_expand_conv", "_bn0"))
        for ours, conv, bn in parts:
            names[f"blocks.{i}.{ours}.conv.weight"] = f"_blocks.{i}.{conv}.weight"
            for p in ("weight", "bias", "running_mean", "running_var"):
                names[f"blocks.{i}.{ours}.bn.{p}"] = f"_blocks.{i}.{bn}.{p}"
    return names


def load(path):
    import numpy as np
    import safetensors_io
    weights = safetensors_io.load(path)
    model = EfficientNetLite0().eval()
    state = {ours: torch.from_numpy(np.array(weights[theirs])) for ours, theirs in checkpoint_names().items()}
    missing = set(weights) - set(checkpoint_names().values())
    assert not missing, f"unused weights: {sorted(missing)[:5]}"
    model.load_state_dict(state, strict=False)
    return model


def preprocess(rgb):
    """uint8 H×W×3 → 1×3×H×W float, normalised."""
    x = torch.from_numpy(rgb).float().permute(2, 0, 1)[None]
    return (x - 127.5) / 128
