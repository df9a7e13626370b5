"""The edit-transfer benchmark: exemplar-transfer cases from photos never used in training, run
through the real CLI and the bundled workflow, scored per edit family against exact ground truth
beside two baselines computed in the same run.

    apt install mate-backgrounds plasma-workspace-wallpapers        # the photos
    pip install torch==2.13.0 numpy Pillow scikit-image
    bash .ci/install && swift build -c release --product deltaflow
    python3 Benchmarks/edit_transfer.py [--cases 3] [--queries 3] [--side 512] [--no-timing]

A case: an edit θ drawn from a family (Training/edits.py), an exemplar A (a crop of one benchmark
photo) with A′ = θ(A), and query photos B (crops of the other benchmark photos) with truth
B′ = θ(B) — every edit at the photo's own resolution. Benchmark photos come from the "bench"
split of Training/edit_data.py (split by source picture, never seen in training).

Reported per family (seen and held-out separately): PSNR and SSIM against the truth, PSNR inside
and outside the edit's region, for deltaflow (Workflows/exemplar-transfer.yaml) and two baselines:
identity (output = input) and a global 3D colour LUT (17³, trilinear) fitted on A → A′; and, to
show what the learned part adds, "fit only": deltaflow's model-free exemplar fit (spatial filter,
colour table and grain, the Python mirror of encode_delta's) applied to the query with no model.
deltaflow runs with grain=mean: against one random draw of grain PSNR rewards the expected value,
and any fresh draw scores ~3 dB below identity. The grain family is also run with the default
grain=sample and reported apart: the grain deltaflow adds beside the truth's (σ ratio, colour). Then the
time per image at 512 px and at 12 MP with a cached exemplar, and its breakdown, for an exemplar
the fit carries alone and for one that needs the models' correction.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
import torch
from PIL import Image
from skimage.metrics import structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
import edit_data  # noqa: E402
import edits  # noqa: E402

DELTAFLOW = os.path.join(ROOT, ".build/release/deltaflow")
WORKFLOW = os.path.join(ROOT, "Workflows/exemplar-transfer.yaml")


def save_png(path, img):
    a = (img.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(a).save(path)


def load_png(path):
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)


quantised, crop = edit_data.quantised, edit_data.evaluation_crop


def probe_arguments(argv, cases=2, queries=2):
    """The Training/ probes' command line, `[--independent] FAMILIES [cases] [queries] [more…]`:
    (families, cases, queries, more, `rng_for(family)`). The draw is the benchmark's (one seeded
    sequence over the families in order) or, with --independent, each family's own seed, so rules
    tuned on the benchmark's cases are checked on others."""
    independent = "--independent" in argv
    argv = [a for a in argv if a != "--independent"]
    shared = np.random.default_rng(2026)

    def rng_for(family):
        return np.random.default_rng([7, zlib.crc32(family.encode())]) if independent else shared

    cases = int(argv[2]) if len(argv) > 2 else cases
    queries = int(argv[3]) if len(argv) > 3 else queries
    return argv[1].split(","), cases, queries, argv[4:], rng_for


def draw_case(photos, rng, family, queries, side=512):
    """One case, drawn from `rng` in the benchmark's order (the probes in Training/ draw the same
    cases through it): an edit of `family`, the exemplar's before (a crop of one photo) and
    `queries` crops of the other photos, quantised to 8 bits."""
    edit = [(family, edits.sample(family, rng))]
    ia = int(rng.integers(len(photos)))
    a = quantised(crop(photos[ia][1], rng, side))
    drawn = []
    for _ in range(queries):
        ib = int(rng.integers(len(photos) - 1))
        ib += ib >= ia
        drawn.append(quantised(crop(photos[ib][1], rng, side)))
    return edit, a, drawn


def probe_cases(photos, families, cases, queries, rng_for, only=None):
    """Every case of `families` in the benchmark's order (`draw_case`; every case is drawn, so the
    draws stay the benchmark's), with its edit applied: (family, case, edit, exemplar before, its
    after, queries, their truths), skipping families not in `only` (when given)."""
    for family in families:
        rng = rng_for(family)
        for case in range(cases):
            edit, a, qs = draw_case(photos, rng, family, queries)
            if only is not None and family not in only:
                continue
            truths = [quantised(edits.apply_edit(edit, b)[0]) for b in qs]
            yield family, case, edit, a, quantised(edits.apply_edit(edit, a)[0]), qs, truths


