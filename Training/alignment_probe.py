"""The alignment check's scores (Sources/ExemplarFit/ExemplarPair.swift, `misalignment`) in numpy:
shifted photos against embossed ones, for its threshold (Docs/exemplar-fit.md, "The pair").

    python3 Training/alignment_probe.py

Per pair: the offset (within ±3 px at ≤128 px) where the after's luma-gradient magnitude
correlates best with the before's, that correlation, the correlation in place, and the lumas'
own correlation at that offset. A shift is reported when the best is elsewhere, over 0.75 and
0.1 over in place, and the lumas correlate there by over 0.95 (or under −0.95). Embosses are
listed where the gradient rule alone would call them shifted.

Then unrelated pairs (every two photos of Examples/) against real edits (every family of
Training/edits.py, 16 drawn per family on benchmark crops): the best structure correlation, the
share of the after's colour variance the before's colours predict (9³ cells, held out on the
4×4 checkerboard) and the after's and the before's spreads. Two photos are called unrelated when
the structure is under 0.2, the share under 0.35 and both spreads over 0.1; edits with a structure under 0.35 are
listed.
"""
import itertools
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


def colour_share(before, after, n=9):
    _, height, width = before.shape
    s = min(1, 128 / max(width, height))
    w, h = int(width * s), int(height * s)
    b = torch.nn.functional.interpolate(before[None], size=(h, w), mode="area")[0].permute(1, 2, 0).reshape(-1, 3)
    a = torch.nn.functional.interpolate(after[None], size=(h, w), mode="area")[0].permute(1, 2, 0).reshape(-1, 3)
    b, a = b.numpy().astype(np.float64), a.numpy().astype(np.float64)
    ys, xs = np.divmod(np.arange(h * w), w)
    half = ((ys * 4 // h) + (xs * 4 // w)) % 2
    cell = np.clip((b * (n - 1)).round().astype(int), 0, n - 1) @ np.array([n * n, n, 1])
    error = 0.0
    for t in (0, 1):
        train, test = half == t, half != t
        sums, counts = np.zeros((n ** 3, 3)), np.zeros(n ** 3)
        np.add.at(sums, cell[train], a[train])
        np.add.at(counts, cell[train], 1)
        c = counts[cell[test]][:, None]
        predicted = np.where(c > 0, sums[cell[test]] / np.maximum(c, 1), a[train].mean(0))
        error += ((predicted - a[test]) ** 2).sum()
    return 1 - error / ((a - a.mean(0)) ** 2).sum()


def relation(before, after):
    structure = scores(before, after)["there"]
    share, spread, plain = colour_share(before, after), float(after.std()), float(before.std())
    return {"structure": structure, "colour": round(float(share), 3), "spread": round(spread, 3),
            "before spread": round(plain, 3),
            "unrelated": structure < 0.2 and share < 0.35 and spread > 0.1 and plain > 0.1}


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
    names = ("coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "camera.png")
    for a, b in itertools.permutations(names, 2):
        before, after = photo(a), photo(b)
        after = torch.nn.functional.interpolate(after[None], size=before.shape[1:], mode="area")[0]
        before, after = (x if x.shape[0] == 3 else x.repeat(3, 1, 1) for x in (before, after))
        print(f"unrelated {a} → {b}: {relation(before, after)}")
    import edit_data
    photos = edit_data.photos("bench", short_side=512)
    rng = np.random.default_rng(7)
    for family in edits.ALL:
        for i in range(16):
            params = edits.sample(family, rng)
            img = edit_data.evaluation_crop(photos[i % len(photos)][1], rng, 384)
            r = relation(img, edits.apply_edit([(family, params)], img)[0])
            if r["structure"] < 0.35 or r["unrelated"]:
                print(f"edit {family} #{i}: {r}")


if __name__ == "__main__":
    main()
