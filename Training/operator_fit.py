"""The learned operator of Sources/ExemplarFit/LearnedOperator.swift, in numpy (its blurs edits.py's): the reference the
Swift code is checked against (Training/export_operator_golden.py) and the place to try changes to
its design before they are written in Swift.

A regression on random ReLU features, fitted in closed form on the exemplar pair at the working
size: one sample per pixel and channel, `INPUTS` inputs each (the channel's value, the luma, the
colour differences, the channel's neighbourhood at five scales, the position, the fit's output and
the channel), `FEATURES` random features, tone curves of the value and the luma (`KNOTS` hats each:
steps and folds a random feature draws only coarsely), and a ridge solve whose weight is chosen on held-out parts
of the pair (by place and by colour). It predicts the after minus the fit. Images are float arrays
`[H, W, 3]` in 0…1 (interleaved, as the Swift code holds them).
"""
import numpy as np
import torch

import edits

INPUTS = 57
FEATURES = 256
KNOTS = 64
WEIGHTS = FEATURES + INPUTS + 1 + 4 * KNOTS
LEVELS = 5
SAMPLES = 90_000
RIDGES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
KEEP_MARGIN = 0.8
VISIBLE_ERROR = 2 / 255
FADE = 0.5
DIFFERENCE_SCALE = 4.0
BLOCKS = 4
MASK = (1 << 64) - 1


