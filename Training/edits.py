"""Procedural photo edits with exact ground truth: the training and benchmark data of the edit models.

Every family is a function `apply(img, p) -> (out, region)` on a float tensor `[3, H, W]` in 0…1
(sRGB values) and a parameter dict `p` drawn by `sample(family, rng)`. The same `p` applied to two
photos is the same edit, which gives (A, A′, B, B′) quadruples for free. `region` is `[H, W]` in
0…1: where the edit applies (all ones for global edits). Parameters that depend on size are
relative to the image's shorter side, so an edit means the same thing at 64 px and at 12 MP.
"""
import math

import torch
import torch.nn.functional as F

LUMA = torch.tensor([0.299, 0.587, 0.114])

# Families never trained on: the benchmark's "unseen edits".
HELD_OUT = ("levels", "sepia", "tonal")
SEEN = ("exposure", "contrast", "gamma", "saturation", "hue", "temperature", "gain", "grayscale",
        "invert", "recolor", "spotlight", "blur", "sharpen", "grain")
GLOBAL_COLOUR = ("exposure", "contrast", "gamma", "saturation", "hue", "temperature", "gain",
                 "grayscale", "invert", "levels", "sepia")
ALL = SEEN + HELD_OUT


def _luma(img):
    return (img * LUMA.to(img)[:, None, None]).sum(0, keepdim=True)


def _signed(rng, lo, hi):
    return float(rng.uniform(lo, hi) * rng.choice([-1.0, 1.0]))


def _either(rng, below, above):
    """A value from one of two ranges, chosen with equal odds (e.g. less or more contrast)."""
    return float(rng.uniform(*below) if rng.random() < 0.5 else rng.uniform(*above))


