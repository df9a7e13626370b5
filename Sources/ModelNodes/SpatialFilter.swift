import Foundation
import ImageCodecs
import TensorCore

/// The spatial part of an exemplar's edit that fitting can recover exactly: `img + k·(G_σ(img) − img)`,
/// a gaussian blur for k = 1, an unsharp mask for k < 0, nothing for k = 0. σ is relative to the
/// image's shorter side, so one exemplar's blur means the same on a photo of any size. Same fit as
/// `fit_spatial` in Training/edit_data.py.
struct SpatialFilter: Equatable {
    var sigma: Double
    var k: Double

    static let none = SpatialFilter(sigma: 0, k: 0)
    /// σ tried by the fit: 0.003 … 0.024 of the shorter side, four per octave.
    static let sigmas = (0..<13).map { 0.003 * Foundation.pow(2, Double($0) / 4) }
    /// A filter is kept only if it halves the colour table's error alone.
    static let requiredGain = 0.5
    static let minimumGain = 0.15
    /// The fit reads the exemplar at most this large: fine detail decides a sharpen.
    static let fitSide = 512
    /// Above this σ (in pixels) the blur is three box passes per axis instead of an exact kernel,
    /// so a large photo costs the same per pixel whatever the blur.
    static let exactSigmaLimit = 8.0

    /// The filter that, followed by a colour table, best explains `before → after` (RGB, same size).
    static func fit(_ before: Image, _ after: Image, _ c: Compute) -> SpatialFilter {
        let (b, a) = (before.resized(within: fitSide), after.resized(within: fitSide))
        let (w, h) = (b.width, b.height)
        let x = b.floatSamples(), y = a.floatSamples(), all = Array(0..<(w * h))
        func colourError(_ source: [Float]) -> Double {
            let lut = ColorLUT.table(source, y, all, ColorLUT.Prior(source, y, all, curves: false))
            let predicted = ColorLUT.apply(lut, to: source, c)
            var e = 0.0
            for i in predicted.indices { let d = Double(predicted[i] - y[i]); e += d * d }
            return e / Double(predicted.count)
        }
        let plain = colourError(x)
        var best = (error: plain, filter: SpatialFilter.none, blurred: x)
        let side = Double(min(w, h))
        for sigma in sigmas {
            let blurred = gaussian(x, width: w, height: h, sigma: sigma * side, c)
            var num = 0.0, energy = 0.0
            for i in x.indices {
                let d = Double(blurred[i] - x[i])
                num += Double(y[i] - x[i]) * d
                energy += d * d
            }
            guard energy > 1e-12 else { continue }
            let k = min(1.5, max(-3, num / energy))
            guard abs(k) >= minimumGain else { continue }
            let filter = SpatialFilter(sigma: sigma, k: k)
            let e = colourError(filter.combine(x, blurred))
            if e < best.error { best = (e, filter, blurred) }
        }
        // Clipping makes the least-squares gain of a strong sharpen too small: try larger ones.
        if best.filter.k < 0 {
            let found = best.filter
            for factor in [1.15, 1.3, 1.5, 1.75] {
                let filter = SpatialFilter(sigma: found.sigma, k: max(-3, found.k * factor))
                let e = colourError(filter.combine(x, best.blurred))
                if e < best.error { best.error = e; best.filter = filter }
            }
        }
        return best.error < requiredGain * plain ? best.filter : .none
    }

    /// The filter on interleaved RGB samples of a `width × height` image, clamped to 0…1.
    func apply(to rgb: [Float], width w: Int, height h: Int, _ c: Compute) -> [Float] {
        guard k != 0 else { return rgb }
        return combine(rgb, Self.gaussian(rgb, width: w, height: h, sigma: sigma * Double(min(w, h)), c))
    }

