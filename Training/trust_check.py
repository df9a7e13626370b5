"""Does the edit models' correction help, per validation exemplar, and can the exemplar tell in
advance? The experiment behind `encode_delta`'s `model.trust` (Sources/ModelNodes/DeltaNodes.swift):

    python3 Training/trust_check.py [Models/edit-v1.safetensors] [--margin 0.5]

The validation exemplars of `train_edit.py` (seen families: seed 2, 64 exemplars; held out: seed
3, 48; 4 queries each), at the models' 64 px. Per exemplar: the models' 2-step edit and the fit
alone, scored on the exemplar's own after ("self") and on its queries' truths; the rule keeps the
correction where it beats the fit on the exemplar by `--margin` dB. Prints per-family PSNR of the
correction always, never, and as the rule picks, and how often the rule picked it. ~5 minutes on
2 cores.
"""
import argparse
import collections
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edit_data  # noqa: E402
import edit_model  # noqa: E402
import edits  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def psnr(a, b):
    return float(-10 * torch.log10(((a - b) ** 2).mean().clamp_min(1e-10)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", default=os.path.join(ROOT, "Models", "edit-v1.safetensors"))
    p.add_argument("--margin", type=float, default=0.5)
    args = p.parse_args()
    encoder = edit_data.Encoder()
    model = edit_model.EditModel(edit_model.Config())
    model.load_state_dict({k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in safetensors_io.load(args.model).items()})
    model.eval()

    def low(img):  # 128 px → the models' 64, by area, as the data and EditQuery do
        return F.avg_pool2d(img[None], 2)[0]

    def corrected(b, b_fit, change, delta, affine):
        cond = edit_model.make_cond(b[None], b_fit[None], change[None])
        with torch.no_grad():
            return model.edit(b[None], cond, delta[None], affine[None], steps=2)[0][0].clamp(0, 1)

    rows = collections.defaultdict(list)  # family → (always, never, rule, picked)
    pool = edit_data.photos("val")
    for families, seed, count in ((edits.SEEN, 2, 64), (edits.HELD_OUT, 3, 48)):
        for shard in range((count + edit_data.SHARD - 1) // edit_data.SHARD):
            rng = np.random.default_rng([seed, shard])
            for _ in range(min(edit_data.SHARD, count - shard * edit_data.SHARD)):
                edit = edits.sample_edit(rng, families, 0)
                ia = int(rng.integers(len(pool)))
                a = edit_data.resize(edit_data.random_crop(pool[ia][1], rng), 224, 224)
                a2, _ = edits.apply_edit(edit, a)
                affine, fitted, change = edit_data.color_affine(a, a2), edit_data.fit(a, a2), edit_data.change_grid(a, a2)
                delta = (encoder.tokens([a2]) - encoder.tokens([a]))[0]
                a128, a2_128 = edit_data.resize(a, 128, 128), edit_data.resize(a2, 128, 128)
                a_fit = low(edit_data.apply_fit(a128, fitted))
                self_model = psnr(corrected(low(a128), a_fit, change, delta, affine), low(a2_128))
                picked = self_model > psnr(a_fit, low(a2_128)) + args.margin
                for _ in range(4):
                    ib = int(rng.integers(len(pool) - 1))
                    ib += ib >= ia
                    b = edit_data.resize(edit_data.random_crop(pool[ib][1], rng), 128, 128)
                    b2, _ = edits.apply_edit(edit, b)
                    b_fit = low(edit_data.apply_fit(b, fitted))
                    always, never = psnr(corrected(low(b), b_fit, change, delta, affine), low(b2)), psnr(b_fit, low(b2))
                    rows[edits.name(edit)].append((always, never, always if picked else never, picked))
    for held in (False, True):
        fams = sorted(f for f in rows if (f in edits.HELD_OUT) == held)
        for f in fams:
            a = np.array(rows[f], dtype=float)
            print(f"{f:12s} correction always {a[:, 0].mean():6.2f}  never {a[:, 1].mean():6.2f}  "
                  f"as picked {a[:, 2].mean():6.2f}  (picked for {int(a[:, 3].sum()) // 4} of {len(a) // 4})")
        means = np.array([np.array(rows[f], dtype=float)[:, :3].mean(0) for f in fams]).mean(0)
        print(f"{'held out' if held else 'seen'} means: always {means[0]:.2f}, never {means[1]:.2f}, as picked {means[2]:.2f}\n")


if __name__ == "__main__":
    main()
