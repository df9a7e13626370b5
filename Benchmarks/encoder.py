"""The exemplar encoder (EfficientNet-Lite0, 224², batch 1) in deltaflow, ONNX Runtime and PyTorch:
same weights, same input, same thread count, timed in interleaved rounds.

    pip install torch==2.13.0 onnxruntime==1.32.0 onnx numpy
    bash .ci/install                       # converts the weights into the model directory
    swift build -c release --product tensor-bench
    python3 Benchmarks/encoder.py [--rounds 6] [--runs 10] [--models DIR]

Like tensor_core.py, each engine gets its fastest run (uncontended speed) and its median (what
the shared VM's slow minutes cost); the logits are checked against PyTorch's first.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
import efficientnet_lite0  # noqa: E402
import safetensors_io  # noqa: E402
from interleaved import compare_engines, print_comparison  # noqa: E402
from convert_efficientnet import OUTPUT_NAME, default_models_dir  # noqa: E402

BENCH = os.path.join(ROOT, ".build/release/tensor-bench")


class LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--models", default=default_models_dir())
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit("build first: swift build -c release --product tensor-bench")
    import onnxruntime as ort
    weights = os.path.join(args.models, OUTPUT_NAME)
    model = LogitsOnly(efficientnet_lite0.load(weights)).eval()
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32))
    tmp = tempfile.mkdtemp(prefix="df-encoder-")
    inputs, onnx_path, out_path = (os.path.join(tmp, n) for n in ("in.safetensors", "encoder.onnx", "logits.bin"))
    safetensors_io.save(inputs, {"x": x.numpy()})
    torch.onnx.export(model, (x,), onnx_path, input_names=["x"], output_names=["logits"], dynamo=False, opset_version=17)
    with torch.no_grad():
        reference = model(x).numpy()
    print(f"EfficientNet-Lite0, 1x3x224x224; torch {torch.__version__}, onnxruntime {ort.__version__}")
    results = compare_engines([BENCH, "encoder", weights, inputs, out_path], out_path, reference, onnx_path,
                              {"x": x.numpy()}, lambda: model(x), args.rounds, args.runs)
    print_comparison(results, "max|err| logits")


if __name__ == "__main__":
    main()