    private func combine(_ x: [Float], _ blurred: [Float]) -> [Float] {
        let g = Float(k)
        var out = x
        out.withUnsafeMutableBufferPointer { o in
            blurred.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] = min(1, max(0, o[i] + g * (b[i] - o[i]))) }
            }
        }
        return out
    }

    /// A separable gaussian blur of interleaved RGB, edges replicated: the exact kernel (radius
    /// ⌈3σ⌉, as Training/edits.py's `gaussian_blur`) up to ``exactSigmaLimit``, three box passes beyond.
    static func gaussian(_ rgb: [Float], width w: Int, height h: Int, sigma: Double, _ c: Compute) -> [Float] {
        guard sigma >= 0.2 else { return rgb }
        if sigma <= exactSigmaLimit {
            let radius = max(1, Int((3 * sigma).rounded(.up)))
            let kernel = (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
            let total = kernel.reduce(0, +)
            let weights = kernel.map { Float($0 / total) }
            let horizontal = pass(rgb, width: w, height: h, horizontal: true, radius: radius, c) { padded, count, out in
                convolve(padded, count, weights, out)
            }
            return verticalPass(horizontal, width: w, height: h, radius: radius, c, setUp: { _, _ in }) { rows, _, out in
                // rows(j) is the row j − radius away from the output's, edges replicated.
                for x in 0..<out.count { out[x] = 0 }
                for (j, weight) in weights.enumerated() {
                    let row = rows(j)
                    for x in 0..<out.count { out[x] += weight * row[x] }
                }
            }
        }
        // Box widths whose three-fold convolution has variance σ² (Kovesi, "Fast almost-gaussian filtering").
        let ideal = (12 * sigma * sigma / 3 + 1).squareRoot()
        var lower = Int(ideal.rounded(.down))
        if lower % 2 == 0 { lower -= 1 }
        let upper = lower + 2
        let m = Int(((12 * sigma * sigma - 3 * Double(lower * lower) - 12 * Double(lower) - 9) / Double(-4 * lower - 4)).rounded())
        var out = rgb
        for i in 0..<3 {
            let radius = ((i < m ? lower : upper) - 1) / 2
            out = pass(out, width: w, height: h, horizontal: true, radius: radius, c) { padded, count, result in
                    // A running sum over the window.
                    let scale = 1 / Float(2 * radius + 1)
                    var (s0, s1, s2) = (Float(0), Float(0), Float(0))
                    for j in 0...(2 * radius) { s0 += padded[3 * j]; s1 += padded[3 * j + 1]; s2 += padded[3 * j + 2] }
                    for i in 0..<count {
                        result[3 * i] = s0 * scale; result[3 * i + 1] = s1 * scale; result[3 * i + 2] = s2 * scale
                        guard i + 1 < count else { break }
                        let (add, drop) = (3 * (i + 2 * radius + 1), 3 * i)
                        s0 += padded[add] - padded[drop]
                        s1 += padded[add + 1] - padded[drop + 1]
                        s2 += padded[add + 2] - padded[drop + 2]
                    }
            }
            out = verticalBox(out, width: w, height: h, radius: radius, c)
        }
        return out
    }

    /// The vertical box pass: a running sum down blocks of columns, a row at a time.
    private static func verticalBox(_ rgb: [Float], width w: Int, height h: Int, radius: Int, _ c: Compute) -> [Float] {
        let scale = 1 / Float(2 * radius + 1)
        return verticalPass(rgb, width: w, height: h, radius: radius, c, setUp: { rows, sums in
            for x in 0..<sums.count { sums[x] = 0 }
            for j in 0...(2 * radius) {
                let row = rows(j)
                for x in 0..<sums.count { sums[x] += row[x] }
            }
        }) { rows, sums, out in
            for x in 0..<out.count { out[x] = sums[x] * scale }
            // rows(2·radius + 1) enters the window of the next output row, rows(0) leaves it.
            let (add, drop) = (rows(2 * radius + 1), rows(0))
            for x in 0..<sums.count { sums[x] += add[x] - drop[x] }
        }
    }

    /// Width in samples of the column blocks the vertical passes work on.
    private static let columnBlock = 192

    /// Runs a vertical filter on blocks of columns in parallel, row by row, so that every read is
    /// contiguous (a column gathered pixel by pixel strides a whole row per sample and missed the
    /// cache each time). `filter(rows, state, out)` writes one output row's block; `rows(j)` is the
    /// block of the input row `j − radius` away from it, edges replicated; `state` is the block's
    /// own scratch, which `setUp` fills from the first output row's `rows`.
    private static func verticalPass(_ rgb: [Float], width w: Int, height h: Int, radius: Int, _ c: Compute,
                                     setUp: (_ rows: (Int) -> UnsafeBufferPointer<Float>, _ state: UnsafeMutableBufferPointer<Float>) -> Void,
                                     _ filter: (_ rows: (Int) -> UnsafeBufferPointer<Float>, _ state: UnsafeMutableBufferPointer<Float>,
                                                _ out: UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        let stride = 3 * w, blocks = (stride + columnBlock - 1) / columnBlock
        var out = [Float](repeating: 0, count: rgb.count)
        rgb.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { buffer in
                let source = UncheckedSendableBuffer(UnsafeMutableBufferPointer(mutating: input))
                let result = UncheckedSendableBuffer(buffer)
                c.parallel(blocks) { block, _ in
                    let start = block * columnBlock, width = min(columnBlock, stride - start)
                    var state = [Float](repeating: 0, count: width)
                    state.withUnsafeMutableBufferPointer { state in
                        var y = 0
                        let rows = { (j: Int) -> UnsafeBufferPointer<Float> in
                            let row = min(h - 1, max(0, y + j - radius))
                            return UnsafeBufferPointer(rebasing: source.buffer[(row * stride + start)..<(row * stride + start + width)])
                        }
                        setUp(rows, state)
                        for row in 0..<h {
                            y = row
                            filter(rows, state, UnsafeMutableBufferPointer(rebasing: result.buffer[(row * stride + start)..<(row * stride + start + width)]))
                        }
                    }
                }
            }
        }
        return out
    }

    private static func convolve(_ padded: UnsafeBufferPointer<Float>, _ count: Int, _ weights: [Float],
                                 _ out: UnsafeMutableBufferPointer<Float>) {
        weights.withUnsafeBufferPointer { k in
            for i in 0..<count {
                var (s0, s1, s2) = (Float(0), Float(0), Float(0))
                for j in 0..<k.count {
                    let q = 3 * (i + j)
                    s0 += k[j] * padded[q]; s1 += k[j] * padded[q + 1]; s2 += k[j] * padded[q + 2]
                }
                out[3 * i] = s0; out[3 * i + 1] = s1; out[3 * i + 2] = s2
            }
        }
    }

    /// Runs `filter` on every row (or column) of interleaved RGB in parallel; it reads the line
    /// padded by `radius` replicated samples each side and writes the line.
    private static func pass(_ rgb: [Float], width w: Int, height h: Int, horizontal: Bool, radius: Int, _ c: Compute,
                             _ filter: (UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        let lines = horizontal ? h : w, count = horizontal ? w : h
        let (step, lineStep) = horizontal ? (3, 3 * w) : (3 * w, 3)
        var out = [Float](repeating: 0, count: rgb.count)
        rgb.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { buffer in
                let source = UncheckedSendableBuffer(UnsafeMutableBufferPointer(mutating: input))
                let result = UncheckedSendableBuffer(buffer)
                c.parallel(lines) { line, _ in
                    var padded = [Float](repeating: 0, count: 3 * (count + 2 * radius))
                    var filtered = [Float](repeating: 0, count: 3 * count)
                    let origin = line * lineStep
                    padded.withUnsafeMutableBufferPointer { padded in
                        for i in 0..<(count + 2 * radius) {
                            let p = origin + min(count - 1, max(0, i - radius)) * step
                            padded[3 * i] = source.buffer[p]
                            padded[3 * i + 1] = source.buffer[p + 1]
                            padded[3 * i + 2] = source.buffer[p + 2]
                        }
                        filtered.withUnsafeMutableBufferPointer { filtered in
                            filter(UnsafeBufferPointer(padded), count, filtered)
                            for i in 0..<count {
                                let p = origin + i * step
                                result.buffer[p] = filtered[3 * i]
                                result.buffer[p + 1] = filtered[3 * i + 1]
                                result.buffer[p + 2] = filtered[3 * i + 2]
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
