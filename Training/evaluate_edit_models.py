"""Exported edit models on the validation splits of `train_edit.py`, per family at the models'
64 px: PSNR with the correction always on (and the mask's IoU with the edit's region), the
exemplar's fit alone, and the correction only where `encode_delta`'s test keeps it — where,
run on the exemplar's own pair, it beats the fit by `--margin` dB (`model.trust`,
Sources/ModelNodes/DeltaNodes.swift) — with how often the test kept it.

    python3 Training/evaluate_edit_models.py [MODEL ...] [--margin 0.5] [--seed 1]

MODEL defaults to Models/edit-v1.safetensors. The validation splits come from the cached data set
of that seed when there, else are built (about 3 minutes on 2 cores).
"""
import argparse
import glob
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edit_data  # noqa: E402
import edit_model  # noqa: E402
import train_edit  # noqa: E402


def validation(seed):
    pattern = f"edit-data-v{train_edit.DATA_VERSION}-*-seed{seed}.pt"
    for path in sorted(glob.glob(os.path.join(train_edit.SCRATCH, pattern))):
        data = torch.load(path)
        return {k: data[k] for k in ("val_seen", "val_held_out")}
    return train_edit.validation(seed, edit_data.Encoder(), len(os.sched_getaffinity(0)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", default=[os.path.join(train_edit.ROOT, "Models", "edit-v1.safetensors")])
    p.add_argument("--margin", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = {name: train_edit.on(device, d) for name, d in validation(args.seed).items()}
    for path in args.models:
        model = edit_model.load(path).to(device)
        for name, d in data.items():
            own = train_edit.scores(model, d, exemplars=True)
            kept = own["edited"] > own["fit"] + args.margin
            s = train_edit.scores(model, d)
            exemplar = torch.arange(len(d["family"])) // d["queries"]
            picked = torch.where(kept[exemplar], s["edited"], s["fit"])
            print(f"{path}, {name}:")
            means = []
            for family in sorted(set(d["family"])):
                i = torch.tensor([f == family for f in d["family"]])
                row = [s["edited"][i].mean().item(), s["fit"][i].mean().item(), picked[i].mean().item(), s["identity"][i].mean().item()]
                means.append(row)
                print(f"  {family:12s} correction always {row[0]:6.2f} (mask IoU {s['iou'][i].mean():.2f})  fit alone {row[1]:6.2f}  "
                      f"as kept {row[2]:6.2f}  identity {row[3]:6.2f}  kept for {int(kept[exemplar[i]].sum()) // d['queries']} of "
                      f"{int(i.sum()) // d['queries']}")
            m = np.mean(means, axis=0)
            print(f"  means: correction always {m[0]:.2f}, fit alone {m[1]:.2f}, as kept {m[2]:.2f}, identity {m[3]:.2f}")


if __name__ == "__main__":
    main()
