"""The README's before/after grid: what transfers and what does not, on the bundled photos.

    pip install torch==2.13.0 numpy Pillow scikit-image
    bash .ci/install && swift build -c release --product deltaflow
    python3 Benchmarks/transfer_grid.py        # writes Docs/transfer-grid.jpg and prints the PSNRs

One exemplar (Examples/coffee.png before and after an edit of `Training/edits.py` with fixed
parameters) and one photo (Examples/rocket.jpg), both at 210×140, through the real CLI and the
bundled workflow (`grain=mean`). Per row: the exemplar pair, the photo, deltaflow's output and
the truth (the same edit applied to the photo), labelled with PSNR against the truth for
deltaflow and for the photo left untouched.
"""
import os
import sys
import tempfile

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
import edit_data  # noqa: E402
import edits  # noqa: E402
from edit_transfer import load_png, psnr, run_cli, save_png  # noqa: E402

# (label, family, parameters): edits the fit expresses exactly, ones the learned operator
# learns, and ones neither does yet.
ROWS = (
    ("warm grade", "temperature", {"temp": 0.15, "tint": 0.03}),
    ("hue shift", "hue", {"shift": 0.3}),
    ("blur", "blur", {"sigma": 0.012}),
    ("vignette", "vignette", {"amount": 0.6, "inner": 0.35, "outer": 0.95}),
    ("posterize", "posterize", {"levels": 4}),
    ("sketch", "sketch", {"sigma": 0.02}),
    ("median", "median", {"radius": 0.012}),
    ("cartoon", "cartoon", {"levels": 5, "edge": 0.06}),
    ("solarize", "solarize", {"t": 0.55}),
    ("emboss", "emboss", {"k": 3.0, "angle": 0.8, "mix": 0.8}),
)
SIZE = (210, 140)
COLUMNS = ("exemplar before", "exemplar after", "photo", "deltaflow", "truth")


def photo(name):
    with Image.open(os.path.join(ROOT, "Examples", name)) as im:
        rgb = np.asarray(im.convert("RGB").resize(SIZE, Image.LANCZOS), dtype=np.float32) / 255
    return edit_data.quantised(torch.from_numpy(rgb).permute(2, 0, 1))


def thumbnail(img):
    return Image.fromarray((img.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8))


def main():
    before, query = photo("coffee.png"), photo("rocket.jpg")
    font = ImageFont.load_default()
    label_width, header, gap = 120, 18, 4
    w, h = SIZE
    grid = Image.new("RGB", (label_width + len(COLUMNS) * (w + gap), header + len(ROWS) * (h + gap)), "white")
    draw = ImageDraw.Draw(grid)
    for c, title in enumerate(COLUMNS):
        draw.text((label_width + c * (w + gap) + 4, 3), title, fill="black", font=font)
    with tempfile.TemporaryDirectory() as work:
        for r, (label, family, params) in enumerate(ROWS):
            edit = [(family, params)]
            after = edit_data.quantised(edits.apply_edit(edit, before)[0])
            truth = edit_data.quantised(edits.apply_edit(edit, query)[0])
            d = os.path.join(work, family)
            os.makedirs(os.path.join(d, "in"))
            save_png(os.path.join(d, "before.png"), before)
            save_png(os.path.join(d, "after.png"), after)
            save_png(os.path.join(d, "in", "photo.png"), query)
            run_cli(os.path.join(d, "before.png"), os.path.join(d, "after.png"), os.path.join(d, "in"),
                    os.path.join(d, "out"), ("--set", "grain=mean"))
            out = load_png(os.path.join(d, "out", "photo.png"))
            scores = (psnr(out, truth), psnr(query, truth))
            print(f"{label}: deltaflow {scores[0]:.2f} dB, untouched {scores[1]:.2f} dB", flush=True)
            y = header + r * (h + gap)
            draw.text((4, y + 4), label, fill="black", font=font)
            draw.text((4, y + 22), f"deltaflow {scores[0]:.1f} dB", fill="black", font=font)
            draw.text((4, y + 38), f"untouched {scores[1]:.1f} dB", fill="black", font=font)
            for c, img in enumerate((before, after, query, out, truth)):
                grid.paste(thumbnail(img), (label_width + c * (w + gap), y))
    path = os.path.join(ROOT, "Docs", "transfer-grid.jpg")
    grid.save(path, quality=80)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
