#!/usr/bin/env python3
"""What colour management costs: one 12-MP photo read and written as JPEG by deltaflow, untagged,
tagged sRGB and tagged Display P3 (converted to sRGB on reading and back on writing).

    python3 Benchmarks/color_managed.py [--rounds 3]

Needs ImageMagick (bash .ci/install --tests) and a release build (swift build -c release).
Rounds alternate the three files, so load on the machine hits all; prints the median wall time
and peak memory of `deltaflow run` over the rounds.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build/release/deltaflow")
ICC = os.path.join(ROOT, "Tests/ImageCodecsTests/Fixtures/icc")
WORKFLOW = """version: 1
params:
  input: {type: path}
  output: {type: path}
nodes:
  photo: {node: load, each: $input}
  out: {node: save, image: $photo.image, dir: $output, name: "{stem}.jpg", quality: 92}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as scratch:
        big = os.path.join(scratch, "big.png")
        subprocess.run(["convert", os.path.join(ROOT, "Examples/coffee.png"), "-resize", "4000x3000!", big],
                       check=True)
        variants = {
            "untagged": [],
            "sRGB": ["-profile", os.path.join(ICC, "srgb.icc")],
            "Display P3": ["-profile", os.path.join(ICC, "srgb.icc"), "-profile", os.path.join(ICC, "display-p3.icc")],
        }
        inputs = {}
        for name, arguments in variants.items():
            directory = os.path.join(scratch, name.replace(" ", "_"))
            os.makedirs(directory)
            subprocess.run(["convert", big, *arguments, "-quality", "92", os.path.join(directory, "photo.jpg")],
                           check=True)
            inputs[name] = directory
        workflow = os.path.join(scratch, "copy.yaml")
        with open(workflow, "w") as f:
            f.write(WORKFLOW)
        times = {name: [] for name in variants}
        memory = {name: 0 for name in variants}
        for r in range(rounds):
            for name, directory in inputs.items():
                output = os.path.join(scratch, f"out-{r}-{name.replace(' ', '_')}")
                started = time.perf_counter()
                child = subprocess.Popen([BINARY, "run", workflow, "--set", f"input={directory}",
                                          "--set", f"output={output}", "--jobs", "1"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                _, status, usage = os.wait4(child.pid, 0)
                times[name].append(time.perf_counter() - started)
                memory[name] = max(memory[name], usage.ru_maxrss // 1024)
                assert status == 0, f"deltaflow failed on {name}"
        base = statistics.median(times["untagged"])
        print("| file | wall s (median) | ratio to untagged | peak MB |")
        print("| --- | ---: | ---: | ---: |")
        for name in variants:
            median = statistics.median(times[name])
            print(f"| {name} | {median:.2f} | {median / base:.1f} | {memory[name]} |")


if __name__ == "__main__":
    main()
