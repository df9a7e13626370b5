import Foundation
import NodeKit
import TensorCore

/// The film grain or noise an exemplar's edit adds: after = clip(before + n) with n independent of
/// anything another photo's output could know, so no colour step or filter explains it. The fit
/// measures n's colour covariance (monochrome grain: every entry alike; colour noise: a diagonal)
/// and `adapter_edit` draws it anew on each photo (``sample(_:width:height:seed:_:)``) or gives
/// its expected value (``mean(_:_:)``). Same fit as `fit_grain` in Training/edit_data.py.
struct Grain: Equatable {
    /// Row-major 3×3 covariance of the noise per pixel, in 0…1 sample units; all zero: no grain.
    var covariance: [Double]

    static let none = Grain(covariance: Array(repeating: 0, count: 9))
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
    /// model scaling the photo's own texture (validation exemplars without grain: at most 0.0048).
    static let minimumSigma = 0.01
    /// A normal sample's standard deviation over its median absolute value.
    static let madScale = 1.4826
    static let luma: (Double, Double, Double) = (0.299, 0.587, 0.114)

    var isNone: Bool { covariance.allSatisfy { $0 == 0 } }

    /// The noise in `after − predicted` (interleaved RGB of one `width × height` image;
    /// `predicted` is the exemplar's fit applied to `before`), or ``none`` under ``minimumSigma``:
    /// the residual less its 5×5 local mean on the flattest unclipped pixels, less per channel and
    /// ``block``² block its least-squares multiple of the before's own detail (its 5×5 high-pass) —
    /// an edit that scales the photo's texture unevenly (a spotlight) leaves that, grain does not.
    /// Robust (median-based) variances, covariances as (s(a+b)² − s(a−b)²)/4, corrected for the
    /// removed local mean (a white noise keeps 1 − 1/25 of its variance).
    static func fit(before: [Float], after: [Float], predicted: [Float], width w: Int, height h: Int) -> Grain {
        let r = window / 2
        guard w > 2 * r, h > 2 * r else { return .none }
        let pixels = w * h
        let residual = (0..<(pixels * 3)).map { Double(after[$0]) - Double(predicted[$0]) }
        let detail = before.map(Double.init)
        var luma = [Double](repeating: 0, count: pixels)
        for p in 0..<pixels {
            luma[p] = Self.luma.0 * detail[p * 3] + Self.luma.1 * detail[p * 3 + 1] + Self.luma.2 * detail[p * 3 + 2]
        }
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
        candidates.sort { $0.flatness != $1.flatness ? $0.flatness < $1.flatness : $0.pixel < $1.pixel }
        let chosen = candidates.prefix(count).map(\.pixel)
        let noise = highPass(residual, width: w, height: h, at: chosen)
        let texture = highPass(detail, width: w, height: h, at: chosen)
        let blocksAcross = (w + block - 1) / block
        let blockOf = chosen.map { ($0 / w / block) * blocksAcross + $0 % w / block }
        let blocks = (blockOf.max() ?? 0) + 1
        var v = noise
        for k in 0..<3 {
            var num = [Double](repeating: 0, count: blocks), den = num
            for i in chosen.indices {
                num[blockOf[i]] += noise[k][i] * texture[k][i]
                den[blockOf[i]] += texture[k][i] * texture[k][i]
            }
            for i in chosen.indices where den[blockOf[i]] > 1e-12 {
                v[k][i] -= num[blockOf[i]] / den[blockOf[i]] * texture[k][i]
            }
        }
        func scale(_ v: [Double]) -> Double {
            let sorted = v.map(abs).sorted()
            return madScale * sorted[(sorted.count - 1) / 2]
        }
        var covariance = [Double](repeating: 0, count: 9)
        let kept = 1 - 1 / Double(window * window)
        for a in 0..<3 {
            covariance[a * 3 + a] = Foundation.pow(scale(v[a]), 2) / kept
            for b in 0..<a {
                let plus = scale(zip(v[a], v[b]).map { $0 + $1 }), minus = scale(zip(v[a], v[b]).map { $0 - $1 })
                covariance[a * 3 + b] = (plus * plus - minus * minus) / 4 / kept
                covariance[b * 3 + a] = covariance[a * 3 + b]
            }
        }
        let largest = (0..<3).map { covariance[$0 * 4] }.max()!
        return largest >= minimumSigma * minimumSigma ? Grain(covariance: covariance) : .none
    }

