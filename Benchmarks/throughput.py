#!/usr/bin/env python3
"""Batch throughput and memory of a non-model workflow, beside ImageMagick, in one run.

    apt-get install -y imagemagick && pip install pillow && python3 Benchmarks/throughput.py

1. Throughput: 200 JPEG photos (1600x1200, made from Examples/) shrunk to 800 px on the longer
   side and saved as JPEG quality 88 — `deltaflow run Workflows/resize-batch.yaml` at --jobs 1
   and 2, and ImageMagick's mogrify (one thread each, split over 1 and 2 processes by xargs)
   doing the same. Reports images/s and the ratio.
2. Memory: peak resident memory of the same deltaflow run over 10 and over 1,000 photos
   (640x480); streaming means the two should be close.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MEASURE = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def make_photos(folder, count, size):
    os.makedirs(folder)
    sources = [Image.open(os.path.join(ROOT, "Examples", name)).convert("RGB")
               for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")]
    for index in range(count):
        photo = sources[index % len(sources)].resize(size, Image.Resampling.BICUBIC)
        photo.save(os.path.join(folder, f"photo{index:04d}.jpg"), quality=90)


def timed(command, env=None):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def peak_rss_mb(command):
    output = subprocess.run([sys.executable, "-c", MEASURE] + command, check=True, capture_output=True, text=True)
    return int(output.stdout.strip()) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200)
    args = parser.parse_args()
    mogrify = shutil.which("mogrify", path="/usr/bin") or shutil.which("mogrify")
    subprocess.run(["swift", "build", "-c", "release", "--product", "deltaflow"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip() + "/deltaflow"
    workflow = os.path.join(ROOT, "Workflows", "resize-batch.yaml")

    with tempfile.TemporaryDirectory() as scratch:
        photos = os.path.join(scratch, "photos")
        make_photos(photos, args.photos, (1600, 1200))

        def deltaflow(jobs, output, folder=photos):
            return [binary, "run", workflow, "--set", f"input={folder}", "--set", f"output={output}",
                    "--set", "max_side=800", "--set", "quality=88", "--jobs", str(jobs), "--quiet", "--no-cache",
                    "--cache-dir", os.path.join(scratch, "cache")]

        def imagemagick(jobs, output):
            os.makedirs(output)
            files = sorted(os.listdir(photos))
            per_process = (len(files) + jobs - 1) // jobs
            env = dict(os.environ, MAGICK_THREAD_LIMIT="1")
            # xargs runs `jobs` mogrify processes side by side, each one thread.
            return ["sh", "-c", f"cd {photos} && ls | xargs -P {jobs} -n {per_process} "
                    f"{mogrify} -path {output} -resize 800x800 -quality 88"], env

        print(f"{args.photos} photos 1600x1200 JPEG -> 800 px JPEG q88")
        print(f"{'jobs':>4} {'deltaflow img/s':>16} {'mogrify img/s':>14} {'ratio':>6}")
        for jobs in (1, 2):
            ours = timed(deltaflow(jobs, os.path.join(scratch, f"out-d{jobs}")))
            command, env = imagemagick(jobs, os.path.join(scratch, f"out-m{jobs}")) if mogrify else (None, None)
            theirs = timed(command, env) if command else float("nan")
            print(f"{jobs:>4} {args.photos / ours:16.1f} {args.photos / theirs:14.1f} {theirs / ours:6.2f}")

        print("\npeak resident memory, deltaflow --jobs 2, 640x480 JPEGs")
        for count in (10, 1000):
            folder = os.path.join(scratch, f"small{count}")
            make_photos(folder, count, (640, 480))
            rss = peak_rss_mb(deltaflow(2, os.path.join(scratch, f"rss{count}"), folder))
            print(f"{count:>5} photos: {rss:7.1f} MB")


if __name__ == "__main__":
    main()
