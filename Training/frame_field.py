"""The frame field of Sources/ExemplarFit/FrameField.swift, in numpy: the reference the Swift code
is checked against (Training/export_field_golden.py) and the place to try changes to its design.

An edit that varies across the frame (a vignette, a graduated filter, a spotlight) as a smooth field:
a gain of the fitted value shared by the channels and an offset per channel, each on a bilinear
`KNOTS`² grid over normalised position; least squares with a second-difference smoothness penalty
and a ridge chosen on held-out parts of one pair (by place and by colour) or pair by pair, kept
only where it leaves a fifth of the held-out error. Images are float arrays `[H, W, 3]` in 0…1.
"""
import numpy as np

import operator_fit

KNOTS = 9
GRIDS = 4
WEIGHTS = GRIDS * KNOTS * KNOTS
SMOOTHNESS = 0.1
KEEP_RATIO = 0.2
OFFSET_RIDGE = 0.1
BLOCKS = 4


def positions(n):
    return (2 * np.arange(n) + 1).astype(np.float32) / np.float32(n) - np.float32(1)


def axis(x):
    s = (np.clip(x, -1, 1) + np.float32(1)) * np.float32((KNOTS - 1) / 2)
    k = np.minimum(s.astype(np.int64), KNOTS - 2)
    return k, (s - k).astype(np.float32)


def hats(h, w):
    """`[H·W, KNOTS²]` bilinear weights of every pixel's four nodes."""
    ku, fu = axis(positions(w))
    kt, ft = axis(positions(h))
    out = np.zeros((h, w, KNOTS * KNOTS), np.float32)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    for du, wu in ((0, 1 - fu), (1, fu)):
        for dt, wt in ((0, 1 - ft), (1, ft)):
            out[yy, xx, (kt[:, None] + dt) * KNOTS + (ku[None, :] + du)] += wt[:, None] * wu[None, :]
    return out.reshape(h * w, KNOTS * KNOTS)


def design(fit):
    """`[H·W·3, WEIGHTS]`: per pixel and channel, the gain's hats times the value, then that
    channel's offset hats."""
    h, w = fit.shape[:2]
    hat = hats(h, w).astype(np.float64)
    plane = KNOTS * KNOTS
    rows = np.zeros((h * w, 3, WEIGHTS))
    for k in range(3):
        rows[:, k, :plane] = hat * fit.reshape(-1, 3)[:, k, None].astype(np.float64)
        rows[:, k, (1 + k) * plane:(2 + k) * plane] = hat
    return rows.reshape(h * w * 3, WEIGHTS)


def penalty():
    p = np.zeros((WEIGHTS, WEIGHTS))
    plane = KNOTS * KNOTS
    for g in range(GRIDS):
        for t in range(KNOTS):
            for u in range(KNOTS):
                node = g * plane + t * KNOTS + u
                rows = []
                if 0 < u < KNOTS - 1:
                    rows.append((node - 1, node, node + 1))
                if 0 < t < KNOTS - 1:
                    rows.append((node - KNOTS, node, node + KNOTS))
                for row in rows:
                    d = np.zeros(WEIGHTS)
                    d[list(row)] = (1, -2, 1)
                    p += np.outer(d, d)
    return p


def solve(gram, moment, pen, share, ridge):
    a = gram + share * pen
    ridges = np.full(WEIGHTS, ridge)
    ridges[KNOTS * KNOTS:] += OFFSET_RIDGE
    a = a + np.diag(ridges * np.diag(a) + 1e-8)
    return np.linalg.solve(a, moment)


def groups(before):
    """One pair's held-out group per pixel: 0 or 1 where the 4×4 checkerboard of the frame and the
    3×3×3 one of its colour (blurred by σ 4) agree, else 2 (trains only); by place alone where
    that leaves one group under a quarter of the other."""
    h, w = before.shape[:2]
    pixels = np.arange(h * w)
    place = ((pixels // w) * BLOCKS // h + (pixels % w) * BLOCKS // w) % 2
    both = operator_fit.held_out_group(pixels, operator_fit.levels(before)[3], h, w)
    counts = [(both == g).sum() for g in range(2)]
    return place if 4 * min(counts) < max(counts) else both


def fit(examples):
    """`examples`: (before, fit, after) triples at the working size. (weights, held-out error, the
    fit's own held-out error) — weights None where the field is not kept."""
    single = len(examples) == 1
    held = 2 if single else len(examples)
    sums = [[np.zeros((WEIGHTS, WEIGHTS)), np.zeros(WEIGHTS), 0.0] for _ in range(held + 1)]
    counts = [0] * (held + 1)
    for e, (before, fitted, after) in enumerate(examples):
        x = design(fitted)
        y = (after.astype(np.float64) - fitted.astype(np.float64)).reshape(-1)
        group = np.repeat(groups(before), 3) if single else np.full(len(y), e)
        for g in range(held + 1):
            xs, ys = x[group == g], y[group == g]
            sums[g][0] += xs.T @ xs
            sums[g][1] += xs.T @ ys
            sums[g][2] += float(ys @ ys)
            counts[g] += len(ys)
    total = sum(counts)
    gram_all = sum(s[0] for s in sums)
    moment_all = sum(s[1] for s in sums)
    pen = penalty() * SMOOTHNESS * np.mean(np.diag(gram_all))
    errors = np.zeros(len(operator_fit.RIDGES))
    for test in range(held):
        train = [s for i, s in enumerate(sums) if i != test]
        g, m = sum(s[0] for s in train), sum(s[1] for s in train)
        share = (total - counts[test]) / total
        for r, ridge in enumerate(operator_fit.RIDGES):
            beta = solve(g, m, pen, share, ridge)
            tg, tm, te = sums[test]
            errors[r] += beta @ tg @ beta - 2 * beta @ tm + te
    best = int(np.argmin(errors))
    baseline = sum(s[2] for s in sums[:held])
    if errors[best] >= KEEP_RATIO * baseline or baseline <= operator_fit.VISIBLE_ERROR ** 2 * sum(counts[:held]):
        return None, errors[best], baseline
    return (solve(gram_all, moment_all, pen, 1, operator_fit.RIDGES[best]).astype(np.float32), errors[best],
            baseline)


def apply(weights, fitted):
    """`fitted` with the field, within 0…1."""
    h, w = fitted.shape[:2]
    hat = hats(h, w)
    plane = KNOTS * KNOTS
    gain = hat @ weights[:plane]
    offsets = np.stack([hat @ weights[(1 + k) * plane:(2 + k) * plane] for k in range(3)], 1)
    out = fitted.reshape(-1, 3) * (1 + gain[:, None]) + offsets
    return np.clip(out, 0, 1).reshape(h, w, 3).astype(np.float32)
