#!/usr/bin/env python3
"""Writes the codec test fixtures in this folder.

Run from the repository root:  pip install pillow==12.* pypng && python3 Tests/ImageCodecsTests/Fixtures/make_fixtures.py

The PNG fixtures hold a synthetic pattern whose formula the Swift tests recompute, so every
decoded sample is checked exactly. The JPEG fixtures are crops of Examples/chelsea.png; each
`*.expected.png` is Pillow's decode of the JPEG beside it (the same libjpeg-turbo family),
which the tests compare against. The outputs are committed; the tests never run this script.
"""
import io
import os
import random
import struct
import zlib

import png  # pypng: writes interlaced and low-bit-depth PNGs that Pillow cannot
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
W, H = 37, 23  # odd sizes catch stride and padding mistakes


def v8(x, y, c):
    return (x * 7 + y * 13 + c * 61 + 5) % 256


def v16(x, y, c):
    return (x * 1031 + y * 2053 + c * 16411 + 7) % 65536


def pattern_rows(channels, depth):
    f = v8 if depth == 8 else v16
    return [[f(x, y, c) for x in range(W) for c in range(channels)] for y in range(H)]


def write_png(name, rows, **kwargs):
    with open(os.path.join(HERE, "png", name), "wb") as out:
        png.Writer(W, H, **kwargs).write(out, rows)


def make_png():
    os.makedirs(os.path.join(HERE, "png"), exist_ok=True)
    layouts = {"gray": (1, True, False), "graya": (2, True, True), "rgb": (3, False, False), "rgba": (4, False, True)}
    for name, (channels, grey, alpha) in layouts.items():
        for depth in (8, 16):
            write_png(f"{name}{depth}.png", pattern_rows(channels, depth), greyscale=grey, alpha=alpha, bitdepth=depth)
    write_png("rgb8_interlaced.png", pattern_rows(3, 8), greyscale=False, bitdepth=8, interlace=True)
    write_png("rgba16_interlaced.png", pattern_rows(4, 16), greyscale=False, alpha=True, bitdepth=16, interlace=True)
    # Low bit depths: 1-bit (x^y)&1, 2-bit (x+y)%4, 4-bit (x+2y)%16.
    write_png("gray1.png", [[(x ^ y) & 1 for x in range(W)] for y in range(H)], greyscale=True, bitdepth=1)
    write_png("gray1_interlaced.png", [[(x ^ y) & 1 for x in range(W)] for y in range(H)], greyscale=True, bitdepth=1, interlace=True)
    write_png("gray2.png", [[(x + y) % 4 for x in range(W)] for y in range(H)], greyscale=True, bitdepth=2)
    write_png("gray4.png", [[(x + 2 * y) % 16 for x in range(W)] for y in range(H)], greyscale=True, bitdepth=4)
    # Gray with a tRNS colour key: value 5 is transparent.
    write_png("gray8_trns.png", pattern_rows(1, 8), greyscale=True, bitdepth=8, transparent=5)
    # Palette: index (x + 2y) % 16, colour ((16i) % 256, 255 - 16i, (37i) % 256), alpha (17i) % 256.
    indices = [[(x + 2 * y) % 16 for x in range(W)] for y in range(H)]
    colours = [((16 * i) % 256, 255 - 16 * i, (37 * i) % 256) for i in range(16)]
    write_png("palette.png", indices, palette=[c + ((17 * i) % 256,) for i, c in enumerate(colours)], bitdepth=8)
    write_png("palette_opaque.png", indices, palette=colours, bitdepth=4)


