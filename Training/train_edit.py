"""Trains the edit models (Training/edit_model.py) on procedural pair-of-pairs data; one command,
reproducible from its seed, resumable.

    python3 Training/train_edit.py                    # builds the data once, trains, exports
    python3 Training/train_edit.py --minutes 5        # more training: resumes from the checkpoint
    python3 Training/train_edit.py --export-only      # re-export the checkpoint's EMA weights

Scratch files (data, checkpoint) go to .build-training/ (git-ignored). Export writes
`Models/edit-v1.safetensors` (the EMA weights, F16) and the Swift parity golden
`Tests/ModelsTests/Goldens/edit-model.safetensors`.

Loss: region-aware bridge loss Σw‖x̂₀ − B′‖²/Σw (the x̂₀ form of the velocity loss) with w = 1 + 4·dilate(M), plus 0.5·(BCE + Dice) of
the mask logits against the generator's region M, plus 0.1·BCE of the correction's gate against
"the exemplar's fit misses B′ here by more than 4 levels". The adapter attention's gate sees the
ground-truth mask (randomly dilated or eroded) with a probability annealed from 1 to 0.2, else
the stopped-gradient prediction.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edit_data  # noqa: E402
import edit_model  # noqa: E402
import edits  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, ".build-training")
DATA_VERSION = 10  # (the colour step's subsampled pair changes nothing here: exemplars are 224 px, under both sizes) 10: no colour step where it barely beats none (bundled models: the examples of v8); 9: the exemplar's own pair as a query too (the training examples as in 8); 8: the hue shift (alone, or the table), exemplars drawn in seeded shards; 7: weaker ridges; 6: fits leave out clipped pixels; 5: the structured lean


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def dataset(args):
    path = os.path.join(SCRATCH, f"edit-data-v{DATA_VERSION}-{args.exemplars}x{args.queries}-seed{args.seed}.pt")
    if os.path.exists(path):
        return torch.load(path)
    os.makedirs(SCRATCH, exist_ok=True)
    log(f"building the data set ({args.exemplars} exemplars × {args.queries} queries); cached at {path}")
    encoder = edit_data.Encoder()
    data = {
        "train": edit_data.build("train", args.exemplars, args.queries, edits.SEEN, args.seed, encoder, log=log, workers=args.workers),
        **validation(args.seed, encoder, args.workers),
    }
    torch.save(data, path + ".tmp")
    os.replace(path + ".tmp", path)
    return data


def validation(seed, encoder, workers=1, log=log):
    """The validation splits: seen and held-out families on the validation photos, one edit each."""
    return {
        "val_seen": edit_data.build("val", 64, 4, edits.SEEN, seed + 1, encoder, compose_probability=0, log=log, workers=workers),
        "val_held_out": edit_data.build("val", 48, 4, edits.HELD_OUT, seed + 2, encoder, compose_probability=0, log=log, workers=workers),
    }


def batch(data, index, exemplars=False):
    """The examples `index` (a list or index tensor) as one batch, on the device that holds `data`;
    with `exemplars`, `index` counts exemplars and each one's own pair is the query (no region)."""
    index = torch.as_tensor(index, device=data["b"].device)
    ex = index if exemplars else torch.div(index, data["queries"], rounding_mode="floor")
    q = "a" if exemplars else "b"
    b = data[q][index].float() / 255
    out = {
        "delta": data["delta"][ex].float(), "affine": data["affine"][ex], "b": b,
        "cond": edit_model.make_cond(b, data[f"{q}_fit"][index].float(), data["change"][ex]),
        "b_edited": data[f"{q}_edited"][index].float(),
    }
    if not exemplars:
        out["region"] = data["region"][index].float()[:, None]
    return out


def on(device, data):
    """`data` with its tensors moved to `device` (indexing there beats copying every batch)."""
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in data.items()}


FIT_TOLERANCE = 4 / 255


def dice_bce(logits, target):
    p = torch.sigmoid(logits)
    inter = (p * target).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return F.binary_cross_entropy_with_logits(logits, target) + dice.mean()


