"""The alignment check's scores (Sources/ExemplarFit/ExemplarPair.swift, `misalignment`) in numpy:
shifted photos against embossed ones, for its threshold (Docs/exemplar-fit.md, "The pair").

    python3 Training/alignment_probe.py

Per pair: the offset (within ±3 px at ≤128 px) where the after's luma-gradient magnitude
correlates best with the before's, that correlation, and the correlation in place. A shift is
reported when the best is elsewhere, over 0.75 and 0.1 over in place.
"""
import os

import numpy as np
import torch
from PIL import Image

import edits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gradient(img, w, h):
    a = (img.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    r = np.asarray(Image.fromarray(a).resize((w, h), Image.BOX), dtype=np.float32) / 255
    y = r @ np.array([0.299, 0.587, 0.114], np.float32)
    g = np.zeros_like(y)
    gx, gy = y[1:-1, 2:] - y[1:-1, :-2], y[2:, 1:-1] - y[:-2, 1:-1]
    g[1:-1, 1:-1] = np.sqrt(gx * gx + gy * gy)
    return g


def scores(before, after, reach=3):
    _, height, width = before.shape
    s = min(1, 128 / max(width, height))
    w, h = int(width * s), int(height * s)
    g0, g1 = gradient(before, w, h), gradient(after, w, h)
    m = reach + 1
    out = {}
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            u, v = g0[m:h - m, m:w - m], g1[m + dy:h - m + dy, m + dx:w - m + dx]
            out[(dx, dy)] = float(np.corrcoef(u.ravel(), v.ravel())[0, 1])
    best = max(out, key=out.get)
    return best, out[best], out[(0, 0)]


def photo(name, size=None):
    with Image.open(os.path.join(ROOT, "Examples", name)) as im:
        im = im.convert("RGB")
        if size:
            im = im.resize(size, Image.LANCZOS)
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255).permute(2, 0, 1)


def main():
    coffee = photo("coffee.png")
    for dx, dy in [(8, 0), (0, -6), (5, 5), (3, 0), (2, 2)]:
        s = torch.roll(coffee, shifts=(dy, dx), dims=(1, 2))
        for label, after in (("plain", s), ("blurred", edits.gaussian_blur(s, 2.0)), ("squared", s ** 2)):
            print(f"coffee shifted ({dx}, {dy}), {label}: best {scores(coffee, after)}")
    for size in (None, (210, 140)):
        img = coffee if size is None else photo("coffee.png", size)
        for angle in np.linspace(0, 2 * np.pi, 9)[:-1]:
            after = edits.apply_edit([("emboss", {"k": 3.0, "angle": float(angle), "mix": 0.8})], img)[0]
            print(f"coffee {size or 'full'} embossed at {angle:.2f}: best {scores(img, after)}")


if __name__ == "__main__":
    main()
