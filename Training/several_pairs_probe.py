"""Probe for issue 25, item 4 (several pairs of one edit): how much do 1, 3 and 5 exemplar pairs
help, before encode_delta learns to take several? Python only, on the mirrors of the fit
(`edit_data.fit`) and of the learned operator (`operator_fit`):

    python3 Training/several_pairs_probe.py [families]     # default: the operator's families

Per family, 2 cases: an edit drawn from the family; 5 exemplar crops of 384 px (3 from one
benchmark photo, 2 from another: a shoot rarely shows one scene) and 2 query crops from two
other photos. With k pairs, the fit is fitted on the pairs side by side (one image: the colour
step pools their pixels; the spatial filter sees the seams too, which a real implementation
would not) and the operator on samples from every pair, holding out whole pairs (alternate
pairs predict each other) instead of the place × colour checkerboard. Prints PSNR against the
truth: untouched, a 3D LUT on the pooled pairs, the fit alone, and fit + operator.
"""
import sys
import zlib

import numpy as np
import torch

import edit_data
import edits
import operator_fit as op

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/Benchmarks")
from edit_transfer import baseline_lut, psnr  # noqa: E402


def hwc(img):
    return np.ascontiguousarray(img.permute(1, 2, 0).numpy().astype(np.float32))


def chw(a):
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)


def side_by_side(images):
    height = min(i.shape[1] for i in images)
    return torch.cat([i[:, :height] for i in images], 2)


def fit_operator(triples):
    """`operator_fit.fit` over several (before, fit's output, after) pairs: the samples split
    evenly between them; held out by pair when there are several."""
    xs, ys, gs = [], [], []
    per = op.SAMPLES // len(triples)
    for t, (before, fitted, after) in enumerate(triples):
        h, w = before.shape[:2]
        pyramid = op.levels(before)
        random = op.SeededRandom(0x73616D706C65 + t)
        s = np.array([random.next() % (3 * w * h) for _ in range(per)], dtype=np.int64)
        pixels, channels = s // 3, s % 3
        xs.append(op.inputs(before, fitted, pixels, channels, pyramid))
        ys.append((after.reshape(-1, 3)[pixels, channels] - fitted.reshape(-1, 3)[pixels, channels]).astype(np.float64))
        gs.append(op.held_out_group(pixels, pyramid[3], h, w) if len(triples) == 1 else np.full(per, t % 2))
    return op.fit_samples(np.concatenate(xs), np.concatenate(ys), np.concatenate(gs))


def main():
    families = sys.argv[1].split(",") if len(sys.argv) > 1 else list(edits.OPERATOR)
    photos = edit_data.photos("bench", short_side=1024)
    for family in families:
        rng = np.random.default_rng([11, zlib.crc32(family.encode())])
        rows = {k: [] for k in (1, 3, 5)}
        for _ in range(2):
            edit = [(family, edits.sample(family, rng))]
            ia = int(rng.integers(len(photos)))
            pairs = []
            for j in range(5):
                a = edit_data.quantised(edit_data.evaluation_crop(photos[(ia + (j >= 3)) % len(photos)][1], rng, 384))
                pairs.append((a, edit_data.quantised(edits.apply_edit(edit, a)[0])))
            queries = []
            for q in range(2):
                b = edit_data.quantised(edit_data.evaluation_crop(photos[(ia + 2 + q) % len(photos)][1], rng, 384))
                queries.append((b, edit_data.quantised(edits.apply_edit(edit, b)[0])))
            for k in rows:
                before, after = side_by_side([p[0] for p in pairs[:k]]), side_by_side([p[1] for p in pairs[:k]])
                fitted, lut = edit_data.fit(before, after), baseline_lut(before, after)
                operator = fit_operator([(hwc(b), hwc(edit_data.apply_fit(b, fitted)), hwc(a)) for b, a in pairs[:k]])
                for b, truth in queries:
                    fb = edit_data.apply_fit(b, fitted).clamp(0, 1)
                    out = fb if operator is None else chw(
                        np.clip(hwc(fb) + op.correction(operator, hwc(b), hwc(fb)), 0, 1))
                    rows[k].append([psnr(b, truth), psnr(edit_data.apply_lut(b, lut), truth), psnr(fb, truth),
                                    psnr(out, truth), operator is not None])
        for k, r in rows.items():
            m = np.mean(r, 0)
            print(f"{family:12s} pairs {k}: untouched {m[0]:6.2f}  LUT {m[1]:6.2f}  fit {m[2]:6.2f}  "
                  f"fit+operator {m[3]:6.2f}  (operator kept in {m[4]:.0%})", flush=True)


if __name__ == "__main__":
    main()
