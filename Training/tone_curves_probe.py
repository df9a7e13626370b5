"""Probe for the colour step's tone curves (`fit_curves` in edit_data.py, ColourCurves.swift): on
the benchmark photos, PSNR against the truth of the fit as it chooses now and of the fit without
curves (the table or hue shift as before), beside untouched and the 3D LUT baseline, with each
model's held-out error as a share of no colour change's.

    python3 Training/tone_curves_probe.py [families] [side]   # default: every family, 384 px

Per family, 3 exemplars × 2 query photos, drawn as Training/frame_field_probe.py draws them.
"""
import sys
import zlib

import numpy as np
import torch

import edit_data
import edits

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/Benchmarks")
from edit_transfer import baseline_lut, psnr  # noqa: E402


def without_curves(before, after):
    """`edit_data.fit` choosing only among the table, the hue shift and none (the fit before curves)."""
    fitted = edit_data.fit(before, after)
    filt, shift, lut, curves, chroma = fitted
    if curves[2] == 0 and not bool((curves[0] != 0).any()) and not bool((curves[1] != 0).any()):
        return fitted
    source = edit_data.subsampled(edit_data.spatial(before, filt), edit_data.COLOUR_FIT_SIDE)
    target = edit_data.subsampled(after, edit_data.COLOUR_FIT_SIDE)
    table = edit_data.held_out_error(source, target, edit_data.table_predictor(False))
    hue = edit_data.held_out_error(source, target, lambda x, y, q: edit_data.apply_hue(q.T, edit_data.fit_hue(x.T, y.T)).T)
    choice = edit_data.colour_step(table, hue, edit_data.identity_error(source, target))[0]
    zero = (torch.zeros_like(curves[0]), torch.zeros_like(curves[1]), 0.0)
    shift = torch.zeros_like(shift)
    lut = torch.zeros_like(lut)
    if choice == "hue":
        shift = edit_data.fit_hue(source.reshape(3, -1), target.reshape(3, -1)).float()
    elif choice == "table":
        lut = edit_data.fit_lut(source, target, affine_error=table)
    return filt, shift, lut, zero, torch.zeros_like(chroma)


def main():
    families = sys.argv[1].split(",") if len(sys.argv) > 1 else list(edits.ALL)
    side = int(sys.argv[2]) if len(sys.argv) > 2 else 384
    photos = edit_data.photos("bench", short_side=1024)
    models = {"table": edit_data.table_predictor(False), "luma": edit_data.curves_predictor("luma"),
              "channel": edit_data.curves_predictor("channel")}
    print("family: untouched / LUT / fit without curves / fit | per exemplar: choice, held-out share of none")
    for family in families:
        rng = np.random.default_rng([7, zlib.crc32(family.encode())])
        scores, notes = {k: [] for k in ("untouched", "lut", "before", "now")}, []
        for _ in range(3):
            edit = [(family, edits.sample(family, rng))]
            ia = int(rng.integers(len(photos)))
            a = edit_data.quantised(edit_data.evaluation_crop(photos[ia][1], rng, side))
            a2 = edit_data.quantised(edits.apply_edit(edit, a)[0])
            now, before = edit_data.fit(a, a2), without_curves(a, a2)
            src, tgt = edit_data.subsampled(a, edit_data.COLOUR_FIT_SIDE), edit_data.subsampled(a2, edit_data.COLOUR_FIT_SIDE)
            none = max(edit_data.identity_error(src, tgt), 1e-12)
            shares = {k: edit_data.held_out_error(src, tgt, m) / none for k, m in models.items()}
            notes.append(edit_data.choose_colour(src, tgt) + " " + " ".join(f"{k} {v:.2g}" for k, v in shares.items()))
            lut = baseline_lut(a, a2)
            for _ in range(2):
                ib = int(rng.integers(len(photos) - 1))
                ib += ib >= ia
                b = edit_data.quantised(edit_data.evaluation_crop(photos[ib][1], rng, side))
                truth = edit_data.quantised(edits.apply_edit(edit, b)[0])
                scores["untouched"].append(psnr(b, truth))
                scores["lut"].append(psnr(edit_data.apply_lut(b, lut), truth))
                scores["before"].append(psnr(edit_data.apply_fit(b, before).clamp(0, 1), truth))
                scores["now"].append(psnr(edit_data.apply_fit(b, now).clamp(0, 1), truth))
        print(f"{family}: " + " / ".join(f"{np.mean(v):.2f}" for v in scores.values()) + " | " + "; ".join(notes),
              flush=True)


if __name__ == "__main__":
    main()