def exif_orientation(value, big_endian=False):
    order = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(order + "HI", 42, 8)
    ifd = struct.pack(order + "H", 1) + struct.pack(order + "HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(order + "I", 0)
    return b"Exif\x00\x00" + tiff + ifd


def make_jpeg():
    folder = os.path.join(HERE, "jpeg")
    os.makedirs(folder, exist_ok=True)
    source = Image.open(os.path.join(ROOT, "Examples", "chelsea.png")).convert("RGB").crop((150, 60, 247, 121))
    source.save(os.path.join(folder, "source.png"))
    variants = {
        "baseline": (source, dict(quality=90)),
        "progressive": (source, dict(quality=90, progressive=True)),
        "gray": (source.convert("L"), dict(quality=90)),
        "cmyk": (source.convert("CMYK"), dict(quality=95)),
    }
    for name, (image, options) in variants.items():
        path = os.path.join(folder, f"{name}.jpg")
        image.save(path, **options)
        if name != "cmyk":
            Image.open(path).save(os.path.join(folder, f"{name}.expected.png"))
    if Image.open(os.path.join(folder, "cmyk.jpg")).mode != "CMYK":
        raise SystemExit("cmyk.jpg did not come out as CMYK")

    # EXIF orientation: an upright 48x32 picture of four flat quadrants (TL red, TR green,
    # BL blue, BR white), stored so that applying orientation N shows it upright again.
    upright = Image.new("RGB", (48, 32))
    for (x0, y0), colour in {(0, 0): (255, 0, 0), (24, 0): (0, 255, 0), (0, 16): (0, 0, 255), (24, 16): (255, 255, 255)}.items():
        upright.paste(colour, (x0, y0, x0 + 24, y0 + 16))
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
               7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
    for orientation, method in inverse.items():
        stored = upright if method is None else upright.transpose(method)
        path = os.path.join(folder, f"orientation{orientation}.jpg")
        stored.save(path, quality=95, subsampling=0, exif=exif_orientation(orientation))
        check = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        assert check.size == (48, 32) and check.getpixel((6, 4))[0] > 200, orientation
    stored = upright.transpose(inverse[6])
    stored.save(os.path.join(folder, "orientation6_bigendian.jpg"), quality=95, subsampling=0,
                exif=exif_orientation(6, big_endian=True))


def make_broken():
    folder = os.path.join(HERE, "broken")
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(20261123)
    rgb = open(os.path.join(HERE, "png", "rgb8.png"), "rb").read()
    jpeg = open(os.path.join(HERE, "jpeg", "baseline.jpg"), "rb").read()

    def put(name, data):
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data)

    put("empty.png", b"")
    put("text.jpg", b"this is a text file, not an image\n")
    put("signature_only.png", rgb[:8])
    put("truncated.png", rgb[: len(rgb) * 6 // 10])
    put("header_only.jpg", jpeg[:20])
    put("truncated.jpg", jpeg[: len(jpeg) // 2])
    # A flipped byte inside IDAT's compressed data: the chunk's CRC no longer matches.
    idat = rgb.index(b"IDAT") + 4 + 10
    put("bad_crc.png", rgb[:idat] + bytes([rgb[idat] ^ 0x5A]) + rgb[idat + 1:])
    # A stray marker in the middle of the entropy-coded data.
    middle = len(jpeg) * 2 // 3
    put("corrupt_scan.jpg", jpeg[:middle] + b"\xff\xd4" + bytes(rng.randrange(256) for _ in range(64)) + jpeg[middle + 66:])
    # Decompression bombs: tiny files whose headers claim 10 and 3.6 gigapixels.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    put("bomb.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    sof = jpeg.index(b"\xff\xc0")
    put("bomb.jpg", jpeg[: sof + 5] + struct.pack(">HH", 60000, 60000) + jpeg[sof + 9:])
    gif = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(gif, format="GIF")
    put("really_a_gif.png", gif.getvalue())
    put("random_after_soi.jpg", b"\xff\xd8\xff" + bytes(rng.randrange(256) for _ in range(2048)))
    put("random.bin", bytes(rng.randrange(256) for _ in range(2048)))


if __name__ == "__main__":
    make_png()
    make_jpeg()
    make_broken()
