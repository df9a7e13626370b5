import Foundation
import ImageCodecs
import TensorCore

/// The spatial part of an exemplar's edit that fitting can recover exactly: `img + k·(F(img) − img)`
/// with F a gaussian blur (k = 1 a blur, k < 0 an unsharp mask), the same on the luma alone
/// (every channel moved by the luma's change: a raw editor's sharpening or clarity), or a rank
/// filter (a median, a minimum or a maximum over a square window: nonlinear filters a blur
/// explains only in part), or a bilateral filter (an edge-keeping smoothing); nothing for k = 0.
/// Its reach (σ, or the window's radius) is relative to the image's shorter side, so one
/// exemplar's filter means the same on a photo of any size. Same fit as `fit_spatial` in
/// Training/edit_data.py.
package struct SpatialFilter: Equatable, Sendable {
    /// What F is; stored as its raw value.
    package enum Kind: Int, Sendable, CaseIterable {
        case gaussian = 0
        case median
        case minimum
        case maximum
        /// A gaussian of the luma, added to each channel as the luma's change.
        case luma
        /// The ``Bilateral`` filter: a gaussian of σ `reach` whose weights fall with colour distance.
        case bilateral

        var isRank: Bool { self == .median || self == .minimum || self == .maximum }
    }

    package var kind: Kind
    /// The gaussian's σ, or the rank filter's window radius, relative to the shorter side.
    package var reach: Double
    package var k: Double
    /// The bilateral filter's σ of colour distance (RGB, 0…1); 0 for the other kinds.
    package var spread: Double

    package init(kind: Kind, reach: Double, k: Double, spread: Double = 0) {
        self.kind = kind
        self.reach = reach
        self.k = k
        self.spread = spread
    }

    /// A gaussian of σ `sigma` (relative to the shorter side) blended in by `k`.
    package init(sigma: Double, k: Double) { self.init(kind: .gaussian, reach: sigma, k: k) }

    package static let none = SpatialFilter(sigma: 0, k: 0)
    /// σ tried by the fit: 0.003 … 0.024 of the shorter side, four per octave.
    static let sigmas = (0..<13).map { 0.003 * Foundation.pow(2, Double($0) / 4) }
    /// A rank filter's window radii tried, in pixels at the fit's size, until ``rankPatience`` in a
    /// row do no better than the kind's best.
    static let rankRadii = 1...8
    static let rankPatience = 2
    /// A filter is kept only if it halves the colour table's error alone...
    static let requiredGain = 0.5
    /// ... a rank filter only if it cuts it to a quarter: where it explains an edit only in part
    /// (a bilateral filter, 0.42 of the table's error, `Training/spatial_probe.py`), it wrecks
    /// other photos' fine lines; an exemplar's true median or dilation fitted at half its side
    /// leaves 0.02–0.11.
    static let rankRequiredGain = 0.25
    /// The bilateral filter's σ and σ of colour distance tried, each with each; it is held to the
    /// rank filters' bar, and tried only where a blur explains part of the edit.
    static let bilateralReaches = [0.004, 0.008, 0.016]
    static let bilateralSpreads = [0.05, 0.1, 0.2]
    /// The luma's gaussian is kept over the channels' only where it cuts their error by 10 %: on
    /// a gray exemplar the two are one filter.
    static let lumaMargin = 0.9
    static let minimumGain = 0.15
    /// ... and only where the table alone leaves over this share of the change's energy.
    static let identifiable = 1e-3
    /// The fit reads the exemplar at most this large: fine detail decides a sharpen.
    static let fitSide = 512
    /// Above this σ (in pixels) the blur runs on the image halved, as often as it takes to bring σ
    /// under it, so a large photo costs about the same per pixel whatever the blur.
    static let exactSigmaLimit = 8.0

    /// The filter that, followed by a colour table, best explains `before → after` (RGB, same size).
    package static func fit(_ before: Image, _ after: Image, _ c: Compute) -> SpatialFilter {
        fit([(before, after)], c)
    }

    /// The one filter that, followed by one colour table, best explains several pairs of one edit
    /// at once: each pair filtered at its own size, their pixels pooled.
    package static func fit(_ pairs: [(before: Image, after: Image)], _ c: Compute) -> SpatialFilter {
        let small = pairs.map { ($0.before.fitting(maxSide: fitSide), $0.after.fitting(maxSide: fitSide)) }
        let befores = small.map { $0.0.floatSamples() }
        let x = befores.flatMap { $0 }
        let y = small.flatMap { $0.1.floatSamples() }
        func colourError(_ source: [Float], _ c: Compute) -> Double { Self.colourError(source, y, c) }
        func colourErrors(_ candidates: [(filter: SpatialFilter, copy: [Float])]) -> [Double] {
            Self.colourErrors(candidates, x, y, c)
        }
        func gain(_ filtered: [Float], lowest: Double) -> Double? { Self.gain(filtered, x, y, lowest: lowest) }
        func filtered(_ filter: SpatialFilter) -> [Float] {
            zip(small, befores).flatMap { pair, samples in
                let (w, h) = (pair.0.width, pair.0.height)
                return filter.copy(of: RGBRows(samples, width: w, height: h), c)(0..<h)
            }
        }
        typealias Found = (error: Double, filter: SpatialFilter, filtered: [Float])
        // Per σ, the channels' gaussian and the luma's, the latter derived from the former's blur.
        let plain = colourError(x, c)
        var found: [Kind: Found] = [.gaussian: (plain, .none, x), .luma: (.infinity, .none, x)]
        for sigma in sigmas {
            let blurred = filtered(SpatialFilter(sigma: sigma, k: 1))
            let tried = [(Kind.gaussian, blurred), (.luma, Self.lumaCopy(x, blurred: blurred))].compactMap {
                kind, copy -> (filter: SpatialFilter, copy: [Float])? in
                gain(copy, lowest: -3).map { (SpatialFilter(kind: kind, reach: sigma, k: $0), copy) }
            }
            for (candidate, e) in zip(tried, colourErrors(tried))
            where e < found[candidate.filter.kind]!.error {
                found[candidate.filter.kind] = (e, candidate.filter, candidate.copy)
            }
        }
        // Clipping makes the least-squares gain of a strong sharpen too small: try larger ones.
        let sharpened = [Kind.gaussian, .luma].filter { found[$0]!.filter.k < 0 }
        let stronger = sharpened.flatMap { kind in
            [1.15, 1.3, 1.5, 1.75].map { factor in
                let first = found[kind]!.filter
                return SpatialFilter(kind: kind, reach: first.reach, k: max(-3, first.k * factor))
            }
        }
        let strongerErrors = colourErrors(stronger.map { ($0, found[$0.kind]!.filtered) })
        for (filter, e) in zip(stronger, strongerErrors) where e < found[filter.kind]!.error {
            (found[filter.kind]!.error, found[filter.kind]!.filter) = (e, filter)
        }
        let (channels, luma) = (found[.gaussian]!, found[.luma]!)
        // A sharpen of each channel where the edit sharpened the luma alone sharpens colour edges
        // too, which the colour step then undoes by desaturating every photo (Docs/exemplar-fit.md).
        var best = luma.error < lumaMargin * channels.error ? luma : channels
        let side = Double(min(small[0].0.width, small[0].0.height))
        for kind in Kind.allCases where kind.isRank {
            var (kindBest, since) = (Double.infinity, 0)
            // Radii in twos, their errors side by side; one past where patience runs out is wasted.
            radii: for pair in stride(from: rankRadii.lowerBound, through: rankRadii.upperBound, by: 2) {
                let tried = (pair...min(pair + 1, rankRadii.upperBound)).map { radius in
                    let reach = Double(radius) / side
                    let copy = filtered(SpatialFilter(kind: kind, reach: reach, k: 1))
                    return (
                        copy: copy, filter: gain(copy, lowest: 0).map { SpatialFilter(kind: kind, reach: reach, k: $0) }
                    )
                }
                var errors = colourErrors(tried.compactMap { t in t.filter.map { ($0, t.copy) } }).makeIterator()
                for (copy, filter) in tried {
                    var e = Double.infinity
                    if let filter {
                        e = errors.next()!
                        if e < best.error && e < rankRequiredGain * plain { best = (e, filter, copy) }
                    }
                    if e < kindBest {
                        (kindBest, since) = (e, 0)
                    } else {
                        since += 1
                    }
                    if since >= rankPatience { break radii }
                }
            }
        }
        // An edge-keeping smoothing smooths where a blur does, only less across edges. Its σ and
        // colour σ are chosen on the exemplar halved, at a sixteenth of the cost; the one chosen
        // is then judged at the fit's size as every other filter is.
        if found[.gaussian]!.filter.k > 0, let chosen = bilateralChoice(small, c) {
            let copy = filtered(SpatialFilter(kind: .bilateral, reach: chosen.reach, k: 1, spread: chosen.spread))
            if let k = gain(copy, lowest: 0) {
                let filter = SpatialFilter(kind: .bilateral, reach: chosen.reach, k: k, spread: chosen.spread)
                let e = colourErrors([(filter, copy)])[0]
                if e < best.error && e < rankRequiredGain * plain { best = (e, filter, copy) }
            }
        }
        // A colour table that explains the pair all but exactly leaves no filter to identify (a
        // flat exemplar turned grey fitted a sharpen of −3 that then wrecked its queries).
        let change = zip(x, y).reduce(0.0) { $0 + Double($1.1 - $1.0) * Double($1.1 - $1.0) } / Double(x.count)
        guard plain >= identifiable * change else { return .none }
        return best.error < requiredGain * plain ? best.filter : .none
    }

    /// The mean squared error left by a colour table (with the affine prior) fitted from `source`
    /// to `y`, as applied.
    static func colourError(_ source: [Float], _ y: [Float], _ c: Compute) -> Double {
        let all = Array(0..<(source.count / 3))
        let lut = ColorLUT.table(source, y, all, ColorLUT.Prior(source, y, all, curves: false))
        let predicted = ColorLUT.apply(lut, to: source, c)
        var e = 0.0
        for i in predicted.indices {
            let d = Double(predicted[i] - y[i])
            e += d * d
        }
        return e / Double(predicted.count)
    }

    /// ``colourError(_:_:_:)`` of each candidate blended into `x`. The table's prior is fitted on
    /// one thread and dominates the search, so the candidates are scored side by side, one per
    /// thread (each the same on any thread count).
    static func colourErrors(
        _ candidates: [(filter: SpatialFilter, copy: [Float])], _ x: [Float], _ y: [Float], _ c: Compute
    ) -> [Double] {
        let each = candidates.count > 1 ? Compute(threads: 1) : c
        var errors = [Double](repeating: 0, count: candidates.count)
        let lock = NSLock()
        c.parallel(candidates.count) { i, _ in
            let e = colourError(candidates[i].filter.combine(x, candidates[i].copy), y, each)
            lock.withLock { errors[i] = e }
        }
        return errors
    }

    /// The least-squares gain of `filtered − x` on the change `y − x`, within `lowest … 1.5`; nil
    /// where the filter changes nothing or under ``minimumGain``.
    static func gain(_ filtered: [Float], _ x: [Float], _ y: [Float], lowest: Double) -> Double? {
        var num = 0.0
        var energy = 0.0
        for i in x.indices {
            let d = Double(filtered[i] - x[i])
            num += Double(y[i] - x[i]) * d
            energy += d * d
        }
        guard energy > 1e-12 else { return nil }
        let k = min(1.5, max(lowest, num / energy))
        return abs(k) >= minimumGain ? k : nil
    }

    /// The bilateral filter's σ and colour σ (of ``bilateralReaches`` and ``bilateralSpreads``)
    /// that, blended in by its gain and followed by a colour table, best explain the pairs halved;
    /// nil where none has a gain. Each pair halved by 2 × 2 means (edges replicated).
    static func bilateralChoice(_ pairs: [(Image, Image)], _ c: Compute) -> (reach: Double, spread: Double)? {
        let befores = pairs.map { halved(RGBRows($0.0), margin: 0, c) }
        let x = befores.flatMap(\.0)
        let y = pairs.flatMap { halved(RGBRows($0.1), margin: 0, c).0 }
        let tried = bilateralReaches.flatMap { reach in
            bilateralSpreads.compactMap { spread -> (filter: SpatialFilter, copy: [Float])? in
                let copy = befores.flatMap { samples, w, h in
                    SpatialFilter(kind: .bilateral, reach: reach, k: 1, spread: spread)
                        .copy(of: RGBRows(samples, width: w, height: h), c)(0..<h)
                }
                return gain(copy, x, y, lowest: 0).map {
                    (SpatialFilter(kind: .bilateral, reach: reach, k: $0, spread: spread), copy)
                }
            }
        }
        let errors = colourErrors(tried, x, y, c)
        return errors.indices.min { errors[$0] < errors[$1] }.map { (tried[$0].filter.reach, tried[$0].filter.spread) }
    }

    /// What it does, in words: "blur, σ 0.6% of the shorter side".
    package var words: String {
        switch kind {
        case .gaussian, .luma:
            (k < 0 ? "sharpening" : "blur") + (kind == .luma ? " of the luminance" : "")
                + String(format: ", σ %.1f%% of the shorter side", reach * 100)
        case .median, .minimum, .maximum:
            String(format: "\(kind), window radius %.1f%% of the shorter side", reach * 100)
        case .bilateral:
            String(
                format: "edge-keeping smoothing (bilateral), σ %.1f%% of the shorter side, colour σ %.2f", reach * 100,
                spread)
        }
    }

    /// A rank filter's window radius in pixels on an image of shorter side `side` (at least 1).
    func radius(side: Int) -> Int { max(1, Int((reach * Double(side) + 0.5).rounded(.down))) }

    /// The filter on interleaved RGB samples of a `width × height` image, clamped to 0…1.
    package func apply(to rgb: [Float], width w: Int, height h: Int, _ c: Compute) -> [Float] {
        bands(of: RGBRows(rgb, width: w, height: h), c)(0..<h)
    }

    /// The filter over a photo (any colour model, made RGB; any sample format) a band of rows at
    /// a time, as ``apply(to:width:height:_:)`` gives them, with no full-size Float32 copy.
    package func bands(of photo: Image, _ c: Compute) -> (_ rows: Range<Int>) -> [Float] {
        bands(of: RGBRows(photo), c)
    }

    private func bands(of source: RGBRows, _ c: Compute) -> (_ rows: Range<Int>) -> [Float] {
        guard k != 0 else { return source.read }
        let filtered = copy(of: source, c)
        return { rows in combine(source.read(rows), filtered(rows)) }
    }

    /// F(source) itself, as bands of rows: what the filter blends in by k.
    private func copy(of source: RGBRows, _ c: Compute) -> (_ rows: Range<Int>) -> [Float] {
        let side = min(source.width, source.height)
        switch kind {
        case .gaussian: return Self.gaussian(source, sigma: reach * Double(side), c)
        case .luma:
            let blurred = Self.gaussian(source, sigma: reach * Double(side), c)
            return { rows in Self.lumaCopy(source.read(rows), blurred: blurred(rows)) }
        case .median, .minimum, .maximum: return RankFilter.bands(source, kind, radius: radius(side: side), c)
        case .bilateral: return Self.bilateral(source, sigma: reach * Double(side), spread: spread, c)
        }
    }

    /// The ``Bilateral`` filter, exact up to σ ``exactSigmaLimit``; beyond it the image is halved
    /// until σ is within it, filtered there and brought back by local colour transforms
    /// (``LocalAffine``), which carry the smoothing to the photo's own detail: its window's
    /// cost grows with σ², a halving's with nothing.
    private static func bilateral(_ source: RGBRows, sigma: Double, spread: Double, _ c: Compute)
        -> (_ rows: Range<Int>) -> [Float]
    {
        let (w, h) = (source.width, source.height)
        guard sigma > exactSigmaLimit && min(w, h) >= 32 else {
            return Bilateral.bands(source, sigma: sigma, spread: spread, c)
        }
        var (low, lw, lh) = halved(source, margin: 0, c)
        var s = sigma / 2
        while s > exactSigmaLimit && min(lw, lh) >= 32 {
            (low, lw, lh) = halved(RGBRows(low, width: lw, height: lh), margin: 0, c)
            s /= 2
        }
        let smoothed = Bilateral.bands(RGBRows(low, width: lw, height: lh), sigma: s, spread: spread, c)(0..<lh)
        // A small ridge: a flat patch's noise, which the small image smooths away, is smoothed
        // at full size too rather than kept by the image-wide transform.
        let carry = LocalAffine.fit(
            guide: low, target: smoothed, outputs: 3, width: lw, height: lh, radius: 1, epsilon: 1e-5)
        return { rows in carry.apply(to: source.read(rows), width: w, rows: rows, of: h, c) }
    }

    /// Interleaved RGB `x` with every channel moved by the luma of `blurred − x`: the luma's
    /// gaussian, from the channels'.
    private static func lumaCopy(_ x: [Float], blurred b: [Float]) -> [Float] {
        let (wr, wg, wb) = lumaWeights
        var out = x
        for p in stride(from: 0, to: out.count, by: 3) {
            let change = wr * (b[p] - out[p]) + wg * (b[p + 1] - out[p + 1]) + wb * (b[p + 2] - out[p + 2])
            for k in 0..<3 { out[p + k] += change }
        }
        return out
    }

    private func combine(_ x: [Float], _ blurred: [Float]) -> [Float] {
        let g = Float(k)
        var out = x
        // Through pointers, so the loop vectorises: the fit calls it on the whole exemplar per σ.
        out.withUnsafeMutableBufferPointer { o in
            blurred.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] = min(1, max(0, o[i] + g * (b[i] - o[i]))) }
            }
        }
        return out
    }

    /// A separable gaussian blur of interleaved RGB, edges replicated (see
    /// ``gaussian(_:sigma:exactUpTo:_:)``).
    static func gaussian(
        _ rgb: [Float], width w: Int, height h: Int, sigma: Double,
        exactUpTo limit: Double = exactSigmaLimit, _ c: Compute
    ) -> [Float] {
        gaussian(RGBRows(rgb, width: w, height: h), sigma: sigma, exactUpTo: limit, c)(0..<h)
    }

    /// A separable gaussian blur of interleaved RGB, edges replicated, as bands of rows: the
    /// exact kernel (radius ⌈3σ⌉, as Training/edits.py's `gaussian_blur`) up to `limit`, each band
    /// blurred from its rows and the kernel's reach around them; beyond it the image is halved
    /// by area, blurred by √(σ² − 1)/2 (the halving and the bilinear way back add a variance of
    /// about one pixel²) and doubled back band by band. The halved copy carries a margin of the
    /// image's own edge rows and columns, so what the kernel reaches beyond an edge is that edge,
    /// as in the exact blur.
    private static func gaussian(
        _ source: RGBRows, sigma: Double, exactUpTo limit: Double = exactSigmaLimit,
        _ c: Compute
    ) -> (_ rows: Range<Int>) -> [Float] {
        let (w, h) = (source.width, source.height)
        guard sigma >= 0.2 else { return source.read }
        if sigma > limit && min(w, h) >= 16 {
            let low = (sigma * sigma - 1).squareRoot() / 2
            let margin = Int((3 * low).rounded(.up)) + 1
            let (halved, lw, lh) = Self.halved(source, margin: margin, c)
            let blurred = gaussian(halved, width: lw, height: lh, sigma: low, exactUpTo: limit, c)
            return { rows in doubled(blurred, width: lw, height: lh, margin: margin, to: w, rows, c) }
        }
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        let kernel = gaussianTaps(sigma: sigma, radius: radius)
        let total = kernel.reduce(0, +)
        let weights = kernel.map { Float($0 / total) }
        return { rows in
            let reach = max(0, rows.lowerBound - radius)..<min(h, rows.upperBound + radius)
            let across = horizontalConvolution(source.read(reach), width: w, height: reach.count, weights, c)
            return verticalConvolution(across, width: w, first: reach.lowerBound, rows: rows, height: h, weights, c)
        }
    }

    /// Interleaved RGB halved by 2×2 area averages of the image with its edges replicated, with
    /// `margin` low-resolution pixels of them on every side.
    private static func halved(_ source: RGBRows, margin m: Int, _ c: Compute) -> ([Float], Int, Int) {
        let (w, h) = (source.width, source.height)
        let (lw, lh) = ((w + 1) / 2 + 2 * m, (h + 1) / 2 + 2 * m)
        let columns = (0..<lw).map { x in (min(w - 1, max(0, 2 * (x - m))) * 3, min(w - 1, max(0, 2 * (x - m) + 1)) * 3)
        }
        let out = c.array(lh * lw * 3, runs: lh, of: 1) { range, out in
            for y in range {
                let (t, b) = (min(h - 1, max(0, 2 * (y - m))), min(h - 1, max(0, 2 * (y - m) + 1)))
                let (top, bottom) = (source.read(t..<(t + 1)), source.read(b..<(b + 1)))
                for (x, (left, right)) in columns.enumerated() {
                    for k in 0..<3 {
                        out[(y * lw + x) * 3 + k] =
                            0.25 * (top[left + k] + top[right + k] + bottom[left + k] + bottom[right + k])
                    }
                }
            }
        }
        return (out, lw, lh)
    }

    /// Rows `rows` of `w` pixels from ``halved(_:margin:_:)``'s grid: bilinear, half-pixel centres.
    private static func doubled(
        _ low: [Float], width lw: Int, height lh: Int, margin m: Int, to w: Int,
        _ rows: Range<Int>, _ c: Compute
    ) -> [Float] {
        let columns = (0..<w).map { HalfPixelTap($0, numerator: 1, denominator: 2, offset: m, count: lw) }
        return c.array(rows.count * w * 3, runs: rows.count, of: 1) { range, out in
            for i in range {
                let tap = HalfPixelTap(rows.lowerBound + i, numerator: 1, denominator: 2, offset: m, count: lh)
                let (upper, lower, fy) = (tap.lower * lw * 3, tap.upper * lw * 3, tap.weight)
                for (x, column) in columns.enumerated() {
                    let (x0, x1, fx) = (column.lower, column.upper, column.weight)
                    for k in 0..<3 {
                        let top = low[upper + 3 * x0 + k] * (1 - fx) + low[upper + 3 * x1 + k] * fx
                        let bottom = low[lower + 3 * x0 + k] * (1 - fx) + low[lower + 3 * x1 + k] * fx
                        out[(i * w + x) * 3 + k] = top * (1 - fy) + bottom * fy
                    }
                }
            }
        }
    }

    /// Each row convolved with `weights` (centred, odd length), edges replicated.
    private static func horizontalConvolution(
        _ rgb: [Float], width w: Int, height h: Int, _ weights: [Float], _ c: Compute
    ) -> [Float] {
        let radius = weights.count / 2
        return rgb.withUnsafeBufferPointer { source in
            c.array(h * w * 3, runs: h, of: 1) { range, out in
                // The row padded by `radius` replicated pixels each side.
                var padded = [Float](repeating: 0, count: 3 * (w + 2 * radius))
                for y in range {
                    for i in 0..<(w + 2 * radius) {
                        let p = (y * w + min(w - 1, max(0, i - radius))) * 3
                        for k in 0..<3 { padded[3 * i + k] = source[p + k] }
                    }
                    let row = UnsafeMutableBufferPointer(rebasing: out[(y * w * 3)..<((y + 1) * w * 3)])
                    padded.withUnsafeBufferPointer { padded in
                        weights.withUnsafeBufferPointer { k in
                            for x in 0..<w {
                                var (s0, s1, s2) = (Float(0), Float(0), Float(0))
                                for j in 0..<k.count {
                                    let q = 3 * (x + j)
                                    s0 += k[j] * padded[q]
                                    s1 += k[j] * padded[q + 1]
                                    s2 += k[j] * padded[q + 2]
                                }
                                row[3 * x] = s0
                                row[3 * x + 1] = s1
                                row[3 * x + 2] = s2
                            }
                        }
                    }
                }
            }
        }
    }

    /// Width in samples of the column blocks the vertical pass works on.
    private static let columnBlock = 192

    /// Rows `rows` of the columns of a `height`-row image convolved with `weights` (centred, odd
    /// length), edges replicated, from `rgb`: its rows `first ..< first + rgb.count / (3w)`, which
    /// hold every row the kernel reaches. It runs down blocks of columns in parallel, row by row,
    /// so that every read is contiguous (a column gathered pixel by pixel strides a whole row per
    /// sample and missed the cache each time).
    private static func verticalConvolution(
        _ rgb: [Float], width w: Int, first: Int, rows: Range<Int>, height h: Int,
        _ weights: [Float], _ c: Compute
    ) -> [Float] {
        let stride = 3 * w
        let blocks = (stride + columnBlock - 1) / columnBlock
        let radius = weights.count / 2
        return rgb.withUnsafeBufferPointer { source in
            c.array(rows.count * stride, runs: blocks, of: 1) { range, result in
                for block in range {
                    let start = block * columnBlock
                    let width = min(columnBlock, stride - start)
                    for (i, y) in rows.enumerated() {
                        let out = UnsafeMutableBufferPointer(
                            rebasing: result[(i * stride + start)..<(i * stride + start + width)])
                        for x in 0..<width { out[x] = 0 }
                        for (j, weight) in weights.enumerated() {
                            let row = (min(h - 1, max(0, y + j - radius)) - first) * stride + start
                            for x in 0..<width { out[x] += weight * source[row + x] }
                        }
                    }
                }
            }
        }
    }
}

