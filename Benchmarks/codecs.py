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


def median_ms(function, iterations):
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=7)
    args = parser.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "codec-bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip() + "/codec-bench"

    with tempfile.TemporaryDirectory() as scratch:
        photo = os.path.join(scratch, "photo-12mp.jpg")
        source = Image.open(os.path.join(ROOT, "Examples", "astronaut.png")).convert("RGB")
        source.resize((4000, 3000), Image.Resampling.LANCZOS).save(photo, quality=90)

        ours = json.loads(subprocess.run([binary, photo, str(args.iterations)], check=True,
                                         capture_output=True, text=True).stdout)

        def pillow_decode():
            with Image.open(photo) as image:
                image.load()

        with Image.open(photo) as decoded:
            decoded.load()
            pillow = {
                "decode_ms": median_ms(pillow_decode, args.iterations),
                "encode_ms": median_ms(lambda: decoded.save(io.BytesIO(), "JPEG", quality=90), args.iterations),
            }

    import PIL
    print(f"12-megapixel JPEG ({ours['width']}x{ours['height']}, quality 90, 4:2:0), "
          f"median of {args.iterations}, one thread")
    print(f"{'':8} {'deltaflow ms':>13} {'Pillow ' + PIL.__version__ + ' ms':>16} {'ratio':>7}")
    for step in ("decode", "encode"):
        a, b = ours[f"{step}_ms"], pillow[f"{step}_ms"]
        print(f"{step:8} {a:13.1f} {b:16.1f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
