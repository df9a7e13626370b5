import ImageCodecs
import NodeKit

/// An exemplar's before and after, brought to one frame and checked to show the same photo, with
/// the exact facts a pixel-aligned pair gives for free.
package struct ExemplarPair: Sendable {
    /// RGB, same size.
    package let before: Image
    package let after: Image
    /// Both at the working size (longest side ``workingSide``, aspect kept): what the alignment
    /// check, the colour fit and the change grid read.
    package let working: (before: Image, after: Image)

    /// Relative aspect-ratio difference tolerated when the two sides differ in size (an "after"
    /// exported at a smaller size): below it, the larger is resized to the smaller.
    static let aspectTolerance = 0.01
    /// Side of the working copy the alignment check and the colour fit run at.
    static let workingSide = 256

    /// Brings `after` to `before`'s frame, or explains why the two cannot be one photo.
    package init(before: Image, after: Image) throws(NodeError) {
        var (b, a) = (before.converted(to: .rgb), after.converted(to: .rgb))
        if (b.width, b.height) != (a.width, a.height) {
            let ratio = (Double(b.width) / Double(b.height)) / (Double(a.width) / Double(a.height))
            guard abs(ratio - 1) <= Self.aspectTolerance else {
                throw NodeError(
                    """
                    the exemplar's before is \(b.width)x\(b.height) but its after is \(a.width)x\(a.height): \
                    an exemplar is one photo before and after an edit, so both must show the same frame \
                    (crop or resize one to match the other)
                    """)
            }
            // Same frame at two sizes: compare at the smaller, losing nothing either side has.
            if b.width * b.height > a.width * a.height {
                b = b.resized(width: a.width, height: a.height)
            } else {
                a = a.resized(width: b.width, height: b.height)
            }
        }
        self.before = b
        self.after = a
        working = (b.fitting(maxSide: Self.workingSide), a.fitting(maxSide: Self.workingSide))
        let scale = Double(working.before.width) / Double(b.width)
        guard let measured = Self.alignment(working.before, working.after) else { return }
        if let shift = Self.misalignment(measured) {
            let (dx, dy) = (Int((Double(shift.dx) / scale).rounded()), Int((Double(shift.dy) / scale).rounded()))
            throw NodeError(
                """
                the exemplar's after looks shifted against its before by about (\(dx), \(dy)) pixels: \
                an exemplar must be pixel-aligned — the same photo, edited in place (undo any crop, \
                rotation or re-framing in the after, or re-export both from the same source)
                """)
        }
        if Self.unrelated(measured) {
            throw NodeError(
                """
                the exemplar's before and after look like two different photos: their structure correlates \
                by \(String(format: "%.2f", measured.best.score)) at best (a photo edited in place: over 0.2) \
                and the before's colours predict \(Int((max(0, measured.colour) * 100).rounded()))% of the after's \
                (an edit: over 35%) — an exemplar is one photo before and after an edit; check that the two \
                files are the pair you meant
                """)
        }
    }

    /// How `after` relates to `before` at 128 px: where their luma-gradient structure correlates
    /// best (within ±3 px), how well in place, how the lumas correlate at the best offset, how
    /// much of the after's colour variance the before's colours predict (a 9³-cell table, on the
    /// ``HeldOut`` checkerboard), and the after's luma spread.
    struct Alignment {
        let best: (score: Double, dx: Int, dy: Int)
        let atZero: Double
        let tones: Double
        let colour: Double
        let spread: Double
        /// The before's, alike: a near-flat before (a plain backdrop) has no structure to share.
        let beforeSpread: Double
        /// The measuring copy's size over the given images'.
        let scale: Double
    }

    static func alignment(_ before: Image, _ after: Image) -> Alignment? {
        let side = 128
        let scale = min(1, Double(side) / Double(max(before.width, before.height)))
        let (w, h) = (max(1, Int(Double(before.width) * scale)), max(1, Int(Double(before.height) * scale)))
        guard w >= 16 && h >= 16 else { return nil }
        let (small0, small1) = (
            before.resized(width: w, height: h, filter: .area), after.resized(width: w, height: h, filter: .area)
        )
        let (x, y) = (small0.floatSamples(), small1.floatSamples())
        let (l0, l1) = (luma(x), luma(y))
        let (g0, g1) = (gradientMagnitude(l0, width: w, height: h), gradientMagnitude(l1, width: w, height: h))
        let reach = 3
        var best = (score: -2.0, dx: 0, dy: 0)
        var atZero = 0.0
        for dy in -reach...reach {
            for dx in -reach...reach {
                let score = correlation(g0, g1, w: w, h: h, dx: dx, dy: dy, margin: reach)
                if dx == 0 && dy == 0 { atZero = score }
                if score > best.score { best = (score, dx, dy) }
            }
        }
        func spread(_ v: [Float]) -> Double {
            let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
            return (v.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(v.count)).squareRoot()
        }
        return Alignment(
            best: best, atZero: atZero, tones: correlation(l0, l1, w: w, h: h, dx: best.dx, dy: best.dy, margin: reach),
            colour: predictedShare(x, y, width: w, height: h), spread: spread(y), beforeSpread: spread(x),
            scale: scale)
    }

    /// The shift (in the measured images' pixels) at which the after's structure lines up with
    /// the before's, when that is clearly not zero. Structure is the luma gradient magnitude,
    /// which survives colour, tone and blur edits (inversion too).
    ///
    /// Structure must be clearly better aligned elsewhere than in place, and well aligned there:
    /// an emboss's relief (a derivative of the photo) lines up a pixel over, but far less well
    /// than a shifted photo does. And the shifted photo's tones must follow it there (or their
    /// inverse): an emboss's grey relief does not (Docs/exemplar-fit.md, "The pair").
    static func misalignment(_ a: Alignment) -> (dx: Int, dy: Int)? {
        guard (a.best.dx, a.best.dy) != (0, 0), a.best.score > 0.75, a.best.score > a.atZero + 0.1,
            abs(a.tones) > 0.95
        else { return nil }
        return (Int((Double(a.best.dx) / a.scale).rounded()), Int((Double(a.best.dy) / a.scale).rounded()))
    }

    /// Two different photos: no structure in common anywhere near in place, and the before's
    /// colours predict little of the after's, and both are photos (spread out, not a near-flat
    /// threshold or fill, nor a plain backdrop a spotlight lit). Every edit measured keeps one or
    /// the other (Docs/exemplar-fit.md, "The pair").
    static func unrelated(_ a: Alignment) -> Bool {
        a.best.score < 0.2 && a.colour < 0.35 && a.spread > 0.1 && a.beforeSpread > 0.1
    }

    /// 1 − the held-out squared error of predicting `y` from `x` (interleaved RGB) by the mean
    /// after-colour of each of 9³ before-colour cells (the training half's mean where a cell is
    /// empty), over `y`'s variance.
    static func predictedShare(_ x: [Float], _ y: [Float], width w: Int, height h: Int) -> Double {
        let n = 9
        let count = w * h
        let cells = (0..<count).map { p in
            (0..<3).reduce(0) { $0 * n + min(n - 1, max(0, Int((x[3 * p + $1] * Float(n - 1)).rounded()))) }
        }
        var mean = [Double](repeating: 0, count: 3)
        for p in 0..<count { for k in 0..<3 { mean[k] += Double(y[3 * p + k]) / Double(count) } }
        var variance = 0.0
        for p in 0..<count {
            for k in 0..<3 { variance += (Double(y[3 * p + k]) - mean[k]) * (Double(y[3 * p + k]) - mean[k]) }
        }
        guard variance > 1e-12 else { return 1 }
        let halves = HeldOut.halves(width: w, height: h)
        var error = 0.0
        for (train, test) in [(halves[0], halves[1]), (halves[1], halves[0])] {
            var sums = [Double](repeating: 0, count: n * n * n * 3)
            var counts = [Double](repeating: 0, count: n * n * n)
            var trainMean = [Double](repeating: 0, count: 3)
            for p in train {
                counts[cells[p]] += 1
                for k in 0..<3 {
                    sums[cells[p] * 3 + k] += Double(y[3 * p + k])
                    trainMean[k] += Double(y[3 * p + k]) / Double(train.count)
                }
            }
            for p in test {
                for k in 0..<3 {
                    let c = cells[p]
                    let predicted = counts[c] > 0 ? sums[c * 3 + k] / counts[c] : trainMean[k]
                    error += (predicted - Double(y[3 * p + k])) * (predicted - Double(y[3 * p + k]))
                }
            }
        }
        return 1 - error / variance
    }

    /// Per pixel of interleaved RGB.
    private static func luma(_ rgb: [Float]) -> [Float] {
        (0..<(rgb.count / 3)).map { p in
            lumaWeights.r * rgb[3 * p] + lumaWeights.g * rgb[3 * p + 1] + lumaWeights.b * rgb[3 * p + 2]
        }
    }

    private static func gradientMagnitude(_ luma: [Float], width w: Int, height h: Int) -> [Float] {
        var g = [Float](repeating: 0, count: w * h)
        for y in 1..<(h - 1) {
            for x in 1..<(w - 1) {
                let gx = luma[y * w + x + 1] - luma[y * w + x - 1]
                let gy = luma[(y + 1) * w + x] - luma[(y - 1) * w + x]
                g[y * w + x] = (gx * gx + gy * gy).squareRoot()
            }
        }
        return g
    }

    /// Normalised cross-correlation of `a` and `b` shifted by (dx, dy), over the interior.
    private static func correlation(_ a: [Float], _ b: [Float], w: Int, h: Int, dx: Int, dy: Int, margin: Int) -> Double
    {
        var (sa, sb, saa, sbb, sab, n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        for y in (margin + 1)..<(h - margin - 1) {
            for x in (margin + 1)..<(w - margin - 1) {
                let u = Double(a[y * w + x])
                let v = Double(b[(y + dy) * w + x + dx])
                sa += u
                sb += v
                saa += u * u
                sbb += v * v
                sab += u * v
                n += 1
            }
        }
        guard n > 0 else { return 0 }
        let cov = sab / n - sa / n * sb / n
        let va = saa / n - sa / n * sa / n
        let vb = sbb / n - sb / n * sb / n
        guard va > 1e-12 && vb > 1e-12 else { return 0 }
        return cov / (va * vb).squareRoot()
    }

    /// The longest side the colour step is fitted at (``subsampled(_:width:height:side:)``).
    package static let colourFitSide = 512

    /// Every s-th pixel of an RGB image in both directions, starting at s / 2, with the smallest
    /// s that brings the longer side to at most `side`: a smaller pair whose pixels keep
    /// after = f(before) exactly, which averaging breaks wherever an edit is nonlinear or clips
    /// (Docs/exemplar-fit.md). Same as `subsampled` in Training/edit_data.py.
    package static func subsampled(_ rgb: [Float], width w: Int, height h: Int, side: Int) -> Image {
        let s = max(1, (max(w, h) + side - 1) / side)
        let (xs, ys) = (Array(stride(from: s / 2, to: w, by: s)), Array(stride(from: s / 2, to: h, by: s)))
        var out = [Float]()
        out.reserveCapacity(xs.count * ys.count * 3)
        for y in ys {
            for x in xs { out.append(contentsOf: rgb[((y * w + x) * 3)..<((y * w + x) * 3 + 3)]) }
        }
        return Image(width: xs.count, height: ys.count, colorModel: .rgb, samples: out)
    }

    /// `after − before` averaged over a `side × side` grid of cells: where and how the colours
    /// moved, `[side, side, 3]`.
    package static func changeGrid(_ before: Image, _ after: Image, side: Int) -> [Float] {
        let b = before.resized(width: side, height: side, filter: .area).floatSamples()
        let a = after.resized(width: side, height: side, filter: .area).floatSamples()
        return zip(a, b).map { $0 - $1 }
    }
}