def rgb_to_hsv(img):
    r, g, b = img[0], img[1], img[2]
    mx, _ = img.max(0)
    mn, _ = img.min(0)
    d = mx - mn
    safe = torch.where(d > 0, d, torch.ones_like(d))
    h = torch.where(mx == r, ((g - b) / safe) % 6, torch.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = torch.where(d > 0, h / 6, torch.zeros_like(h))
    s = torch.where(mx > 0, d / torch.where(mx > 0, mx, torch.ones_like(mx)), torch.zeros_like(mx))
    return torch.stack([h % 1.0, s, mx])


def hsv_to_rgb(hsv):
    h, s, v = hsv[0] % 1.0, hsv[1], hsv[2]

    def channel(n):
        k = (n + h * 6) % 6
        return v - v * s * torch.clamp(torch.minimum(k, 4 - k), 0, 1)

    return torch.stack([channel(5), channel(3), channel(1)])


def gaussian_blur(img, sigma):
    if sigma < 0.2:
        return img.clone()
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x * x / (2 * sigma * sigma))
    k = (k / k.sum()).to(img)
    c = img.shape[0]
    h = F.conv2d(F.pad(img[None], (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    h = F.conv2d(F.pad(h, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return h[0]


def _smoothstep(e0, e1, x):
    t = torch.clamp((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def sample(family, rng):
    """Random parameters of one edit of `family` (numpy Generator `rng`)."""
    if family == "exposure":
        return {"stops": _signed(rng, 0.3, 1.3)}
    if family == "contrast":
        return {"k": _either(rng, (0.45, 0.8), (1.25, 1.9))}
    if family == "gamma":
        return {"g": _either(rng, (0.45, 0.8), (1.25, 2.1))}
    if family == "levels":
        return {"black": float(rng.uniform(0.04, 0.22)), "white": float(rng.uniform(0.72, 0.95))}
    if family == "saturation":
        return {"s": _either(rng, (0.0, 0.6), (1.4, 2.2))}
    if family == "hue":
        return {"shift": _signed(rng, 0.08, 0.5)}
    if family == "temperature":
        return {"temp": _signed(rng, 0.06, 0.22), "tint": _signed(rng, 0.0, 0.1)}
    if family == "gain":
        while True:
            g = rng.uniform(0.65, 1.35, size=3)
            if abs(g - 1).max() > 0.12:
                return {"gains": [float(v) for v in g]}
    if family == "grayscale":
        return {"amount": float(rng.uniform(0.85, 1.0))}
    if family == "sepia":
        return {"amount": float(rng.uniform(0.6, 1.0))}
    if family == "invert":
        return {}
    if family == "recolor":
        return {"center": float(rng.uniform(0, 1)), "width": float(rng.uniform(0.06, 0.13)),
                "shift": _signed(rng, 0.15, 0.5)}
    if family == "tonal":
        return {"amount": float(rng.uniform(0.25, 0.6)), "highlights": bool(rng.random() < 0.5)}
    if family == "spotlight":
        return {"cx": float(rng.uniform(0.25, 0.75)), "cy": float(rng.uniform(0.25, 0.75)),
                "radius": float(rng.uniform(0.2, 0.45)), "darken": float(rng.uniform(0.35, 0.75))}
    if family == "blur":
        return {"sigma": float(rng.uniform(0.005, 0.015))}
    if family == "sharpen":
        return {"sigma": float(rng.uniform(0.004, 0.01)), "k": float(rng.uniform(0.6, 1.6))}
    if family == "grain":
        return {"sigma": float(rng.uniform(0.025, 0.07)), "seed": int(rng.integers(1 << 31))}
    raise ValueError(f"unknown edit family {family!r}")


def apply(family, img, p):
    """`family`'s edit with parameters `p` on `img` `[3, H, W]` → (edited, region `[H, W]`)."""
    _, h, w = img.shape
    ones = torch.ones(h, w, dtype=img.dtype)
    side = min(h, w)
    if family == "exposure":
        return torch.clamp(img * 2 ** p["stops"], 0, 1), ones
    if family == "contrast":
        return torch.clamp((img - 0.5) * p["k"] + 0.5, 0, 1), ones
    if family == "gamma":
        return img.clamp(0, 1) ** p["g"], ones
    if family == "levels":
        return torch.clamp((img - p["black"]) / (p["white"] - p["black"]), 0, 1), ones
    if family == "saturation":
        y = _luma(img)
        return torch.clamp(y + p["s"] * (img - y), 0, 1), ones
    if family == "hue":
        hsv = rgb_to_hsv(img)
        hsv[0] = hsv[0] + p["shift"]
        return hsv_to_rgb(hsv), ones
    if family == "temperature":
        g = torch.tensor([1 + p["temp"], 1 + p["tint"], 1 - p["temp"]], dtype=img.dtype)
        return torch.clamp(img * g[:, None, None], 0, 1), ones
    if family == "gain":
        g = torch.tensor(p["gains"], dtype=img.dtype)
        return torch.clamp(img * g[:, None, None], 0, 1), ones
    if family == "grayscale":
        y = _luma(img)
        return img + p["amount"] * (y - img), ones
    if family == "sepia":
        m = torch.tensor([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=img.dtype)
        s = torch.clamp(torch.einsum("ij,jhw->ihw", m, img), 0, 1)
        return img + p["amount"] * (s - img), ones
    if family == "invert":
        return 1 - img, ones
    if family == "recolor":
        hsv = rgb_to_hsv(img)
        d = (hsv[0] - p["center"] + 0.5) % 1.0 - 0.5  # signed hue distance
        weight = _smoothstep(p["width"], p["width"] * 0.5, d.abs()) * _smoothstep(0.08, 0.25, hsv[1])
        hsv[0] = hsv[0] + weight * p["shift"]
        return hsv_to_rgb(hsv), (weight > 0.02).to(img.dtype)
    if family == "tonal":
        y = _luma(img)[0]
        if p["highlights"]:
            weight = _smoothstep(0.45, 0.95, y)
            out = img + p["amount"] * weight * (1 - img)
        else:
            weight = _smoothstep(0.55, 0.05, y)
            out = img * (1 - p["amount"] * weight)
        return out, (weight > 0.02).to(img.dtype)
    if family == "spotlight":
        yy, xx = torch.meshgrid(torch.arange(h, dtype=img.dtype) + 0.5, torch.arange(w, dtype=img.dtype) + 0.5,
                                indexing="ij")
        dist = torch.sqrt((xx / w - p["cx"]) ** 2 * (w / side) ** 2 + (yy / h - p["cy"]) ** 2 * (h / side) ** 2)
        weight = _smoothstep(p["radius"], p["radius"] * 1.6, dist)
        return img * (1 - p["darken"] * weight), (weight > 0.02).to(img.dtype)
    if family == "blur":
        return gaussian_blur(img, p["sigma"] * side), ones
    if family == "sharpen":
        return torch.clamp(img + p["k"] * (img - gaussian_blur(img, p["sigma"] * side)), 0, 1), ones
    if family == "grain":
        g = torch.Generator().manual_seed(p["seed"] ^ (h * 7919 + w))
        noise = torch.randn(1, h, w, generator=g).to(img) * p["sigma"]
        return torch.clamp(img + noise, 0, 1), ones
    raise ValueError(f"unknown edit family {family!r}")


def sample_edit(rng, families, compose_probability=0.25):
    """A list of (family, params): one edit, or with `compose_probability` two composed."""
    first = str(rng.choice(families))
    edit = [(first, sample(first, rng))]
    if rng.random() < compose_probability:
        second = str(rng.choice([f for f in families if f != first]))
        edit.append((second, sample(second, rng)))
    return edit


def apply_edit(edit, img):
    region = torch.zeros(img.shape[1:], dtype=img.dtype)
    for family, p in edit:
        img, r = apply(family, img, p)
        region = torch.maximum(region, r)
    return img.clamp(0, 1), region


def name(edit):
    return "+".join(f for f, _ in edit)
