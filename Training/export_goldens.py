"""Exports the parity goldens the Swift tests compare against.

    python3 Training/export_goldens.py        # torch==2.13.0 (CPU), numpy

Writes Tests/TensorCoreTests/Goldens/ops.safetensors (one case per operation: inputs, PyTorch
parameters in PyTorch's layout, and PyTorch's output, all NCHW / [out, in]) and
Tests/ModelsTests/Goldens/unet-small.safetensors (a small ReferenceUNet's F16 weights) with
unet-small-io.safetensors (its inputs, and the output computed with exactly those F16-rounded
weights). Deterministic for a given torch.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from reference_unet import Config, ReferenceUNet, example_inputs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ops_cases():
    g = torch.Generator().manual_seed(1234)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    out = {}

    def add(prefix, **tensors):
        for k, v in tensors.items():
            out[f"{prefix}.{k}"] = v.detach().float().numpy()

    # Convolutions: (name, N, cin, cout, H, W, kernel, stride, padding, groups)
    convs = [("conv3x3", 2, 8, 12, 9, 7, 3, 1, 1, 1),
             ("conv3x3s2", 1, 8, 16, 9, 10, 3, 2, 1, 1),
             ("conv1x1", 2, 24, 10, 5, 6, 1, 1, 0, 1),
             ("conv5x5g2", 1, 8, 6, 8, 8, 5, 1, 2, 2),
             ("conv7x7s2", 1, 3, 16, 21, 19, 7, 2, 3, 1),
             ("conv1x1s2", 1, 8, 8, 7, 7, 1, 2, 0, 1),
             ("depthwise3x3s2", 1, 20, 20, 11, 9, 3, 2, 1, 20),
             ("depthwise5x5", 2, 12, 12, 7, 8, 5, 1, 2, 12)]
    for name, n, cin, cout, h, w, k, s, p, grp in convs:
        x = rnd(n, cin, h, w)
        wt = rnd(cout, cin // grp, k, k) * (1 / math.sqrt(cin // grp * k * k))
        b = rnd(cout)
        add(name, x=x, weight=wt, bias=b, y=F.conv2d(x, wt, b, stride=s, padding=p, groups=grp))
    # A residual add and ReLU6 fused after a convolution.
    x, wt, b, r = rnd(1, 8, 6, 6), rnd(8, 8, 3, 3) * 0.2, rnd(8), rnd(1, 8, 6, 6)
    add("conv_relu6_residual", x=x, weight=wt, bias=b, residual=r,
        y=F.relu6(F.conv2d(x, wt, b, padding=1)) + r)
    # Batch norm folded into a convolution (inference statistics).
    x, wt, b = rnd(1, 6, 8, 8), rnd(10, 6, 3, 3) * 0.2, rnd(10)
    gamma, beta, mean, var = rnd(10), rnd(10), rnd(10), torch.rand(10, generator=g) + 0.5
    add("conv_bn", x=x, weight=wt, bias=b, bn_weight=gamma, bn_bias=beta, bn_mean=mean, bn_var=var,
        y=F.batch_norm(F.conv2d(x, wt, b, padding=1), mean, var, gamma, beta, False, 0.0, 1e-3))

    x, wt, b = rnd(3, 5, 40), rnd(24, 40) * 0.15, rnd(24)
    add("linear", x=x, weight=wt, bias=b, y=F.linear(x, wt, b))
    x = rnd(100, 70) * 3
    wt, b = rnd(130, 70) * 0.1, rnd(130)
    add("linear_gelu", x=x, weight=wt, bias=b, y=F.gelu(F.linear(x, wt, b)))

    x = rnd(2, 32, 9, 11) * 2 + 1
    gamma, beta = rnd(32), rnd(32)
    add("groupnorm_silu", x=x, weight=gamma, bias=beta, y=F.silu(F.group_norm(x, 8, gamma, beta, 1e-5)))
    x = rnd(2, 7, 48) * 3 + 2
    gamma, beta = rnd(48), rnd(48)
    add("layernorm", x=x, weight=gamma, bias=beta, y=F.layer_norm(x, (48,), gamma, beta, 1e-5))

    x = torch.linspace(-12, 12, 2401)
    add("activations", x=x, silu=F.silu(x), gelu=F.gelu(x), relu6=F.relu6(x), sigmoid=torch.sigmoid(x),
        relu=F.relu(x))

    # Attention: self (70 tokens: a partial block), and cross to 5 context tokens.
    for name, t, s, c, cc, heads in [("attention_self", 70, 70, 32, 32, 4), ("attention_cross", 70, 5, 32, 24, 2)]:
        x, ctx = rnd(2, t, c), rnd(2, s, cc)
        wq, wk, wv = rnd(c, c) / math.sqrt(c), rnd(c, cc) / math.sqrt(cc), rnd(c, cc) / math.sqrt(cc)
        wo, bo = rnd(c, c) / math.sqrt(c), rnd(c)
        src = x if name == "attention_self" else ctx
        q = F.linear(x, wq).view(2, t, heads, -1).transpose(1, 2)
        k = F.linear(src, wk).view(2, s, heads, -1).transpose(1, 2)
        v = F.linear(src, wv).view(2, s, heads, -1).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, t, c)
        add(name, x=x, context=ctx, to_q=wq, to_k=wk, to_v=wv, to_out_weight=wo, to_out_bias=bo,
            y=F.linear(o, wo, bo) + x)

    x = rnd(2, 6, 7, 9)
    add("pool", x=x, avg3s2p1=F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        max2s2=F.max_pool2d(x, 2, 2), global_avg=x.mean(dim=(2, 3)),
        upsample2=F.interpolate(x, scale_factor=2.0, mode="nearest"))
    from reference_unet import timestep_embedding
    add("timestep", t=torch.tensor([0.0, 1.0, 250.0, 999.0]), embedding=timestep_embedding(torch.tensor([0.0, 1.0, 250.0, 999.0]), 64))
    return out


def small_unet():
    cfg = Config(channels=(8, 16, 16), groups=4, heads=2, context_dim=16, context_tokens=5,
                 time_dim=32, size=16)
    torch.manual_seed(7)
    model = ReferenceUNet(cfg).eval()
    # Non-trivial norm parameters and biases, so a dropped weight cannot go unnoticed.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.add_(torch.randn_like(p) * 0.2)
        # Round every weight to F16 so the file and the reference use identical values.
        for p in model.parameters():
            p.copy_(p.half().float())
    x, t, ctx = example_inputs(cfg, seed=3, batch=2)
    t = torch.tensor([250.0, 900.0])
    with torch.no_grad():
        y = model(x, t, ctx)
    weights = {k: v.detach().half().numpy() for k, v in model.state_dict().items()}
    io = {"x": x.numpy(), "t": t.numpy(), "context": ctx.numpy(), "y": y.numpy()}
    return weights, io, {"config": "channels=8,16,16 groups=4 heads=2 context_dim=16 time_dim=32 size=16"}


if __name__ == "__main__":
    torch.set_num_threads(1)
    meta = {"producer": "python3 Training/export_goldens.py", "torch": torch.__version__}
    path = os.path.join(ROOT, "Tests/TensorCoreTests/Goldens/ops.safetensors")
    safetensors_io.save(path, ops_cases(), meta)
    print("wrote", path, os.path.getsize(path), "bytes")
    weights, io, extra = small_unet()
    for name, tensors in (("unet-small", weights), ("unet-small-io", io)):
        path = os.path.join(ROOT, f"Tests/ModelsTests/Goldens/{name}.safetensors")
        safetensors_io.save(path, tensors, {**meta, **extra})
        print("wrote", path, os.path.getsize(path), "bytes")
