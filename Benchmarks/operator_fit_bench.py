"""The learned operator's closed-form fit in deltaflow beside numpy's, on the same samples.

    pip install torch==2.13.0 numpy Pillow
    swift build -c release --product tensor-bench
    python3 Benchmarks/operator_fit_bench.py [--rounds 3] [--runs 3] [--edit kuwahara]

Issue 25's fitting method is a ridge regression solved in closed form; its reference is
Training/operator_fit.py (numpy). From one bundled photo at the operator's 512-px working size and
an edit of Training/edits.py, it draws the samples `encode_delta` fits on (90,000 pixel-channel
pairs, their held-out groups), writes them to a temporary folder, and times the whole fit —
features, normal equations, the ridge's choice on held-out groups, the solves — in deltaflow
(`tensor-bench operator`) and in numpy, at 1 and 2 threads, in interleaved rounds (this machine's
speed drifts by ±20 % over minutes). numpy runs in a child process per thread count, its BLAS
threads set by `OPENBLAS_NUM_THREADS`. Prints the fastest and the median time of each, their
ratio, and how far deltaflow's readout is from numpy's.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
BENCH = os.path.join(ROOT, ".build/release/tensor-bench")


def write_samples(path, edit_name, photo):
    import torch
    from PIL import Image

    import edit_data
    import edits
    import operator_fit
    import safetensors_io

    with Image.open(os.path.join(ROOT, "Examples", photo)) as im:
        rgb = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
    h, w = rgb.shape[1:]
    scale = 512 / max(h, w)
    before = edit_data.quantised(edit_data.resize(rgb, round(h * scale), round(w * scale)))
    edit = [(edit_name, edits.sample(edit_name, np.random.default_rng(0)))]
    after = edit_data.quantised(edits.apply_edit(edit, before)[0])
    b, a = (t.permute(1, 2, 0).numpy().copy() for t in (before, after))
    # The fit's output taken as the before: the operator learns the whole edit (as the golden does).
    x, y, groups = operator_fit.samples(b, b, a)
    safetensors_io.save(path, {"x": x, "y": y.astype(np.float32), "groups": groups.astype(np.float32)},
                        {"edit": json.dumps(edit)})
    return edit, b.shape


def numpy_child(samples, out, runs):
    """In a child whose BLAS threads are set: numpy's fit on the samples, timed `runs` times."""
    from interleaved import timed

    import operator_fit
    import safetensors_io

    t = safetensors_io.load(samples)
    x, y, groups = t["x"], t["y"].astype(np.float64), t["groups"].astype(np.int64)
    result = []
    times = timed(lambda: result.append(operator_fit.fit_samples(x, y, groups)), runs)
    fitted = result[-1]
    np.save(out, np.zeros(0, np.float32) if fitted is None else fitted[0])
    print(json.dumps({"times_ms": times, "kept": fitted is not None}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--edit", default="kuwahara", help="a family of Training/edits.py")
    ap.add_argument("--photo", default="coffee.png", help="a photo in Examples/")
    ap.add_argument("--numpy-child", nargs=3, metavar=("SAMPLES", "OUT", "RUNS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.numpy_child:
        samples, out, runs = args.numpy_child
        numpy_child(samples, out, int(runs))
        return
    if not os.path.exists(BENCH):
        sys.exit("build first: swift build -c release --product tensor-bench")
    from interleaved import STATISTICS

    with tempfile.TemporaryDirectory() as folder:
        samples = os.path.join(folder, "samples.safetensors")
        edit, shape = write_samples(samples, args.edit, args.photo)
        print(f"{args.photo} at {shape[1]}×{shape[0]}, {edit}")
        swift_out, numpy_out = os.path.join(folder, "readout.f32"), os.path.join(folder, "readout.npy")
        print(f"{'threads':>7} {'stat':>8} {'deltaflow ms':>12} {'numpy ms':>9} {'df/numpy':>8}")
        for threads in (1, 2):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
            times = {"deltaflow": [], "numpy": []}
            for _ in range(args.rounds):
                run = subprocess.run([BENCH, "operator", samples, swift_out, str(threads), str(args.runs)],
                                     check=True, capture_output=True, text=True)
                report = json.loads(run.stdout)
                times["deltaflow"] += report["times_ms"]
                child = subprocess.run([sys.executable, __file__, "--numpy-child", samples, numpy_out,
                                        str(args.runs)], check=True, capture_output=True, text=True, env=env)
                reference = json.loads(child.stdout)
                times["numpy"] += reference["times_ms"]
            for stat, f in STATISTICS:
                ours, theirs = f(times["deltaflow"]), f(times["numpy"])
                print(f"{threads:>7} {stat:>8} {ours:>12.1f} {theirs:>9.1f} {ours / theirs:>8.2f}")
            ours, theirs = np.fromfile(swift_out, dtype=np.float32), np.load(numpy_out)
            if report["kept"] != reference["kept"]:
                print(f"  kept: deltaflow {report['kept']}, numpy {reference['kept']}")
            elif report["kept"]:
                error = np.abs(ours - theirs).max() / np.abs(theirs).max()
                print(f"  readout: max |deltaflow − numpy| {error:.2e} of |β|max; deltaflow's kernels "
                      f"{report['kernels']}")
            else:
                print("  neither keeps the operator")


if __name__ == "__main__":
    main()
