"""The exemplar fit alone (no model) on the validation photos, per family: each exemplar's colour
step fitted all three ways — hue shift, colour table, unchanged (the spatial filter alone) — and
scored on query photos with the same edit, then the mean PSNR of the choice `choose_colour` makes
for each margin `COLOUR_GAIN` could take. The measurement behind `COLOUR_GAIN` in edit_data.py.

    python3 Training/evaluate_fit.py [--exemplars 5] [--queries 3] [--seed 1] [--workers 2]

About 8 minutes on 2 cores at the defaults. Photos at 512 px as in Benchmarks/edit_transfer.py,
from the validation split (never the benchmark's).
"""
import argparse
import multiprocessing
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edit_data  # noqa: E402
import edits  # noqa: E402
from edit_data import evaluation_crop as crop, quantised  # noqa: E402
from train_edit import psnr as batch_psnr  # noqa: E402

MARGINS = (None, 1.0, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1)  # None: no test against "unchanged"


def family_rows(job):
    """Per exemplar of `family`: the three held-out errors and each colour step's query PSNRs."""
    family, args, seed = job
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    photos = edit_data.photos("val", short_side=1024)
    rows = []
    for _ in range(args.exemplars):
        edit = [(family, edits.sample(family, rng))]
        ia = int(rng.integers(len(photos)))
        a = quantised(crop(photos[ia][1], rng, 512))
        a2 = quantised(edits.apply_edit(edit, a)[0])
        filt = edit_data.fit_spatial(edit_data.shrunk(a, edit_data.SPATIAL_FIT_SIDE),
                                         edit_data.shrunk(a2, edit_data.SPATIAL_FIT_SIDE))
        source = edit_data.subsampled(edit_data.spatial(a, filt), edit_data.COLOUR_FIT_SIDE)
        target = edit_data.subsampled(a2, edit_data.COLOUR_FIT_SIDE)
        table_error = edit_data.held_out_error(source, target, edit_data.table_predictor(False))
        hue_error = edit_data.held_out_error(
            source, target, lambda x, y, q: edit_data.apply_hue(q.T, edit_data.fit_hue(x.T, y.T)).T)
        none_lut = torch.zeros(edit_data.LUT_SIDE, edit_data.LUT_SIDE, edit_data.LUT_SIDE, 3)
        none_hue = torch.zeros(edit_data.HUE_NODES, len(edit_data.HUE_SATURATIONS))
        fits = {
            "hue": (filt, edit_data.fit_hue(source.reshape(3, -1), target.reshape(3, -1)).float(), none_lut),
            "table": (filt, none_hue, edit_data.fit_lut(source, target, affine_error=table_error)),
            "unchanged": (filt, none_hue, none_lut),
        }
        scores = {name: [] for name in fits}
        for _ in range(args.queries):
            ib = int(rng.integers(len(photos) - 1))
            ib += ib >= ia
            b = quantised(crop(photos[ib][1], rng, 512))
            truth = quantised(edits.apply_edit(edit, b)[0])
            for name, fitted in fits.items():
                scores[name].append(float(batch_psnr(quantised(edit_data.apply_fit(b, fitted))[None], truth[None])))
        rows.append({"table": table_error, "hue": hue_error,
                     "unchanged": edit_data.identity_error(source, target), "psnr": scores})
    return family, rows


def choice(row, margin):
    """The step the fit takes with `COLOUR_GAIN` = `margin` (None: no test against "unchanged")."""
    return edit_data.colour_step(row["table"], row["hue"], row["unchanged"], margin)[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exemplars", type=int, default=5, help="exemplars per family")
    p.add_argument("--queries", type=int, default=3, help="query photos per exemplar")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = p.parse_args()
    jobs = [(family, args, args.seed * 1000 + i) for i, family in enumerate(edits.ALL)]
    with multiprocessing.Pool(args.workers) as pool:
        results = dict(pool.map(family_rows, jobs))
    print(f"fit only, mean PSNR per family (validation photos, {args.exemplars} exemplars x {args.queries} queries); "
          f"COLOUR_GAIN is {edit_data.COLOUR_GAIN}")
    print(f"{'margin':>9} {'seen':>6} {'held':>6}  " + " ".join(f"{f[:6]:>6}" for f in edits.ALL))
    for margin in MARGINS:
        means = {f: np.mean([s for r in rows for s in r["psnr"][choice(r, margin)]]) for f, rows in results.items()}
        seen = np.mean([means[f] for f in edits.ALL if f not in edits.HELD_OUT])
        held = np.mean([means[f] for f in edits.HELD_OUT])
        label = "none" if margin is None else f"{margin:g}"
        print(f"{label:>9} {seen:6.2f} {held:6.2f}  " + " ".join(f"{means[f]:6.2f}" for f in edits.ALL))
    print("\nheld-out error of the chosen step / of unchanged, per exemplar:")
    for family, rows in results.items():
        ratios = [edit_data.colour_step(r["table"], r["hue"], r["unchanged"])[1] / r["unchanged"]
                  if r["unchanged"] > 0 else float("nan") for r in rows]
        print(f"  {family:12s} " + " ".join(f"{v:.3f}" for v in ratios))


if __name__ == "__main__":
    main()
