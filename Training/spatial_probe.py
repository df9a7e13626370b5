"""Probe for the spatial filter's kinds (`fit_spatial` in edit_data.py, SpatialFilter.swift): on
the benchmark's own cases (Benchmarks/edit_transfer.py's draw, so the same `--families` list gives
the same exemplars), each kind's best filter on the exemplar — its error after a colour table as a
share of the table's alone — and the fit's PSNR on the queries with that filter, with none, and
with the one `fit_spatial` keeps.

    python3 Training/spatial_probe.py [--independent] FAMILIES [cases] [queries]
    # e.g. the 2 × 2 list of Benchmarks/README.md:
    python3 Training/spatial_probe.py vignette,graduated,median,bilateral,cartoon,sketch,posterize,threshold,keep_colour,tiltshift,morph,emboss,solarize,spotlight,exposure,hue,sharpen,levels,blur,temperature 2 2

Fit only (the Python mirror, no frame field, operator or models), 512 px. `--independent` draws
each family's cases from its own seed instead, so rules tuned on the benchmark's cases are
checked on others.
"""
import os
import sys

import numpy as np

import edit_data as E

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Benchmarks"))
from edit_transfer import probe_arguments, probe_cases, psnr  # noqa: E402


def main():
    families, cases, queries, more, rng_for = probe_arguments(sys.argv)
    only = set(more[0].split(",")) if more else None
    photos = E.photos("bench", short_side=1024)
    print("family case: kind best share of the table's error (radius or σ, k) → query PSNR | none | kept")
    for family, case, edit, a, a2, qs, truths in probe_cases(photos, families, cases, queries, rng_for, only):
        report = {}
        kept = E.fit_spatial(E.shrunk(a, E.SPATIAL_FIT_SIDE), E.shrunk(a2, E.SPATIAL_FIT_SIDE), report=report)

        def score(filt):
            fitted = E.fit(a, a2, filt)
            return np.mean([psnr(E.quantised(E.apply_fit(b, fitted)), t) for b, t in zip(qs, truths)])

        parts = []
        side = min(E.shrunk(a, E.SPATIAL_FIT_SIDE).shape[1:])
        for kind, (share, filt) in sorted(report.items()):
            reach = f"σ {filt[1]:.4f}" if kind in ("gaussian", "luma") else f"r {filt[1] * side:.0f}"
            parts.append(f"{kind} {share:.3f} ({reach}, k {filt[2]:.2f}) → {score(filt):.2f}")
        print(f"{family} {case}: " + "; ".join(parts) + f" | none {score(E.NO_SPATIAL):.2f} | kept {kept[0]} {score(kept):.2f}",
              flush=True)


if __name__ == "__main__":
    main()