def baseline_lut(before, after, n=17):
    """The 3D-LUT baseline: 17³ nodes, each the mean after-colour of the exemplar's pixels nearest
    it, nodes without pixels from the pair's least-squares affine map; as an offset table for
    `edit_data.apply_lut` (trilinear)."""
    x = before.reshape(3, -1).T.double()
    # The textbook affine fit (plain least squares), not deltaflow's regularised prior: the baseline
    # stays a standard LUT.
    ones = torch.ones(x.shape[0], 1, dtype=torch.float64)
    m = torch.linalg.lstsq(torch.cat([x, ones], 1), after.reshape(3, -1).T.double()).solution  # 4×3
    nodes = edit_data.lut_nodes(n, torch.float64)
    table = nodes @ m[:3] + m[3]
    sums, counts = edit_data.cell_sums(x, after.reshape(3, -1).T.double(), n)
    filled = counts[..., 0] > 0
    table[filled] = sums[filled] / counts[filled]
    return (table - nodes).float()


def psnr(a, b, where=None):
    d = (a - b) ** 2
    if where is not None:
        if where.sum() < 1:
            return float("nan")
        mse = float((d * where).sum() / (where.sum() * 3))
    else:
        mse = float(d.mean())
    return 10 * np.log10(1 / max(mse, 1e-10))


def ssim(a, b):
    return float(structural_similarity(a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(), channel_axis=2,
                                       data_range=1.0))


