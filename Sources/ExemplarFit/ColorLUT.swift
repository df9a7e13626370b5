import ImageCodecs
import TensorCore

/// A 3D colour lookup table fitted on an exemplar pair: the exact, model-free part of a colour
/// edit, which the edit model reads (and corrects where the edit is not a pure colour map).
/// Same fit as `fit_lut` in Training/edit_data.py.
enum ColorLUT {
    /// Nodes per axis.
    static let side = 17
    /// Weight of the 3×3×3 neighbourhood's residuals, which fill nodes the exemplar has no pixels near.
    static let neighbour = 0.1
    /// Pixels' worth of weight pulling a node toward the prior map.
    static let priorPixels = 1.0

    /// The table `[side, side, side, 3]` (indexed r, g, b) as an offset from the identity: a
    /// smooth global map (the ``Prior``) plus, per node, the mean residual of the pixels nearest
    /// to it — borrowed from its neighbours where it has none and shrunk toward the prior, so
    /// colours the exemplar never shows follow the prior. The prior is the affine map, or the
    /// affine map plus a tone curve per channel, whichever predicts held-out blocks of the
    /// exemplar better (``choosesCurves``): a photo covers each channel's range far better than
    /// the colour cube, so curves carry gamma, gain or levels to colours the exemplar lacks, where
    /// the affine map cannot — but they bend a saturation or hue edit's clipping into wrong colours.
    /// `affineError`: ``heldOutError(_:_:halves:curves:)`` of the affine prior, when the caller
    /// has it already.
    static func fit(_ before: Image, _ after: Image, affineError: Double? = nil) -> [Float] {
        fit(
            before.floatSamples(), after.floatSamples(),
            halves: HeldOut.halves(width: before.width, height: before.height),
            affineError: affineError)
    }

    /// As ``fit(_:_:affineError:)``, on interleaved pixels (one pair's, or several pairs' end to
    /// end) held out by `halves`.
    static func fit(_ x: [Float], _ y: [Float], halves: [[Int]], affineError: Double? = nil) -> [Float] {
        let all = Array(0..<(x.count / 3))
        let curves = choosesCurves(x, y, halves: halves, affineError: affineError)
        return table(x, y, all, Prior(x, y, all, curves: curves))
    }

    /// The affine colour map before → after (least squares, leaning toward the structured map where
    /// the pair leaves it undetermined) minus the identity, `M − [I | 0]` (3×4, row-major): the
    /// table's affine prior, `encode_delta`'s `color.affine`.
    static func affine(_ before: Image, _ after: Image) -> [Float] {
        affine(before.floatSamples(), after.floatSamples())
    }

    /// As ``affine(_:_:)``, on interleaved pixels (several pairs' end to end).
    static func affine(_ x: [Float], _ y: [Float]) -> [Float] {
        Prior(x, y, Array(0..<(x.count / 3)), curves: false).weights.flatMap { $0.map(Float.init) }
    }

    /// The least-squares map `y_c ≈ M_c · [r, g, b, 1] (+ φ_c(x_c))`, φ_c a piecewise-linear curve
    /// of the same channel on ``knots`` knots (smoothness ``smoothness``, ridge ``curveRidge``);
    /// M's colour part is pulled toward the ``structured(_:_:_:)`` map by ``affineRidge``. Same as
    /// `fit_prior` in Training/edit_data.py, but solved and evaluated as the offset `y − x`, so an
    /// unedited pair gives exactly zero.
    struct Prior {
        static let knots = 17
        static let smoothness = 1e-2
        static let curveRidge = 1e-4
        /// Pulls the 3×3 map toward the structured map, in units of the photo's mean channel
        /// variance: a photo's channels are strongly correlated, so the full map is ill-determined
        /// across them (Docs/exemplar-fit.md has the measurement).
        static let affineRidge = 0.003
        /// Pulls the structured map's colour scale and rotation toward none, same units; only where
        /// the exemplar has no colour texture at all (1e-3 outweighed a tinted gradient's faint one).
        static let similarityRidge = 1e-6
        /// Pulls a flat channel's gain toward 1, same units.
        static let flatRidge = 1e-4
        /// The luma/colour-difference map is chosen only if its error is below this share of the
        /// per-channel map's.
        static let structureMargin = 0.8