/// An RGB image's rows as Float32 samples: from an array in memory, or converted from a photo a
/// band at a time.
struct RGBRows: Sendable {
    let width: Int, height: Int
    let read: @Sendable (_ rows: Range<Int>) -> [Float]

    init(_ rgb: [Float], width: Int, height: Int) {
        (self.width, self.height) = (width, height)
        let stride = 3 * width
        read = { rows in
            rows.count == height ? rgb : Array(rgb[(rows.lowerBound * stride)..<(rows.upperBound * stride)])
        }
    }

    /// A photo in any colour model, made RGB a band at a time.
    init(_ photo: Image) {
        (width, height) = (photo.width, photo.height)
        read = { rows in
            photo.colorModel == .rgb
                ? photo.floatSamples(rows: rows) : photo.rows(rows).converted(to: .rgb).floatSamples()
        }
    }
}

extension SpatialFilter: DeltaComponent {
    /// The reach, the gain k, the kind (``Kind``'s raw value) and the bilateral filter's colour σ;
    /// 0, 0, 0, 0 for none. Revision 2: none where a colour table alone explains the pair; 3: rank
    /// filters; 4: the luma's gaussian; 5: the bilateral filter.
    package static let layout = [(name: "spatial", shape: [4])]
    package static let revision = 5
    package init(values: [[Float]]) {
        // A kind this build does not know is no filter rather than the wrong one.
        guard let kind = Kind(rawValue: Int(values[0][2])) else {
            self = .none
            return
        }
        self.init(kind: kind, reach: Double(values[0][0]), k: Double(values[0][1]), spread: Double(values[0][3]))
    }
    package var values: [[Float]] { [[Float(reach), Float(k), Float(kind.rawValue), Float(spread)]] }

