"""Photos, their train/validation/benchmark split, and the exemplar-transfer training set.

Photos: Debian's `mate-backgrounds` and `plasma-workspace-wallpapers` (`apt install` them). The
scikit-image sample photos are deliberately not used: they are deltaflow's Examples/, which stay
unseen so the bundled workflow shows transfer to new photos. A "source" is one picture (a wallpaper ships in several resolutions: one source);
the split is by a hash of the source's name, so train, validation and benchmark never share a
photo, and adding photos never moves an old one to another split.

A training example is pair-of-pairs: an exemplar A → A′ (one photo, an edit θ) and a query B → B′
(another photo, the same θ). A is squeezed to 224×224 exactly as `encode_delta` does and encoded
by the frozen EfficientNet-Lite0; B is rendered at 128×128, edited, and area-downsampled to the
model's 64×64 (so B′ is what the edit at full resolution looks like at 64 px).
"""
import glob
import hashlib
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import edits

SPLITS = {"train": (0, 80), "val": (80, 85), "bench": (85, 100)}


def sources():
    """{source name: path of its largest file}."""
    found = {}
    for path in sorted(glob.glob("/usr/share/backgrounds/mate/**/*.*", recursive=True)):
        if path.lower().endswith((".jpg", ".jpeg", ".png")):
            stem = os.path.splitext(os.path.basename(path))[0].split("_")[0]
            found.setdefault("mate/" + stem, []).append(path)
    for path in sorted(glob.glob("/usr/share/wallpapers/*/contents/images*/*.*")):
        if path.lower().endswith((".jpg", ".jpeg", ".png")):
            found.setdefault("plasma/" + path.split("/")[4], []).append(path)
    return {name: max(paths, key=os.path.getsize) for name, paths in found.items()}


def split_of(name):
    bucket = int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100
    for split, (lo, hi) in SPLITS.items():
        if lo <= bucket < hi:
            return split
    raise AssertionError


