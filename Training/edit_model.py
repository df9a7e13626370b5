"""The edit models: a Perceiver adapter, a mask predictor and a bridge denoiser (one module).

Reads what `encode_delta` computes for an exemplar pair A → A′ and edits a photo B at 64×64:
- `adapter`: Delta-Adapter's path. The stride-32 semantic delta (49 tokens × 320, already
  LN₀(F(A′)) − LN₀(F(A))) is projected, refined by a zero-gated MLP, and resampled by learned
  latent queries into `tokens` edit tokens; `global` (mean delta + fitted colour affine) is added
  to the time embedding (FiLM through every residual block).
- `mask`: AdaptEdit's mask predictor. A light conv head on B, B through the exemplar's fitted
  colour LUT (the exact, model-free part of the edit), and the exemplar's change grid; FiLM-conditioned on the global vector;
  cross-attends to the edit tokens; mask logits at 16×16, bilinearly upsampled.
- `denoiser`: a small UNet (16/48/96) on the bridge x_t = (1−t)·B′ + t·B, predicting the edited
  photo as a correction of B through the exemplar's colour LUT (x̂₀ = LUT(B) + net), from which
  the velocity is (x_t − x̂₀)/t; at 16×16 a transformer block whose attention adds the decoupled adapter
  attention `Z = Z_self + α·G⊙Z_adapter` (RelationAdapter; the adapter keys/values are its own,
  the query is shared) gated per position by G = σ(w·[mask logit, token] + b) (AdaptEdit).

Weight names are what Sources/Models/EditModel.swift reads. Layout NCHW here, NHWC there.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import safetensors_io
from reference_unet import ResBlock, timestep_embedding


class Config:
    def __init__(self, size=64, channels=(16, 48, 96), groups=8, heads=4, width=128, latents=8,
                 delta_width=320, delta_tokens=49, resampler_depth=2, time_dim=128, mask_channels=(32, 64)):
        self.size = size
        self.channels = channels
        self.groups = groups
        self.heads = heads
        self.width = width
        self.latents = latents
        self.delta_width = delta_width
        self.delta_tokens = delta_tokens
        self.resampler_depth = resampler_depth
        self.time_dim = time_dim
        self.mask_channels = mask_channels

    def as_dict(self):
        return dict(self.__dict__)


def attention(q, k, v, heads):
    b, n, c = q.shape
    q = q.view(b, n, heads, -1).transpose(1, 2)
    k = k.view(b, k.shape[1], heads, -1).transpose(1, 2)
    v = v.view(b, v.shape[1], heads, -1).transpose(1, 2)
    return F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c)


class ResamplerLayer(nn.Module):
    """IP-Adapter's Perceiver layer: latents attend to [inputs; latents], then a GELU MLP."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.norm_x = nn.LayerNorm(width)
        self.norm_latents = nn.LayerNorm(width)
        self.to_q = nn.Linear(width, width, bias=False)
        self.to_k = nn.Linear(width, width, bias=False)
        self.to_v = nn.Linear(width, width, bias=False)
        self.to_out = nn.Linear(width, width, bias=False)
        self.ff_norm = nn.LayerNorm(width)
        self.ff1 = nn.Linear(width, 4 * width)
        self.ff2 = nn.Linear(4 * width, width)

    def forward(self, x, latents):
        lat = self.norm_latents(latents)
        kv = torch.cat([self.norm_x(x), lat], dim=1)
        latents = latents + self.to_out(attention(self.to_q(lat), self.to_k(kv), self.to_v(kv), self.heads))
        return latents + self.ff2(F.gelu(self.ff1(self.ff_norm(latents))))


