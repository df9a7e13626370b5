"""Probe for the frame field (Training/frame_field.py, the mirror of FrameField.swift): on the
benchmark photos, PSNR against the truth of the fit alone, fit + learned operator (as before the
field), and fit + field + operator, with how much of the fit's held-out error the field leaves.

    python3 Training/frame_field_probe.py [families] [side]   # default: the operator's tuning families, 384 px

Per family, 2 exemplars × 2 query photos, drawn as Benchmarks/edit_transfer.py draws them (its
baselines and crops). The fit is `edit_data.fit` (the colour step fitted first; the Swift fit also
tries the field with no colour step, which this probe does not).
"""
import sys
import zlib

import numpy as np
import torch

import edit_data
import edits
import frame_field
import operator_fit as op

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/Benchmarks")
from edit_transfer import psnr  # noqa: E402


def hwc(img):
    return np.ascontiguousarray(img.permute(1, 2, 0).numpy().astype(np.float32))


def chw(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)


def with_operator(operator, photo, fitted):
    return fitted if operator is None else np.clip(fitted + op.correction(operator, photo, fitted), 0, 1)


def main():
    families = sys.argv[1].split(",") if len(sys.argv) > 1 else list(edits.OPERATOR_TUNING)
    side = int(sys.argv[2]) if len(sys.argv) > 2 else 384
    photos = edit_data.photos("bench", short_side=1024)
    for family in families:
        rng = np.random.default_rng([7, zlib.crc32(family.encode())])
        rows, shares = [], []
        for _ in range(2):
            edit = [(family, edits.sample(family, rng))]
            ia = int(rng.integers(len(photos)))
            a = edit_data.quantised(edit_data.evaluation_crop(photos[ia][1], rng, side))
            a2 = edit_data.quantised(edits.apply_edit(edit, a)[0])
            fitted = edit_data.fit(a, a2)
            before, after = hwc(a), hwc(a2)
            fa = hwc(edit_data.apply_fit(a, fitted).clamp(0, 1))
            plain = op.fit(before, fa, after)
            weights, error, baseline = frame_field.fit([(before, fa, after)])
            shares.append(error / max(1e-12, baseline))
            fa2 = fa if weights is None else frame_field.apply(weights, fa)
            operator = op.fit(before, fa2, after)
            for _ in range(2):
                ib = int(rng.integers(len(photos) - 1))
                ib += ib >= ia
                b = edit_data.quantised(edit_data.evaluation_crop(photos[ib][1], rng, side))
                truth = edit_data.quantised(edits.apply_edit(edit, b)[0])
                photo = hwc(b)
                fb = hwc(edit_data.apply_fit(b, fitted).clamp(0, 1))
                fb2 = fb if weights is None else frame_field.apply(weights, fb)
                rows.append([psnr(b, truth), psnr(chw(fb), truth), psnr(chw(with_operator(plain, photo, fb)), truth),
                             psnr(chw(with_operator(operator, photo, fb2)), truth)])
        m = np.mean(rows, 0)
        print(f"{family:12s} untouched {m[0]:6.2f}  fit {m[1]:6.2f}  fit+operator {m[2]:6.2f}  "
              f"fit+field+operator {m[3]:6.2f}  (field's held-out error / fit's: "
              f"{', '.join(f'{s:.2f}' for s in shares)})", flush=True)


if __name__ == "__main__":
    main()
