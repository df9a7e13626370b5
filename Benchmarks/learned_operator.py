"""The learned operator's and the frame field's cost: encode_delta on 1-MP and 12-MP exemplars, and
adapter_edit on 512-px and 12-MP photos, for a posterisation (an operator until the colour step
learned tone curves, 2026-12-06; now the curves),
one that keeps a frame field (a vignette), one that keeps neither (a warm grade), a median
(a rank filter, radius 0.008 of the shorter side: 24 px at 12 MP) and one hue kept, the rest greyed
(the colour step's chroma gain, where the photo's colours choose it) and a bilateral filter
(σ 0.012 of the shorter side: 36 px at 12 MP, run on the photo halved), in one run on
this machine. encode_delta uncached (--no-cache, the whole process timed, PNG reading included)
on every core (the default --jobs: a node that runs once gets all of them); per photo the CLI's
own times with --jobs 1 (one photo at a time, on one thread: the slowest a photo gets).

    bash .ci/install && swift build -c release --product deltaflow
    python3 Benchmarks/learned_operator.py [WORD]    # WORD: only the exemplars whose name has it
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
import edit_data  # noqa: E402
import edits  # noqa: E402
from edit_transfer import DELTAFLOW, item_seconds, save_png  # noqa: E402

EXEMPLARS = {
    "posterize (tone curves)": [("posterize", {"levels": 4})],
    "vignette (frame field kept)": [("vignette", {"amount": 0.6, "inner": 0.35, "outer": 0.95})],
    "warm grade (neither)": [("temperature", {"temp": 0.15, "tint": 0.02})],
    "median (rank filter)": [("median", {"radius": 0.008})],
    "keep blue (chroma gain)": [("keep_colour", {"center": 0.65, "width": 0.1})],
    "bilateral (edge-keeping smoothing)": [("bilateral", {"sigma": 0.012, "range": 0.15})],
}
# Training/edits.py makes a median from every shifted copy of the window: 49² copies of a 12-MP
# photo do not fit in memory (a bilateral filter's 145² take hours). Its 12-MP after is the 1-MP exemplar's delta applied by deltaflow,
# a median of the same relative radius (the fit's colour step is the identity there).
LARGE_BY_DELTAFLOW = {"median (rank filter)", "bilateral (edge-keeping smoothing)"}
ENCODE = """version: 1
params: {before: {type: path}, after: {type: path}, input: {type: dir}, output: {type: dir}}
nodes:
  b: {node: load, path: $before}
  a: {node: load, path: $after}
  delta: {node: encode_delta, before: $b.image, after: $a.image}
  photo: {node: load, each: $input}
  edited: {node: adapter_edit, image: $photo.image, delta: $delta.delta, grain: none}
  out: {node: save, image: $edited.image, dir: $output, name: "{stem}.png"}
"""


def run(workflow, before, after, inputs, output, *extra, jobs=None):
    cmd = [DELTAFLOW, "run", workflow, "--set", f"before={before}", "--set", f"after={after}", "--set",
           f"input={inputs}", "--set", f"output={output}", "--log-format", "json", "-q", *extra]
    cmd += ["--jobs", str(jobs)] if jobs else []
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, p


def main():
    photos = edit_data.photos("bench", short_side=3000)
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory(prefix="deltaflow-operator-") as work:
        workflow = os.path.join(work, "edit.yaml")
        with open(workflow, "w") as f:
            f.write(ENCODE)
        tiny = os.path.join(work, "tiny")
        os.makedirs(tiny)
        save_png(os.path.join(tiny, "t.png"), edit_data.evaluation_crop(photos[1][1], rng, 8))
        queries = {}
        for label, side, count in (("512 px", 512, 3), ("12 MP", 4000, 2)):
            d = os.path.join(work, label.replace(" ", ""))
            os.makedirs(d)
            for i in range(count):
                p = photos[(i + 1) % len(photos)][1]
                img = edit_data.resize(p, 3000, 4000) if side == 4000 else edit_data.evaluation_crop(p, rng, side)
                save_png(os.path.join(d, f"p{i}.png"), img)
            queries[label] = d
        for name, edit in EXEMPLARS.items():
            if len(sys.argv) > 1 and sys.argv[1] not in name:
                continue
            for label, (h, w) in (("1 MP", (866, 1155)), ("12 MP", (3000, 4000))):
                a = edit_data.resize(photos[0][1], h, w)
                before, after = os.path.join(work, f"before-{h}.png"), os.path.join(work, f"after-{h}.png")
                save_png(before, a)
                if h > 1000 and name in LARGE_BY_DELTAFLOW:
                    large = os.path.join(work, "large")
                    os.makedirs(large, exist_ok=True)
                    save_png(os.path.join(large, "after.png"), a)
                    small = os.path.join(work, "before-866.png"), os.path.join(work, "after-866.png")
                    run(workflow, *small, large, os.path.join(work, "made"), "--no-cache")
                    os.replace(os.path.join(work, "made", "after.png"), after)
                else:
                    save_png(after, edits.apply_edit(edit, a)[0])
                seconds, _ = run(workflow, before, after, tiny, os.path.join(work, "o"), "--no-cache")
                print(f"{name}: encode_delta, {label} exemplar (uncached, whole process): {seconds:.2f} s", flush=True)
            cache = os.path.join(work, "cache")
            for label, d in queries.items():
                run(workflow, before, after, d, os.path.join(work, "warm"), "--cache-dir", cache)
                _, p = run(workflow, before, after, d, os.path.join(work, "out"), "--cache-dir", cache, jobs=1)
                print(f"{name}: adapter_edit + load + save per {label} photo (cached delta): {item_seconds(p):.2f} s",
                      flush=True)


if __name__ == "__main__":
    main()