class Adapter(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg.width
        self.proj_in = nn.Linear(cfg.delta_width, w)
        self.refine_norm = nn.LayerNorm(w)
        self.refine1 = nn.Linear(w, w)
        self.refine2 = nn.Linear(w, w)
        self.refine_gate = nn.Parameter(torch.zeros(1))
        self.latents = nn.Parameter(torch.randn(cfg.latents, w) * w ** -0.5)
        self.layers = nn.ModuleList(ResamplerLayer(w, cfg.heads) for _ in range(cfg.resampler_depth))
        self.proj_out = nn.Linear(w, w)
        self.norm_out = nn.LayerNorm(w)
        self.global1 = nn.Linear(w + 12, cfg.time_dim)
        self.global2 = nn.Linear(cfg.time_dim, cfg.time_dim)

    def forward(self, delta, affine):
        """delta `[N, 49, 320]`, affine `[N, 12]` (fitted map minus identity) → (tokens, global)."""
        x = self.proj_in(delta)
        x = x + torch.tanh(self.refine_gate) * self.refine2(F.gelu(self.refine1(self.refine_norm(x))))
        latents = self.latents[None].expand(x.shape[0], -1, -1)
        for layer in self.layers:
            latents = layer(x, latents)
        tokens = self.norm_out(self.proj_out(latents))
        g = self.global2(F.silu(self.global1(torch.cat([x.mean(1), affine], dim=1))))
        return tokens, g


class CrossAttention(nn.Module):
    """Pre-norm cross-attention from a feature map's positions to the edit tokens."""

    def __init__(self, channels, width, heads):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(width, channels, bias=False)
        self.to_v = nn.Linear(width, channels, bias=False)
        self.to_out = nn.Linear(channels, channels)

    def forward(self, t, tokens):
        h = self.norm(t)
        return t + self.to_out(attention(self.to_q(h), self.to_k(tokens), self.to_v(tokens), self.heads))


class MaskHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c1, c2 = cfg.mask_channels
        self.conv1 = nn.Conv2d(9, c1, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.film = nn.Linear(cfg.time_dim, 2 * c2)
        self.attn = CrossAttention(c2, cfg.width, 2)
        self.conv3 = nn.Conv2d(c2, c2, 3, padding=1)
        self.conv_out = nn.Conv2d(c2, 1, 1)

    def forward(self, cond, g, tokens):
        """cond `[N, 9, 64, 64]` (B, B_affine, change) → mask logits `[N, 1, 16, 16]`."""
        h = F.silu(self.conv1(cond))
        h = self.conv2(h)
        scale, shift = self.film(F.silu(g)).chunk(2, dim=1)
        h = F.silu(h * (1 + scale[:, :, None, None]) + shift[:, :, None, None])
        b, c, hh, ww = h.shape
        t = self.attn(h.permute(0, 2, 3, 1).reshape(b, hh * ww, c), tokens)
        h = t.reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        return self.conv_out(F.silu(self.conv3(h)))


class AdapterBlock(nn.Module):
    """GroupNorm → tokens → [self-attention + α·G⊙adapter attention] → GELU MLP → + input."""

    def __init__(self, channels, width, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.proj_in = nn.Linear(channels, channels)
        self.norm1 = nn.LayerNorm(channels)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.Linear(channels, channels)
        self.adapter_k = nn.Linear(width, channels, bias=False)
        self.adapter_v = nn.Linear(width, channels, bias=False)
        self.gate = nn.Linear(channels + 1, 1)
        self.norm2 = nn.LayerNorm(channels)
        self.ff1 = nn.Linear(channels, 4 * channels)
        self.ff2 = nn.Linear(4 * channels, channels)
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, tokens, mask_logits, strength):
        b, c, hh, ww = x.shape
        t = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(b, hh * ww, c))
        h = self.norm1(t)
        q = self.to_q(h)
        z_self = attention(q, self.to_k(h), self.to_v(h), self.heads)
        z_adapter = attention(q, self.adapter_k(tokens), self.adapter_v(tokens), self.heads)
        m = mask_logits.reshape(b, hh * ww, 1)
        gate = torch.sigmoid(self.gate(torch.cat([h, m], dim=2)))
        # to_out is linear, so to_out(Z_self + α·G⊙Z_adapter) = to_out(Z_self) + α·G⊙(W_out·Z_adapter).
        t = t + self.to_out(z_self) + strength[:, None, None] * gate * F.linear(z_adapter, self.to_out.weight)
        t = t + self.ff2(F.gelu(self.ff1(self.norm2(t))))
        t = self.proj_out(t)
        return x + t.reshape(b, hh, ww, c).permute(0, 3, 1, 2)


class Denoiser(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c0, c1, c2 = cfg.channels
        td, g = cfg.time_dim, cfg.groups
        self.time1 = nn.Linear(c0, td)
        self.time2 = nn.Linear(td, td)
        self.conv_in = nn.Conv2d(12, c0, 3, padding=1)
        self.res0 = ResBlock(c0, c0, td, g)
        self.down0 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.res1 = ResBlock(c1, c1, td, g)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.res2 = ResBlock(c2, c2, td, g)
        self.attn = AdapterBlock(c2, cfg.width, cfg.heads, g)
        self.res3 = ResBlock(c2, c2, td, g)
        self.up1 = nn.Conv2d(c2, c1, 3, padding=1)
        self.res4 = ResBlock(2 * c1, c1, td, g)
        self.up0 = nn.Conv2d(c1, c0, 3, padding=1)
        self.res5 = ResBlock(2 * c0, c0, td, g)
        self.norm_out = nn.GroupNorm(g, c0)
        # Three channels of correction and one of its gate (see EditModel.estimate); the gate starts
        # nearly shut, so an untrained model is the exemplar's fit.
        self.conv_out = nn.Conv2d(c0, 4, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        with torch.no_grad():
            self.conv_out.bias[3] = GATE_BIAS
        self.c0 = c0

    def forward(self, x, t, cond, g, tokens, mask_logits, strength):
        """x `[N,3,64,64]`, t `[N]` in 0…1, cond `[N,9,64,64]` → correction and gate logit `[N,4,64,64]`."""
        temb = self.time2(F.silu(self.time1(timestep_embedding(t * 1000, self.c0)))) + g
        h0 = self.res0(self.conv_in(torch.cat([x, cond], dim=1)), temb)
        h1 = self.res1(self.down0(h0), temb)
        h = self.res2(self.down1(h1), temb)
        h = self.res3(self.attn(h, tokens, mask_logits, strength), temb)
        h = self.res4(torch.cat([self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest")), h1], 1), temb)
        h = self.res5(torch.cat([self.up0(F.interpolate(h, scale_factor=2.0, mode="nearest")), h0], 1), temb)
        return self.conv_out(F.silu(self.norm_out(h)))


class EditModel(nn.Module):
    def __init__(self, cfg=None):
        super().__init__()
        self.cfg = cfg or Config()
        self.adapter = Adapter(self.cfg)
        self.mask = MaskHead(self.cfg)
        self.denoiser = Denoiser(self.cfg)

    def condition(self, delta, affine, cond):
        tokens, g = self.adapter(delta, affine)
        return tokens, g, self.mask(cond, g, tokens)

    def estimate_gated(self, x, t, cond, tokens, g, mask_logits, strength):
        """(x̂₀, gate logits): the edited photo's estimate is the photo through the exemplar's fit
        (its spatial filter and colour table, cond's channels 3…5) plus the network's correction
        times its gate σ(logit) `[N,1,64,64]` — the gate learns where the fit is wrong, so where
        it is shut the full-resolution result is the fit exactly."""
        out = self.denoiser(x, t, cond, g, tokens, mask_logits, strength)
        return cond[:, 3:6] + torch.sigmoid(out[:, 3:4]) * out[:, :3], out[:, 3:4]

    def estimate(self, x, t, cond, tokens, g, mask_logits, strength):
        return self.estimate_gated(x, t, cond, tokens, g, mask_logits, strength)[0]

    def velocity(self, x, t, cond, tokens, g, mask_logits, strength):
        """The bridge velocity (x − x̂₀)/t (v = B − B′ on the straight path x_t = (1−t)B′ + tB)."""
        x0 = self.estimate(x, t, cond, tokens, g, mask_logits, strength)
        return (x - x0) / t[:, None, None, None]

    @torch.no_grad()
    def edit(self, b, cond, delta, affine, steps=2, strength=None, seed=0, noise=0.0):
        """Integrates the bridge from t = 1 (x = B) to 0: returns (B′ estimate, mask logits 16×16,
        the last step's gate logits 64×64). The last step lands on that step's x̂₀."""
        n = b.shape[0]
        strength = torch.ones(n, device=b.device) if strength is None else strength
        tokens, g, logits = self.condition(delta, affine, cond)
        x = b.clone()
        gen = torch.Generator().manual_seed(seed)
        for i in range(steps):
            t, t_next = 1 - i / steps, 1 - (i + 1) / steps
            x0, gate = self.estimate_gated(x, torch.full((n,), t, device=b.device), cond, tokens, g, logits, strength)
            v = (x - x0) / t
            x = x - (t - t_next) * v
            if noise > 0 and t_next > 0:
                x = x + noise * (t_next * (1 - t_next)) ** 0.5 * torch.randn(x.shape, generator=gen).to(x.device)
        return x, logits, gate


GATE_BIAS = -4.0


def load(path):
    """The models exported to `path` (F16 safetensors, `Config()`'s shapes), in F32, for evaluation."""
    model = EditModel(Config())
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in safetensors_io.load(path).items()})
    return model.eval()


def make_cond(b, b_lut, change):
    """[B, B through the exemplar's colour LUT, change grid upsampled to B's size (nearest)]."""
    grid = F.interpolate(change, size=b.shape[-2:], mode="nearest")
    return torch.cat([b, b_lut, grid], dim=1)


def upsample_mask(logits, size):
    return F.interpolate(logits, size=(size, size), mode="bilinear", align_corners=False)


if __name__ == "__main__":
    from torch.utils.flop_counter import FlopCounterMode
    m = EditModel().eval()
    print("params", sum(p.numel() for p in m.parameters()) / 1e6, "M")
    b = torch.rand(1, 3, 64, 64)
    cond = make_cond(b, b, torch.zeros(1, 3, 32, 32))
    with FlopCounterMode(display=False) as counter:
        tokens, g, logits = m.condition(torch.randn(1, 49, 320), torch.zeros(1, 12), cond)
    print("GFLOP adapter + mask", counter.get_total_flops() / 1e9)
    with FlopCounterMode(display=False) as counter:
        m.velocity(b, torch.ones(1), cond, tokens, g, logits, torch.ones(1))
    print("GFLOP per denoiser step", counter.get_total_flops() / 1e9)