def _mix(value):
    z = (value + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class SeededRandom:
    """NodeKit's SeededRandom (SplitMix64), bit for bit."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        out = _mix(self.state)
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        return out

    def unit(self):
        return np.float32((self.next() >> 40) + 1) / np.float32(1 << 24)


def projection():
    random = SeededRandom(0x6F70657261746F72)
    scale = np.float32(np.sqrt(np.float32(3.0 / INPUTS)))
    w = np.array([(np.float32(2) * random.unit() - np.float32(1)) * scale for _ in range(INPUTS * FEATURES)],
                 dtype=np.float32).reshape(INPUTS, FEATURES)
    b = np.array([np.float32(2) * random.unit() - np.float32(1) for _ in range(FEATURES)], dtype=np.float32)
    return w, b


W, B = projection()


def levels(rgb):
    """The photo and its blurs at σ 1, 2, 4 and 8 px (edits.gaussian_blur: the spatial filter's blur)."""
    planar = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
    return [rgb] + [edits.gaussian_blur(planar, 0.5 * 2 ** k).permute(1, 2, 0).numpy() for k in range(1, LEVELS)]


def inputs(rgb, fit, pixels, channels, pyramid=None):
    """`[n, INPUTS]` for (pixel, channel) pairs, in the Swift code's order."""
    h, w = rgb.shape[:2]
    pyramid = levels(rgb) if pyramid is None else pyramid
    py, px = pixels // w, pixels % w
    flat = rgb.reshape(-1, 3)
    v = flat[pixels, channels]
    y = (np.float32(0.299) * flat[:, 0] + np.float32(0.587) * flat[:, 1] + np.float32(0.114) * flat[:, 2])[pixels]
    cols = [2 * v - 1, 2 * y - 1] + [4 * (flat[pixels, j] - y) for j in range(3)]
    for level in range(LEVELS):
        s = 2 ** level
        for dy in (-s, 0, s):
            for dx in (-s, 0, s):
                if level == 0 and dy == 0 and dx == 0:
                    continue
                yy, xx = np.clip(py + dy, 0, h - 1), np.clip(px + dx, 0, w - 1)
                cols.append(DIFFERENCE_SCALE * (pyramid[level][yy, xx, channels] - v))
    u = (2 * px + 1).astype(np.float32) / w - 1
    t = (2 * py + 1).astype(np.float32) / h - 1
    cols += [u, t, np.sqrt((u * u + t * t) / 2)]
    f = fit.reshape(-1, 3)[pixels, channels]
    cols += [2 * f - 1, DIFFERENCE_SCALE * (f - v)]
    cols += [(channels == j).astype(np.float32) for j in range(3)]
    return np.stack(cols, 1).astype(np.float32)


def curve(u):
    """Hat functions of `u` (in -1…1) at `KNOTS` even knots: `[n, KNOTS]`, two non-zero per row."""
    t = (np.clip(u, -1, 1) + np.float32(1)) * np.float32((KNOTS - 1) / 2)
    knot = np.minimum(t.astype(np.int64), KNOTS - 2)
    frac = (t - knot).astype(np.float32)
    out = np.zeros((len(u), KNOTS), np.float32)
    rows = np.arange(len(u))
    out[rows, knot] = 1 - frac
    out[rows, knot + 1] = frac
    return out


def features(x):
    """The random features, the inputs, a constant, and tone curves: one of the channel's value
    shared by the channels, and one of the luma per channel (inputs 0 and 1, the channel one-hot
    the last three)."""
    luma = curve(x[:, 1])
    curves = [curve(x[:, 0])] + [luma * x[:, INPUTS - 3 + j, None] for j in range(3)]
    return np.concatenate([np.maximum(0, x @ W + B), x, np.ones((len(x), 1), np.float32)] + curves, 1)


def held_out_group(pixels, blurred, h, w):
    place = ((pixels // w) * BLOCKS // h + (pixels % w) * BLOCKS // w) % 2
    cells = np.clip((blurred.reshape(-1, 3)[pixels] * 3).astype(np.int64), 0, 2).sum(1) % 2
    return np.where(place == cells, place, 2)


def solve(gram, moment, ridge):
    a = gram + np.diag(ridge * np.diag(gram) + 1e-8)
    return np.linalg.solve(a, moment)


def fit(before, fitted, after):
    """(readout, low, high), or None where the operator does not beat the fit held out."""
    if min(before.shape[:2]) < 16:
        return None
    return fit_samples(*samples(before, fitted, after))


def samples(before, fitted, after):
    """The (pixel, channel) samples the operator is fitted on: inputs `[n, INPUTS]`, targets (after
    minus fit) and held-out groups, as `fit_samples` takes them."""
    h, w = before.shape[:2]
    pyramid = levels(before)
    n = min(SAMPLES, 3 * w * h)
    random = SeededRandom(0x73616D706C65)
    drawn = np.array([random.next() % (3 * w * h) for _ in range(n)], dtype=np.int64)
    pixels, channels = drawn // 3, drawn % 3
    x = inputs(before, fitted, pixels, channels, pyramid)
    y = (after.reshape(-1, 3)[pixels, channels] - fitted.reshape(-1, 3)[pixels, channels]).astype(np.float64)
    return x, y, held_out_group(pixels, pyramid[3], h, w)


def fit_samples(x, y, groups):
    """The operator on samples `x` (`[n, INPUTS]`) with targets `y` (after minus fit), groups 0
    and 1 predicting each other to choose the ridge and decide whether it is kept (2: training
    only): (readout, low, high), or None."""
    n = len(x)
    ordered = np.sort(x, 0)
    low, high = ordered[int(0.001 * (n - 1))], ordered[int(0.999 * (n - 1))]
    x = np.clip(x, low, high)
    phi = features(x).astype(np.float64)
    sums = []
    for g in range(3):
        p, t = phi[groups == g], y[groups == g]
        sums.append((p.T @ p, p.T @ t, float(t @ t)))
    errors = np.zeros(len(RIDGES))
    for train, test in ((0, 1), (1, 0)):
        for r, ridge in enumerate(RIDGES):
            beta = solve(sums[train][0], sums[train][1], ridge)
            g, m, e = sums[test]
            errors[r] += beta @ g @ beta - 2 * beta @ m + e
    best = int(np.argmin(errors))
    baseline = sums[0][2] + sums[1][2]
    if errors[best] >= KEEP_MARGIN * baseline or baseline <= VISIBLE_ERROR ** 2 * (groups < 2).sum():
        return None
    beta = solve(sum(s[0] for s in sums), sum(s[1] for s in sums), RIDGES[best])
    return beta.astype(np.float32), low, high


def correction(operator, rgb, fitted):
    """The after minus the fit, `[H, W, 3]`, at each pixel of a working-size photo."""
    readout, low, high = operator
    h, w = rgb.shape[:2]
    pixels = np.repeat(np.arange(h * w), 3)
    channels = np.tile(np.arange(3), h * w)
    x = inputs(rgb, fitted, pixels, channels)
    clamped = np.clip(x, low, high)
    gate = np.maximum(0, 1 - np.abs(x - clamped).sum(1) / FADE)
    return (gate * (features(clamped) @ readout)).reshape(h, w, 3)
