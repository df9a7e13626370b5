#!/usr/bin/env python3
"""Peak memory and time of exemplar transfer on 12-MP photos, beside ImageMagick, in one run.

    apt-get install -y imagemagick && bash .ci/install && swift build -c release --product deltaflow
    python3 Benchmarks/full_resolution.py [--photos 6] [--baseline OTHER_DELTAFLOW]

Six 4000x3000 JPEGs (made from Examples/ by ImageMagick) through Workflows/exemplar-transfer.yaml
with two exemplars — the bundled colour grade, and a blur (the spatial filter's path) — at
--jobs 1 and 2, with a fresh cache each run. Reported: the peak resident memory, the memory
each photo in flight costs ((peak at --jobs 2 − the process without photos) / 2), and the time.
Beside it, ImageMagick applying a colour table (-hald-clut) to the same files, one process per
photo: its peak. A last pair of rows runs this build with glibc's own allocator settings
(MALLOC_MMAP_MAX_ set, which turns deltaflow's tuning off: see Sources/DeltaflowCLI/Allocator.swift).
--baseline runs another deltaflow binary (an older build) on the same inputs in
the same run, so the two are compared side by side.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DELTAFLOW = os.path.join(ROOT, ".build/release/deltaflow")
WORKFLOW = os.path.join(ROOT, "Workflows/exemplar-transfer.yaml")


def peak_and_time(command, env=None):
    """Peak resident memory (MB) and wall time (s) of `command`, run in a child of its own."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True, env=env)
    kb, seconds = out.stdout.split()
    return int(kb) / 1024, float(seconds)


def transfer(binary, before, after, folder, jobs, scratch, env=None):
    cache, output = tempfile.mkdtemp(dir=scratch), tempfile.mkdtemp(dir=scratch)
    try:
        return peak_and_time([binary, "run", "-q", "--jobs", str(jobs), "--cache-dir", cache, WORKFLOW,
                              "--set", f"before={before}", "--set", f"after={after}",
                              "--set", f"input={folder}", "--set", f"output={output}"], env=env)
    finally:
        shutil.rmtree(cache)
        shutil.rmtree(output)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--baseline", help="another deltaflow binary to measure beside this build")
    args = parser.parse_args()
    binaries = [("deltaflow", DELTAFLOW)] + ([("baseline", args.baseline)] if args.baseline else [])
    scratch = tempfile.mkdtemp()
    try:
        photos, small = os.path.join(scratch, "photos"), os.path.join(scratch, "small")
        os.makedirs(photos)
        os.makedirs(small)
        sources = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png"]
        for index in range(args.photos):
            source = os.path.join(ROOT, "Examples", sources[index % len(sources)])
            subprocess.run(["convert", source, "-resize", "4000x3000!", "-quality", "92",
                            os.path.join(photos, f"photo{index}.jpg")], check=True)
            subprocess.run(["convert", source, "-resize", "64x48!", os.path.join(small, f"photo{index}.png")], check=True)
        before = os.path.join(ROOT, "Examples/astronaut.png")
        blur = os.path.join(scratch, "blur.png")
        subprocess.run(["convert", before, "-blur", "0x2", blur], check=True)
        exemplars = [("colour grade", os.path.join(ROOT, "Exemplars/astronaut-graded.png")), ("blur", blur)]
        print(f"{args.photos} photos of 4000x3000 (JPEG), Workflows/exemplar-transfer.yaml, fresh cache each run\n")
        print("| build | exemplar | jobs | peak RSS (MB) | without photos (MB) | per photo in flight (MB) | time (s) |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, binary in binaries:
            for label, after in exemplars:
                idle, _ = transfer(binary, before, after, small, 2, scratch)
                for jobs in (1, 2):
                    peak, seconds = transfer(binary, before, after, photos, jobs, scratch)
                    print(f"| {name} | {label} | {jobs} | {peak:.0f} | {idle:.0f} | {(peak - idle) / jobs:.0f} | {seconds:.2f} |")
        glibc = dict(os.environ, MALLOC_MMAP_MAX_="65536")
        label, after = exemplars[0]
        idle, _ = transfer(DELTAFLOW, before, after, small, 2, scratch, env=glibc)
        for jobs in (1, 2):
            peak, seconds = transfer(DELTAFLOW, before, after, photos, jobs, scratch, env=glibc)
            print(f"| deltaflow, glibc's allocator settings | {label} | {jobs} | {peak:.0f} | {idle:.0f} | "
                  f"{(peak - idle) / jobs:.0f} | {seconds:.2f} |")
        hald = os.path.join(scratch, "hald.png")
        subprocess.run(["convert", "hald:8", "-modulate", "100,130,97", hald], check=True)
        peaks = [peak_and_time(["convert", os.path.join(photos, f"photo{index}.jpg"), hald, "-hald-clut",
                                os.path.join(scratch, f"magick{index}.jpg")])[0] for index in range(args.photos)]
        version = subprocess.run(["convert", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
        print(f"\nImageMagick ({version.split(' http')[0]}) -hald-clut, one process per photo: peak {max(peaks):.0f} MB")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
