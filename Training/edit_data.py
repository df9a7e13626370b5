"""Photos, their train/validation/benchmark split, and the exemplar-transfer training set.

Photos: Debian's `mate-backgrounds` and `plasma-workspace-wallpapers` (`apt install` them). The
scikit-image sample photos are deliberately not used: they are deltaflow's Examples/, which stay
unseen so the bundled workflow shows transfer to new photos. A "source" is one picture (a wallpaper ships in several resolutions: one source);
the split is by a hash of the source's name, so train, validation and benchmark never share a
photo, and adding photos never moves an old one to another split.

A training example is pair-of-pairs: an exemplar A → A′ (one photo, an edit θ) and a query B → B′
(another photo, the same θ). A is squeezed to 224×224 exactly as `encode_delta` does and encoded
by the frozen EfficientNet-Lite0, and the exact part of the edit is fitted on it (`fit`: a spatial
filter and a colour table, as encode_delta fits them); B is rendered at 128×128, edited and put
through that fit, and both are area-downsampled to the model's 64×64 (so B′ is what the edit at
full resolution looks like at 64 px). A itself goes through the same as a query of its own (`a`,
`a_fit`, `a_edited`: what encode_delta's test of the models' correction reads).
The arrays encode_delta stores, and how each is fitted: Docs/delta-format.md, Docs/exemplar-fit.md.
"""
import contextlib
import glob
import hashlib
import math
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


def quantised(img):
    """What an 8-bit PNG of `img` reads back as: exemplars, photos and truths live in 8 bits."""
    return (img.clamp(0, 1) * 255).round() / 255


def evaluation_crop(photo, rng, side):
    """A random crop of at least half of `photo`, its longer side resized to `side`: the
    exemplars and queries of Benchmarks/edit_transfer.py and Training/evaluate_fit.py."""
    c = random_crop(photo, rng, min_scale=0.5)
    _, h, w = c.shape
    s = side / max(h, w)
    return resize(c, max(8, round(h * s)), max(8, round(w * s)))


def color_affine(before, after):
    """The affine map `after ≈ M·[r,g,b,1]` (the colour table's affine prior: least squares, leaning
    toward `structured_map` where the pair leaves it undetermined) minus the identity, as `[12]`
    (encode_delta's color.affine)."""
    x, y = (t.reshape(3, -1).T.double() for t in (before, after))
    m = torch.stack(_prior_weights(x, y, False))  # 3×4
    m[:, :3] -= torch.eye(3, dtype=torch.float64)
    return m.float().reshape(12)


def shrunk(img, side):
    """`img` with its longer side at most `side` (aspect kept; never enlarged)."""
    _, h, w = img.shape
    scale = min(1.0, side / max(h, w))
    return img if scale == 1 else resize(img, max(1, round(h * scale)), max(1, round(w * scale)))


LUT_SIDE = 17


def fit_lut(before, after, n=LUT_SIDE, affine_error=None):
    """A 3D colour lookup table before → after, `[n, n, n, 3]` (indexed r, g, b), as an offset from
    the identity (encode_delta's `color.lut`).

    A smooth global map (the prior), plus per node the mean residual of the pixels nearest to it;
    nodes without pixels borrow their neighbours' residual (normalised convolution over 3×3×3,
    weight `NEIGHBOUR`), shrunk toward the prior by `PRIOR` pixels' worth of weight — so colours
    the exemplar never shows follow the prior rather than an arbitrary cell. The prior is the
    affine map or the affine map plus one tone curve per channel (`fit_prior`), whichever predicts
    held-out blocks of the exemplar better (`choose_prior`): a photo covers each channel's range
    far better than the colour cube, so curves extrapolate gamma, gain or levels where the affine
    map cannot, but they bend a saturation or hue edit's clipping into the wrong colours.
    """
    curves = choose_prior(before, after, affine_error) == "curves"
    x = before.reshape(3, -1).T.double()
    y = after.reshape(3, -1).T.double()
    return _table(x, y, fit_prior(x, y, curves), n)


def censored_residual(y, predicted):
    """`y − predicted`, but 0 where `y` sits at a bound `predicted` overshoots: the table's clamp
    gives that pixel its value, so its cell keeps the prior's slope (a clipped levels or exposure
    edit's cells would otherwise bend the map back below the clip)."""
    clip = _clipped(y)
    agree = ((clip > 0) & (predicted > 1)) | ((clip < 0) & (predicted < 0))
    return torch.where(agree, torch.zeros_like(y), y - predicted)


def _table(x, y, prior, n):
    sums, counts = cell_sums(x, censored_residual(y, prior(x)), n)

    def box3(t):  # sum over the 3×3×3 neighbourhood, clipped at the cube's faces
        t = t.permute(3, 0, 1, 2)[None]
        k = torch.ones(t.shape[1], 1, 3, 3, 3, dtype=t.dtype)
        return F.conv3d(F.pad(t, (1, 1, 1, 1, 1, 1)), k, groups=t.shape[1])[0].permute(1, 2, 3, 0)

    res = (sums + NEIGHBOUR * box3(sums)) / (counts + NEIGHBOUR * box3(counts) + PRIOR)
    nodes = lut_nodes(n, torch.float64)
    table = prior(nodes.reshape(-1, 3)).reshape(n, n, n, 3) + res
    return (table - nodes).float()


# Ridges in units of the photo's mean channel variance (`_spread`).
AFFINE_RIDGE = 0.003     # pulls the 3×3 map toward `structured_map` (1e-6 absolute let a sky-filled exemplar
                         # send colours it lacks anywhere; 0.03 held a hue rotation to the structured map's
                         # plain rotation: hue 24.9 dB on the validation photos, 32.1 at 0.003)
SIMILARITY_RIDGE = 1e-6  # pulls the structured map's colour scale and rotation toward none (1e-3 outweighed
                         # a tinted gradient's faint colour texture: its grayscale kept other photos' colours)
FLAT_RIDGE = 1e-4        # pulls a flat channel's gain toward 1
STRUCTURE_MARGIN = 0.8   # the luma/colour-difference map must beat the per-channel one by 20%
CLIP_MIN_SHARE = 0.05    # a channel clipped in more of the exemplar than 95% is fitted on all of it
CURVE_KNOTS = 17
CURVE_SMOOTH = 1e-2   # weight of the curves' squared second differences (per knot spacing²)
CURVE_RIDGE = 1e-4    # pulls a curve toward zero where the affine part explains the data
CV_BLOCKS = 4         # the held-out test: a 4×4 checkerboard of the exemplar, each half predicting the other
CV_MARGIN = 0.9       # curves must cut the held-out error by 10% to be chosen


def _hats(v, n=CURVE_KNOTS):
    """Piecewise-linear hat functions of `v` `[P]` in 0…1 on n knots: `[P, n]`."""
    s = v.clamp(0, 1) * (n - 1)
    i0 = s.floor().long().clamp(0, n - 2)
    f = s - i0
    h = torch.zeros(v.shape[0], n, dtype=v.dtype)
    h.scatter_(1, i0[:, None], (1 - f)[:, None])
    h.scatter_add_(1, (i0 + 1)[:, None], f[:, None])
    return h


def fit_prior(x, y, curves):
    """The least-squares map `y_c ≈ M_c·[r, g, b, 1] (+ φ_c(x_c))` on pixels `x`, `y` `[P, 3]`
    (float64): φ_c a piecewise-linear curve of the same channel when `curves`. Returns the map
    as a function of `[Q, 3]` colours."""
    weights = _prior_weights(x, y, curves)
    return lambda z: torch.stack([_features(z, c, curves) @ weights[c] for c in range(3)], 1)


def _features(z, c, curves):
    f = torch.cat([z, torch.ones(z.shape[0], 1, dtype=z.dtype)], 1)
    return torch.cat([f, _hats(z[:, c])], 1) if curves else f


# Luma and two colour differences: the coordinates in which saturation, grayscale, hue and sepia
# edits are simple.
_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.299, -0.587, 0.886], [0.701, -0.587, -0.114]], dtype=torch.float64)


def structured_map(x, y):
    """The colour map that colours an exemplar lacks should follow: whichever of two few-parameter
    maps explains the pair better — one affine map per channel (gain, levels, temperature, invert),
    or luma mapped affinely with the colour differences scaled and rotated alike in every hue and
    shifted with luma (saturation, grayscale, hue, sepia). Either is well determined by a photo
    whose colours vary along one direction only, where the full 3×3 map is not. Both are fitted
    on the pixels the edit did not clip (`unclipped`). `[3, 4]`."""
    spread = _spread(x)
    candidates = [_censored(lambda free: _per_channel(x, y, free, spread), x, y),
                  _censored(lambda free: _luma_chroma(x, y, free, spread), x, y)]
    # Per channel unless the other explains the pair clearly better (as applied: clamped).
    errors = [float(((_map(cand, x).clamp(0, 1) - y) ** 2).mean()) for cand in candidates]
    return candidates[1] if errors[1] < STRUCTURE_MARGIN * errors[0] else candidates[0]


