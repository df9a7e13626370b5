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
    /// Pixels' worth of weight pulling a node toward the affine map.
    static let prior = 1.0

    /// The table `[side, side, side, 3]` (indexed r, g, b) as an offset from the identity: the
    /// affine map `affine` (3×4, row-major) plus, per node, the mean residual of the pixels
    /// nearest to it — borrowed from its neighbours where it has none and shrunk toward the
    /// affine map, so colours the exemplar never shows follow the affine map.
    static func fit(_ before: Image, _ after: Image, affine m: [Float]) -> [Float] {
        let n = side, x = before.floatSamples(), y = after.floatSamples()
        var sums = [Double](repeating: 0, count: n * n * n * 3), counts = [Double](repeating: 0, count: n * n * n)
        for p in 0..<(before.width * before.height) {
            let (r, g, b) = (x[3 * p], x[3 * p + 1], x[3 * p + 2])
            var cell = 0
            for v in [r, g, b] { cell = cell * n + min(n - 1, max(0, Int((v * Float(n - 1)).rounded()))) }
            counts[cell] += 1
            for c in 0..<3 {
                let fitted = m[c * 4] * r + m[c * 4 + 1] * g + m[c * 4 + 2] * b + m[c * 4 + 3]
                sums[cell * 3 + c] += Double(y[3 * p + c] - fitted)
            }
        }
        let boxSums = box3(sums, channels: 3), boxCounts = box3(counts, channels: 1)
        var table = [Float](repeating: 0, count: n * n * n * 3)
        for i in 0..<n {
            for j in 0..<n {
                for k in 0..<n {
                    let cell = (i * n + j) * n + k
                    let node = [Float(i), Float(j), Float(k)].map { $0 / Float(n - 1) }
                    let weight = counts[cell] + neighbour * boxCounts[cell] + prior
                    for c in 0..<3 {
                        let residual = (sums[cell * 3 + c] + neighbour * boxSums[cell * 3 + c]) / weight
                        let fitted = m[c * 4] * node[0] + m[c * 4 + 1] * node[1] + m[c * 4 + 2] * node[2] + m[c * 4 + 3]
                        table[cell * 3 + c] = fitted + Float(residual) - node[c]
                    }
                }
            }
        }
        return table
    }

    /// Sums over each node's 3×3×3 neighbourhood (itself included), clipped at the cube's faces.
    private static func box3(_ values: [Double], channels: Int) -> [Double] {
        let n = side
        var out = [Double](repeating: 0, count: values.count)
        for i in 0..<n {
            for j in 0..<n {
                for k in 0..<n {
                    let cell = (i * n + j) * n + k
                    for a in max(0, i - 1)...min(n - 1, i + 1) {
                        for b in max(0, j - 1)...min(n - 1, j + 1) {
                            for d in max(0, k - 1)...min(n - 1, k + 1) {
                                let other = (a * n + b) * n + d
                                for c in 0..<channels { out[cell * channels + c] += values[other * channels + c] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// RGB samples (0…1, interleaved) through an offset table, trilinearly, clamped to 0…1.
    static func apply(_ offsets: [Float], to rgb: [Float], _ c: Compute) -> [Float] {
        let n = side, pixels = rgb.count / 3
        var out = [Float](repeating: 0, count: rgb.count)
        let piece = 1 << 14
        out.withUnsafeMutableBufferPointer { buffer in
            let result = UncheckedSendableBuffer(buffer)
            c.parallel((pixels + piece - 1) / piece) { index, _ in
                let scale = Float(n - 1)
                for p in (index * piece)..<min(pixels, (index + 1) * piece) {
                    let sr = min(1, max(0, rgb[3 * p])) * scale, sg = min(1, max(0, rgb[3 * p + 1])) * scale
                    let sb = min(1, max(0, rgb[3 * p + 2])) * scale
                    let (r0, g0, b0) = (min(n - 2, Int(sr)), min(n - 2, Int(sg)), min(n - 2, Int(sb)))
                    let (fr, fg, fb) = (sr - Float(r0), sg - Float(g0), sb - Float(b0))
                    // The identity part interpolates to the input itself; only offsets are looked up.
                    var (vr, vg, vb) = (sr / scale, sg / scale, sb / scale)
                    for corner in 0..<8 {
                        let (dr, dg, db) = ((corner >> 2) & 1, (corner >> 1) & 1, corner & 1)
                        let w = (dr == 1 ? fr : 1 - fr) * (dg == 1 ? fg : 1 - fg) * (db == 1 ? fb : 1 - fb)
                        let cell = (((r0 + dr) * n + g0 + dg) * n + b0 + db) * 3
                        vr += w * offsets[cell]
                        vg += w * offsets[cell + 1]
                        vb += w * offsets[cell + 2]
                    }
                    result.buffer[3 * p] = min(1, max(0, vr))
                    result.buffer[3 * p + 1] = min(1, max(0, vg))
                    result.buffer[3 * p + 2] = min(1, max(0, vb))
                }
            }
        }
        return out
    }
}
