import Foundation
import TensorCore

/// The bilateral filter (Tomasi & Manduchi 1998): each pixel the mean of its neighbours weighted
/// by their distance and by their colour's difference, so the smoothing stops at edges — a photo
/// editor's noise reduction or surface blur, which a gaussian or a rank filter explains only in
/// part. Same as `bilateral` in Training/edits.py.
enum Bilateral {
    /// Output pixels computed together: the window's taps are read as vectors of this many.
    typealias Lanes = SIMD8<Float>

    /// Rows `rows` of `source` filtered over the `(2⌈2σ⌉+1)²` square around each pixel, edges
    /// replicated, σ `sigma` pixels and colour σ `spread`: each band reads its rows and the
    /// window's reach around them.
    static func bands(_ source: RGBRows, sigma: Double, spread: Double, _ c: Compute) -> (_ rows: Range<Int>) -> [Float]
    {
        let (w, h) = (source.width, source.height)
        let r = max(1, Int((2 * sigma).rounded(.up)))
        let n = 2 * r + 1
        let near = (0..<(n * n)).map { i -> Float in
            let (dy, dx) = (Double(i / n - r), Double(i % n - r))
            return Float(exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)))
        }
        // exp(−d²/2s²) = 2^(−d² · scale)
        let scale = Float(1 / (2 * spread * spread) / log(2.0))
        let lanes = Lanes.scalarCount
        return { rows in
            // The band and the window's reach around it, planar, r replicated pixels past every
            // edge and every row padded past its end to whole vectors.
            let pw = w + 2 * r + lanes
            let first = rows.lowerBound - r
            let reach = max(0, first)..<min(h, rows.upperBound + r)
            let samples = source.read(reach)
            let plane = (rows.count + 2 * r) * pw
            var padded = [Float](repeating: 0, count: 3 * plane)
            for i in 0..<(rows.count + 2 * r) {
                let y = min(h - 1, max(0, first + i)) - reach.lowerBound
                for x in 0..<pw {
                    let s = (y * w + min(w - 1, max(0, x - r))) * 3
                    for k in 0..<3 { padded[k * plane + i * pw + x] = samples[s + k] }
                }
            }
            return padded.withUnsafeBufferPointer { p in
                near.withUnsafeBufferPointer { near in
                    c.array(rows.count * w * 3, runs: rows.count, of: 1) { range, out in
                        let raw = UnsafeRawPointer(p.baseAddress!)
                        func load(_ k: Int, _ i: Int) -> Lanes {
                            raw.loadUnaligned(
                                fromByteOffset: (k * plane + i) * MemoryLayout<Float>.stride, as: Lanes.self)
                        }
                        for i in range {
                            for x in stride(from: 0, to: w, by: lanes) {
                                let centre = (i + r) * pw + x + r
                                let (r0, g0, b0) = (load(0, centre), load(1, centre), load(2, centre))
                                var (sr, sg, sb, total) = (Lanes(), Lanes(), Lanes(), Lanes())
                                for dy in 0..<n {
                                    let row = (i + dy) * pw + x
                                    for dx in 0..<n {
                                        let (vr, vg, vb) = (load(0, row + dx), load(1, row + dx), load(2, row + dx))
                                        let (dr, dg, db) = (vr - r0, vg - g0, vb - b0)
                                        let weight = near[dy * n + dx] * exp2(-(dr * dr + dg * dg + db * db) * scale)
                                        sr += weight * vr
                                        sg += weight * vg
                                        sb += weight * vb
                                        total += weight
                                    }
                                }
                                let (fr, fg, fb) = (sr / total, sg / total, sb / total)
                                for j in 0..<min(lanes, w - x) {
                                    let o = (i * w + x + j) * 3
                                    (out[o], out[o + 1], out[o + 2]) = (fr[j], fg[j], fb[j])
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// 2^v for v ≤ 0, to a few parts in 10⁶, in lane-wise arithmetic alone (Swift's generic
    /// float-to-integer conversion of a vector goes lane by lane): adding 1.5 · 2²³ rounds v to
    /// the nearest integer n in the sum's low bits, which become the exponent; the remainder f in
    /// [−½, ½] by the Taylor series of e^(f ln 2) to the fifth power.
    @inline(__always)
    static func exp2(_ v: Lanes) -> Lanes {
        let magic: Float = 12_582_912
        let x = pointwiseMax(v, Lanes(repeating: -126))
        let shifted = x + magic
        let g = (x - (shifted - magic)) * Float(M_LN2)
        var p = Lanes(repeating: 1 / 120)
        p = p * g + 1 / 24
        p = p * g + 1 / 6
        p = p * g + 0.5
        p = p * g + 1
        p = p * g + 1
        let whole = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: Int32.self)
        return p * unsafeBitCast((whole &+ 127) &<< 23, to: Lanes.self)
    }
}