def _map(m, x):
    return x @ m[:, :3].T + m[:, 3]


def _censored(solve, x, y):
    """`solve(free)` on the unclipped pixels, then again with the clipped pixels its map falls short
    of put back (a pixel at 1 the map sends below 1 says as much as any other)."""
    return solve(unclipped(y, _map(solve(unclipped(y)), x)))


def _per_channel(x, y, free, spread):
    """One affine map per channel; a flat channel keeps its gain."""
    p = x.shape[0]
    ones = torch.ones(p, 1, dtype=torch.float64)
    m = torch.zeros(3, 4, dtype=torch.float64)
    for c in range(3):
        f = torch.cat([x[:, c:c + 1], ones], 1) * free[:, c:c + 1]
        reg = torch.diag(torch.tensor([FLAT_RIDGE * spread, 0], dtype=torch.float64))
        w = torch.linalg.solve(f.T @ f / p + reg, f.T @ y[:, c] / p + reg[:, 0])
        m[c, c], m[c, 3] = w[0], w[1]
    return m


def _luma_chroma(x, y, free, spread):
    """Luma affine, colour differences scaled and rotated alike and shifted with luma, on the
    pixels free in every channel."""
    p = x.shape[0]
    kept = free.prod(1, keepdim=True)
    u, v = x @ _YCC.T * kept, y @ _YCC.T * kept
    ones = kept
    f = torch.cat([u[:, :1], ones], 1)
    wy = torch.linalg.solve(f.T @ f / p + 1e-9 * torch.eye(2, dtype=torch.float64), f.T @ v[:, 0] / p)
    zero = torch.zeros(p, dtype=torch.float64)
    one = ones[:, 0]
    # Unknowns: s, r (scale·cos, scale·sin), cb, cr (luma coupling), ob, or.
    rows_b = torch.stack([u[:, 1], -u[:, 2], u[:, 0], zero, one, zero], 1)
    rows_r = torch.stack([u[:, 2], u[:, 1], zero, u[:, 0], zero, one], 1)
    g = torch.cat([rows_b, rows_r])
    t = torch.cat([v[:, 1], v[:, 2]])
    toward = torch.tensor([1, 0, 0, 0, 0, 0], dtype=torch.float64)
    # The scale and rotation lean toward none, so a photo with almost no colour keeps its colours.
    reg = torch.diag(torch.tensor([SIMILARITY_RIDGE * spread] * 2 + [1e-9] * 4, dtype=torch.float64))
    w = torch.linalg.solve(g.T @ g / p + reg, g.T @ t / p + reg @ toward)
    mycc = torch.tensor([[wy[0], 0, 0], [w[2], w[0], -w[1]], [w[3], w[1], w[0]]], dtype=torch.float64)
    inv = torch.linalg.inv(_YCC)
    return torch.cat([inv @ mycc @ _YCC, (inv @ torch.stack([wy[1], w[4], w[5]]))[:, None]], 1)


def _clipped(y):
    """+1 where the edited channel sits at 1, −1 where at 0, else 0."""
    return (y >= 1 - 0.5 / 255).double() - (y <= 0.5 / 255).double()


def unclipped(y, predicted=None):
    """`[P, 3]` weights: 0 where the exemplar's edited channel sits at 0 or 1 — the edit may have
    clipped it there (levels, exposure, gain, contrast all do), and the value then says only "at
    least this far" — unless `predicted` falls short of that bound; else 1. A channel clipped
    almost everywhere keeps all its pixels."""
    clip = _clipped(y)
    free = clip == 0
    if predicted is not None:
        free = free | ((clip > 0) & (predicted < 1)) | ((clip < 0) & (predicted > 0))
    free = free.double()
    return torch.where(free.mean(0) >= CLIP_MIN_SHARE, free, torch.ones_like(free))


def _spread(x):
    """The mean variance of the channels: the scale against which ridges are set."""
    return float(((x - x.mean(0)) ** 2).mean()) + 1e-6


def _prior_weights(x, y, curves):
    """Per output channel: M_c (4 values), then φ_c's knot values when `curves`; fitted like the
    structured map on the pixels the edit did not clip."""
    p = x.shape[0]
    n = CURVE_KNOTS if curves else 0
    reg = torch.zeros(4 + n, 4 + n, dtype=torch.float64)
    # A ridge pulls the colour part toward the structured map (`structured_map`): a photo's channels
    # are strongly correlated, so the full 3×3 map is ill-determined across them and would send
    # colours the exemplar lacks anywhere. Its strength follows the photo's own spread of colour.
    for i in range(3):
        reg[i, i] = AFFINE_RIDGE * _spread(x)
    target = structured_map(x, y)
    if curves:
        d2 = torch.zeros(n - 2, n, dtype=torch.float64)
        for i in range(n - 2):
            d2[i, i], d2[i, i + 1], d2[i, i + 2] = 1, -2, 1
        reg[4:, 4:] = CURVE_SMOOTH * (n - 1) ** 2 / n * d2.T @ d2 + CURVE_RIDGE * torch.eye(n, dtype=torch.float64)
    features = [_features(x, c, curves) for c in range(3)]

    def solve(free):
        weights = []
        for c in range(3):
            f = features[c] * free[:, c:c + 1]
            toward = torch.zeros(4 + n, dtype=torch.float64)
            toward[:3] = target[c, :3]
            weights.append(torch.linalg.solve(f.T @ f / p + reg, f.T @ y[:, c] / p + reg @ toward))
        return weights

    first = solve(unclipped(y))
    return solve(unclipped(y, torch.stack([features[c] @ first[c] for c in range(3)], 1)))


