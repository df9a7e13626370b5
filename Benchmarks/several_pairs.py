"""Several pairs of one edit through the CLI (issue 25, item 4): how much 1, 3 and 5 exemplar
pairs help, with `before`/`after` as two directories matched by file name:

    bash .ci/install && swift build -c release --product deltaflow
    python3 Benchmarks/several_pairs.py [--families a,b,…] [--cases 2]

Per family and case: an edit drawn from the family (Training/edits.py); 5 exemplar crops of
384 px (3 from one benchmark photo, 2 from another: a shoot rarely shows one scene) and 2 query
crops from two other photos — the protocol of Training/several_pairs_probe.py, the Python probe
that motivated it. deltaflow runs Workflows/exemplar-transfer.yaml with grain=mean on the first
k pairs. Prints PSNR against the truth: untouched, a 3D LUT fitted on the k pairs pooled, and
deltaflow; and the run's wall time (encoding the k pairs dominates it).
"""
import argparse
import os
import sys
import tempfile
import time
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edit_transfer import DELTAFLOW, baseline_lut, edit_data, edits, load_png, psnr, run_cli, save_png  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--families", default=",".join(edits.OPERATOR))
    parser.add_argument("--cases", type=int, default=2)
    parser.add_argument("--pairs", default="1,3,5")
    args = parser.parse_args()
    if not os.path.exists(DELTAFLOW):
        raise SystemExit("build first: swift build -c release --product deltaflow")
    counts = [int(k) for k in args.pairs.split(",")]
    photos = edit_data.photos("bench", short_side=1024)
    totals = {k: [] for k in counts}
    with tempfile.TemporaryDirectory(prefix="deltaflow-pairs-") as work:
        for family in args.families.split(","):
            rng = np.random.default_rng([11, zlib.crc32(family.encode())])
            rows = {k: [] for k in counts}
            for case in range(args.cases):
                edit = [(family, edits.sample(family, rng))]
                ia = int(rng.integers(len(photos)))
                pairs = []
                for j in range(max(counts)):
                    a = edit_data.quantised(
                        edit_data.evaluation_crop(photos[(ia + (j >= 3)) % len(photos)][1], rng, 384))
                    pairs.append((a, edit_data.quantised(edits.apply_edit(edit, a)[0])))
                d = os.path.join(work, f"{family}-{case}")
                os.makedirs(os.path.join(d, "in"))
                queries = []
                for q in range(2):
                    b = edit_data.quantised(
                        edit_data.evaluation_crop(photos[(ia + 2 + q) % len(photos)][1], rng, 384))
                    save_png(os.path.join(d, "in", f"q{q}.png"), b)
                    queries.append((b, edit_data.quantised(edits.apply_edit(edit, b)[0])))
                for k in counts:
                    before, after = os.path.join(d, f"before{k}"), os.path.join(d, f"after{k}")
                    os.makedirs(before)
                    os.makedirs(after)
                    for j, (a, a2) in enumerate(pairs[:k]):
                        save_png(os.path.join(before, f"shot{j}.png"), a)
                        save_png(os.path.join(after, f"shot{j}.png"), a2)
                    started = time.perf_counter()
                    run_cli(before, after, os.path.join(d, "in"), os.path.join(d, f"out{k}"),
                            ("--set", "grain=mean", "--no-cache"))
                    seconds = time.perf_counter() - started
                    lut = baseline_lut(*(torch.cat([p[i].reshape(3, 1, -1) for p in pairs[:k]], 2) for i in (0, 1)))
                    for q, (b, truth) in enumerate(queries):
                        out = load_png(os.path.join(d, f"out{k}", f"q{q}.png"))
                        rows[k].append([psnr(b, truth), psnr(edit_data.apply_lut(b, lut), truth), psnr(out, truth),
                                        seconds])
            for k in counts:
                m = np.mean(rows[k], 0)
                totals[k] += rows[k]
                print(f"{family:12s} pairs {k}: untouched {m[0]:6.2f}  LUT {m[1]:6.2f}  deltaflow {m[2]:6.2f}  "
                      f"run {m[3]:5.1f} s", flush=True)
    for k in counts:
        m = np.mean(totals[k], 0)
        print(f"mean, pairs {k}: untouched {m[0]:6.2f}  LUT {m[1]:6.2f}  deltaflow {m[2]:6.2f}  run {m[3]:5.1f} s")


if __name__ == "__main__":
    main()
