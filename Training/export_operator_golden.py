"""Golden for the Swift parity test of the learned operator (Sources/ExemplarFit/LearnedOperator.swift):
Training/operator.py's fit and correction on five pairs made from Examples/coffee.png at 96×64, the
fit's output taken as the before itself, and its correction of a second photo (the pair flipped).

    python3 Training/export_operator_golden.py    # writes Tests/ExemplarFitTests/Goldens/learned-operator.safetensors
"""
import os

import numpy as np
import torch
from PIL import Image

import edit_data
import edits
import operator_fit
import safetensors_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "vignette": [("vignette", {"amount": 0.6, "inner": 0.3, "outer": 0.9})],
    "posterize": [("posterize", {"levels": 4})],
    "median": [("median", {"radius": 0.03})],
    "threshold": [("threshold", {"t": 0.45, "dark": [0.1, 0.05, 0.2], "light": [0.95, 0.9, 0.8]})],
    # Noise: nothing an operator can predict, so the keep decision's "no" is checked too.
    "grain": [("grain", {"sigma": 0.06, "seed": 3})],
}


def pairs(cases):
    """(name, before, after, query) per case, `[H, W, 3]` arrays: Examples/coffee.png at 96×64,
    the case's edit of it, and the photo flipped (a second photo with the same colours)."""
    with Image.open(os.path.join(ROOT, "Examples", "coffee.png")) as im:
        photo = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
    before = edit_data.quantised(edit_data.resize(photo, 64, 96))
    query = before.flip(2)
    for name, edit in cases.items():
        after = edit_data.quantised(edits.apply_edit(edit, before)[0])
        yield (name, *(t.permute(1, 2, 0).numpy().copy() for t in (before, after, query)))


def main():
    out = {}
    for name, b, a, q in pairs(CASES):
        fitted = operator_fit.fit(b, b, a)
        out[f"{name}.before"], out[f"{name}.after"], out[f"{name}.query"] = b, a, q
        out[f"{name}.kept"] = np.array([0.0 if fitted is None else 1.0])
        if fitted is None:
            print(f"{name}: not kept")
            continue
        readout, low, high = fitted
        out[f"{name}.readout"], out[f"{name}.low"], out[f"{name}.high"] = readout, low, high
        out[f"{name}.correction"] = operator_fit.correction(fitted, q, q)
        print(f"{name}: readout |β|max {np.abs(readout).max():.3f}, correction rms "
              f"{np.sqrt((out[f'{name}.correction'] ** 2).mean()):.4f}")
    path = os.path.join(ROOT, "Tests", "ExemplarFitTests", "Goldens", "learned-operator.safetensors")
    safetensors_io.save(path, {k: np.asarray(v, dtype=np.float32) for k, v in out.items()},
                        {"command": "python3 Training/export_operator_golden.py", "numpy": np.__version__})
    print("wrote", path)


if __name__ == "__main__":
    main()