def held_out_error(before, after, predict):
    """The squared error of `predict(x_train, y_train, x_test)` (colours `[P, 3]`, float64) fitted
    on one half of a checkerboard of `CV_BLOCKS`² blocks and predicting the other half's after,
    summed over both halves; None when the image is too small to have both."""
    _, h, w = before.shape
    yy = (torch.arange(h) * CV_BLOCKS // h)[:, None]
    xx = (torch.arange(w) * CV_BLOCKS // w)[None, :]
    return _held_out(before, after, ((yy + xx) % 2 == 0).reshape(-1), predict)


def colour_held_out_error(before, after, predict):
    """As `held_out_error` on the halves of a 3×3×3 checkerboard of the colour cube (the before's
    colour): each half's fit judged on colours it never saw, as other photos bring. None where a
    half holds under `COLOUR_SPLIT_MIN` of the pixels (an exemplar of few colours)."""
    x = before.reshape(3, -1).T
    half = (x.clamp(0, 1) * 3).long().clamp(max=2).sum(1) % 2 == 0
    share = float(half.double().mean())
    if min(share, 1 - share) < COLOUR_SPLIT_MIN:
        return None
    return _held_out(before, after, half, predict)


TEXTURE_SIGMA = 0.01  # the luma's detail: the luma minus its blur of this σ (of the shorter side)


def detail_of(img):
    """`[3, H, W]` → `[H·W]`: the luma (of `img` clamped) minus its gaussian blur of σ `TEXTURE_SIGMA`."""
    luma = _luma_of_planar(img.clamp(0, 1))
    return (luma - edits.gaussian_blur(luma, TEXTURE_SIGMA * min(img.shape[1:]))).reshape(-1)


def texture_held_out_error(before, after, predict):
    """As `held_out_error` on halves split by texture within each tone: in each bin of the luma
    (`CURVE_BINS`), the pixels of least |`detail_of`| predicting the rest and back. A colour
    model says the change depends on the colour alone; where it depends on texture (clarity, a
    sharpen the filter did not take all of), smooth pixels do not predict textured ones."""
    d = detail_of(before).abs()
    k = torch.round(_luma_of(before.reshape(3, -1).T.double().clamp(0, 1)) * (CURVE_BINS - 1)).long()
    # Pixels ordered by bin, within it by |detail|, ties by index; the first half of each bin.
    order = torch.argsort(d, stable=True)
    order = order[torch.argsort(k[order], stable=True)]
    counts = torch.bincount(k, minlength=CURVE_BINS)
    rank = torch.empty_like(k)
    rank[order] = torch.arange(len(k)) - (torch.cumsum(counts, 0) - counts)[k[order]]
    return _held_out(before, after, 2 * rank < counts[k], predict)


def _held_out(before, after, half, predict):
    if half.all() or not half.any():
        return None
    x = before.reshape(3, -1).T.double()
    y = after.reshape(3, -1).T.double()
    return sum(float(((predict(x[t], y[t], x[~t]).clamp(0, 1) - y[~t]) ** 2).sum()) for t in (half, ~half))


def table_predictor(curves):
    """`held_out_error`'s predictor for the colour table with the affine or the curves prior."""
    def predict(x, y, query):
        lut = _table(x, y, fit_prior(x, y, curves), LUT_SIDE)
        return apply_lut(query.T.reshape(3, -1, 1).float(), lut).reshape(3, -1).T.double()
    return predict


def choose_prior(before, after, affine_error=None):
    """"affine" or "curves": which prior's table predicts held-out blocks of the exemplar better
    (`held_out_error`), curves only by `CV_MARGIN`. `affine_error`: the affine table's, when the
    caller has it already."""
    affine = affine_error if affine_error is not None else held_out_error(before, after, table_predictor(False))
    if affine is None:
        return "affine"
    return "curves" if held_out_error(before, after, table_predictor(True)) < CV_MARGIN * affine else "affine"


SPATIAL_SIGMAS = tuple(0.003 * 2 ** (i / 4) for i in range(13))  # 0.003 … 0.024 of the shorter side
SPATIAL_GAIN = 0.5    # a filter is kept only if it halves the colour fit's error
RANK_GAIN = 0.25      # ... a rank filter only if it cuts it to a quarter (SpatialFilter.rankRequiredGain)
SPATIAL_MIN_K = 0.15
SPATIAL_FLOOR = 1e-3  # ... and only where the table alone leaves over this share of the change


SPATIAL_KINDS = ("gaussian", "median", "minimum", "maximum", "luma", "bilateral")  # the order the delta stores them in
RANK_KINDS = ("median", "minimum", "maximum")
BILATERAL_REACHES = (0.004, 0.008, 0.016)  # the bilateral filter's σ, relative to the shorter side ...
BILATERAL_SPREADS = (0.05, 0.1, 0.2)       # ... and its σ of colour distance (RGB, 0…1)
LUMA_MARGIN = 0.9     # the luma's blur is kept over the channels' only where it cuts their error by 10%
RANK_RADII = tuple(range(1, 9))  # a rank filter's window radius in pixels at the fit's size
RANK_PATIENCE = 2     # radii tried past a kind's best before giving up on larger ones
MEDIAN_LEVELS = 1023  # the median reads values quantised to 1/1023: one histogram bin each


def rank_radius(reach, side):
    """A rank filter's window radius in pixels on an image of shorter side `side`, `reach` relative
    to it, rounded half up as SpatialFilter.radius(side:) (Python's `round` rounds half to even)."""
    return max(1, int(math.floor(reach * side + 0.5)))


def rank_filter(img, kind, radius):
    """The median, minimum or maximum of each channel over the `(2r+1)²` square around each pixel,
    edges replicated (edits.py's window). The median reads values quantised to 1/MEDIAN_LEVELS."""
    size = 2 * radius + 1
    padded = F.pad(img[None], (radius,) * 4, mode="replicate")
    if kind == "maximum":
        return F.max_pool2d(padded, size, stride=1)[0]
    if kind == "minimum":
        return -F.max_pool2d(-padded, size, stride=1)[0]
    q = torch.floor(img * MEDIAN_LEVELS + 0.5).clamp(0, MEDIAN_LEVELS)
    return torch.cat([edits._offsets(q[c:c + 1], radius).median(0).values for c in range(img.shape[0])]) / MEDIAN_LEVELS


def filtered_copy(img, kind, reach, spread=0.0):
    """What `spatial` blends toward: `img` blurred by σ = reach, `img` moved by its luma's blur
    minus its luma ("luma"), its rank filter of radius reach (both relative to the shorter side),
    or its bilateral filter of σ reach and colour σ `spread`."""
    side = min(img.shape[1:])
    if kind == "bilateral":
        return edits.bilateral(img, reach * side, spread)
    if kind == "gaussian":
        return edits.gaussian_blur(img, reach * side)
    if kind == "luma":
        blurred = edits.gaussian_blur(img, reach * side)
        return img + (_luma_of_planar(blurred) - _luma_of_planar(img))
    return rank_filter(img, kind, rank_radius(reach, side))


def _luma_of_planar(img):
    """`[3, H, W]` → `[1, H, W]` luma (edits.LUMA's weights)."""
    return (img * edits.LUMA.to(img)[:, None, None]).sum(0, keepdim=True)


def spatial(img, filt):
    """`img + k·(F(img) − img)` clamped to 0…1 for `filt = (kind, reach, k[, spread])`: F a
    gaussian blur of σ `reach` (k = 1 a blur, k < 0 an unsharp mask), the same of the luma added
    to every channel ("luma"), a rank filter (median, minimum, maximum) of window radius `reach`,
    both relative to the shorter side, or a bilateral filter of σ `reach` and colour σ `spread`;
    k = 0 nothing."""
    kind, reach, k = filt[:3]
    if k == 0:
        return img
    spread = filt[3] if len(filt) > 3 else 0.0
    return (img + k * (filtered_copy(img, kind, reach, spread) - img)).clamp(0, 1)


NO_SPATIAL = ("gaussian", 0.0, 0.0)


def fit_spatial(before, after, kinds=SPATIAL_KINDS, report=None):
    """The spatial filter `(kind, reach, k)` of `spatial` that, followed by a colour table, best
    explains before → after; `NO_SPATIAL` unless it halves the colour table's error alone (a rank
    filter: cuts it to a quarter, `RANK_GAIN`; the luma's gaussian is used over the channels' only
    where it cuts their error by `LUMA_MARGIN`). Per σ
    of `SPATIAL_SIGMAS` and per rank filter's radius, k is the least-squares gain of the filter's
    difference image (a rank filter's only positive). `kinds` limits the search and `report`, a
    dict, receives each kind's best `(error / the table's alone, filter)` (for probes)."""
    def colour_error(src):
        return table_error(src, after)

    side = min(before.shape[1:])
    plain = colour_error(before)
    change = (after - before).double()

    def gain(d, low):
        return blend_gain(d, change, low)

    # Per σ, the channels' gaussian and the luma's, the latter derived from the former's blur (as
    # SpatialFilter.fit); each blended by its least-squares gain.
    found = {"gaussian": (plain, NO_SPATIAL), "luma": (math.inf, NO_SPATIAL)}
    for sigma in SPATIAL_SIGMAS:
        blurred = edits.gaussian_blur(before, sigma * side)
        copies = {"gaussian": blurred, "luma": before + (_luma_of_planar(blurred) - _luma_of_planar(before))}
        for kind in [k for k in found if k in kinds]:
            d = copies[kind] - before
            k = gain(d.double(), -3.0)
            if k is not None:
                e = colour_error((before + k * d).clamp(0, 1))
                if e < found[kind][0]:
                    found[kind] = (e, (kind, sigma, k))
    # Clipping makes the least-squares gain of a strong sharpen too small: try larger ones (each a
    # multiple of the gain found).
    for kind, (_, (_, sigma, k0)) in found.items():
        for factor in (1.15, 1.3, 1.5, 1.75):
            if k0 < 0:
                filt = (kind, sigma, max(-3.0, k0 * factor))
                e = colour_error(spatial(before, filt))
                if e < found[kind][0]:
                    found[kind] = (e, filt)
    if report is not None:
        report.update({kind: (e / plain, filt) for kind, (e, filt) in found.items() if filt != NO_SPATIAL})
    # A sharpen of each channel where the edit sharpened the luma alone sharpens colour edges too,
    # which the colour step then undoes by desaturating every photo (Docs/exemplar-fit.md).
    best = found["luma"] if found["luma"][0] < LUMA_MARGIN * found["gaussian"][0] else found["gaussian"]
    # Rank filters, radius by radius until RANK_PATIENCE radii in a row do no better than the
    # kind's best: a median, an erosion or a dilation, which a blur explains only in part.
    for kind in [k for k in RANK_KINDS if k in kinds]:
        kind_best, since = math.inf, 0
        for radius in RANK_RADII:
            k = gain((rank_filter(before, kind, radius) - before).double(), 0.0)
            e = math.inf if k is None else colour_error(spatial(before, (kind, radius / side, k)))
            if e < kind_best:
                kind_best, since = e, 0
                if report is not None:
                    report[kind] = (e / plain, (kind, radius / side, k))
            else:
                since += 1
            if e < best[0] and e < RANK_GAIN * plain:
                best = (e, (kind, radius / side, k))
            if since >= RANK_PATIENCE:
                break
    # The bilateral filter, where the exemplar shows smoothing (the channels' blur blends in with
    # a positive gain): its σ and colour σ chosen on the exemplar halved (SpatialFilter.bilateralChoice),
    # then judged here and held to the rank filters' bar — an edge-keeping smoothing that explains
    # an edit only in part wrecks other photos' edges too.
    if "bilateral" in kinds and found["gaussian"][1][2] > 0:
        chosen = bilateral_choice(before, after)
        if chosen is not None:
            reach, spread = chosen
            k = gain((edits.bilateral(before, reach * side, spread) - before).double(), 0.0)
            if k is not None:
                filt = ("bilateral", reach, k, spread)
                e = colour_error(spatial(before, filt))
                if report is not None:
                    report["bilateral"] = (e / plain, filt)
                if e < best[0] and e < RANK_GAIN * plain:
                    best = (e, filt)
    # A colour table that explains the pair all but exactly leaves no filter to identify (a flat
    # exemplar turned grey fitted a sharpen of −3 that then wrecked its queries).
    if plain < SPATIAL_FLOOR * float((change * change).mean()):
        return NO_SPATIAL
    return best[1] if best[0] < SPATIAL_GAIN * plain else NO_SPATIAL


def table_error(src, after):
    """The mean squared error left by a colour table (the affine prior) fitted from `src` to `after`."""
    xs = src.reshape(3, -1).T.double()
    y = after.reshape(3, -1).T.double()
    return float(((apply_lut(src, _table(xs, y, fit_prior(xs, y, False), LUT_SIDE)) - after) ** 2).mean())


def blend_gain(d, change, low):
    """The least-squares gain of a filter's difference image `d` on the `change`, within `low` … 1.5;
    None where `d` is nothing or the gain under `SPATIAL_MIN_K`."""
    energy = float((d * d).sum())
    if energy < 1e-12:
        return None
    k = min(1.5, max(low, float((change * d).sum()) / energy))
    return None if abs(k) < SPATIAL_MIN_K else k


def halved(img):
    """`[3, H, W]` halved by 2 × 2 means, a last odd row or column replicated (SpatialFilter.halved)."""
    _, h, w = img.shape
    return F.avg_pool2d(F.pad(img[None], (0, w % 2, 0, h % 2), mode="replicate"), 2)[0]


def bilateral_choice(before, after):
    """The (σ, colour σ) of `BILATERAL_REACHES` × `BILATERAL_SPREADS` whose bilateral filter, blended
    in by its gain and followed by a colour table, best explains the pair halved; None where none
    has a gain."""
    before, after = halved(before), halved(after)
    side = min(before.shape[1:])
    change = (after - before).double()
    best = None
    for reach in BILATERAL_REACHES:
        for spread in BILATERAL_SPREADS:
            d = edits.bilateral(before, reach * side, spread) - before
            k = blend_gain(d.double(), change, 0.0)
            if k is None:
                continue
            e = table_error((before + k * d).clamp(0, 1), after)
            if best is None or e < best[0]:
                best = (e, reach, spread)
    return None if best is None else best[1:]


SPATIAL_FIT_SIDE = 512  # the filter is fitted on the exemplar at most this large: fine detail decides sharpening


WORKING_SIDE = 256  # encode_delta's working copy (ExemplarPair.workingSide): the change grid, the affine prior
# The colour step is fitted on the pair itself, subsampled (every s-th pixel, no averaging) to at
# most this side: each pixel keeps after = f(before) exactly, which averaging breaks wherever an
# edit is nonlinear or clips (fit only on the validation photos, fitted on the 256-px area-averaged
# working copy → on the pair: exposure 29.5 → 57.5 dB, contrast 45.4 → 62.5, temperature 51.6 →
# 60.8, levels 48.9 → 64.4, gamma 39.1 → 41.1, hue 29.2 → 30.3, others within ±0.2).
COLOUR_FIT_SIDE = 512


def subsampled(img, side):
    """Every s-th pixel of `img` `[3, H, W]` in both directions, starting at s // 2, with the
    smallest s that brings the longer side to at most `side` (ExemplarPair.subsampled)."""
    _, h, w = img.shape
    s = max(1, -(-max(h, w) // side))
    return img if s == 1 else img[:, s // 2::s, s // 2::s]


# The hue shift: a selective-colour edit (one hue band recoloured) as a shift of hue per hue and
# saturation, on a grid the 17³ table is far too coarse for — its cells mix the band with its
# neighbours, so it recolours what the edit left alone.
HUE_NODES = 72                      # every 5° of hue, circular
HUE_SATURATIONS = (0.0, 0.0625, 0.125, 0.1875, 0.25, 0.375, 0.5, 1.0)
HUE_RIDGE = 1.0                     # pixels' worth of weight pulling each node's shift toward none
HUE_MARGIN = 0.9                    # the hue shift must cut the held-out error by 10% to be used
# A colour step (table or hue shift) must cut the held-out error of none (the spatial filter alone)
# to this share, or the colours are left unchanged: a colour edit explains nearly all of its pair
# (at most 3.4% left on the validation photos, fitted on the subsampled pair), while what a
# sharpen, blur, grain or spotlight leaves is explained 0–84% by a table that then costs other
# photos up to 20 dB. `python3 Training/evaluate_fit.py` (fit only, validation photos, 5 exemplars
# × 3 queries per family): sharpen 45.8 → 49.5 dB, blur 48.8 → 52.3, recolour 48.3 → 51.2,
# spotlight 17.8 → 18.7, grain 25.07 → 25.13, no other family changed; 0.2–0.4 score the same
# within 0.1 dB on the mean (0.2 gains a sharpen and loses a spotlight).
COLOUR_GAIN = 0.3
# The colour test's halves must each hold this share of the exemplar's pixels (`colour_held_out_error`).
COLOUR_SPLIT_MIN = 0.05


def _hue_corners(h, s):
    """Each pixel's four grid nodes and bilinear weights: `[P, 4]` indices (hue-major) and weights."""
    nodes = torch.tensor(HUE_SATURATIONS, dtype=torch.float64)
    hh = h * HUE_NODES
    i0 = hh.floor().long() % HUE_NODES
    fh = hh - hh.floor()
    i1 = (i0 + 1) % HUE_NODES
    j1 = torch.searchsorted(nodes, s.clamp(0, 1).contiguous(), right=True).clamp(1, len(nodes) - 1)
    j0 = j1 - 1
    fs = ((s - nodes[j0]) / (nodes[j1] - nodes[j0])).clamp(0, 1)
    m = len(nodes)
    index = torch.stack([i0 * m + j0, i0 * m + j1, i1 * m + j0, i1 * m + j1], 1)
    weight = torch.stack([(1 - fh) * (1 - fs), (1 - fh) * fs, fh * (1 - fs), fh * fs], 1)
    return index, weight


def _hsv(rgb):
    """`[3, P]` sRGB → HSV in float64 (hue in turns)."""
    return edits.rgb_to_hsv(rgb.double())


HUE_SMOOTHNESS = 1000.0              # pixels' worth of weight tying neighbouring nodes, where the hue turns everywhere
HUE_SMOOTH_RIDGE = 1e-3
HUE_RUN = 64                        # alternate runs of pixels held out to choose smooth or local ...
HUE_LOCAL_MARGIN = 0.5              # ... local only where it predicts them this much better


def fit_hue(before, after):
    """The hue shift before → after on `[3, P]` colours: `[HUE_NODES, len(HUE_SATURATIONS)]` shifts
    in turns (`solve_hue`), smooth across the hue circle (`HUE_SMOOTHNESS`: a turn of every hue)
    unless the local reading (`HUE_RIDGE` toward none: one band recoloured) predicts alternate runs
    of `HUE_RUN` pixels from the others `HUE_LOCAL_MARGIN` better. Same as HueShift.fit in Swift."""
    def solve(x, y, local):
        return solve_hue(x, y, 0.0, HUE_RIDGE) if local else solve_hue(x, y, HUE_SMOOTHNESS, HUE_SMOOTH_RIDGE)
    return _smooth_unless_local(before, after, solve, apply_hue)


def _smooth_unless_local(before, after, solve, apply):
    """`solve(before, after, local)` for a grid fit, smooth (`local` False) unless the local
    reading predicts alternate runs of `HUE_RUN` pixels from the others `HUE_LOCAL_MARGIN` better.
    HueShift.smoothHolds in Swift."""
    half = (torch.arange(before.shape[1]) // HUE_RUN) % 2 == 0
    smooth = True
    if bool(half.any()) and bool((~half).any()):
        def error(local):
            e = 0.0
            for t in (half, ~half):
                fitted = solve(before[:, t], after[:, t], local)
                e += float(((apply(before[:, ~t], fitted).clamp(0, 1) - after[:, ~t]) ** 2).sum())
            return e
        smooth = HUE_LOCAL_MARGIN * error(False) <= error(True)
    return solve(before, after, not smooth)


def solve_hue(before, after, smoothness, ridge):
    """Least squares over the pixels' hue differences, each weighted by the square of its chroma
    (s·v, what a hue error costs in RGB), neighbouring nodes (along hue, circular, and saturation)
    tied by `smoothness`, every node pulled toward none by `ridge`."""
    hx, hy = _hsv(before), _hsv(after)
    r = (hy[0] - hx[0] + 0.5) % 1.0 - 0.5
    w = (torch.minimum(hx[1], hy[1]) * torch.minimum(hx[2], hy[2])) ** 2
    index, weight = _hue_corners(hx[0], hx[1])
    return _solve_grid(index, weight, w, w * r, smoothness, ridge)


def _solve_grid(index, weight, w, wr, smoothness, ridge, prior=0.0):
    """Least squares on the hue grid: per pixel (nodes `index`, bilinear `weight`, `[P, 4]`) its
    weight `w` and weighted target `wr`; neighbouring nodes (along hue, circular, and saturation)
    tied by `smoothness`, each pulled toward `prior` by `ridge`. `[HUE_NODES, len(HUE_SATURATIONS)]`;
    HueShift.solveGrid in Swift."""
    m = len(HUE_SATURATIONS)
    n = HUE_NODES * m
    a = torch.zeros(n * n, dtype=torch.float64)
    b = torch.zeros(n, dtype=torch.float64)
    for i in range(4):
        b.index_add_(0, index[:, i], weight[:, i] * wr)
        for j in range(4):
            a.index_add_(0, index[:, i] * n + index[:, j], w * weight[:, i] * weight[:, j])
    a = a.reshape(n, n) + ridge * torch.eye(n, dtype=torch.float64)
    b = b + ridge * prior
    nodes = torch.arange(n)
    for nxt, valid in ((((nodes // m + 1) % HUE_NODES) * m + nodes % m, nodes >= 0), (nodes + 1, nodes % m + 1 < m)):
        u, v = nodes[valid], nxt[valid]
        a[u, u] += smoothness
        a[v, v] += smoothness
        a[u, v] -= smoothness
        a[v, u] -= smoothness
    return torch.linalg.solve(a, b).reshape(HUE_NODES, m)


def apply_hue(img, shift):
    """`img` (`[3, ...]`) with each pixel's hue moved by the grid `shift` at its hue and saturation."""
    shape = img.shape
    hsv = _hsv(img.reshape(3, -1).clamp(0, 1))
    index, weight = _hue_corners(hsv[0], hsv[1])
    hsv[0] = hsv[0] + (shift.reshape(-1).double()[index] * weight).sum(1)
    return edits.hsv_to_rgb(hsv).reshape(shape).to(img.dtype)


# The chroma gain: a selective saturation (one hue band kept in colour, the rest greyed; a
# Lightroom HSL saturation slider) as a gain of each pixel's chroma about its luma per hue and
# saturation, on the hue shift's grid. Where the table learns only the exemplar's colours, the
# gain carries to colours of the same hue at any saturation and lightness.
CHROMA_SMOOTHNESS = 1000.0  # the exemplar's mean pixels' worth of weight tying neighbouring nodes, ...
CHROMA_LOCAL_SMOOTHNESS = 10.0  # ... or this where it predicts held-out runs `HUE_LOCAL_MARGIN` better, ...
CHROMA_RIDGE = 0.1          # ... each node pulled toward the gain that fits every pixel (the overall change)


def fit_chroma(before, after):
    """The chroma gain before → after on `[3, P]` colours (`solve_chroma`): smooth across the grid
    (`CHROMA_SMOOTHNESS`: hues and saturations the exemplar lacks take the gain of those it has)
    unless a local one (`CHROMA_LOCAL_SMOOTHNESS`: a narrow band kept) predicts alternate runs of
    `HUE_RUN` pixels from the others `HUE_LOCAL_MARGIN` better. Same as ChromaGain.fit in Swift."""
    return _smooth_unless_local(
        before, after, lambda x, y, local: solve_chroma(x, y, CHROMA_LOCAL_SMOOTHNESS if local else CHROMA_SMOOTHNESS),
        apply_chroma)


def solve_chroma(before, after, smoothness):
    """The gain minus one, `[HUE_NODES, len(HUE_SATURATIONS)]`, on `[3, P]` colours: least squares
    of `after − before ≈ u · (before − luma)`, each pixel weighted by its chroma's square (`u · c`
    costs that much in RGB), neighbouring nodes along hue (circular) and saturation tied by
    `smoothness`, each pulled toward the one gain that fits every pixel by `CHROMA_RIDGE`, both in
    units of the pixels' mean weight."""
    x = before.double()
    c = x - (x * edits.LUMA.to(x)[:, None]).sum(0, keepdim=True)
    w = (c * c).sum(0)
    r = (c * (after.double() - x)).sum(0)
    hsv = _hsv(x.clamp(0, 1))
    index, weight = _hue_corners(hsv[0], hsv[1])
    scale = max(float(w.mean()), 1e-12)
    # Each node is pulled toward the one gain that fits every pixel best, as the table's affine
    # prior carries the exemplar's overall change to colours it lacks.
    overall = float(r.sum()) / max(float(w.sum()), 1e-12)
    return _solve_grid(index, weight, w, r, smoothness * scale, CHROMA_RIDGE * scale, overall)


def apply_chroma(img, gain):
    """`img` (`[3, ...]`, clamped to 0…1) with each pixel's chroma about its luma scaled by one plus
    the grid `gain` at its hue and saturation."""
    shape = img.shape
    x = img.reshape(3, -1).double().clamp(0, 1)
    hsv = _hsv(x)
    index, weight = _hue_corners(hsv[0], hsv[1])
    u = (gain.reshape(-1).double()[index] * weight).sum(1)
    c = x - (x * edits.LUMA.to(x)[:, None]).sum(0, keepdim=True)
    return (x + u * c).reshape(shape).to(img.dtype)


CURVE_BINS = 256          # tone curves' knots at 0, 1/255, ..., 1: an 8-bit exemplar's values fall on them
CURVE_SPAN = 0.1          # beyond the exemplar's range a curve goes on with its last tenth's slope (or `_end_line`'s) ...
CURVE_MAX_SLOPE = 4.0     # ... clamped to this, over its bins not clipped to 0 or 1 (within this)
CURVE_CLIP = 0.5 / 255
CURVE_LINE = 0.5 / 255    # knots the exemplar lacks read a line where one fits its neighbours within this (RMS)
CURVE_SOURCES = ("shared", "channel", "luma")
CURVE_MARGIN = 0.9        # a model with more freedom must cut the simpler one's held-out error by 10%


def _luma_of(x):
    """`[P, 3]` colours (float64, clamped) → `[P]` luma, the weights of edits.LUMA."""
    return x @ edits.LUMA.double()


def fit_curves(x, y, source):
    """Tone curves from colours `x` to `y` (`[P, 3]`): `source` "shared" — each channel through one
    curve of its own value, seen over every channel's range —, "channel" — a curve each — or "luma" — each channel pulled toward the luma by `mix` (the within-bin
    regression of the change on the channel's distance from the luma), then a curve of the luma.
    → (channel `[3, CURVE_BINS]`, luma `[3, CURVE_BINS]`, mix): curves as offsets from the input,
    the unused ones zero. Same as ColourCurves.fit in Swift."""
    n = CURVE_BINS
    x = x.double().clamp(0, 1)
    y = y.double()
    luma = _luma_of(x)
    mix = 0.0
    if source == "luma":
        k = torch.round(luma * (n - 1)).long()
        d = luma[:, None] - x
        change = y - x
        idx = (k[:, None] * 3 + torch.arange(3)).reshape(-1)
        def summed(v):
            return torch.zeros(n * 3, dtype=torch.float64).index_add_(0, idx, v.reshape(-1))
        count, sd, sr = summed(torch.ones_like(d)), summed(d), summed(change)
        sdd, sdr = summed(d * d), summed(d * change)
        seen = count > 0
        dd = float((sdd[seen] - sd[seen] ** 2 / count[seen]).sum())
        dr = float((sdr[seen] - sd[seen] * sr[seen] / count[seen]).sum())
        mix = min(1.0, max(0.0, dr / dd)) if dd > 1e-9 else 1.0
    knots = torch.arange(n, dtype=torch.float64) / (n - 1)
    span = round(CURVE_SPAN * (n - 1))
    binned = []
    for c in range(3):
        v = luma if source == "luma" else x[:, c]
        start = x[:, c] + mix * (luma - x[:, c])
        k = torch.round(v * (n - 1)).long()
        count = torch.zeros(n, dtype=torch.float64).index_add_(0, k, torch.ones_like(v))
        total = torch.zeros(n, dtype=torch.float64).index_add_(0, k, y[:, c] - start + v)
        binned.append((count, total))
    if source == "shared":
        count, total = sum(b[0] for b in binned), sum(b[1] for b in binned)
        binned = [(count, total)] * 3
    for c, (count, total) in enumerate(binned):
        seen = torch.nonzero(count > 0).reshape(-1)
        binned[c] = (seen, total[seen] / count[seen])

    def slope(seen, value, chosen):
        """The end's slope over its unclipped bins; None where they are clipped throughout (the
        values say only "at least this far"): borrowed from the other channels."""
        clipped = (value <= CURVE_CLIP) | (value >= 1 - CURVE_CLIP)
        if int((chosen & ~clipped).sum()) < 2:
            return None if bool((chosen & clipped).any()) else 1.0
        chosen = chosen & ~clipped
        return min(CURVE_MAX_SLOPE, max(-CURVE_MAX_SLOPE, _least_squares(seen[chosen], value[chosen])[0]))

    slopes = [(None, None) if len(seen) == 0 else
              (slope(seen, value, seen <= int(seen[0]) + span), slope(seen, value, seen >= int(seen[-1]) - span))
              for seen, value in binned]
    # An end clipped throughout borrows the other channels' curves beyond it (a gain clipped in
    # one channel is the gain of the others); with none to borrow from it stays flat.
    # Each curve between its seen bins and beyond each end with its own slope; then an end clipped
    # throughout takes the mean of the curves beyond it of the channels with a slope there (a gain
    # clipped in one channel is the gain of the others), or stays flat with none to borrow from.
    curves = knots.repeat(3, 1)
    for c, (seen, value) in enumerate(binned):
        if len(seen) == 0:
            continue
        curves[c] = torch.from_numpy(np.interp(np.arange(n), seen.numpy(), value.numpy()))
        for a, b in zip(seen[:-1].tolist(), seen[1:].tolist()):
            if b - a > 1:
                line = _curve_line(seen, value, (seen >= a - span // 2) & (seen <= b + span // 2))
                if line is not None:
                    gap = torch.arange(a + 1, b, dtype=torch.float64)
                    curves[c][a + 1:b] = line[1] + line[0] * (gap - line[2]) / (n - 1)
        for end, beyond, edge in ((0, torch.arange(int(seen[0])), int(seen[0])),
                                  (1, torch.arange(int(seen[-1]) + 1, n), int(seen[-1]))):
            if slopes[c][end] is not None:
                at, slope = float(value[0] if end == 0 else value[-1]), slopes[c][end]
                line = _end_line(seen, value, end, span)
                if line is not None:
                    slope = min(CURVE_MAX_SLOPE, max(-CURVE_MAX_SLOPE, line[0]))
                    at = line[1] + line[0] * (edge - line[2]) / (n - 1)
                curves[c][beyond] = at + slope * (beyond - edge).double() / (n - 1)
    own = curves.clone()
    for c, (seen, value) in enumerate(binned):
        for end in (0, 1):
            if len(seen) == 0 or slopes[c][end] is not None:
                continue
            beyond = torch.arange(int(seen[0])) if end == 0 else torch.arange(int(seen[-1]) + 1, n)
            lenders = [d for d in range(3) if slopes[d][end] is not None and len(binned[d][0]) > 0]
            if lenders:
                curves[c][beyond] = sum(own[d][beyond] for d in lenders) / len(lenders)
    curves = curves - knots
    zero = torch.zeros(3, n, dtype=torch.float64)
    return (zero, curves, mix) if source == "luma" else (curves, zero, 0.0)


def _curve_line(seen, value, chosen):
    """The least-squares line through the chosen bins, as (slope per unit of input, value at the
    bins' mean, their mean knot), or None where there are fewer than three, any is clipped to 0
    or 1 (it says only "at least this far"), or their RMS residual exceeds `CURVE_LINE` (a step,
    a fold or a bend: not a line)."""
    clipped = (value <= CURVE_CLIP) | (value >= 1 - CURVE_CLIP)
    if int(chosen.sum()) < 3 or bool((chosen & clipped).any()):
        return None
    line = _least_squares(seen[chosen], value[chosen])
    return None if line[3] > CURVE_LINE else line[:3]


def _least_squares(bins, values):
    """The least-squares line of `values` over knots `bins`: (slope per unit of input, the values'
    mean, the knots' mean, the RMS residual). Same as ColourCurves.Line in Swift."""
    b, v = bins.double(), values
    bm, vm = float(b.mean()), float(v.mean())
    xx = float(((b - bm) ** 2).sum())
    slope = float(((b - bm) * (v - vm)).sum()) / xx
    rms = float(((v - vm - slope * (b - bm)) ** 2).mean()) ** 0.5
    return slope * (CURVE_BINS - 1), vm, bm, rms


def _end_line(seen, value, end, span):
    """The line of the longest stretch at one end of a curve (its last `span` bins, doubled while a
    line still fits) that a line fits within 8-bit rounding (`_curve_line`), or None: a gain read
    over the whole range rather than its last tenth carries far beyond it."""
    line, width = None, span
    while True:
        chosen = seen <= int(seen[0]) + width if end == 0 else seen >= int(seen[-1]) - width
        wider = _curve_line(seen, value, chosen)
        if wider is None:
            return line
        line = wider
        if bool(chosen.all()):
            return line
        width *= 2


def _curve_at(curve, v):
    """`curve` `[CURVE_BINS]` at `v` (clamped to 0…1), linearly between knots."""
    n = CURVE_BINS
    t = v.clamp(0, 1) * (n - 1)
    k = t.floor().long().clamp(max=n - 2)
    f = t - k
    return curve[k] * (1 - f) + curve[k + 1] * f


def apply_curves(img, curves):
    """`img` (`[3, ...]`) through `fit_curves`' curves, unclamped."""
    channel, luma_curves, mix = curves
    shape = img.shape
    x = img.reshape(3, -1).double()
    out = x.clone()
    uses_luma = mix != 0 or bool((luma_curves != 0).any())
    luma = _luma_of(x.T.clamp(0, 1)) if uses_luma else None
    for c in range(3):
        out[c] = out[c] + _curve_at(channel[c].double(), x[c])
        if uses_luma:
            out[c] = out[c] + mix * (luma - x[c].clamp(0, 1)) + _curve_at(luma_curves[c].double(), luma)
    return out.reshape(shape).to(img.dtype)


def curves_predictor(source):
    """`held_out_error`'s predictor for tone curves of each channel or of the luma."""
    def predict(x, y, query):
        return apply_curves(query.T, fit_curves(x, y, source)).T
    return predict


def choose_colour(before, after, table_error=None):
    """"curves-shared", "curves-channel", "curves-luma", "table", "hue", "chroma" or "unchanged": what
    follows the spatial filter. The hue shift alone is used only if it cuts the table's held-out error
    (`held_out_error`; `table_error` when the caller has it) by `HUE_MARGIN`, the chroma gain only if
    it cuts the better of the two by as much. Alone: a table fitted
    after a hue shift learns the exemplar's colours both ways (a gamma or hue edit's shift where the
    exemplar has colours, none where it has not), which held out the exemplar's own blocks but not
    other photos (gamma 61.6 → 44.1 dB on one benchmark case). Tone curves (`fit_curves`, of the
    one for every channel, one each, of the luma) are tried first, each more general model used only
    where it cuts the simpler one's held-out error by `CURVE_MARGIN`, the table and hue shift last:
    with one input per output, curves carry to colours the exemplar lacks. Where the place test
    cannot tell the curves chosen from the table or hue shift (within `CURVE_MARGIN` either way),
    the one that predicts colours it never saw better (`colour_held_out_error`) is used: a
    saturation or black-and-white exemplar that every model fits to 8-bit rounding chose curves of
    the luma, which cost its queries 8–26 dB on the benchmark. Whichever is chosen is kept only if its held-out error
    is below `COLOUR_GAIN` times that of the spatial filter alone (`identity_error`); else
    "unchanged"."""
    table = table_error if table_error is not None else held_out_error(before, after, table_predictor(False))
    if table is None:
        return "table"
    hue_predictor = lambda x, y, query: apply_hue(query.T, fit_hue(x.T, y.T)).T  # noqa: E731
    chroma_predictor = lambda x, y, query: apply_chroma(query.T, fit_chroma(x.T, y.T)).T  # noqa: E731
    hue = held_out_error(before, after, hue_predictor)
    chroma = held_out_error(before, after, chroma_predictor)
    curves = {source: held_out_error(before, after, curves_predictor(source)) for source in CURVE_SOURCES}

    def predictor(name):
        return ({"table": table_predictor(False), "hue": hue_predictor, "chroma": chroma_predictor}.get(name)
                or curves_predictor(name[len("curves-"):]))

    def colour(name):
        return colour_held_out_error(before, after, predictor(name))

    def texture(name):
        return texture_held_out_error(before, after, predictor(name))

    return colour_step(table, hue, identity_error(before, after), curves=curves, colour=colour, texture=texture,
                       chroma=chroma)[0]


def colour_step(table, hue, unchanged, gain=COLOUR_GAIN, curves=None, colour=None, texture=None, chroma=None):
    """`choose_colour`'s rule on the held-out errors (`curves`: {"shared": e, "channel": e, "luma": e};
    `colour(name)`: that model's `colour_held_out_error`, asked only to break a tie; `texture(name)`:
    its `texture_held_out_error`, which must pass `gain` too; `chroma`: the chroma gain's error,
    used in place of the table or hue shift where it cuts theirs by `HUE_MARGIN`):
    ("table" | "hue" | "chroma" | "curves-shared" | "curves-channel" | "curves-luma" | "unchanged", the chosen
    step's error);
    `gain` None keeps the step without testing it against "unchanged"."""
    base = ("hue", hue) if hue < HUE_MARGIN * table else ("table", table)
    if chroma is not None and chroma < HUE_MARGIN * base[1]:
        base = ("chroma", chroma)
    choice, error = base
    if curves is not None:
        # From the fewest curves on, each model used only where it cuts the simpler one's held-out
        # error by `CURVE_MARGIN`.
        choice, error = "curves-shared", curves["shared"]
        for name, e in (("curves-channel", curves["channel"]), ("curves-luma", curves["luma"])):
            if e < CURVE_MARGIN * error:
                choice, error = name, e
        if base[1] < CURVE_MARGIN * error:
            choice, error = base
        elif colour is not None and base[1] * CURVE_MARGIN < error:
            mine, theirs = colour(choice), colour(base[0])
            if mine is not None and theirs is not None and theirs < mine:
                choice, error = base
    if gain is None:
        return choice, error
    if error >= gain * unchanged:
        return "unchanged", error
    textured = None if texture is None else texture(choice)
    return ("unchanged" if textured is not None and textured >= gain * unchanged else choice), error


def identity_error(before, after):
    """`held_out_error` of predicting no colour change: each half's own before, so the squared
    difference over the whole pair."""
    return float(((after.double() - before.double()) ** 2).sum())


def fit(before, after, filt=None):
    """The exemplar's exact part as encode_delta fits it: the spatial filter (`fit_spatial` on the
    pair at up to `SPATIAL_FIT_SIDE`, unless `filt` is given), then on the filtered pair subsampled to `COLOUR_FIT_SIDE`
    the hue shift, the chroma gain, the colour table or the tone curves, as `choose_colour` picks (the others zero;
    all zero when "unchanged")."""
    if filt is None:
        filt = fit_spatial(shrunk(before, SPATIAL_FIT_SIDE), shrunk(after, SPATIAL_FIT_SIDE))
    source = subsampled(spatial(before, filt), COLOUR_FIT_SIDE)
    target = subsampled(after, COLOUR_FIT_SIDE)
    # The affine table's held-out error decides both the hue shift and the table's own prior.
    table_error = held_out_error(source, target, table_predictor(False))
    choice = choose_colour(source, target, table_error)
    shift = torch.zeros(HUE_NODES, len(HUE_SATURATIONS))
    lut = torch.zeros(LUT_SIDE, LUT_SIDE, LUT_SIDE, 3)
    zero = torch.zeros(3, CURVE_BINS, dtype=torch.float64)
    curves = (zero, zero, 0.0)
    chroma = torch.zeros(HUE_NODES, len(HUE_SATURATIONS))
    if choice == "hue":
        shift = fit_hue(source.reshape(3, -1), target.reshape(3, -1)).float()
    elif choice == "chroma":
        chroma = fit_chroma(source.reshape(3, -1), target.reshape(3, -1)).float()
    elif choice == "table":
        lut = fit_lut(source, target, affine_error=table_error)
    elif choice.startswith("curves-"):
        curves = fit_curves(source.reshape(3, -1).T, target.reshape(3, -1).T, choice[len("curves-"):])
    return filt, shift, lut, curves, chroma


def apply_fit(img, fitted):
    filt, shift, lut, curves, chroma = fitted
    img = spatial(img, filt)
    if curves[2] != 0 or bool((curves[0] != 0).any()) or bool((curves[1] != 0).any()):
        img = apply_curves(img, curves)
    if bool((shift != 0).any()):
        img = apply_hue(img, shift)
    if bool((chroma != 0).any()):
        img = apply_chroma(img, chroma)
    return apply_lut(img, lut)


# Grain: what the fit leaves of the exemplar's change, where it is noise. A grain exemplar's after is
# its before plus noise independent of everything the output can know, so no colour step or
# filter explains it (both stay "unchanged"); encode_delta records the noise's colour covariance
# instead, and adapter_edit draws it anew on each photo or gives its expected value.
GRAIN_WINDOW = 5          # the residual's local mean over 5×5 is removed: smooth fit errors are not grain
GRAIN_FLAT_SHARE = 0.25   # measured on the flattest quarter of the before, where fit errors are smallest
GRAIN_RANGE = (0.15, 0.85)  # ... and unclipped: every channel of the fit's prediction inside this
GRAIN_MIN_PIXELS = 256
GRAIN_BLOCK = 32          # the before's detail is regressed out per 32×32 block
GRAIN_MIN_SIGMA = 0.01    # under 2.5/255: rounding, compression, or an unmodelled edit scaling the photo's texture
                          # (validation, 6 exemplars per family: grain 0.036-0.067 within 1%, the rest <= 0.0048)
GRAIN_MAX_SIZE = 2.5      # grain blurred by a gaussian of more than this (pixels) is read as this coarse
GRAIN_SIZE_STEP = 0.05    # the size is found on a grid of this step
GRAIN_FIT_SIDE = 1024     # measured on the pair's centre at most this large: plenty of a stationary noise
MAD_SCALE = 1.4826        # a normal sample's standard deviation over its median absolute value


def _robust_scale(v):
    """1.4826 × the lower median of |v| (a robust standard deviation of zero-mean `v`)."""
    a, _ = v.abs().sort()
    return MAD_SCALE * float(a[(a.numel() - 1) // 2])


def grain_kernel(size):
    """The 1D gaussian of σ `size` pixels (taps to 3σ) that makes white noise into grain of that
    size, scaled to unit energy (Σk² = 1) so it keeps the noise's variance; `[1]` for size 0."""
    if size <= 0:
        return torch.ones(1, dtype=torch.float64)
    r = int(-(-3 * size // 1))
    i = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-i * i / (2 * size * size))
    return k / k.square().sum().sqrt()


def _lag(k, d):
    """Σ k[j]·k[j + d]: the correlation at lag `d` of noise filtered by `k` (separable, per axis)."""
    d = abs(d)
    return float((k[:len(k) - d] * k[d:]).sum()) if d < len(k) else 0.0


def _grain_high_pass_share(k):
    """The share of such noise's variance that the 5×5 local-mean removal keeps."""
    a = [_lag(k, d) for d in range(-4, 5)]
    s1 = sum(a[d + 4] for d in range(-2, 3))
    s2 = sum((5 - abs(d)) * a[d + 4] for d in range(-4, 5))
    n = GRAIN_WINDOW * GRAIN_WINDOW
    return 1 - 2 / n * s1 * s1 + s2 * s2 / (n * n)


def _size_grid():
    """Sizes every `GRAIN_SIZE_STEP` up to `GRAIN_MAX_SIZE`, each with its difference ratio
    (1 − a₁)/(1 − a₂) and neighbour correlation a₁, less those whose ratio does not fall below the
    previous one's (the finest are all white: ratio 1), so that both statistics read back one size."""
    grid = []
    for i in range(int(round(GRAIN_MAX_SIZE / GRAIN_SIZE_STEP)) + 1):
        k = grain_kernel(i * GRAIN_SIZE_STEP)
        q = (1 - _lag(k, 1)) / (1 - _lag(k, 2))
        if not grid or q < grid[-1][1]:
            grid.append((i * GRAIN_SIZE_STEP, q, _lag(k, 1)))
    return grid


GRAIN_SIZES = _size_grid()


def grain_size(difference_ratio):
    """The size whose lag-1 over lag-2 difference variances, (1 − a₁)/(1 − a₂), is
    `difference_ratio`: 1 for white noise, falling toward ¼ as grain coarsens."""
    return float(np.interp(-difference_ratio, [-q for _, q, _ in GRAIN_SIZES], [x for x, _, _ in GRAIN_SIZES]))


GRAIN_CLIP = 5.0  # the size's variances: values beyond 5 robust standard deviations count as that far


def _clipped_variance(v):
    """The mean square of zero-mean `v` with values beyond `GRAIN_CLIP` × its robust scale pulled
    in to it: an edge's outliers count little, and unlike a median it moves continuously on 8-bit
    data (medians of whole levels misread grain's size by up to 3.5× in σ)."""
    c = GRAIN_CLIP * _robust_scale(v)
    return float((v.clamp(-c, c) if c > 0 else v).square().mean())


def fit_grain(before, after, predicted):
    """The colour covariance of the noise in `after − predicted` (`predicted`: the fit's output for
    `before`, all `[3, H, W]` at the pair's size) at lags 0 and 1 pixel, `[2, 3, 3]`, or zeros
    when what the high-pass sees of it, read as white noise, is under `GRAIN_MIN_SIGMA`.

    The residual less its 5×5 local mean, on interior pixels whose prediction is unclipped, the
    flattest `GRAIN_FLAT_SHARE` of them by the before's luma gradient (summed over 3×3); less, per channel and `GRAIN_BLOCK`² block, its least-squares multiple of the before's
    own detail (its 5×5 high-pass) — an edit that scales the photo's texture unevenly (a spotlight)
    leaves that, grain does not; robust (median-based) variances, covariances as
    (s(a+b)² − s(a−b)²)/4, corrected for the removed mean (the share of a noise of that size the
    high-pass keeps: 1 − 1/25 for white noise). The size (a gaussian blur of white noise, pixels)
    comes from the raw residual's differences at lags 1 and 2 on those pixels (`grain_size`, on
    `_clipped_variance`s); the lag-1 covariance is the lag-0 one times a₁ of that size."""
    _, h, w = before.shape
    zero = torch.zeros(2, 3, 3, dtype=torch.float64)
    r = GRAIN_WINDOW // 2
    if h <= 2 * r or w <= 2 * r:
        return zero

    def high_pass(img):
        return img[:, r:h - r, r:w - r] - F.avg_pool2d(img[None], GRAIN_WINDOW, stride=1)[0]

    residual = high_pass(after.double() - predicted.double()).reshape(3, -1)
    detail = high_pass(before.double()).reshape(3, -1)
    y = (before.double() * edits.LUMA.double()[:, None, None]).sum(0)  # float32 weights, as Swift's lumaWeights
    grad = torch.zeros(h, w, dtype=torch.float64)
    grad[:, :-1] += (y[:, 1:] - y[:, :-1]).abs()
    grad[:-1, :] += (y[1:, :] - y[:-1, :]).abs()
    flatness = F.avg_pool2d(grad[None, None], 3, stride=1)[0, 0][r - 1:h - r - 1, r - 1:w - r - 1] * 9
    inner = predicted.double()[:, r:h - r, r:w - r]
    eligible = ((inner >= GRAIN_RANGE[0]) & (inner <= GRAIN_RANGE[1])).all(0).flatten()
    index = torch.nonzero(eligible).flatten()
    count = int(-(-index.numel() * GRAIN_FLAT_SHARE // 1))
    if count < GRAIN_MIN_PIXELS:
        return zero
    chosen = index[torch.sort(flatness.flatten()[index], stable=True).indices[:count]]
    v, d = residual[:, chosen], detail[:, chosen]
    iw = w - 2 * r
    blocks = -(-w // GRAIN_BLOCK)
    block = ((chosen // iw + r) // GRAIN_BLOCK) * blocks + (chosen % iw + r) // GRAIN_BLOCK
    n = int(block.max()) + 1
    num = torch.zeros(3, n, dtype=torch.float64).index_add_(1, block, v * d)
    den = torch.zeros(3, n, dtype=torch.float64).index_add_(1, block, d * d)
    beta = torch.where(den > 1e-12, num / den.clamp_min(1e-12), torch.zeros_like(num))
    v = v - beta[:, block] * d
    cov = torch.zeros(3, 3, dtype=torch.float64)
    for a in range(3):
        cov[a, a] = _robust_scale(v[a]) ** 2
        for b in range(a):
            cov[a, b] = cov[b, a] = (_robust_scale(v[a] + v[b]) ** 2 - _robust_scale(v[a] - v[b]) ** 2) / 4
    # The size, from the raw residual's differences along both axes at lags 1 and 2.
    raw = (after.double() - predicted.double()).reshape(3, -1)
    full = (chosen // iw + r) * w + chosen % iw + r

    def differences(lag):
        return torch.cat([raw[:, full + lag] - raw[:, full], raw[:, full + lag * w] - raw[:, full]], 1)

    one, two = differences(1), differences(2)
    v1 = sum(_clipped_variance(one[c]) for c in range(3))
    v2 = sum(_clipped_variance(two[c]) for c in range(3))
    # Whether there is grain is judged on what the high-pass sees, read as white noise: read with
    # the size, the smooth fit errors of grainless edits look coarse and loud (up to 0.0073).
    if float(cov.diagonal().max()) / (1 - 1 / GRAIN_WINDOW ** 2) < GRAIN_MIN_SIGMA ** 2:
        return zero
    k = grain_kernel(grain_size(v1 / v2 if v2 > 0 else 1.0))
    cov /= _grain_high_pass_share(k)
    return torch.stack([cov, cov * _lag(k, 1)])


def grain_centre(img):
    """The centre of `img` `[3, H, W]`, at most `GRAIN_FIT_SIDE` a side: where `fit_grain` reads the pair."""
    _, h, w = img.shape
    ch, cw = min(h, GRAIN_FIT_SIDE), min(w, GRAIN_FIT_SIDE)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return img[:, y0:y0 + ch, x0:x0 + cw]


def grain_of(before, after, fitted):
    """`fit_grain` as encode_delta runs it: on the centre of the pair, against the fit's prediction."""
    return fit_grain(grain_centre(before), grain_centre(after), grain_centre(apply_fit(before, fitted)))


def grain_mean(img, grain):
    """E[clip(img + n)] for normal n of covariance `grain[0]` (`fit_grain`'s lag 0), per channel: what a draw of the grain
    gives on average, and the least squared error any one output can have against a draw."""
    out = img.double().clone()
    for c in range(3):
        s = float(grain[0, c, c])
        if s <= 0:
            continue
        s = s ** 0.5
        x = out[c]
        lo, hi = -x / s, (1 - x) / s
        cdf = lambda z: 0.5 * (1 + torch.erf(z / 2 ** 0.5))
        pdf = lambda z: torch.exp(-z * z / 2) / (2 * torch.pi) ** 0.5
        out[c] = x * (cdf(hi) - cdf(lo)) + s * (pdf(lo) - pdf(hi)) + (1 - cdf(hi))
    return out.to(img.dtype).clamp(0, 1)


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


SHARD = 64  # exemplars per shard: one encoder batch, and the unit of parallel work


def build(split, exemplars, queries, families, seed, encoder, compose_probability=0.25, size=64, log=print, workers=1):
    """The examples of one split: dict of tensors (see module doc). Exemplars are drawn in shards of
    `SHARD`, shard j from the generator seeded `[seed, j]`, so the data depend on the seed alone,
    not on how many `workers` (processes, each one thread) build them."""
    pool = photos(split)
    assert len(pool) >= 2, f"the {split} split has {len(pool)} photos"
    shards = [(j, min(SHARD, exemplars - j * SHARD)) for j in range((exemplars + SHARD - 1) // SHARD)]
    job = (pool, queries, families, seed, encoder, compose_probability, size)
    global _JOB
    _JOB = job  # read by _job_shard here, and inherited by forked workers instead of pickled per shard
    parts, done = [], 0
    with contextlib.ExitStack() as stack:
        if workers > 1:
            import multiprocessing
            pool_map = stack.enter_context(multiprocessing.get_context("fork").Pool(
                workers, initializer=torch.set_num_threads, initargs=(1,))).imap
        else:
            pool_map = map
        for part in pool_map(_job_shard, shards):
            parts.append(part)
            done += len(part["delta"])
            log(f"  {split}: {done}/{exemplars} exemplars")
    data = {k: torch.cat([q[k] for q in parts]) for k in parts[0] if k != "family"}
    data["family"] = [f for q in parts for f in q["family"]]
    data["queries"] = queries
    return data


_JOB = None


def _job_shard(shard):
    return _shard(_JOB, *shard)


def _shard(job, j, count):
    pool, queries, families, seed, encoder, compose_probability, size = job
    rng = np.random.default_rng([seed, j])
    out = {k: [] for k in ("affine", "change", "a", "a_fit", "a_edited", "b", "b_fit", "b_edited", "region", "family")}
    batch_a, batch_a2 = [], []
    for _ in range(count):
        edit = edits.sample_edit(rng, families, compose_probability)
        ia = int(rng.integers(len(pool)))
        a = resize(random_crop(pool[ia][1], rng), 224, 224)
        a2, _ = edits.apply_edit(edit, a)
        batch_a.append(a)
        batch_a2.append(a2)
        out["affine"].append(color_affine(a, a2))
        fitted = fit(a, a2)
        out["change"].append(change_grid(a, a2))
        # The exemplar itself as a query (encode_delta's test of the models' correction).
        small = resize(a, 2 * size, 2 * size)
        out["a"].append(F.avg_pool2d(small[None], 2)[0])
        out["a_fit"].append(F.avg_pool2d(apply_fit(small, fitted)[None], 2)[0])
        out["a_edited"].append(F.avg_pool2d(resize(a2, 2 * size, 2 * size)[None], 2)[0])
        for _ in range(queries):
            ib = int(rng.integers(len(pool) - 1))
            ib += ib >= ia  # another photo than the exemplar's
            b = resize(random_crop(pool[ib][1], rng), 2 * size, 2 * size)
            b2, region = edits.apply_edit(edit, b)
            out["b"].append(F.avg_pool2d(b[None], 2)[0])
            out["b_fit"].append(F.avg_pool2d(apply_fit(b, fitted)[None], 2)[0])
            out["b_edited"].append(F.avg_pool2d(b2[None], 2)[0])
            out["region"].append(F.avg_pool2d(region[None, None], 2)[0, 0])
            out["family"].append(edits.name(edit))
    before, after = encoder.tokens(batch_a), encoder.tokens(batch_a2)
    data = {k: torch.stack(v) for k, v in out.items() if k != "family"}
    data["family"] = out["family"]
    data["delta"] = (after - before).half()
    for p in ("a", "b"):
        data[p] = (data[p] * 255).round().to(torch.uint8)  # queries are 8-bit photos
        data[f"{p}_edited"] = data[f"{p}_edited"].half()
        data[f"{p}_fit"] = data[f"{p}_fit"].half()
    data["region"] = data["region"].half()
    return data
