"""Golden for the Swift parity test of the frame field (Sources/ExemplarFit/FrameField.swift):
Training/frame_field.py's fit and apply on pairs made from Examples/coffee.png at 96×64 (the fit's
output taken as the before itself), applied to a second photo (the pair flipped).

    python3 Training/export_field_golden.py    # writes Tests/ExemplarFitTests/Goldens/frame-field.safetensors
"""
import os

import numpy as np

import export_operator_golden
import frame_field
import safetensors_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "vignette": [("vignette", {"amount": 0.6, "inner": 0.3, "outer": 0.9})],
    "graduated": [("graduated", {"angle": 0.3, "start": 0.3, "end": 0.7, "darken": 0.4,
                                 "tint": [0.08, -0.03, 0.05]})],
    # Nothing across the frame: the keep decision's "no" is checked too.
    "posterize": [("posterize", {"levels": 4})],
}


def main():
    out = {}
    for name, b, a, q in export_operator_golden.pairs(CASES):
        weights, error, baseline = frame_field.fit([(b, b, a)])
        out[f"{name}.before"], out[f"{name}.after"], out[f"{name}.query"] = b, a, q
        out[f"{name}.kept"] = np.array([0.0 if weights is None else 1.0])
        if weights is None:
            print(f"{name}: not kept")
            continue
        out[f"{name}.weights"] = weights
        out[f"{name}.applied"] = frame_field.apply(weights, q)
        print(f"{name}: |w|max {np.abs(weights).max():.3f}, held-out error / the fit's {error / baseline:.3f}")
    path = os.path.join(ROOT, "Tests", "ExemplarFitTests", "Goldens", "frame-field.safetensors")
    safetensors_io.save(path, {k: np.asarray(v, dtype=np.float32) for k, v in out.items()},
                        {"command": "python3 Training/export_field_golden.py", "numpy": np.__version__})
    print("wrote", path)


if __name__ == "__main__":
    main()