    /// The gains add; the reach is kept (the gain-weighted mean where the filters' reach differs):
    /// half a blur is the same blur blended in halfway, not a blur half as wide. Filters of
    /// different kinds do not add: the kind whose terms' |weight · k| sum most is kept, alone.
    package static func combination(_ terms: [(part: SpatialFilter, weight: Double)]) -> SpatialFilter {
        let active = terms.filter { $0.part.k != 0 && $0.weight != 0 }
        func magnitude(_ kind: Kind) -> Double {
            active.filter { $0.part.kind == kind }.reduce(0.0) { $0 + abs($1.weight * $1.part.k) }
        }
        let strongest = Kind.allCases.max { magnitude($0) < magnitude($1) }!
        let alike = active.filter { $0.part.kind == strongest }
        let k = alike.reduce(0.0) { $0 + $1.weight * $1.part.k }
        guard k != 0, let first = alike.first else { return .none }
        func mean(_ value: KeyPath<SpatialFilter, Double>) -> Double {
            alike.allSatisfy { $0.part[keyPath: value] == first.part[keyPath: value] }
                ? first.part[keyPath: value]
                : alike.reduce(0.0) { $0 + abs($1.weight * $1.part.k) * $1.part[keyPath: value] } / magnitude(strongest)
        }
        return SpatialFilter(kind: strongest, reach: mean(\.reach), k: k, spread: mean(\.spread))
    }
}
