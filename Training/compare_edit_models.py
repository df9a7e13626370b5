"""Validation PSNR per family of exported edit models (F16 safetensors) on the cached data set:

    python3 Training/compare_edit_models.py Models/edit-v1.safetensors other.safetensors
"""
import glob
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edit_model  # noqa: E402
import safetensors_io  # noqa: E402
import train_edit  # noqa: E402

found = sorted(glob.glob(os.path.join(train_edit.SCRATCH, f"edit-data-v{train_edit.DATA_VERSION}-*.pt")))
if not found:
    sys.exit(f"no data set v{train_edit.DATA_VERSION} in {train_edit.SCRATCH}: run train_edit.py --data-only first")
data = torch.load(found[-1])
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
for path in sys.argv[1:]:
    model = edit_model.EditModel(edit_model.Config())
    model.load_state_dict({k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in safetensors_io.load(path).items()})
    model = model.to(device).eval()
    for name in ("val_seen", "val_held_out"):
        summary, gain = train_edit.evaluate(model, train_edit.on(device, data[name]))
        print(f"{path} {name}: mean PSNR gain over identity {gain:+.2f} dB")
        for fam, (psnr, psnr0, iou) in summary.items():
            print(f"  {fam:12s} PSNR {psnr:6.2f} (identity {psnr0:6.2f})  mask IoU {iou:.2f}")
