"""A reference conditional UNet, the size of the denoiser deltaflow will ship.

It exists so the Swift tensor core can be checked against PyTorch (parity goldens) and timed
against ONNX Runtime and PyTorch on the same weights (Benchmarks/tensor_core.py) before the
project's own denoiser is trained. Layout follows the common latent-diffusion UNet: GroupNorm +
SiLU ResBlocks with a time embedding, spatial transformers (self-attention, cross-attention to
conditioning tokens, GELU feed-forward) at the lower resolutions, nearest-neighbour upsampling
followed by a 3x3 convolution.

Weight names here are what Sources/Models/ReferenceUNet.swift reads.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, in_channels=4, out_channels=4, channels=(64, 128, 128),
                 attention=(False, True, True), groups=32, heads=4, context_dim=128,
                 context_tokens=16, time_dim=256, size=64):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.attention = attention
        self.groups = groups
        self.heads = heads
        self.context_dim = context_dim
        self.context_tokens = context_tokens
        self.time_dim = time_dim
        self.size = size


def timestep_embedding(t, dim):
    """Sinusoidal embedding: [cos(t·f_i), sin(t·f_i)], f_i = 10000^(-i/half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(time_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, context=None):
        context = x if context is None else context
        b, n, c = x.shape
        q = self.to_q(x).view(b, n, self.heads, -1).transpose(1, 2)
        k = self.to_k(context).view(b, context.shape[1], self.heads, -1).transpose(1, 2)
        v = self.to_v(context).view(b, context.shape[1], self.heads, -1).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(o.transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, 4 * dim)
        self.ff2 = nn.Linear(4 * dim, dim)

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff2(F.gelu(self.ff1(self.norm3(x))))


class SpatialTransformer(nn.Module):
    def __init__(self, channels, context_dim, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.proj_in = nn.Linear(channels, channels)
        self.block = TransformerBlock(channels, context_dim, heads)
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, context):
        b, c, h, w = x.shape
        t = self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c)
        t = self.proj_out(self.block(self.proj_in(t), context))
        return x + t.reshape(b, h, w, c).permute(0, 3, 1, 2)


class ReferenceUNet(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        ch = cfg.channels
        self.time1 = nn.Linear(ch[0], cfg.time_dim)
        self.time2 = nn.Linear(cfg.time_dim, cfg.time_dim)
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)

        self.down_res = nn.ModuleList()
        self.down_attn = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [ch[0]]
        cin = ch[0]
        for i, c in enumerate(ch):
            self.down_res.append(ResBlock(cin, c, cfg.time_dim, cfg.groups))
            self.down_attn.append(SpatialTransformer(c, cfg.context_dim, cfg.heads, cfg.groups)
                                  if cfg.attention[i] else nn.Identity())
            skips.append(c)
            cin = c
            if i < len(ch) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)

        self.mid_res1 = ResBlock(cin, cin, cfg.time_dim, cfg.groups)
        self.mid_attn = SpatialTransformer(cin, cfg.context_dim, cfg.heads, cfg.groups)
        self.mid_res2 = ResBlock(cin, cin, cfg.time_dim, cfg.groups)

        self.up_res = nn.ModuleList()
        self.up_attn = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, c in reversed(list(enumerate(ch))):
            for _ in range(2):
                self.up_res.append(ResBlock(cin + skips.pop(), c, cfg.time_dim, cfg.groups))
                self.up_attn.append(SpatialTransformer(c, cfg.context_dim, cfg.heads, cfg.groups)
                                    if cfg.attention[i] else nn.Identity())
                cin = c
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.norm_out = nn.GroupNorm(cfg.groups, cin)
        self.conv_out = nn.Conv2d(cin, cfg.out_channels, 3, padding=1)

    def forward(self, x, t, context):
        temb = self.time2(F.silu(self.time1(timestep_embedding(t, self.cfg.channels[0]))))
        h = self.conv_in(x)
        skips = [h]
        levels = len(self.cfg.channels)
        for i in range(levels):
            h = self.down_attn[i](self.down_res[i](h, temb), context) \
                if self.cfg.attention[i] else self.down_res[i](h, temb)
            skips.append(h)
            if i < levels - 1:
                h = self.downsample[i](h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, temb), context), temb)
        j = 0
        for level in reversed(range(levels)):
            for _ in range(2):
                h = self.up_res[j](torch.cat([h, skips.pop()], dim=1), temb)
                if self.cfg.attention[level]:
                    h = self.up_attn[j](h, context)
                j += 1
            if level > 0:
                h = self.upsample[levels - 1 - level](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def count_flops(model, cfg):
    from torch.utils.flop_counter import FlopCounterMode
    x, t, ctx = example_inputs(cfg)
    with FlopCounterMode(display=False) as counter:
        model(x, t, ctx)
    return counter.get_total_flops()


def example_inputs(cfg, seed=0, batch=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cfg.in_channels, cfg.size, cfg.size, generator=g)
    t = torch.full((batch,), 0.5) * 1000
    ctx = torch.randn(batch, cfg.context_tokens, cfg.context_dim, generator=g)
    return x, t, ctx


if __name__ == "__main__":
    cfg = Config()
    torch.manual_seed(0)
    m = ReferenceUNet(cfg).eval()
    print("params", sum(p.numel() for p in m.parameters()) / 1e6, "M")
    print("GFLOP", count_flops(m, cfg) / 1e9)
