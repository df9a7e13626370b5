"""Probe for guarding the learned operator by content (Training/operator_fit.py, LearnedOperator.swift):
on the benchmark's own cases (Benchmarks/edit_transfer.py's draw, so the same `--families` list
gives the same exemplars), where the operator is kept, the queries' PSNR with the fit alone, with
the operator as it is, with it fading where the query's content is rare in the exemplar, and
refitted without its tone curves.

    python3 Training/operator_coverage_probe.py [--independent] FAMILIES [cases] [queries] [only]
    # e.g. the operator families of the 2 × 2 list of Benchmarks/README.md:
    python3 Training/operator_coverage_probe.py vignette,graduated,median,bilateral,cartoon,sketch,posterize,threshold,keep_colour,tiltshift,morph,emboss,solarize,spotlight,exposure,hue,sharpen,levels,blur,temperature,kuwahara 2 2 vignette,graduated,cartoon,sketch,tiltshift,emboss,kuwahara

"Content" is each pixel's bin of brightness (the luma of its σ 2 blur, `LUMA_BINS`; 1 for detail
alone) × local detail (log₂ of the RMS of the photo minus that blur over σ 4, an octave a bin
from 2⁻¹⁰); the correction is scaled by the exemplar's share of pixels in the query pixel's bin
over `COVERED` (at most 1, bilinear between bin centres). Fit only is the Python mirror (no frame
field or models), 512 px. Measured 2026-12-07: Docs/exemplar-fit.md, "Content coverage".
"""
import os
import sys

import numpy as np
import torch

import edit_data as E
import edits
import operator_fit as O

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Benchmarks"))
from edit_transfer import probe_arguments, probe_cases, psnr  # noqa: E402

DETAIL_BINS = 8
DETAIL_FLOOR = -10.0
COVERED = 0.005
GRIDS = {"luma × detail": 8, "detail": 1}


def content(rgb):
    pyramid = O.levels(rgb)
    smooth = pyramid[2]
    luma = smooth @ np.array([0.299, 0.587, 0.114], np.float32)
    high = rgb - smooth
    energy = torch.from_numpy(np.ascontiguousarray((high * high).mean(2))[None])
    detail = np.sqrt(np.maximum(0, edits.gaussian_blur(energy, 4.0)[0].numpy()))
    octave = (np.log2(np.maximum(detail, 2.0 ** (DETAIL_FLOOR - 1))) - DETAIL_FLOOR) / DETAIL_BINS
    return np.clip(luma, 0, 1), np.clip(octave, 0, 1)


def coverage(rgb, luma_bins):
    luma, detail = content(rgb)
    li = np.minimum((luma * luma_bins).astype(np.int64), luma_bins - 1)
    di = np.minimum((detail * DETAIL_BINS).astype(np.int64), DETAIL_BINS - 1)
    counts = np.bincount((li * DETAIL_BINS + di).reshape(-1), minlength=luma_bins * DETAIL_BINS)
    return (counts / luma.size).reshape(luma_bins, DETAIL_BINS)


def covered(grid, rgb):
    luma, detail = content(rgb)
    weight = np.minimum(1, grid / COVERED)
    if weight.shape[0] == 1:
        weight = np.concatenate([weight, weight])

    def cell(v, n):
        t = np.clip(v * n - 0.5, 0, max(n - 1, 0))
        i = np.clip(t.astype(np.int64), 0, max(n - 2, 0))
        return i, t - i

    li, lf = cell(luma, grid.shape[0])
    di, df = cell(detail, DETAIL_BINS)
    return ((1 - lf) * ((1 - df) * weight[li, di] + df * weight[li, di + 1])
            + lf * ((1 - df) * weight[li + 1, di] + df * weight[li + 1, di + 1]))


def without_curves(x):
    return np.concatenate([np.maximum(0, x @ O.W + O.B), x, np.ones((len(x), 1), np.float32)], 1)


def main():
    families, cases, queries, more, rng_for = probe_arguments(sys.argv)
    only = set(more[0].split(",")) if more else None
    photos = E.photos("bench", short_side=1024)
    hwc = lambda t: t.permute(1, 2, 0).numpy().astype(np.float32)  # noqa: E731
    chw = lambda a: E.quantised(torch.from_numpy(np.clip(a, 0, 1)).permute(2, 0, 1))  # noqa: E731
    columns = ["untouched", "fit", "operator"] + [f"covered by {g}" for g in GRIDS] + ["no curves"]
    print("family case: " + " | ".join(columns) + " (dB; share of the query covered)")
    for family, case, _, a, a2, qs, truths in probe_cases(photos, families, cases, queries, rng_for, only):
        fitted = E.fit(a, a2)
        before, fa, after = hwc(a), hwc(E.apply_fit(a, fitted)), hwc(a2)
        full = O.features
        op = O.fit(before, fa, after)
        O.features = without_curves
        plain = O.fit(before, fa, after)
        O.features = full
        if op is None and plain is None:
            print(f"{family} {case}: no operator kept", flush=True)
            continue
        grids = {g: coverage(before, n) for g, n in GRIDS.items()}
        rows = []
        for b, truth in zip(qs, truths):
            fb = hwc(E.apply_fit(b, fitted))
            corr = np.zeros_like(fb) if op is None else O.correction(op, hwc(b), fb)
            row = [psnr(b, truth), psnr(chw(fb), truth), psnr(chw(fb + corr), truth)]
            for g in GRIDS:
                share = covered(grids[g], hwc(b))
                row.append(psnr(chw(fb + share[..., None] * corr), truth))
                row.append(float(share.mean()))
            O.features = without_curves
            corr = np.zeros_like(fb) if plain is None else O.correction(plain, hwc(b), fb)
            O.features = full
            rows.append(row + [psnr(chw(fb + corr), truth)])
        r = np.mean(rows, 0)
        cells = [f"{r[0]:.2f}", f"{r[1]:.2f}", f"{r[2]:.2f}"]
        cells += [f"{r[3 + 2 * i]:.2f} ({r[4 + 2 * i]:.2f})" for i in range(len(GRIDS))]
        cells.append(f"{r[-1]:.2f}")
        kept = f"operator {'kept' if op is not None else 'none'}, without curves {'kept' if plain is not None else 'none'}"
        print(f"{family} {case} ({kept}): " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