def perturbed(region, rng):
    """The ground-truth mask, randomly dilated or eroded, as 16×16 logits for the gate."""
    m = F.adaptive_avg_pool2d(region, 16)
    k = int(rng.choice([1, 3]))
    if k > 1:
        m = F.max_pool2d(m, k, 1, k // 2) if rng.random() < 0.5 else -F.max_pool2d(-m, k, 1, k // 2)
    return (m.clamp(0.02, 0.98).logit()).detach()


def loss_of(model, bt, gen, rng, gt_gate_probability):
    n = bt["b"].shape[0]
    b, b2 = bt["b"], bt["b_edited"]
    # Half the batch at t = 1 exactly: the step every sampler takes first (and the only one at steps=1).
    t = torch.where(torch.rand(n, generator=gen) < 0.5, torch.ones(n), torch.rand(n, generator=gen)).to(b.device)
    x = (1 - t)[:, None, None, None] * b2 + t[:, None, None, None] * b
    x = x + 0.01 * (t * (1 - t)).sqrt()[:, None, None, None] * torch.randn(x.shape, generator=gen).to(b.device)
    tokens, g, logits = model.condition(bt["delta"], bt["affine"], bt["cond"])
    gate = perturbed(bt["region"], rng) if rng.random() < gt_gate_probability else logits.detach()
    strength = torch.ones(n, device=b.device)
    x0, fit_gate = model.estimate_gated(x, t, bt["cond"], tokens, g, gate, strength)
    w = 1 + 4 * F.max_pool2d(bt["region"], 5, 1, 2)
    bridge = (w * (x0 - b2) ** 2).sum() / (w.sum() * 3)
    mask = dice_bce(edit_model.upsample_mask(logits, b.shape[-1]), bt["region"])
    # The correction's gate opens where the exemplar's fit misses the truth by more than a few levels.
    wrong = ((bt["cond"][:, 3:6] - b2).abs().amax(1, keepdim=True) > FIT_TOLERANCE).float()
    gate_loss = F.binary_cross_entropy_with_logits(fit_gate, wrong)
    return bridge + 0.5 * mask + 0.1 * gate_loss, bridge.item(), mask.item()


def psnr(x, y):
    """Per-example PSNR (dB) of `[N, C, H, W]` batches."""
    return -10 * torch.log10(((x - y) ** 2).mean((1, 2, 3)).clamp_min(1e-10))


@torch.no_grad()
def scores(model, data, steps=2, exemplars=False):
    """Per example (per exemplar, its own pair, with `exemplars`): PSNR of the `steps`-step edit,
    of the exemplar's fit alone, of identity, and (queries only) the mask's IoU with the region."""
    count = len(data["delta"]) if exemplars else len(data["family"])
    out = {k: [] for k in ("edited", "fit", "identity", "iou")}
    for start in range(0, count, 64):
        bt = batch(data, list(range(start, min(start + 64, count))), exemplars)
        edited, logits, _ = model.edit(bt["b"], bt["cond"], bt["delta"], bt["affine"], steps=steps)
        out["edited"].append(psnr(edited.clamp(0, 1), bt["b_edited"]))
        out["fit"].append(psnr(bt["cond"][:, 3:6], bt["b_edited"]))
        out["identity"].append(psnr(bt["b"], bt["b_edited"]))
        if not exemplars:
            pred = (edit_model.upsample_mask(logits, 64) > 0).float()
            inter = (pred * bt["region"]).sum((1, 2, 3))
            out["iou"].append(inter / ((pred + bt["region"]) > 0).float().sum((1, 2, 3)).clamp_min(1))
    return {k: torch.cat(v).cpu() for k, v in out.items() if v}


def evaluate(model, data, steps=2):
    """PSNR of the 2-step edit, of identity, and mask IoU, per family; and the mean PSNR gain."""
    s = scores(model, data, steps)
    rows = {}
    for i, family in enumerate(data["family"]):
        rows.setdefault(family, []).append((s["edited"][i].item(), s["identity"][i].item(), s["iou"][i].item()))
    summary = {f: tuple(float(np.mean([r[j] for r in v])) for j in range(3)) for f, v in sorted(rows.items())}
    gain = float(np.mean([x[0] - x[1] for x in summary.values()]))
    return summary, gain


def export(model, cfg, data, args):
    os.makedirs(os.path.join(ROOT, "Models"), exist_ok=True)
    weights = {k: v.detach().numpy().astype(np.float16) for k, v in model.state_dict().items()}
    meta = {"config": json.dumps(cfg.as_dict()), "trained_steps": args.step, "seed": args.seed,
            "command": "python3 Training/train_edit.py", "families_seen": ",".join(edits.SEEN),
            "families_held_out": ",".join(edits.HELD_OUT)}
    path = os.path.join(ROOT, "Models", "edit-v1.safetensors")
    safetensors_io.save(path, weights, meta)
    log(f"exported {path} ({os.path.getsize(path) / 1e6:.2f} MB)")
    # Parity golden: the exported (F16-rounded) weights on four validation examples.
    model16 = edit_model.load(path)
    bt = batch(on("cpu", data["val_seen"]), [0, 5, 9, 13])
    strength = torch.tensor([1.0, 0.5, 1.0, 1.5])
    with torch.no_grad():
        tokens, g, logits = model16.condition(bt["delta"], bt["affine"], bt["cond"])
        v1 = model16.velocity(bt["b"], torch.ones(4), bt["cond"], tokens, g, logits, strength)
        out, _, gate = model16.edit(bt["b"], bt["cond"], bt["delta"], bt["affine"], steps=2, strength=strength)
    nhwc = lambda t: t.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32)  # noqa: E731
    golden = {
        "delta": bt["delta"].numpy(), "affine": bt["affine"].numpy(), "b": nhwc(bt["b"]),
        "cond": nhwc(bt["cond"]), "strength": strength.numpy(), "tokens": tokens.numpy(),
        "global": g.numpy(), "mask_logits": nhwc(logits), "velocity_t1": nhwc(v1), "edited_2steps": nhwc(out),
        "gate_2steps": nhwc(gate),
    }
    gpath = os.path.join(ROOT, "Tests", "ModelsTests", "Goldens", "edit-model.safetensors")
    safetensors_io.save(gpath, {k: np.asarray(v, dtype=np.float32) for k, v in golden.items()},
                        {"command": "python3 Training/train_edit.py --export-only", "torch": torch.__version__})
    log(f"exported {gpath}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=100, help="training time budget of this invocation")
    p.add_argument("--steps", type=int, default=20000, help="total optimiser steps")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--exemplars", type=int, default=2500)
    p.add_argument("--queries", type=int, default=6)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="processes building the data (the data do not depend on it)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--device", default="auto", help="cpu, cuda, … (auto: cuda when available); the data are built on the CPU")
    p.add_argument("--anneal-by-time", action="store_true",
                   help="end the schedule (learning rate to 0) within --minutes even if --steps are not reached: "
                        "for a run with a fixed time (a lent GPU); a later resume starts from the annealed end")
    p.add_argument("--data-only", action="store_true", help="build (or find) the data set, then stop")
    p.add_argument("--export-only", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = dataset(args)
    if args.data_only:
        return
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    cfg = edit_model.Config()
    model = edit_model.EditModel(cfg).to(device)
    ema = edit_model.EditModel(cfg).to(device)
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    ckpt_path = os.path.join(SCRATCH, f"edit-checkpoint-seed{args.seed}.pt")
    args.step = 0
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, weights_only=False, map_location=device)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"].cpu())
        rng.bit_generator.state = ck["rng"]
        args.step = ck["step"]
        log(f"resumed from {ckpt_path} at step {args.step}")

    def save():
        ck = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
              "gen": gen.get_state(), "rng": rng.bit_generator.state, "step": args.step}
        torch.save(ck, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    data = {name: on(device, d) for name, d in data.items()}
    train = data["train"]
    n = len(train["family"])
    start = time.time()
    if not args.export_only:
        log(f"training {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters on {n} examples ({device})")
        losses = []
        while args.step < args.steps and time.time() - start < args.minutes * 60:
            progress = args.step / args.steps
            if args.anneal_by_time:
                progress = max(progress, (time.time() - start) / (args.minutes * 60))
            lr = args.lr * min(1, (args.step + 1) / 300) * 0.5 * (1 + np.cos(np.pi * progress))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = torch.randint(n, (args.batch,), generator=gen).tolist()
            bt = batch(train, idx)
            loss, bridge, mask = loss_of(model, bt, gen, rng, gt_gate_probability=max(0.2, 1 - 1.6 * progress))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            decay = min(0.999, (1 + args.step) / (10 + args.step))
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - decay)
            args.step += 1
            losses.append((bridge, mask))
            if args.step % 100 == 0:
                b, m = np.mean(losses, axis=0)
                losses = []
                log(f"step {args.step}: bridge {b:.5f} mask {m:.4f} lr {lr:.2e} "
                    f"({(time.time() - start) / 60:.1f} min)")
            if args.step % 500 == 0:
                save()
            if args.step % 2000 == 0:
                ema.eval()
                for name in ("val_seen", "val_held_out"):
                    summary, gain = evaluate(ema, data[name])
                    log(f"  {name}: mean PSNR gain over identity {gain:+.2f} dB")
        save()
    ema.eval()
    for name in ("val_seen", "val_held_out"):
        summary, gain = evaluate(ema, data[name])
        log(f"{name}: mean PSNR gain over identity {gain:+.2f} dB")
        for fam, (psnr, psnr0, iou) in summary.items():
            log(f"  {fam:12s} PSNR {psnr:6.2f} (identity {psnr0:6.2f})  mask IoU {iou:.2f}")
    export(ema.cpu(), cfg, data, args)


if __name__ == "__main__":
    main()
