"""Golden for the Swift parity test of the exemplar fit (`encode_delta`'s spatial filter, tone curves,
hue shift, chroma gain, colour table and grain): Training/edit_data.py's `fit` — the specification
the training data used — and `grain_of`, on sixteen pairs made from Examples/coffee.png at 160×107 and one from astronaut.png.

    python3 Training/export_fit_golden.py    # writes Tests/ExemplarFitTests/Goldens/exemplar-fit.safetensors
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import edit_data
import edits
import safetensors_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "gamma_blur": [("gamma", {"g": 1.6}), ("blur", {"sigma": 0.012})],
    "saturation": [("saturation", {"s": 1.8})],
    "sharpen": [("sharpen", {"sigma": 0.006, "k": 1.2})],
    "recolor": [("recolor", {"center": 0.02, "width": 0.06, "shift": 0.3})],
    "recolor_wide": [("recolor", {"center": 0.06, "width": 0.1, "shift": 0.3})],  # every hue coffee has
    "grain": [("grain", {"sigma": 0.05, "seed": 7})],  # no colour step
    "coarse_grain": None,  # `coarse_grain`: grain a gaussian blur cannot make, of a size the fit reads
    "hue": [("hue", {"shift": 0.2})],  # every hue turned: the smooth hue shift
    "posterize": [("posterize", {"levels": 4})],  # tone curves of each channel
    "solarize": [("solarize", {"t": 0.55})],
    "threshold": [("threshold", {"t": 0.45, "dark": [0.1, 0.05, 0.2], "light": [0.95, 0.9, 0.7]})],  # of the luma
    "median": [("median", {"radius": 0.02})],  # a rank filter: radius 2 at 107 px
    "dilate": [("morph", {"radius": 0.012, "dilate": True})],  # the window's maximum, radius 1
    "clarity": [("clarity", {"amount": 1.2, "sigma": 0.02})],  # the luma's unsharp mask, in the midtones
    # Curves of the luma tie the table by place; colours held out choose the table.
    "grayscale": [("grayscale", {"amount": 0.9})],
    # One hue band kept, the rest greyed: the chroma gain (on a photo of many hues, below).
    "keep_colour": [("keep_colour", {"center": 0.0, "width": 0.1})],
    # An edge-keeping smoothing: the bilateral filter (σ 1.7 px at 107 px).
    "bilateral": [("bilateral", {"sigma": 0.016, "range": 0.15})],
}
# Cases on another photo than coffee's browns: (file, height, width).
PHOTOS = {"keep_colour": ("astronaut.png", 120, 120)}
CHOICES = ("table", "hue", "unchanged", "curves-shared", "curves-channel", "curves-luma", "chroma")


def coarse_grain(img, sigma=0.04, seed=7):
    """`img` plus monochrome noise smoothed by [¼ ½ ¼] along both axes (edges clamped), σ `sigma`."""
    _, h, w = img.shape
    n = torch.randn(1, 1, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    t = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64) / 0.375 ** 0.5
    n = F.conv2d(F.pad(n, (1, 1, 0, 0), mode="replicate"), t.view(1, 1, 1, 3))
    n = F.conv2d(F.pad(n, (0, 0, 1, 1), mode="replicate"), t.view(1, 1, 3, 1))
    return (img + sigma * n[0].float()).clamp(0, 1)


def main():
    def photo(file, h, w):
        with Image.open(os.path.join(ROOT, "Examples", file)) as im:
            rgb = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
        return edit_data.quantised(edit_data.resize(rgb, h, w))

    coffee = photo("coffee.png", 107, 160)
    out = {}
    for name, edit in CASES.items():
        before = photo(*PHOTOS[name]) if name in PHOTOS else coffee
        after = edit_data.quantised(coarse_grain(before) if edit is None else edits.apply_edit(edit, before)[0])
        filt, shift, lut, tone, chroma = edit_data.fit(before, after)
        filtered = edit_data.spatial(before, filt)
        choice = edit_data.choose_colour(filtered, after)
        curves = edit_data.choose_prior(filtered, after) == "curves"
        out[f"{name}.before"] = before.permute(1, 2, 0).numpy()
        out[f"{name}.after"] = after.permute(1, 2, 0).numpy()
        spread = filt[3] if len(filt) > 3 else 0.0
        out[f"{name}.spatial"] = np.array([filt[1], filt[2], edit_data.SPATIAL_KINDS.index(filt[0]), spread],
                                          dtype=np.float32)
        out[f"{name}.curves"] = np.array([1.0 if curves else 0.0], dtype=np.float32)
        out[f"{name}.choice"] = np.array([CHOICES.index(choice)], dtype=np.float32)
        out[f"{name}.tone_curves"] = torch.stack([tone[0], tone[1]]).numpy()
        out[f"{name}.luma_mix"] = np.array([tone[2]], dtype=np.float32)
        out[f"{name}.hue"] = shift.numpy()
        out[f"{name}.chroma"] = chroma.numpy()
        out[f"{name}.lut"] = lut.numpy()
        out[f"{name}.grain"] = edit_data.grain_of(before, after, (filt, shift, lut, tone, chroma)).numpy()
        print(f"{name}: spatial {filt[0]} {filt[1]:.4f} k {filt[2]:.3f}, prior {'curves' if curves else 'affine'}, colour {choice}, "
              f"grain σ {float(out[f'{name}.grain'][0].diagonal().max()) ** 0.5:.4f}")
    path = os.path.join(ROOT, "Tests", "ExemplarFitTests", "Goldens", "exemplar-fit.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    safetensors_io.save(path, {k: np.asarray(v, dtype=np.float32) for k, v in out.items()},
                        {"command": "python3 Training/export_fit_golden.py", "torch": torch.__version__})
    print("wrote", path)


if __name__ == "__main__":
    main()
