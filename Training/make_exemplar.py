"""Writes Exemplars/astronaut-graded.png: Examples/astronaut.png with a warm "golden hour"
grade (warmer whites, cooler-free shadows, gentle S-curve, a little more saturation) — the bundled
exemplar's "after". Deterministic; numpy and Pillow only.

    python3 Training/make_exemplar.py
"""
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
x = np.asarray(Image.open(os.path.join(ROOT, "Examples/astronaut.png")).convert("RGB")).astype(np.float64) / 255
warm = x * np.array([1.08, 1.0, 0.84]) + np.array([0.03, 0.01, 0.0])
curve = warm + 0.12 * np.sin(2 * np.pi * warm) / (2 * np.pi) * -1  # S-curve: darker shadows, brighter highlights
luma = curve @ np.array([0.299, 0.587, 0.114])
graded = np.clip(luma[..., None] + 1.15 * (curve - luma[..., None]), 0, 1)
out = os.path.join(ROOT, "Exemplars/astronaut-graded.png")
Image.fromarray((graded * 255 + 0.5).astype(np.uint8)).save(out, optimize=True)
print(f"wrote {out}")
