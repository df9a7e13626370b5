"""Probe for the colour step's choice (`choose_colour` in edit_data.py, ColourStep.swift): on the
benchmark's own cases (Benchmarks/edit_transfer.py's draw, so the same `--families` list gives the
same exemplars), every colour model forced in turn and scored on the queries, beside the choice
with and without the tie-break on colours held out, and the best model in hindsight.

    python3 Training/colour_choice_probe.py [--independent] FAMILIES [cases] [queries] [json]
    # e.g. the 3 × 3 list of Benchmarks/README.md:
    python3 Training/colour_choice_probe.py exposure,contrast,gamma,saturation,hue,temperature,gain,grayscale,invert,recolor,spotlight,blur,sharpen,grain,levels,sepia,tonal 3 3

Fit only (the Python mirror, no frame field, operator or models), 512 px. `--independent` draws
each family's cases from its own seed instead (as Training/tone_curves_probe.py), so rules tuned
on the benchmark's cases are checked on others.
"""
import json
import os
import sys

import numpy as np
import torch

import edit_data as E
import edits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Benchmarks"))
from edit_transfer import draw_case, probe_arguments, psnr  # noqa: E402

MODELS = ("table", "hue", "curves-shared", "curves-channel", "curves-luma")


def predictor(name):
    if name == "table":
        return E.table_predictor(False)
    if name == "hue":
        return lambda x, y, q: E.apply_hue(q.T, E.fit_hue(x.T, y.T)).T
    return E.curves_predictor(name[len("curves-"):])


def forced(src, tgt, filt, name, table_error):
    zero = torch.zeros(3, E.CURVE_BINS, dtype=torch.float64)
    shift = torch.zeros(E.HUE_NODES, len(E.HUE_SATURATIONS))
    lut = torch.zeros(E.LUT_SIDE, E.LUT_SIDE, E.LUT_SIDE, 3)
    curves = (zero, zero, 0.0)
    if name == "hue":
        shift = E.fit_hue(src.reshape(3, -1), tgt.reshape(3, -1)).float()
    elif name == "table":
        lut = E.fit_lut(src, tgt, affine_error=table_error)
    elif name.startswith("curves-"):
        curves = E.fit_curves(src.reshape(3, -1).T, tgt.reshape(3, -1).T, name[len("curves-"):])
    return filt, shift, lut, curves, torch.zeros(E.HUE_NODES, len(E.HUE_SATURATIONS))


def main():
    families, cases, queries, more, rng_for = probe_arguments(sys.argv, cases=3, queries=3)
    photos = E.photos("bench", short_side=1024)
    rows = []
    print("family: now / without the colour tie-break / best forced / untouched (dB) | per case: now, without")
    for family in families:
        rng = rng_for(family)
        scores, notes = {k: [] for k in ("now", "without", "best", "untouched")}, []
        for _ in range(cases):
            edit, a, qs = draw_case(photos, rng, family, queries)
            a2 = E.quantised(edits.apply_edit(edit, a)[0])
            filt = E.fit_spatial(E.shrunk(a, E.SPATIAL_FIT_SIDE), E.shrunk(a2, E.SPATIAL_FIT_SIDE))
            src = E.subsampled(E.spatial(a, filt), E.COLOUR_FIT_SIDE)
            tgt = E.subsampled(a2, E.COLOUR_FIT_SIDE)
            place = {m: E.held_out_error(src, tgt, predictor(m)) for m in MODELS}
            curves = {m[len("curves-"):]: e for m, e in place.items() if m.startswith("curves-")}
            none = E.identity_error(src, tgt)
            now = E.choose_colour(src, tgt, place["table"])
            without = E.colour_step(place["table"], place["hue"], none, curves=curves)[0]
            q = {}
            for m in MODELS + ("unchanged",):
                fitted = forced(src, tgt, filt, m, place["table"])
                q[m] = float(np.mean([psnr(E.quantised(E.apply_fit(b, fitted).clamp(0, 1)),
                                           E.quantised(edits.apply_edit(edit, b)[0])) for b in qs]))
            scores["now"].append(q[now])
            scores["without"].append(q[without])
            scores["best"].append(max(q.values()))
            scores["untouched"].append(float(np.mean([psnr(b, E.quantised(edits.apply_edit(edit, b)[0])) for b in qs])))
            notes.append(now if now == without else f"{now} ({q[now]:.1f}), was {without} ({q[without]:.1f})")
            rows.append({"family": family, "now": now, "without": without, "query": q})
        print(f"{family}: " + " / ".join(f"{np.mean(v):.2f}" for v in scores.values()) + " | " + "; ".join(notes),
              flush=True)
    if more:
        with open(more[0], "w") as f:
            json.dump(rows, f)


if __name__ == "__main__":
    main()