def load_photo(path, short_side=512):
    """RGB float tensor `[3, H, W]` in 0…1, shorter side `short_side` (never upscaled)."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = short_side / min(im.size)
        if scale < 1:
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
        a = np.asarray(im, dtype=np.float32) / 255
    return torch.from_numpy(a).permute(2, 0, 1).contiguous()


def photos(split, short_side=512):
    return [(name, load_photo(path, short_side)) for name, path in sorted(sources().items()) if split_of(name) == split]


def random_crop(img, rng, min_scale=0.35):
    _, h, w = img.shape
    scale = rng.uniform(min_scale, 1.0)
    aspect = np.exp(rng.uniform(np.log(0.75), np.log(1.33)))
    ch = int(min(h, max(16, h * scale / np.sqrt(aspect) if h < w else h * scale)))
    cw = int(min(w, max(16, ch * aspect)))
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    crop = img[:, y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop.flip(2)
    return crop


def resize(img, h, w):
    return F.interpolate(img[None], size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


def color_affine(before, after):
    """Least-squares `after ≈ M·[r,g,b,1]` minus the identity, as `[12]` (encode_delta's color.affine)."""
    x = torch.cat([before.reshape(3, -1), torch.ones(1, before[0].numel())], 0).double()
    y = after.reshape(3, -1).double()
    a = x @ x.T + 1e-6 * torch.eye(4, dtype=torch.float64)
    m = torch.linalg.solve(a, x @ y.T).T  # 3×4
    m[:, :3] -= torch.eye(3, dtype=torch.float64)
    return m.float().reshape(12)


LUT_SIDE = 17


def fit_lut(before, after, n=LUT_SIDE):
    """A 3D colour lookup table before → after, `[n, n, n, 3]` (indexed r, g, b), as an offset from
    the identity (encode_delta's `color.lut`).

    The least-squares affine map, plus per node the mean residual of the pixels nearest to it;
    nodes without pixels borrow their neighbours' residual (normalised convolution over 3×3×3,
    weight `NEIGHBOUR`), shrunk toward the affine map by `PRIOR` pixels' worth of weight — so
    colours the exemplar never shows follow the affine map rather than an arbitrary cell.
    """
    x = before.reshape(3, -1).T.double()
    y = after.reshape(3, -1).T.double()
    m = color_affine(before, after).double().reshape(3, 4)
    m[:, :3] += torch.eye(3, dtype=torch.float64)
    sums, counts = cell_sums(x, y - (x @ m[:, :3].T + m[:, 3]), n)

    def box3(t):  # sum over the 3×3×3 neighbourhood, clipped at the cube's faces
        t = t.permute(3, 0, 1, 2)[None]
        k = torch.ones(t.shape[1], 1, 3, 3, 3, dtype=t.dtype)
        return F.conv3d(F.pad(t, (1, 1, 1, 1, 1, 1)), k, groups=t.shape[1])[0].permute(1, 2, 3, 0)

    res = (sums + NEIGHBOUR * box3(sums)) / (counts + NEIGHBOUR * box3(counts) + PRIOR)
    nodes = lut_nodes(n, torch.float64)
    table = nodes @ m[:, :3].T + m[:, 3] + res
    return (table - nodes).float()


def lut_nodes(n, dtype=torch.float32):
    """The colour of every node, `[n, n, n, 3]`."""
    grid = torch.linspace(0, 1, n, dtype=dtype)
    return torch.stack(torch.meshgrid(grid, grid, grid, indexing="ij"), -1)


def cell_sums(x, values, n):
    """Sums of `values` `[P, 3]` over the pixels `x` `[P, 3]` nearest each node, and their counts:
    `[n, n, n, 3]`, `[n, n, n, 1]`."""
    idx = (x * (n - 1)).round().long().clamp(0, n - 1)
    flat = (idx[:, 0] * n + idx[:, 1]) * n + idx[:, 2]
    sums = torch.zeros(n ** 3, 3, dtype=values.dtype).index_add_(0, flat, values)
    counts = torch.zeros(n ** 3, dtype=values.dtype).index_add_(0, flat, torch.ones(len(flat), dtype=values.dtype))
    return sums.reshape(n, n, n, 3), counts.reshape(n, n, n, 1)


NEIGHBOUR = 0.1
PRIOR = 1.0


def apply_lut(img, lut):
    """`img` `[3, H, W]` through a `fit_lut` table (trilinear), clamped to 0…1."""
    n = lut.shape[0]
    table = lut + lut_nodes(n)
    x = img.reshape(3, -1).T.clamp(0, 1) * (n - 1)
    i0 = x.floor().long().clamp(0, n - 2)
    f = x - i0
    out = torch.zeros_like(x)
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                w = (f[:, 0] if dr else 1 - f[:, 0]) * (f[:, 1] if dg else 1 - f[:, 1]) * (f[:, 2] if db else 1 - f[:, 2])
                out += w[:, None] * table[i0[:, 0] + dr, i0[:, 1] + dg, i0[:, 2] + db]
    return out.T.reshape(img.shape).clamp(0, 1)


def change_grid(before, after, side=32):
    """`after − before` averaged over a side×side grid: `[3, side, side]`."""
    return F.adaptive_avg_pool2d((after - before)[None], side)[0]


class Encoder:
    """The frozen EfficientNet-Lite0's stride-32 tokens, LN₀-normalised: `[N, 49, 320]`."""

    def __init__(self, models_dir=None):
        import efficientnet_lite0
        models_dir = models_dir or os.environ.get("DELTAFLOW_MODELS_DIR") or os.path.expanduser("~/.local/share/deltaflow/models")
        self.net = efficientnet_lite0.load(os.path.join(models_dir, "efficientnet-lite0.safetensors"))

    @torch.no_grad()
    def tokens(self, images):
        x = (torch.stack(images) * 255 - 127.5) / 128
        f = self.net(x)[0]["stride32"]  # N×320×7×7
        t = f.flatten(2).transpose(1, 2)
        return F.layer_norm(t, (t.shape[-1],), eps=1e-5)


def build(split, exemplars, queries, families, seed, encoder, compose_probability=0.25, size=64, log=print):
    """The examples of one split: dict of tensors (see module doc)."""
    rng = np.random.default_rng(seed)
    pool = photos(split)
    assert len(pool) >= 2, f"the {split} split has {len(pool)} photos"
    out = {k: [] for k in ("delta", "affine", "lut", "change", "b", "b_edited", "region", "family")}
    batch_a, batch_a2 = [], []
    for i in range(exemplars):
        edit = edits.sample_edit(rng, families, compose_probability)
        ia = int(rng.integers(len(pool)))
        a = resize(random_crop(pool[ia][1], rng), 224, 224)
        a2, _ = edits.apply_edit(edit, a)
        batch_a.append(a)
        batch_a2.append(a2)
        out["affine"].append(color_affine(a, a2))
        out["lut"].append(fit_lut(a, a2).half())
        out["change"].append(change_grid(a, a2))
        for _ in range(queries):
            ib = int(rng.integers(len(pool) - 1))
            ib += ib >= ia  # another photo than the exemplar's
            b = resize(random_crop(pool[ib][1], rng), 2 * size, 2 * size)
            b2, region = edits.apply_edit(edit, b)
            out["b"].append(F.avg_pool2d(b[None], 2)[0])
            out["b_edited"].append(F.avg_pool2d(b2[None], 2)[0])
            out["region"].append(F.avg_pool2d(region[None, None], 2)[0, 0])
            out["family"].append(edits.name(edit))
        if len(batch_a) == 64 or i == exemplars - 1:
            before, after = encoder.tokens(batch_a), encoder.tokens(batch_a2)
            out["delta"].append((after - before).half())
            batch_a, batch_a2 = [], []
            log(f"  {split}: {i + 1}/{exemplars} exemplars")
    data = {k: torch.stack(v) if k not in ("delta", "family") else v for k, v in out.items()}
    data["delta"] = torch.cat(out["delta"])
    data["b"] = (data["b"] * 255).round().to(torch.uint8)  # queries are 8-bit photos
    data["b_edited"] = data["b_edited"].half()
    data["region"] = data["region"].half()
    data["queries"] = queries
    return data