def run_cli(before, after, inputs, output, extra=(), workflow=WORKFLOW):
    cmd = [DELTAFLOW, "run", workflow, "--set", f"before={before}", "--set", f"after={after}",
           "--set", f"input={inputs}", "--set", f"output={output}", "--log-format", "json", "-q", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"deltaflow failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return p


def score(args, work):
    rng = np.random.default_rng(args.seed)
    photos = edit_data.photos("bench", short_side=1024)
    print(f"benchmark photos (never trained on): {', '.join(n for n, _ in photos)}")
    rows = []
    for family in args.families:
        for case in range(args.cases):
            edit, a, drawn = draw_case(photos, rng, family, args.queries, args.side)
            # The draw is the same whatever `--only` picks from it.
            if args.only and family not in args.only:
                continue
            a2 = quantised(edits.apply_edit(edit, a)[0])
            d = os.path.join(work, f"{family}-{case}")
            os.makedirs(os.path.join(d, "in"))
            save_png(os.path.join(d, "before.png"), a)
            save_png(os.path.join(d, "after.png"), a2)
            queries = []
            for q, b in enumerate(drawn):
                b2, region = edits.apply_edit(edit, b)
                save_png(os.path.join(d, "in", f"q{q}.png"), b)
                queries.append((b, quantised(b2), region))
            # Scored against one draw of the truth's randomness (grain), PSNR rewards the expected
            # value: the workflow is asked for it (grain=mean). Grain drawn anew is scored apart.
            ex = (os.path.join(d, "before.png"), os.path.join(d, "after.png"), os.path.join(d, "in"))
            run_cli(*ex, os.path.join(d, "out"), ("--set", "grain=mean"), workflow=args.workflow)
            if family == "grain":
                run_cli(*ex, os.path.join(d, "sampled"), workflow=args.workflow)
            lut, fitted = baseline_lut(a, a2), edit_data.fit(a, a2)
            grain = edit_data.grain_of(a, a2, fitted)
            for q, (b, truth, region) in enumerate(queries):
                out = load_png(os.path.join(d, "out", f"q{q}.png"))
                inside = region[None] > 0.5
                outside = ~inside
                if family == "grain":
                    sampled = load_png(os.path.join(d, "sampled", f"q{q}.png"))
                    rows.append({"family": family, "method": "sampled", "psnr": psnr(sampled, truth),
                                 **grain_statistics(sampled, truth, b)})
                for method, img in (("deltaflow", out), ("identity", b), ("lut", edit_data.apply_lut(b, lut)),
                                    ("fit", quantised(edit_data.grain_mean(edit_data.apply_fit(b, fitted), grain)))):
                    rows.append({"family": family, "group": group_of(family), "method": method,
                                 "case": case, "query": q, "psnr": psnr(img, truth), "ssim": ssim(img, truth),
                                 "psnr_in": psnr(img, truth, inside.float()),
                                 "psnr_out": psnr(img, truth, outside.float()) if outside.any() else float("nan")})
        if not args.only or family in args.only:
            print(f"  {family}: done", flush=True)
    return rows


GROUPS = ("seen", "held out", "operator", "operator, held out")


def group_of(family):
    """The benchmark's four groups: families the edit models trained on, families they never
    saw, and the learned operator's families (tuned on, and held out of all tuning)."""
    if family in edits.OPERATOR_HELD_OUT:
        return "operator, held out"
    if family in edits.OPERATOR:
        return "operator"
    return "held out" if family in edits.HELD_OUT else "seen"


def grain_statistics(out, truth, query):
    """The grain `out` adds to `query` beside the grain the truth has: the ratio of their standard
    deviations (per channel, on pixels where the query is within 0.2…0.8, so clipping leaves them
    alone; averaged) and the correlation of the added grain's red and green (1: monochrome)."""
    mid = ((query > 0.2) & (query < 0.8)).all(0)
    added, true = (out - query)[:, mid].double(), (truth - query)[:, mid].double()
    ratio = float((added.std(1) / true.std(1)).mean())
    return {"sigma_ratio": ratio, "correlation": float(torch.corrcoef(added[:2])[0, 1])}


def report_grain(rows):
    sampled = [r for r in rows if r["method"] == "sampled"]
    if not sampled:
        return ""
    mean = lambda k: float(np.mean([r[k] for r in sampled]))  # noqa: E731
    return ("grain drawn anew (grain=sample, the workflow's default): PSNR "
            f"{mean('psnr'):.2f}, σ added / σ of the truth's grain {mean('sigma_ratio'):.3f}, "
            f"red–green correlation of the added grain {mean('correlation'):.3f} (the truth's: 1)")


def report(rows):
    methods = ("deltaflow", "identity", "lut", "fit")
    lines = ["| family | | deltaflow PSNR | identity | 3D LUT | fit only | deltaflow SSIM | identity | 3D LUT | fit only | PSNR in region (df / id / LUT / fit) | PSNR outside (df / id / LUT / fit) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    summary = {}
    present = {r["family"] for r in rows}
    for group in GROUPS:
        fams = [f for f in edits.ALL if group_of(f) == group and f in present]
        if not fams:
            continue
        for f in fams:
            m = {k: [r for r in rows if r["family"] == f and r["method"] == k] for k in methods}
            mean = {k: {s: float(np.nanmean([r[s] for r in v])) if v else float("nan")
                        for s in ("psnr", "ssim", "psnr_in", "psnr_out")} for k, v in m.items()}
            summary[f] = mean
            fmt = lambda x: "—" if np.isnan(x) else f"{x:.2f}"  # noqa: E731
            lines.append(f"| {f} | {group} | " + " | ".join(fmt(mean[k]["psnr"]) for k in methods)
                         + " | " + " | ".join(f"{mean[k]['ssim']:.3f}" for k in methods)
                         + " | " + " / ".join(fmt(mean[k]["psnr_in"]) for k in methods)
                         + " | " + " / ".join(fmt(mean[k]["psnr_out"]) for k in methods) + " |")
        for k in methods:
            summary.setdefault("_mean", {}).setdefault(group, {})[k] = float(
                np.mean([summary[f][k]["psnr"] for f in fams]))
    return "\n".join(lines), summary


PARTS = {
    "io": "out: {node: save, image: $photo.image, dir: $output, name: \"{stem}.png\"}",
    "mask": "m: {node: predict_mask, image: $photo.image, delta: $delta.delta}\n"
            "  c: {node: composite, base: $photo.image, overlay: $photo.image, mask: $m.mask}\n"
            "  out: {node: save, image: $c.image, dir: $output, name: \"{stem}.png\"}",
    "edit1": "e: {node: adapter_edit, image: $photo.image, delta: $delta.delta, steps: 1}\n"
             "  out: {node: save, image: $e.image, dir: $output, name: \"{stem}.png\"}",
    "edit2": "e: {node: adapter_edit, image: $photo.image, delta: $delta.delta, steps: 2}\n"
             "  out: {node: save, image: $e.image, dir: $output, name: \"{stem}.png\"}",
}


def part_workflow(work, name):
    path = os.path.join(work, f"part-{name}.yaml")
    with open(path, "w") as f:
        f.write("version: 1\nparams:\n  before: {type: path}\n  after: {type: path}\n  input: {type: dir}\n"
                "  output: {type: dir}\nnodes:\n  b: {node: load, path: $before}\n  a: {node: load, path: $after}\n"
                "  delta: {node: encode_delta, before: $b.image, after: $a.image}\n"
                "  photo: {node: load, each: $input}\n  " + PARTS[name] + "\n")
    return path


def item_seconds(p):
    lines = [json.loads(line) for line in (p.stdout + p.stderr).splitlines() if line.startswith("{")]
    return float(np.median([e["seconds"] for e in lines if e.get("event") == "item"]))


EXEMPLARS = {
    # A colour edit and a sharpen: the spatial filter runs at full resolution too. The fit is the
    # whole edit here, so encode_delta's trust is 0 and adapter_edit runs no network.
    "colour + sharpen": [("temperature", {"temp": 0.15, "tint": 0.02}), ("sharpen", {"sigma": 0.006, "k": 1.0})],
    # A local edit the fit cannot express: the models' correction runs (trust 1).
    "spotlight": [("spotlight", {"cx": 0.5, "cy": 0.5, "radius": 0.3, "darken": 0.6})],
}


def timing(args, work):
    """Per-image seconds with a cached exemplar (the CLI's own per-file times, load to save,
    --jobs 1: one photo at a time on both cores), and the breakdown from partial workflows, for
    each of `EXEMPLARS`."""
    rng = np.random.default_rng(args.seed + 1)
    photos = edit_data.photos("bench", short_side=3000)
    a = crop(photos[0][1], rng, 512)
    inputs = {}
    for label, side, count in (("512 px", 512, 6), ("12 MP", 4000, 3)):
        ind = os.path.join(work, "timing-" + label.replace(" ", ""))
        os.makedirs(ind)
        for i in range(count):
            p = photos[(i + 1) % len(photos)][1]
            img = edit_data.resize(p, 3000, 4000) if side == 4000 else crop(p, rng, side)
            save_png(os.path.join(ind, f"p{i}.png"), img)
        inputs[label] = ind
    results = {}
    for e, (exemplar, edit) in enumerate(EXEMPLARS.items()):
        before, after = os.path.join(work, f"t{e}-before.png"), os.path.join(work, f"t{e}-after.png")
        save_png(before, a)
        save_png(after, edits.apply_edit(edit, a)[0])
        for label, ind in inputs.items():
            t = {}
            for name in ["workflow"] + list(PARTS):
                wf = WORKFLOW if name == "workflow" else part_workflow(work, name)
                cmd = [DELTAFLOW, "run", wf, "--set", f"before={before}", "--set", f"after={after}", "--set", f"input={ind}",
                       "--log-format", "json", "-q", "--jobs", "1"]
                out = os.path.join(ind, f"out{e}-{name}")
                subprocess.run(cmd + ["--set", f"output={out}-warm"], capture_output=True, check=True)  # warms the cache and the page cache
                p = subprocess.run(cmd + ["--set", f"output={out}"], capture_output=True, text=True, check=True)
                t[name] = item_seconds(p)
            step = t["edit2"] - t["edit1"]
            results[f"{exemplar}, {label}"] = {
                "whole workflow (mask + 2 steps + composite)": t["workflow"],
                "load + save alone": t["io"], "predict_mask + composite": t["mask"] - t["io"],
                "one denoiser step": step,
                "adapter_edit besides its steps (conditioning, upsampling)": t["edit1"] - t["io"] - step}
    return results


def print_times(times):
    for label, v in times.items():
        for name, sec in v.items():
            print(f"time per image, {label}, {name}: {sec:.3f} s")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=3, help="exemplars per family")
    p.add_argument("--queries", type=int, default=3, help="query photos per exemplar")
    p.add_argument("--side", type=int, default=512, help="longest side of the benchmark photos")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--no-timing", action="store_true")
    p.add_argument("--timing-only", action="store_true")
    p.add_argument("--json", help="also write the numbers here")
    p.add_argument("--keep", help="keep every case's images (exemplar, queries, outputs) in this folder")
    p.add_argument("--families", default=",".join(edits.ALL), help="comma-separated (default: all)")
    p.add_argument("--workflow", default=WORKFLOW, help="the workflow deltaflow runs on each scored case "
                   "(default: the bundled exemplar-transfer.yaml; it takes the same params; timing keeps the bundled one)")
    p.add_argument("--only", help="comma-separated: of the cases drawn for --families, run only these "
                   "families' (the same exemplars and photos as the whole run)")
    args = p.parse_args()
    args.families = args.families.split(",")
    args.only = set(args.only.split(",")) if args.only else None
    if args.only and not args.only <= set(args.families):
        raise SystemExit(f"--only names families --families does not draw: {', '.join(sorted(args.only - set(args.families)))}")
    if not os.path.exists(DELTAFLOW):
        raise SystemExit("build first: swift build -c release --product deltaflow")
    with tempfile.TemporaryDirectory(prefix="deltaflow-bench-") as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        if args.timing_only:
            print_times(timing(args, work))
            return
        rows = score(args, work)
        table, summary = report(rows)
        print()
        print(table)
        print(report_grain(rows))
        for split, m in summary["_mean"].items():
            print(f"mean PSNR, {split} families: deltaflow {m['deltaflow']:.2f}, identity {m['identity']:.2f}, "
                  f"3D LUT {m['lut']:.2f}, fit only {m['fit']:.2f}")
        times = None if args.no_timing else timing(args, work)
        if times:
            print()
            print_times(times)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows, "summary": summary, "times": times}, f, indent=1)


if __name__ == "__main__":
    main()
