"""The bundled edit models (Models/edit-v1.safetensors) as adapter_edit runs them for one photo —
the adapter and mask head on the exemplar's delta, then two bridge steps of the denoiser at 64×64,
batch 1 — in deltaflow, ONNX Runtime and PyTorch: same weights, same inputs, same thread count,
timed in interleaved rounds.

    pip install torch==2.13.0 onnxruntime==1.32.0 onnx numpy
    swift build -c release --product tensor-bench
    python3 Benchmarks/edit_model.py [--rounds 6] [--runs 20]

Like tensor_core.py, each engine gets its fastest run (uncontended speed) and its median (what
the shared VM's slow minutes cost); deltaflow's edited photo is checked against PyTorch's first.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
import edit_model  # noqa: E402
import safetensors_io  # noqa: E402
from interleaved import compare_engines, print_comparison  # noqa: E402

BENCH = os.path.join(ROOT, ".build/release/tensor-bench")
WEIGHTS = os.path.join(ROOT, "Models", "edit-v1.safetensors")
STEPS = 2


class Edit(torch.nn.Module):
    """`EditModel.edit` without noise, as one traceable forward: condition, then `STEPS` Euler steps."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, b, cond, delta, affine):
        tokens, g, logits = self.model.condition(delta, affine, cond)
        strength = torch.ones(b.shape[0])
        x = b
        for i in range(STEPS):
            t, t_next = 1 - i / STEPS, 1 - (i + 1) / STEPS
            x0 = self.model.estimate(x, torch.full((b.shape[0],), t), cond, tokens, g, logits, strength)
            x = x - (t - t_next) * (x - x0) / t
        return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit("build first: swift build -c release --product tensor-bench")
    import onnxruntime as ort
    model = Edit(edit_model.load(WEIGHTS)).eval()
    size = model.model.cfg.size
    rng = np.random.default_rng(0)
    b = torch.from_numpy(rng.uniform(0, 1, (1, 3, size, size)).astype(np.float32))
    fitted = (b * 0.9 + 0.05).clamp(0, 1)
    change = torch.from_numpy(rng.normal(0, 0.05, (1, 3, 32, 32)).astype(np.float32))
    cond = edit_model.make_cond(b, fitted, change)
    delta = torch.from_numpy(rng.normal(0, 1, (1, 49, 320)).astype(np.float32))
    affine = torch.from_numpy(rng.normal(0, 0.05, (1, 12)).astype(np.float32))
    feed = {"b": b.numpy(), "cond": cond.numpy(), "delta": delta.numpy(), "affine": affine.numpy()}
    tmp = tempfile.mkdtemp(prefix="df-edit-")
    inputs, onnx_path, out_path = (os.path.join(tmp, n) for n in ("in.safetensors", "edit.onnx", "edited.bin"))
    safetensors_io.save(inputs, feed)
    torch.onnx.export(model, (b, cond, delta, affine), onnx_path, input_names=list(feed), output_names=["edited"],
                      dynamo=False, opset_version=17)
    with torch.no_grad():
        reference = model(b, cond, delta, affine).numpy()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"edit models ({params:.2f}M parameters), adapter + mask + {STEPS} denoiser steps at {size}²; "
          f"torch {torch.__version__}, onnxruntime {ort.__version__}")
    results = compare_engines([BENCH, "edit", WEIGHTS, inputs, out_path], out_path, reference, onnx_path, feed,
                              lambda: model(b, cond, delta, affine), args.rounds, args.runs)
    print_comparison(results, "max|err|")


if __name__ == "__main__":
    main()
