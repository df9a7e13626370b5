"""The alignment check's scores (Sources/ExemplarFit/ExemplarPair.swift, `misalignment`) in numpy:
shifted photos against embossed ones, for its threshold (Docs/exemplar-fit.md, "The pair").

    python3 Training/alignment_probe.py

Per pair: the offset (within ±3 px at ≤128 px) where the after's luma-gradient magnitude
correlates best with the before's, that correlation, the correlation in place, and the lumas'
own correlation at that offset. A shift is reported when the best is elsewhere, over 0.75 and
0.1 over in place, and the lumas correlate there by over 0.95 (or under −0.95). Embosses are
listed where the gradient rule alone would call them shifted.
"""
import os

import numpy as np
import torch
from PIL import Image

import edits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def luma(img, w, h):
    a = (img.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    r = np.asarray(Image.fromarray(a).resize((w, h), Image.BOX), dtype=np.float32) / 255
    return r @ np.array([0.299, 0.587, 0.114], np.float32)


def gradient(img, w, h):
    y = luma(img, w, h)
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

    def correlation(a, b, dx, dy):
        u, v = a[m:h - m, m:w - m], b[m + dy:h - m + dy, m + dx:w - m + dx]
        return float(np.corrcoef(u.ravel(), v.ravel())[0, 1])

    out = {(dx, dy): correlation(g0, g1, dx, dy) for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1)}
    best = max(out, key=out.get)
    tones = correlation(luma(before, w, h), luma(after, w, h), *best)
    gradient_rule = best != (0, 0) and out[best] > 0.75 and out[best] > out[(0, 0)] + 0.1
    return {"best": best, "there": round(out[best], 3), "in place": round(out[(0, 0)], 3), "tones": round(tones, 3),
            "gradient rule": gradient_rule, "shifted": gradient_rule and abs(tones) > 0.95}


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
        for label, after in (("plain", s), ("blurred", edits.gaussian_blur(s, 2.0)), ("squared", s ** 2),
                             ("inverted", 1 - s)):
            print(f"coffee shifted ({dx}, {dy}), {label}: {scores(coffee, after)}")
    for name in ("coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg"):
        for size in (None, (384, 256)):
            img = photo(name, size)
            for angle in np.linspace(0, 2 * np.pi, 9)[:-1]:
                for mix in (0.5, 0.8, 1.0):
                    after = edits.apply_edit([("emboss", {"k": 3.0, "angle": float(angle), "mix": mix})], img)[0]
                    r = scores(img, after)
                    if r["gradient rule"]:
                        print(f"{name} {size or 'full'} embossed at {angle:.2f}, mix {mix}: {r}")


if __name__ == "__main__":
    main()
