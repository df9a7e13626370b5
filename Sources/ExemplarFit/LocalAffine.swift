import TensorCore

/// Local affine colour models fitted between a small image and a processed version of it, and
/// applied to the full-resolution image: the guided filter's linear model (He & Sun), used as
/// guided upsampling. An edit computed at 64×64 comes back at any resolution with the photo's own
/// detail, and the cost grows linearly with pixels.
///
/// Each low-resolution pixel gets `out_k = a_k · rgb + b_k`, fitted by ridge regression over a
/// (2r+1)² window. The ridge pulls `a_k` toward the transform fitted on the whole image rather
/// than toward zero, so where a window is flat (no colour variation to fit on) the model falls
/// back to the image-wide transform instead of flattening detail the small image cannot see.
/// Coefficients are then averaged over the same window and interpolated bilinearly.
package struct LocalAffine: Sendable {
    let width: Int, height: Int, outputs: Int
    /// Per low-resolution pixel and output: a_r, a_g, a_b, b.
    let coefficients: [Float]

    package static func fit(
        guide: [Float], target: [Float], outputs k: Int, width w: Int, height h: Int,
        radius: Int = 2, epsilon: Double = 1e-3
    ) -> LocalAffine {
        precondition(guide.count == w * h * 3 && target.count == w * h * k)
        // Per pixel: r g b, the six products rr rg rb gg gb bb, p_k, and r·p_k g·p_k b·p_k.
        let stats = 9 + 4 * k
        var raw = [Double](repeating: 0, count: w * h * stats)
        for p in 0..<(w * h) {
            let (r, g, b) = (Double(guide[p * 3]), Double(guide[p * 3 + 1]), Double(guide[p * 3 + 2]))
            var s = [r, g, b, r * r, r * g, r * b, g * g, g * b, b * b]
            for o in 0..<k {
                let t = Double(target[p * k + o])
                s += [t, r * t, g * t, b * t]
            }
            for j in 0..<stats { raw[p * stats + j] = s[j] }
        }
        let prior = solve(mean(raw, stats: stats), stats: stats, k: k, epsilon: 1e-8, prior: nil)
        let local = boxMean(raw, channels: stats, width: w, height: h, radius: radius)
        var coefficients = [Double](repeating: 0, count: w * h * 4 * k)
        for p in 0..<(w * h) {
            let m = Array(local[(p * stats)..<((p + 1) * stats)])
            let c = solve(m, stats: stats, k: k, epsilon: epsilon, prior: prior)
            for j in 0..<(4 * k) { coefficients[p * 4 * k + j] = c[j] }
        }
        let smoothed = boxMean(coefficients, channels: 4 * k, width: w, height: h, radius: radius)
        return LocalAffine(width: w, height: h, outputs: k, coefficients: smoothed.map { Float($0) })
    }

    /// Solves one window's ridge regression from its mean statistics; `prior` is the a the ridge
    /// pulls toward (per output, a_r a_g a_b b; nil: toward 0).
    private static func solve(_ m: [Double], stats: Int, k: Int, epsilon: Double, prior: [Double]?) -> [Double] {
        let mu = [m[0], m[1], m[2]]
        // Covariance of the guide, + εI, inverted by cofactors.
        let covariance = Matrix3(rows: [
            SIMD3(m[3] - mu[0] * mu[0] + epsilon, m[4] - mu[0] * mu[1], m[5] - mu[0] * mu[2]),
            SIMD3(m[4] - mu[0] * mu[1], m[6] - mu[1] * mu[1] + epsilon, m[7] - mu[1] * mu[2]),
            SIMD3(m[5] - mu[0] * mu[2], m[7] - mu[1] * mu[2], m[8] - mu[2] * mu[2] + epsilon),
        ])
        let (c, det) = covariance.cofactors
        var out = [Double](repeating: 0, count: 4 * k)
        for o in 0..<k {
            let base = 9 + 4 * o
            let mp = m[base]
            var v = [m[base + 1] - mu[0] * mp, m[base + 2] - mu[1] * mp, m[base + 3] - mu[2] * mp]
            if let prior { for j in 0..<3 { v[j] += epsilon * prior[4 * o + j] } }
            let a = (0..<3).map { r in (c[r][0] * v[0] + c[r][1] * v[1] + c[r][2] * v[2]) / det }
            out[4 * o] = a[0]
            out[4 * o + 1] = a[1]
            out[4 * o + 2] = a[2]
            out[4 * o + 3] = mp - a[0] * mu[0] - a[1] * mu[1] - a[2] * mu[2]
        }
        return out
    }

    private static func mean(_ values: [Double], stats: Int) -> [Double] {
        var m = [Double](repeating: 0, count: stats)
        let n = values.count / stats
        for p in 0..<n { for j in 0..<stats { m[j] += values[p * stats + j] } }
        return m.map { $0 / Double(n) }
    }

    /// Mean over the (2r+1)² window clipped to the image, per channel.
    static func boxMean(_ values: [Double], channels: Int, width w: Int, height h: Int, radius r: Int) -> [Double] {
        BoxSum(shape: [h, w], channels: channels, radius: r)(values, mean: true)
    }

    /// The models applied to a full-resolution RGB image (`width × height × 3`, row-major), the
    /// coefficients interpolated bilinearly between low-resolution pixel centres.
    package func apply(to rgb: [Float], width fw: Int, height fh: Int, _ c: Compute) -> [Float] {
        apply(to: rgb, width: fw, rows: 0..<fh, of: fh, c)
    }

    /// The same for rows `rows` of a `width × height` image, `rgb` holding just those rows.
    package func apply(to rgb: [Float], width fw: Int, rows band: Range<Int>, of fh: Int, _ c: Compute) -> [Float] {
        precondition(rgb.count == fw * band.count * 3)
        let k = outputs
        let stride = 4 * k
        let columns = HalfPixelTap.axis(fw, to: width)
        let rows = band.map { HalfPixelTap($0, numerator: height, denominator: fh, count: height) }
        return c.array(fw * band.count * k, runs: band.count, of: 16) { range, out in
            var blended = [Float](repeating: 0, count: stride)
            for y in range {
                let (y0, y1, fy) = (rows[y].lower, rows[y].upper, rows[y].weight)
                for x in 0..<fw {
                    let (x0, x1, fx) = (columns[x].lower, columns[x].upper, columns[x].weight)
                    let i00 = (y0 * width + x0) * stride
                    let i01 = (y0 * width + x1) * stride
                    let i10 = (y1 * width + x0) * stride
                    let i11 = (y1 * width + x1) * stride
                    let w00 = (1 - fx) * (1 - fy)
                    let w01 = fx * (1 - fy)
                    let w10 = (1 - fx) * fy
                    let w11 = fx * fy
                    for j in 0..<stride {
                        blended[j] =
                            w00 * coefficients[i00 + j] + w01 * coefficients[i01 + j]
                            + w10 * coefficients[i10 + j] + w11 * coefficients[i11 + j]
                    }
                    let p = y * fw + x
                    let (r, g, b) = (rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2])
                    for o in 0..<k {
                        out[p * k + o] =
                            blended[4 * o] * r + blended[4 * o + 1] * g + blended[4 * o + 2] * b + blended[4 * o + 3]
                    }
                }
            }
        }
    }
}
