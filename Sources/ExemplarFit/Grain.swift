import Foundation
import ImageCodecs
import NodeKit
import TensorCore

/// The film grain or noise an exemplar's edit adds: after = clip(before + n) with n independent of
/// anything another photo's output could know, so no colour step or filter explains it. The fit
/// measures n's colour covariance (monochrome grain: every entry alike; colour noise: a diagonal)
/// and its size (white noise blurred by a gaussian of σ ``size`` pixels), and `adapter_edit` draws
/// it anew on each photo (``sample(_:width:height:seed:_:)``) or gives its expected value
/// (``mean(_:_:)``). Same fit as `fit_grain` in Training/edit_data.py.
///
/// Kept as covariances at lags 0 and 1 pixel, so that deltas add and scale as the noises do: a
/// delta scaled by ½ is grain of the same size with half the variance; two added, both grains.
package struct Grain: Equatable, Sendable {
    /// Row-major 3×3 covariance of the noise per pixel, in 0…1 sample units; all zero: no grain.
    package var covariance: [Double]
    /// The same between a pixel and its neighbour (either axis).
    package var neighbours: [Double]

    package init(covariance: [Double], neighbours: [Double]) {
        self.covariance = covariance
        self.neighbours = neighbours
    }

    package static let none = Grain(
        covariance: Array(repeating: 0, count: 9), neighbours: Array(repeating: 0, count: 9))
    /// The residual's local mean over this window is removed: smooth fit errors are not grain.
    static let window = 5
    /// Measured on the flattest quarter of the before (by its luma gradient), where fit errors are smallest…
    static let flatShare = 0.25
    /// … and unclipped: every channel of the fit's prediction inside this range.
    static let range = 0.15...0.85
    static let minimumPixels = 256
    /// The before's detail is regressed out of the residual per block of this side.
    static let block = 32
    /// Under 2.5/255 per channel the residual is rounding, compression, or an edit the fit does not
    /// model scaling the photo's own texture (Docs/exemplar-fit.md).
    static let minimumSigma = 0.01
    /// The grain is measured on the pair's centre, at most this many pixels a side: plenty of
    /// samples of a stationary noise, at a bounded cost for a 12-MP exemplar.
    static let fitSide = 1024
    /// A normal sample's standard deviation over its median absolute value.
    static let madScale = 1.4826
    /// Grain coarser than this (σ in pixels) is read as this coarse: the statistics that tell
    /// sizes apart flatten beyond it.
    static let maximumSize = 2.5
    static let sizeStep = 0.05
    /// Values beyond this many robust standard deviations count as that far in the size's variances.
    static let clip = 5.0
    /// The grid the size is read on: every ``sizeStep`` up to ``maximumSize``, less those whose
    /// difference ratio (1 − a₁)/(1 − a₂) — of the noise's difference variances at lags 1 and 2 —
    /// does not fall below the previous one's (the finest are all white: ratio 1), so that both
    /// statistics read back one size.
    static let grid: [(size: Double, ratio: Double, neighbours: Double)] = {
        var grid: [(size: Double, ratio: Double, neighbours: Double)] = []
        for i in 0...Int((maximumSize / sizeStep).rounded()) {
            let k = kernel(size: Double(i) * sizeStep)
            let ratio = (1 - lag(k, 1)) / (1 - lag(k, 2))
            if let last = grid.last, ratio >= last.ratio { continue }
            grid.append((Double(i) * sizeStep, ratio, lag(k, 1)))
        }
        return grid
    }()

    package var isNone: Bool { covariance.allSatisfy { $0 == 0 } }

    /// The 1D gaussian of σ `size` pixels (taps to 3σ) that makes white noise into grain of that
    /// size, scaled to unit energy (Σk² = 1) so it keeps the noise's variance; [1] for size 0.
    static func kernel(size: Double) -> [Double] {
        guard size > 0 else { return [1] }
        let k = gaussianTaps(sigma: size, radius: Int((3 * size).rounded(.up)))
        let norm = k.map { $0 * $0 }.reduce(0, +).squareRoot()
        return k.map { $0 / norm }
    }

    /// Σ k[j]·k[j + d]: the correlation at lag `d` of noise filtered by `k` (along one axis).
    static func lag(_ k: [Double], _ d: Int) -> Double {
        let d = abs(d)
        guard d < k.count else { return 0 }
        return (0..<(k.count - d)).map { k[$0] * k[$0 + d] }.reduce(0, +)
    }

    /// The share of such noise's variance that the ``window``² local-mean removal keeps.
    static func highPassShare(_ k: [Double]) -> Double {
        let s1 = (-2...2).map { lag(k, $0) }.reduce(0, +)
        let s2 = (-4...4).map { Double(5 - abs($0)) * lag(k, $0) }.reduce(0, +)
        let n = Double(window * window)
        return 1 - 2 / n * s1 * s1 + s2 * s2 / (n * n)
    }

    /// Piecewise linear `ys(x)` for increasing `xs`, clamped at the ends.
    private static func interpolate(_ x: Double, _ xs: [Double], _ ys: [Double]) -> Double {
        if x <= xs[0] { return ys[0] }
        for i in 0..<(xs.count - 1) where x <= xs[i + 1] {
            let t = xs[i + 1] > xs[i] ? (x - xs[i]) / (xs[i + 1] - xs[i]) : 0
            return ys[i] + t * (ys[i + 1] - ys[i])
        }
        return ys[xs.count - 1]
    }

    /// The size whose (1 − a₁)/(1 − a₂) is `ratio`: 1 for white noise, falling toward ¼ as it coarsens.
    static func size(differenceRatio ratio: Double) -> Double {
        interpolate(-ratio, grid.map { -$0.ratio }, grid.map(\.size))
    }

    /// The size whose neighbour correlation a₁ is `correlation`.
    static func size(neighbourCorrelation correlation: Double) -> Double {
        interpolate(correlation, grid.map(\.neighbours), grid.map(\.size))
    }

    /// The grain's size in pixels: from its neighbours' correlation, tr(neighbours)/tr(covariance).
    var size: Double {
        let variance = (0..<3).map { covariance[$0 * 4] }.reduce(0, +)
        guard variance > 0 else { return 0 }
        return Self.size(neighbourCorrelation: (0..<3).map { neighbours[$0 * 4] }.reduce(0, +) / variance)
    }

    /// The noise in `after − predicted` (interleaved RGB of one `width × height` image;
    /// `predicted` is the exemplar's fit applied to `before`), or ``none`` under ``minimumSigma``:
    /// the residual less its 5×5 local mean on the flattest unclipped pixels, less per channel and
    /// ``block``² block its least-squares multiple of the before's own detail (its 5×5 high-pass) —
    /// an edit that scales the photo's texture unevenly (a spotlight) leaves that, grain does not.
    /// Robust (median-based) variances, covariances as (s(a+b)² − s(a−b)²)/4, corrected for the
    /// removed local mean by the share of a noise of the grain's size that survives it (1 − 1/25
    /// for white noise). The size comes from the raw residual's differences at lags 1 and 2; the
    /// test against ``minimumSigma`` is on the high-passed residual read as white noise.
    package static func fit(before: [Float], after: [Float], predicted: [Float], width w: Int, height h: Int) -> Grain {
        let r = window / 2
        guard w > 2 * r, h > 2 * r else { return .none }
        let pixels = w * h
        let residual = (0..<(pixels * 3)).map { Double(after[$0]) - Double(predicted[$0]) }
        let detail = before.map(Double.init)
        let (wr, wg, wb) = (Double(lumaWeights.r), Double(lumaWeights.g), Double(lumaWeights.b))
        let luma = (0..<pixels).map { wr * detail[$0 * 3] + wg * detail[$0 * 3 + 1] + wb * detail[$0 * 3 + 2] }
        var gradient = [Double](repeating: 0, count: pixels)
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                if x + 1 < w { gradient[p] += abs(luma[p + 1] - luma[p]) }
                if y + 1 < h { gradient[p] += abs(luma[p + w] - luma[p]) }
            }
        }
        // Interior pixels with an unclipped prediction, and how flat the before is around each.
        var candidates: [(flatness: Double, pixel: Int)] = []
        for y in r..<(h - r) {
            for x in r..<(w - r) {
                let p = y * w + x
                guard (0..<3).allSatisfy({ range.contains(Double(predicted[p * 3 + $0])) }) else { continue }
                var flatness = 0.0
                for dy in -1...1 { for dx in -1...1 { flatness += gradient[p + dy * w + dx] } }
                candidates.append((flatness, p))
            }
        }
        let count = Int((Double(candidates.count) * flatShare).rounded(.up))
        guard count >= minimumPixels else { return .none }
        // The `count` flattest, ties to the lower index (as a stable sort's first `count`): all
        // below the count-th smallest flatness, then that flatness's first pixels. Every statistic
        // below is order-free, so the set is all that matters.
        let threshold = nthSmallest(candidates.map(\.flatness), count - 1)
        var chosen = candidates.filter { $0.flatness < threshold }.map(\.pixel)
        for candidate in candidates where candidate.flatness == threshold && chosen.count < count {
            chosen.append(candidate.pixel)
        }
        let noise = highPass(residual, width: w, height: h, at: chosen)
        let texture = highPass(detail, width: w, height: h, at: chosen)
        let blocksAcross = (w + block - 1) / block
        let blockOf = chosen.map { ($0 / w / block) * blocksAcross + $0 % w / block }
        let blocks = (blockOf.max() ?? 0) + 1
        var v = noise
        for k in 0..<3 {
            var num = [Double](repeating: 0, count: blocks)
            var den = num
            for i in chosen.indices {
                num[blockOf[i]] += noise[k][i] * texture[k][i]
                den[blockOf[i]] += texture[k][i] * texture[k][i]
            }
            for i in chosen.indices where den[blockOf[i]] > 1e-12 {
                v[k][i] -= num[blockOf[i]] / den[blockOf[i]] * texture[k][i]
            }
        }
        func scale(_ v: [Double]) -> Double { madScale * nthSmallest(v.map(abs), (v.count - 1) / 2) }
        // The size, from the raw residual's differences along both axes at lags 1 and 2. Their
        // mean squares, clipped at ``clip`` robust deviations: medians of 8-bit data move by
        // whole levels and misread the size (σ off by up to 3.5×).
        func clippedVariance(_ v: [Double]) -> Double {
            let limit = clip * scale(v)
            return v.map { limit > 0 ? min(limit * limit, $0 * $0) : $0 * $0 }.reduce(0, +) / Double(v.count)
        }
        func differenceVariance(_ lag: Int) -> Double {
            (0..<3).map { k in
                var d = [Double]()
                d.reserveCapacity(2 * chosen.count)
                for p in chosen { d.append(residual[(p + lag) * 3 + k] - residual[p * 3 + k]) }
                for p in chosen { d.append(residual[(p + lag * w) * 3 + k] - residual[p * 3 + k]) }
                return clippedVariance(d)
            }.reduce(0, +)
        }
        var covariance = [Double](repeating: 0, count: 9)
        for a in 0..<3 {
            covariance[a * 3 + a] = Foundation.pow(scale(v[a]), 2)
            for b in 0..<a {
                let plus = scale(zip(v[a], v[b]).map { $0 + $1 })
                let minus = scale(zip(v[a], v[b]).map { $0 - $1 })
                covariance[a * 3 + b] = (plus * plus - minus * minus) / 4
                covariance[b * 3 + a] = covariance[a * 3 + b]
            }
        }
        // Whether there is grain is judged on what the high-pass sees, read as white noise: read
        // with the size, the smooth fit errors of grainless edits look coarse and loud (up to 0.0073).
        let largest = (0..<3).map { covariance[$0 * 4] }.max()! / (1 - 1 / Double(window * window))
        guard largest >= minimumSigma * minimumSigma else { return .none }
        let (v1, v2) = (differenceVariance(1), differenceVariance(2))
        let shape = kernel(size: size(differenceRatio: v2 > 0 ? v1 / v2 : 1))
        let kept = highPassShare(shape)
        covariance = covariance.map { $0 / kept }
        let a1 = lag(shape, 1)
        return Grain(covariance: covariance, neighbours: covariance.map { $0 * a1 })
    }

    /// The `n`-th smallest of `values` (0-based): the sorted array's element, found by quickselect.
    static func nthSmallest(_ values: [Double], _ n: Int) -> Double {
        var v = values
        var (lo, hi) = (0, values.count - 1)
        while lo < hi {
            // Median of three as the pivot, then a three-way partition (ties are common: 8-bit data).
            let (a, b, c) = (v[lo], v[(lo + hi) / 2], v[hi])
            let pivot = max(min(a, b), min(max(a, b), c))
            var (lt, i, gt) = (lo, lo, hi)
            while i <= gt {
                if v[i] < pivot {
                    v.swapAt(lt, i)
                    lt += 1
                    i += 1
                } else if v[i] > pivot {
                    v.swapAt(i, gt)
                    gt -= 1
                } else {
                    i += 1
                }
            }
            if n < lt { hi = lt - 1 } else if n > gt { lo = gt + 1 } else { return pivot }
        }
        return v[lo]
    }

    /// The centre of interleaved RGB `samples` (`width × height`), at most ``fitSide`` a side:
    /// the samples, and the crop's width and height.
    package static func centre(_ samples: [Float], width w: Int, height h: Int) -> (
        samples: [Float], width: Int, height: Int
    ) {
        let (cw, ch) = (min(w, fitSide), min(h, fitSide))
        guard cw < w || ch < h else { return (samples, w, h) }
        let (x0, y0) = ((w - cw) / 2, (h - ch) / 2)
        var out = [Float]()
        out.reserveCapacity(cw * ch * 3)
        for y in y0..<(y0 + ch) { out += samples[((y * w + x0) * 3)..<((y * w + x0 + cw) * 3)] }
        return (out, cw, ch)
    }

    /// Per channel, `values` (interleaved RGB, `width × height`) less its ``window``² mean at each
    /// of `pixels` (all at least ``window``/2 from the border, so the window is whole).
    private static func highPass(_ values: [Double], width w: Int, height h: Int, at pixels: [Int]) -> [[Double]] {
        let mean = BoxSum(shape: [h, w], channels: 3, radius: window / 2)(values, mean: true)
        return (0..<3).map { k in pixels.map { values[$0 * 3 + k] - mean[$0 * 3 + k] } }
    }

    /// Each channel's E[clip(x + n)]: what a draw of the grain gives on average — the least
    /// squared error any one output can have against a draw, and no visible grain. Tabulated
    /// once per channel over 0…1 (the closed form costs two erf per sample; interpolating it is
    /// exact to ~1e-6), then applied to any number of bands.
    package struct Mean: Sendable {
        static let knots = 1024
        let tables: [[Float]?]

        package init(_ grain: Grain) {
            tables = (0..<3).map { k -> [Float]? in
                let variance = grain.covariance[k * 4]
                guard variance > 0 else { return nil }
                let s = variance.squareRoot()
                func cdf(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }
                func pdf(_ z: Double) -> Double { Foundation.exp(-z * z / 2) / (2 * Double.pi).squareRoot() }
                return (0...Self.knots).map { i in
                    let x = Double(i) / Double(Self.knots)
                    let lo = -x / s
                    let hi = (1 - x) / s
                    return Float(min(1, max(0, x * (cdf(hi) - cdf(lo)) + s * (pdf(lo) - pdf(hi)) + (1 - cdf(hi)))))
                }
            }
        }

        /// Interleaved RGB samples replaced by their expected value under the grain.
        package func apply(_ rgb: inout [Float], _ c: Compute) {
            let knots = Self.knots
            c.update(&rgb, runs: rgb.count / 3, of: 1024) { range, out in
                for p in range {
                    for k in 0..<3 {
                        guard let table = tables[k] else { continue }
                        let t = min(1, max(0, out[p * 3 + k])) * Float(knots)
                        let i = min(knots - 1, Int(t))
                        let f = t - Float(i)
                        out[p * 3 + k] = table[i] + f * (table[i + 1] - table[i])
                    }
                }
            }
        }
    }

    /// `rgb` plus a fresh draw of the grain, clamped to 0…1: three white fields (each row drawn
    /// from its own stream of `seed`), each blurred along rows and columns by ``kernel(size:)``
    /// (edges clamped), mixed by colour. Bands of rows run in parallel, each drawing the rows its
    /// blur reaches, so the draw is the same on any number of threads and memory stays a few rows.
    package func sample(_ rgb: inout [Float], width w: Int, height h: Int, seed: UInt64, band: Int = 64, _ c: Compute) {
        sample(&rgb, width: w, rows: 0..<h, of: h, seed: seed, band: band, c)
    }

    /// The same draw on rows `rows` of a `width × height` image, `rgb` holding just those rows:
    /// each row's noise is the same whichever rows are drawn together.
    package func sample(
        _ rgb: inout [Float], width w: Int, rows: Range<Int>, of h: Int, seed: UInt64, band: Int = 64,
        _ c: Compute
    ) {
        let l = Self.cholesky(covariance).map(Float.init)
        // Under a 1% neighbour correlation the blur would not show: white noise.
        let sized = Self.kernel(size: size)
        let kernel: [Float] = (Self.lag(sized, 1) < 0.01 ? [1.0] : sized).map { Float($0) }
        let taps = kernel.count
        let r = taps / 2
        c.update(&rgb, runs: rows.count, of: band) { range, band in
            let (y0, y1) = (rows.lowerBound + range.lowerBound, rows.lowerBound + range.upperBound)
            // Row y of the image is row y − rows.lowerBound of `rgb`.
            let out = UnsafeMutableBufferPointer(rebasing: band[(range.lowerBound * 3 * w)...])
            var z = [Float](repeating: 0, count: 3 * w)
            // Row y of the image plus the fields' row z, mixed by colour.
            func add(_ z: [Float], y: Int) {
                for x in 0..<w {
                    let p = ((y - y0) * w + x) * 3
                    let (z0, z1, z2) = (z[x], z[w + x], z[2 * w + x])
                    for k in 0..<3 {
                        let n = l[k * 3] * z0 + l[k * 3 + 1] * z1 + l[k * 3 + 2] * z2
                        out[p + k] = min(1, max(0, out[p + k] + n))
                    }
                }
            }
            guard taps > 1 else {
                // White noise needs no blur: each row as drawn.
                for y in y0..<y1 {
                    SeededRandom.normalRow(&z, row: y, seed: seed)
                    add(z, y: y)
                }
                return
            }
            // The band's rows and the r above and below it (clamped), blurred along the row…
            let rows = (y1 - y0) + 2 * r
            var white = [Float](repeating: 0, count: 3 * w)
            var padded = [Float](repeating: 0, count: w + 2 * r)
            var across = [Float](repeating: 0, count: rows * 3 * w)
            for i in 0..<rows {
                SeededRandom.normalRow(&white, row: min(h - 1, max(0, y0 - r + i)), seed: seed)
                for k in 0..<3 {
                    for x in 0..<(w + 2 * r) { padded[x] = white[k * w + min(w - 1, max(0, x - r))] }
                    Self.convolve(padded, kernel, into: &across, at: (i * 3 + k) * w, count: w) { $0 }
                }
            }
            // … then down the columns, a row at a time.
            for y in y0..<y1 {
                for k in 0..<3 {
                    Self.convolve(across, kernel, into: &z, at: k * w, count: w) { t in ((y - y0 + t) * 3 + k) * w }
                }
                add(z, y: y)
            }
        }
    }

    /// `target[at ..< at + count] = Σₜ kernel[t] · source[offset(t) + i]`: one output row of a
    /// separable blur, as whole-row passes the compiler vectorises.
    private static func convolve(
        _ source: [Float], _ kernel: [Float], into target: inout [Float], at start: Int, count: Int,
        offset: (Int) -> Int
    ) {
        source.withUnsafeBufferPointer { source in
            target.withUnsafeMutableBufferPointer { target in
                let out = target.baseAddress! + start
                out.update(repeating: 0, count: count)
                for (t, weight) in kernel.enumerated() {
                    let row = source.baseAddress! + offset(t)
                    for x in 0..<count { out[x] += weight * row[x] }
                }
            }
        }
    }

    /// The lower-triangular L with L·Lᵀ = `a` (3×3, row-major); a direction in which `a` is not
    /// positive (a delta combined with a negative weight) contributes nothing.
    static func cholesky(_ a: [Double]) -> [Double] { Cholesky.factor(a, size: 3, semidefinite: true) }
}

extension Grain: DeltaComponent {
    /// The covariance at lag 0, then between neighbours: both 3×3, in 0…1 sample units.
    package static let layout = [(name: "grain", shape: [2, 3, 3])]
    /// Added; with its neighbours' covariance (a size); its flattest pixels by the shared luma.
    package static let revision = 3
    package init(values: [[Float]]) {
        let v = values[0].map(Double.init)
        self.init(covariance: Array(v[0..<9]), neighbours: Array(v[9..<18]))
    }
    package var values: [[Float]] { [(covariance + neighbours).map(Float.init)] }
}
