#!/usr/bin/env python3
"""JPEG decode and encode of one 12-megapixel photo: deltaflow beside Pillow, in one run.

    pip install pillow && python3 Benchmarks/codecs.py [--iterations 7]

Both use libjpeg-turbo underneath (Debian's for deltaflow, the wheel's own for Pillow), so
the ratio measures deltaflow's overhead: its decode includes the conversion to planar Float32
that every node consumes, and its encode the conversion back. Bar: ratio <= 1.2.
"""
import argparse
import io
import json
import os
import statistics
import subprocess
import tempfile
import time

from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def times_ms(function, iterations):
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=5, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds alternating deltaflow and Pillow, so machine noise hits both")
    args = parser.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "codec-bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip() + "/codec-bench"

    with tempfile.TemporaryDirectory() as scratch:
        photo = os.path.join(scratch, "photo-12mp.jpg")
        source = Image.open(os.path.join(ROOT, "Examples", "astronaut.png")).convert("RGB")
        source.resize((4000, 3000), Image.Resampling.LANCZOS).save(photo, quality=90)

        def pillow_decode():
            with Image.open(photo) as image:
                image.load()

        ours = {"decode_ms": [], "encode_ms": []}
        pillow = {"decode_ms": [], "encode_ms": []}
        with Image.open(photo) as decoded:
            decoded.load()
            for _ in range(args.rounds):
                run = json.loads(subprocess.run([binary, photo, str(args.iterations)], check=True,
                                                capture_output=True, text=True).stdout)
                for key in ours:
                    ours[key] += run[key]
                pillow["decode_ms"] += times_ms(pillow_decode, args.iterations)
                pillow["encode_ms"] += times_ms(lambda: decoded.save(io.BytesIO(), "JPEG", quality=90),
                                                args.iterations)
        size = (run["width"], run["height"])

    import PIL
    samples = args.rounds * args.iterations
    print(f"12-megapixel JPEG ({size[0]}x{size[1]}, quality 90, 4:2:0), one thread, "
          f"median of {samples} runs in {args.rounds} alternating rounds")
    print(f"{'':8} {'deltaflow ms':>13} {'Pillow ' + PIL.__version__ + ' ms':>16} {'ratio':>7}")
    for step in ("decode", "encode"):
        a, b = statistics.median(ours[f"{step}_ms"]), statistics.median(pillow[f"{step}_ms"])
        print(f"{step:8} {a:13.1f} {b:16.1f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