        let curves: Bool
        /// Per output channel: the offset's m_r, m_g, m_b, m_1 (M − [I | 0]), then the curve's
        /// knot values when `curves`.
        let weights: [[Double]]

        init(_ x: [Float], _ y: [Float], _ pixels: [Int], curves: Bool) {
            self.curves = curves
            let n = curves ? Self.knots : 0
            let size = 4 + n
            let count = Double(max(1, pixels.count))
            let spread = Self.spread(x, pixels)
            var regulariser = [Double](repeating: 0, count: size * size)
            for i in 0..<3 { regulariser[i * size + i] = Self.affineRidge * spread }
            if curves {
                // (N−1)²/N · D₂ᵀD₂ (second differences) + ridge on the knots.
                let scale = Self.smoothness * Double((n - 1) * (n - 1)) / Double(n)
                for i in 0..<(n - 2) {
                    let d = [(i, 1.0), (i + 1, -2.0), (i + 2, 1.0)]
                    for (a, va) in d { for (b, vb) in d { regulariser[(4 + a) * size + 4 + b] += scale * va * vb } }
                }
                for i in 0..<n { regulariser[(4 + i) * size + 4 + i] += Self.curveRidge }
            }
            let target = Self.structured(x, y, pixels)
            func solve(_ free: [SIMD3<Double>]) -> [[Double]] {
                var solved = [[Double]]()
                for c in 0..<3 {
                    var a = [Double](repeating: 0, count: size * size)
                    var rhs = [Double](repeating: 0, count: size)
                    x.withUnsafeBufferPointer { x in
                        y.withUnsafeBufferPointer { y in
                            a.withUnsafeMutableBufferPointer { a in
                                rhs.withUnsafeMutableBufferPointer { rhs in
                                    for (index, p) in pixels.enumerated() where free[index][c] != 0 {
                                        let f = SIMD4(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]), 1)
                                        let target = Double(y[3 * p + c] - x[3 * p + c])
                                        for i in 0..<4 {
                                            for j in 0..<4 { a[i * size + j] += f[i] * f[j] }
                                            rhs[i] += f[i] * target
                                        }
                                        guard curves else { continue }
                                        let (k0, w1) = Self.hat(f[c])
                                        let w0 = 1 - w1
                                        let k1 = k0 + 1
                                        for i in 0..<4 {
                                            a[i * size + 4 + k0] += f[i] * w0
                                            a[(4 + k0) * size + i] += f[i] * w0
                                            a[i * size + 4 + k1] += f[i] * w1
                                            a[(4 + k1) * size + i] += f[i] * w1
                                        }
                                        rhs[4 + k0] += w0 * target
                                        rhs[4 + k1] += w1 * target
                                        a[(4 + k0) * size + 4 + k0] += w0 * w0
                                        a[(4 + k0) * size + 4 + k1] += w0 * w1
                                        a[(4 + k1) * size + 4 + k0] += w1 * w0
                                        a[(4 + k1) * size + 4 + k1] += w1 * w1
                                    }
                                }
                            }
                        }
                    }
                    for i in a.indices { a[i] = a[i] / count + regulariser[i] }
                    for i in rhs.indices { rhs[i] /= count }
                    for j in 0..<3 {  // the offset's pull toward the structured map
                        rhs[j] += Self.affineRidge * spread * target[c][j]
                    }
                    solved.append(Cholesky.solve(a, rhs, size: size))
                }
                return solved
            }
            // Fitted on the pixels the edit did not clip, then again with those clipped pixels the
            // first map falls short of put back (see ``unclipped(_:_:predicted:)``).
            let first = Prior(curves: curves, weights: solve(Self.unclipped(y, pixels)))
            weights = solve(
                Self.unclipped(y, pixels) { p in
                    first(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]))
                        + SIMD3(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]))
                })
        }

        private init(curves: Bool, weights: [[Double]]) {
            self.curves = curves
            self.weights = weights
        }

        /// A channel value the edit may have clipped: +1 at 1, −1 at 0, else 0.
        static func clipped(_ v: Float) -> Int { v >= 1 - 0.5 / 255 ? 1 : v <= 0.5 / 255 ? -1 : 0 }

        /// Per pixel (in `pixels`' order) and channel, 1 if it counts in a fit, else 0: not where
        /// the exemplar's edited channel sits at 0 or 1 — the edit may have clipped it (levels,
        /// exposure, gain and contrast all do), and the value then says only "at least this far" —
        /// unless `predicted` (the colour a first map gives pixel p) falls short of that bound. A
        /// channel clipped almost everywhere keeps all its pixels. Same as `unclipped` in
        /// edit_data.py.
        static func unclipped(
            _ y: [Float], _ pixels: [Int],
            predicted: ((Int) -> SIMD3<Double>)? = nil
        ) -> [SIMD3<Double>] {
            var free = [SIMD3<Double>](repeating: SIMD3(), count: pixels.count)
            var share = SIMD3<Double>()
            for (index, p) in pixels.enumerated() {
                let guess = predicted?(p)
                for c in 0..<3 {
                    let clip = clipped(y[3 * p + c])
                    let counts = clip == 0 || guess.map { clip > 0 ? $0[c] < 1 : $0[c] > 0 } ?? false
                    if counts {
                        free[index][c] = 1
                        share[c] += 1
                    }
                }
            }
            for c in 0..<3 where share[c] < clipMinShare * Double(pixels.count) {
                for index in free.indices { free[index][c] = 1 }
            }
            return free
        }

        /// Below this share of unclipped pixels a channel is fitted on all of them.
        static let clipMinShare = 0.05

        /// The mean variance of the channels: the scale against which the ridges are set.
        static func spread(_ x: [Float], _ pixels: [Int]) -> Double {
            var (sx, sxx) = (SIMD3<Double>(), SIMD3<Double>())
            for p in pixels {
                let u = SIMD3(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]))
                sx += u
                sxx += u * u
            }
            let count = Double(max(1, pixels.count))
            let mean = sx / count
            return (sxx / count - mean * mean).sum() / 3 + 1e-6
        }

        /// Luma and two colour differences (rows), the coordinates in which saturation, grayscale,
        /// hue and sepia edits are simple.
        static let ycc: [SIMD3<Double>] = [
            SIMD3(0.299, 0.587, 0.114), SIMD3(-0.299, -0.587, 0.886), SIMD3(0.701, -0.587, -0.114),
        ]

        /// The map that colours the exemplar lacks should follow, as the offset `M − [I | 0]` (3×4,
        /// rows per output channel; solved as offsets, so an unedited pair gives exactly zero): one
        /// affine map per channel (gain, levels, temperature, invert), or — if it explains the pair clearly better — luma mapped affinely with the colour
        /// differences scaled and rotated alike in every hue and shifted with luma (saturation,
        /// grayscale, hue, sepia). Both are well determined by a photo whose colours vary along one
        /// direction only, where the full 3×3 map is not. Same as `structured_map` in edit_data.py.
        static func structured(_ x: [Float], _ y: [Float], _ pixels: [Int]) -> [[Double]] {
            /// The colour map `m` (an offset, 3×4) gives pixel p.
            func mapped(_ m: [[Double]], _ p: Int) -> SIMD3<Double> {
                let u = colour(x, p)
                // Written out: an array per pixel, and its reference counting, dominated the filter search.
                @inline(__always) func row(_ c: Int) -> Double {
                    m[c][0] * u[0] + m[c][1] * u[1] + m[c][2] * u[2] + m[c][3]
                }
                return u + SIMD3(row(0), row(1), row(2))
            }
            // Each fitted on the unclipped pixels, then again with the clipped ones its map falls short of.
            let first = fits(x, y, pixels, Self.unclipped(y, pixels))
            let perChannel = fits(x, y, pixels, Self.unclipped(y, pixels) { mapped(first.perChannel, $0) }).perChannel
            let lumaChroma = fits(x, y, pixels, Self.unclipped(y, pixels) { mapped(first.lumaChroma, $0) }).lumaChroma
            func error(_ m: [[Double]]) -> Double {  // as applied: clamped
                var e = 0.0
                for p in pixels {
                    let d =
                        mapped(m, p).clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
                        - colour(y, p)
                    e += (d * d).sum()
                }
                return e
            }
            return error(lumaChroma) < structureMargin * error(perChannel) ? lumaChroma : perChannel
        }

        /// Pixel p's colour in interleaved RGB samples.
        private static func colour(_ v: [Float], _ p: Int) -> SIMD3<Double> {
            SIMD3(Double(v[3 * p]), Double(v[3 * p + 1]), Double(v[3 * p + 2]))
        }

        /// Both structured maps on the pixels `free` says count (per channel for the per-channel
        /// map, in every channel for the luma/colour-difference one).
        private static func fits(
            _ x: [Float], _ y: [Float], _ pixels: [Int],
            _ free: [SIMD3<Double>]
        ) -> (perChannel: [[Double]], lumaChroma: [[Double]]) {
            let count = Double(max(1, pixels.count))
            let spread = spread(x, pixels)
            // Per channel, from the sums of x, y − x, x², x·(y − x) and the pixel count.
            var (sx, sy, sxx, sxy, sn) = (
                SIMD3<Double>(), SIMD3<Double>(), SIMD3<Double>(), SIMD3<Double>(), SIMD3<Double>()
            )
            // Luma: [Y, 1]ᵀ[Y, 1] and [Y, 1]ᵀ(Y' − Y); colour differences: the 6×6 normal equations
            // of b' − b = (s − 1)·b − r·r_ + c_b·Y + o_b and r_' − r_ = r·b + (s − 1)·r_ + c_r·Y + o_r.
            var (luma, lumaRHS) = ([Double](repeating: 0, count: 4), [Double](repeating: 0, count: 2))
            var (chroma, chromaRHS) = ([Double](repeating: 0, count: 36), [Double](repeating: 0, count: 6))
            for (index, p) in pixels.enumerated() {
                let (u, v, w) = (colour(x, p), colour(y, p) - colour(x, p), free[index])
                sx += w * u
                sy += w * v
                sxx += w * u * u
                sxy += w * u * v
                sn += w
                guard w[0] * w[1] * w[2] != 0 else { continue }
                let lu = SIMD3((ycc[0] * u).sum(), (ycc[1] * u).sum(), (ycc[2] * u).sum())
                let lv = SIMD3((ycc[0] * v).sum(), (ycc[1] * v).sum(), (ycc[2] * v).sum())
                luma[0] += lu[0] * lu[0]
                luma[1] += lu[0]
                luma[2] += lu[0]
                luma[3] += 1
                lumaRHS[0] += lu[0] * lv[0]
                lumaRHS[1] += lv[0]
                for difference in 1...2 {
                    let (row, t) =
                        difference == 1
                        ? (SIMD8(lu[1], -lu[2], lu[0], 0, 1, 0, 0, 0), lv[1])
                        : (SIMD8(lu[2], lu[1], 0, lu[0], 0, 1, 0, 0), lv[2])
                    // The upper triangle only, mirrored below: the same products summed in the same order.
                    for i in 0..<6 {
                        for j in i..<6 { chroma[i * 6 + j] += row[i] * row[j] }
                        chromaRHS[i] += row[i] * t
                    }
                }
            }
            for i in 1..<6 { for j in 0..<i { chroma[i * 6 + j] = chroma[j * 6 + i] } }
            var perChannel = [[Double]]()
            for c in 0..<3 {
                let ridge = flatRidge * spread
                let w = Cholesky.solve(
                    [sxx[c] / count + ridge, sx[c] / count, sx[c] / count, sn[c] / count],
                    [sxy[c] / count, sy[c] / count], size: 2)
                var row = [0.0, 0, 0, w[1]]
                row[c] = w[0]
                perChannel.append(row)
            }
            let wy = Cholesky.solve(
                [luma[0] / count + 1e-9, luma[1] / count, luma[2] / count, luma[3] / count + 1e-9],
                lumaRHS.map { $0 / count }, size: 2)
            var a = chroma.map { $0 / count }
            let rhs = chromaRHS.map { $0 / count }
            for i in 0..<6 { a[i * 6 + i] += i < 2 ? similarityRidge * spread : 1e-9 }
            let w = Cholesky.solve(a, rhs, size: 6)
            // M − I = YCC⁻¹ · [[a − 1, 0, 0], [c_b, s − 1, −r], [c_r, r, s − 1]] · YCC, offset
            // YCC⁻¹ · (β, o_b, o_r); the unknowns solved for are a − 1 and s − 1.
            let inner: [SIMD3<Double>] = [SIMD3(wy[0], 0, 0), SIMD3(w[2], w[0], -w[1]), SIMD3(w[3], w[1], w[0])]
            let back = Matrix3(rows: ycc).inverse.rows
            let shift = SIMD3(wy[1], w[4], w[5])
            var lumaChroma = [[Double]]()
            for r in 0..<3 {
                var row = [Double](repeating: 0, count: 4)
                for k in 0..<3 {
                    for j in 0..<3 { row[j] += back[r][k] * (0..<3).reduce(0.0) { $0 + inner[k][$1] * ycc[$1][j] } }
                    row[3] += back[r][k] * shift[k]
                }
                lumaChroma.append(row)
            }
            return (perChannel, lumaChroma)
        }

        /// The knot left of `v` and the weight of the one right of it (piecewise-linear hats).
        private static func hat(_ v: Double) -> (Int, Double) {
            let s = min(1, max(0, v)) * Double(knots - 1)
            let i0 = min(knots - 2, Int(s))
            return (i0, s - Double(i0))
        }

        /// The offset `map(colour) − colour`.
        func callAsFunction(_ r: Double, _ g: Double, _ b: Double) -> SIMD3<Double> {
            let v = SIMD3(r, g, b)
            var out = SIMD3<Double>()
            for c in 0..<3 {
                let w = weights[c]
                out[c] = w[0] * r + w[1] * g + w[2] * b + w[3]
                if curves {
                    let (k0, w1) = Self.hat(v[c])
                    out[c] += w[4 + k0] * (1 - w1) + w[5 + k0] * w1
                }
            }
            return out
        }
    }

    /// Curves win only by cutting the affine prior's held-out error (``HeldOut``) by 10%.
    static let curvesMargin = 0.9

    static func choosesCurves(_ x: [Float], _ y: [Float], width w: Int, height h: Int) -> Bool {
        choosesCurves(x, y, halves: HeldOut.halves(width: w, height: h))
    }

    static func choosesCurves(_ x: [Float], _ y: [Float], halves: [[Int]], affineError: Double? = nil) -> Bool {
        guard !halves[0].isEmpty, !halves[1].isEmpty else { return false }
        let affine = affineError ?? heldOutError(x, y, halves: halves, curves: false)
        return heldOutError(x, y, halves: halves, curves: true) < curvesMargin * affine
    }

    /// ``HeldOut/error(_:_:halves:_:)`` of the table with the affine or the curves prior.
    static func heldOutError(_ x: [Float], _ y: [Float], halves: [[Int]], curves: Bool) -> Double {
        HeldOut.error(x, y, halves: halves) { train, before in
            apply(table(x, y, train, Prior(x, y, train, curves: curves)), to: before, Compute(threads: 1))
        }
    }

    /// The table from `pixels` of the pair and a prior fitted on them.
    static func table(_ x: [Float], _ y: [Float], _ pixels: [Int], _ prior: Prior) -> [Float] {
        let n = side
        func node(_ v: Float) -> Int { min(n - 1, max(0, Int((v * Float(n - 1)).rounded()))) }
        var sums = [Double](repeating: 0, count: n * n * n * 3)
        var counts = [Double](repeating: 0, count: n * n * n)
        for p in pixels {
            let (r, g, b) = (x[3 * p], x[3 * p + 1], x[3 * p + 2])
            let cell = (node(r) * n + node(g)) * n + node(b)
            counts[cell] += 1
            let offset = prior(Double(r), Double(g), Double(b))
            for c in 0..<3 {
                // Not where the exemplar sits at a bound the prior overshoots: the clamp gives that
                // pixel its value, and its cell keeps the prior's slope (as `censored_residual`).
                let clip = Prior.clipped(y[3 * p + c])
                let predicted = Double(x[3 * p + c]) + offset[c]
                if (clip > 0 && predicted > 1) || (clip < 0 && predicted < 0) { continue }
                sums[cell * 3 + c] += Double(y[3 * p + c] - x[3 * p + c]) - offset[c]
            }
        }
        let boxSums = BoxSum(shape: [n, n, n], channels: 3, radius: 1)(sums)
        let boxCounts = BoxSum(shape: [n, n, n], channels: 1, radius: 1)(counts)
        var table = [Float](repeating: 0, count: n * n * n * 3)
        for i in 0..<n {
            for j in 0..<n {
                for k in 0..<n {
                    let cell = (i * n + j) * n + k
                    let weight = counts[cell] + neighbour * boxCounts[cell] + priorPixels
                    let offset = prior(Double(i) / Double(n - 1), Double(j) / Double(n - 1), Double(k) / Double(n - 1))
                    for c in 0..<3 {
                        let residual = (sums[cell * 3 + c] + neighbour * boxSums[cell * 3 + c]) / weight
                        table[cell * 3 + c] = Float(offset[c] + residual)
                    }
                }
            }
        }
        return table
    }

    /// RGB samples (0…1, interleaved) through an offset table, trilinearly, clamped to 0…1 unless
    /// `clamped` is false (a LUT file's grid, which other tools interpolate before they clamp).
    static func apply(_ offsets: [Float], to rgb: [Float], _ c: Compute, clamped: Bool = true) -> [Float] {
        let (low, high): (Float, Float) = clamped ? (0, 1) : (-.infinity, .infinity)
        let n = side
        let pixels = rgb.count / 3
        // Each node's offset as one 16-byte vector: a corner is one load instead of three.
        let corners = (0..<(n * n * n)).map { SIMD4(offsets[3 * $0], offsets[3 * $0 + 1], offsets[3 * $0 + 2], 0) }
        return rgb.withUnsafeBufferPointer { rgb in
            corners.withUnsafeBufferPointer { corners in
                c.array(rgb.count, runs: pixels, of: 1 << 14) { range, out in
                    let scale = Float(n - 1)
                    // Steps between the eight corners of a cell, in nodes.
                    let (dr, dg, db) = (n * n, n, 1)
                    for p in range {
                        let sr = min(1, max(0, rgb[3 * p])) * scale
                        let sg = min(1, max(0, rgb[3 * p + 1])) * scale
                        let sb = min(1, max(0, rgb[3 * p + 2])) * scale
                        let (r0, g0, b0) = (min(n - 2, Int(sr)), min(n - 2, Int(sg)), min(n - 2, Int(sb)))
                        let (fr, fg, fb) = (sr - Float(r0), sg - Float(g0), sb - Float(b0))
                        let base = (r0 * n + g0) * n + b0
                        let (r1, g1, b1) = (1 - fr, 1 - fg, 1 - fb)
                        // The identity part interpolates to the input itself; only offsets are looked up.
                        var v = SIMD4(sr / scale, sg / scale, sb / scale, 0)
                        v += (r1 * g1 * b1) * corners[base]
                        v += (r1 * g1 * fb) * corners[base + db]
                        v += (r1 * fg * b1) * corners[base + dg]
                        v += (r1 * fg * fb) * corners[base + dg + db]
                        v += (fr * g1 * b1) * corners[base + dr]
                        v += (fr * g1 * fb) * corners[base + dr + db]
                        v += (fr * fg * b1) * corners[base + dr + dg]
                        v += (fr * fg * fb) * corners[base + dr + dg + db]
                        out[3 * p] = min(high, max(low, v.x))
                        out[3 * p + 1] = min(high, max(low, v.y))
                        out[3 * p + 2] = min(high, max(low, v.z))
                    }
                }
            }
        }
    }
}

/// ``ColorLUT``'s offsets as a part of the delta.
package struct ColorTable: DeltaComponent {
    package var offsets: [Float]

    package init(offsets: [Float]) { self.offsets = offsets }

    package static let none = ColorTable(
        offsets: [Float](repeating: 0, count: ColorLUT.side * ColorLUT.side * ColorLUT.side * 3))

    /// Offsets from the identity, indexed r, g, b; all zero when the hue shift or nothing is used.
    package static let layout = [(name: "color.lut", shape: [ColorLUT.side, ColorLUT.side, ColorLUT.side, 3])]
    /// Added; its prior leaning toward a structured map; no table unless it clearly beats none;
    /// fitted on the pair subsampled.
    package static let revision = 4
    package init(values: [[Float]]) { self.init(offsets: values[0]) }
    package var values: [[Float]] { [offsets] }
}