    /// Per channel, `values` (interleaved RGB, `width × height`) less its ``window``² mean at each
    /// of `pixels` (all at least ``window``/2 from the border).
    private static func highPass(_ values: [Double], width w: Int, height h: Int, at pixels: [Int]) -> [[Double]] {
        let r = window / 2
        var integral = [Double](repeating: 0, count: (w + 1) * (h + 1) * 3)
        for y in 0..<h {
            var row = (0.0, 0.0, 0.0)
            for x in 0..<w {
                let p = (y * w + x) * 3
                row.0 += values[p]
                row.1 += values[p + 1]
                row.2 += values[p + 2]
                let o = ((y + 1) * (w + 1) + x + 1) * 3, above = (y * (w + 1) + x + 1) * 3
                integral[o] = integral[above] + row.0
                integral[o + 1] = integral[above + 1] + row.1
                integral[o + 2] = integral[above + 2] + row.2
            }
        }
        let area = Double(window * window)
        var out = [[Double]](repeating: [Double](repeating: 0, count: pixels.count), count: 3)
        for (i, p) in pixels.enumerated() {
            let (x, y) = (p % w, p / w)
            let top = (y - r) * (w + 1), bottom = (y + r + 1) * (w + 1)
            for k in 0..<3 {
                let sum = integral[(bottom + x + r + 1) * 3 + k] - integral[(bottom + x - r) * 3 + k]
                    - integral[(top + x + r + 1) * 3 + k] + integral[(top + x - r) * 3 + k]
                out[k][i] = values[p * 3 + k] - sum / area
            }
        }
        return out
    }

    /// Each channel's E[clip(x + n)] for x in interleaved RGB `rgb`: what a draw of the grain gives
    /// on average — the least squared error any one output can have against a draw, and no visible grain.
    func mean(_ rgb: inout [Float], _ c: Compute) {
        // Per channel a table over 0…1 (the closed form costs two erf per sample; interpolating
        // it is exact to ~1e-6).
        let knots = 1024
        var tables: [[Float]?] = []
        for k in 0..<3 {
            let variance = covariance[k * 4]
            guard variance > 0 else { tables.append(nil); continue }
            let s = variance.squareRoot()
            func cdf(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }
            func pdf(_ z: Double) -> Double { Foundation.exp(-z * z / 2) / (2 * Double.pi).squareRoot() }
            tables.append((0...knots).map { i in
                let x = Double(i) / Double(knots), lo = -x / s, hi = (1 - x) / s
                return Float(min(1, max(0, x * (cdf(hi) - cdf(lo)) + s * (pdf(lo) - pdf(hi)) + (1 - cdf(hi)))))
            })
        }
        let pixels = rgb.count / 3, rows = 1024
        rgb.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendableBuffer(out)
            c.parallel((pixels + rows - 1) / rows) { piece, _ in
                for p in (piece * rows)..<min(pixels, (piece + 1) * rows) {
                    for k in 0..<3 {
                        guard let table = tables[k] else { continue }
                        let t = min(1, max(0, out.buffer[p * 3 + k])) * Float(knots)
                        let i = min(knots - 1, Int(t)), f = t - Float(i)
                        out.buffer[p * 3 + k] = table[i] + f * (table[i + 1] - table[i])
                    }
                }
            }
        }
    }

    /// `rgb` plus a fresh draw of the grain, clamped to 0…1: the same draw for the same `seed` and
    /// image size on any number of threads (each row has its own stream).
    func sample(_ rgb: inout [Float], width w: Int, height h: Int, seed: UInt64, _ c: Compute) {
        let l = Self.cholesky(covariance).map(Float.init)
        rgb.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendableBuffer(out)
            c.parallel(h) { y, _ in
                var random = SeededRandom(seed: SeededRandom.mix(seed ^ UInt64(y)))
                for p in (y * w)..<((y + 1) * w) {
                    let z = (random.nextGaussian(), random.nextGaussian(), random.nextGaussian())
                    for k in 0..<3 {
                        let n = l[k * 3] * z.0 + l[k * 3 + 1] * z.1 + l[k * 3 + 2] * z.2
                        out.buffer[p * 3 + k] = min(1, max(0, out.buffer[p * 3 + k] + n))
                    }
                }
            }
        }
    }

    /// The lower-triangular L with L·Lᵀ = `a` (3×3, row-major); a direction in which `a` is not
    /// positive (a delta combined with a negative weight) contributes nothing.
    static func cholesky(_ a: [Double]) -> [Double] {
        var l = [Double](repeating: 0, count: 9)
        for j in 0..<3 {
            var d = a[j * 4]
            for k in 0..<j { d -= l[j * 3 + k] * l[j * 3 + k] }
            guard d > 1e-12 else { continue }
            let root = d.squareRoot()
            l[j * 4] = root
            for i in (j + 1)..<3 {
                var s = a[i * 3 + j], used = 0.0
                for k in 0..<j { s -= l[i * 3 + k] * l[j * 3 + k]; used += l[i * 3 + k] * l[i * 3 + k] }
                // Robust estimates need not make a positive matrix: no row may exceed its channel's variance.
                let limit = max(0, a[i * 4] - used).squareRoot()
                l[i * 3 + j] = min(limit, max(-limit, s / root))
            }
        }
        return l
    }
}
