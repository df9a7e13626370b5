import ImageCodecs
import TensorCore

/// A gain of each pixel's chroma about its luma per hue and saturation, fitted on an exemplar
/// pair: a selective saturation (one hue band kept in colour and the rest greyed, an HSL
/// saturation slider). On the hue shift's grid: where the 17³ table learns only the colours the
/// exemplar shows, the gain carries to colours of the same hue at any saturation and lightness.
/// Same as `solve_chroma` and `apply_chroma` in Training/edit_data.py.
package struct ChromaGain: Equatable, Sendable {
    /// In units of the exemplar's mean pixel weight: tying neighbouring nodes (along hue, circular,
    /// and saturation), so hues and saturations the exemplar lacks take the gain of those it has,
    /// or weakly where that predicts held-out runs of pixels ``HueShift/localMargin`` better (a
    /// narrow band kept); and pulling each node toward the one gain that fits every pixel best,
    /// as the table's affine prior carries the exemplar's overall change to colours it lacks.
    static let smoothness = 1000.0
    static let localSmoothness = 10.0
    static let ridge = 0.1

    /// The gain minus one, `[hues, saturations]` of ``HueShift``'s grid, hue-major.
    let grid: [Float]

    static let none = ChromaGain(grid: [Float](repeating: 0, count: HueShift.hues * HueShift.saturations.count))
    var isNone: Bool { grid.allSatisfy { $0 == 0 } }

    /// The gain from `pixels` of before `x` to after `y` (interleaved RGB), smooth or local as
    /// alternate runs of ``HueShift/run`` pixels held out decide.
    static func fit(_ x: [Float], _ y: [Float], _ pixels: [Int]) -> ChromaGain {
        let halves = HueShift.runHalves(pixels)
        // The normal equations add over pixels: each half's are gathered once, the whole's summed.
        let parts = halves.map { equations(x, y, $0) }
        let smooth = HueShift.smoothHolds(x, y, runs: halves) { trained, local, before in
            solve(parts[trained], smoothness: local ? localSmoothness : smoothness)
                .apply(to: before, Compute(threads: 1)).map(ColourCurves.clamped)
        }
        return solve(parts[0] + parts[1], smoothness: smooth ? smoothness : localSmoothness)
    }

    /// Least squares of `after − before ≈ u · (before − luma)` over some pixels, each weighted by
    /// its chroma's square (what a gain error costs in RGB), kept as ``HueShift`` keeps its own.
    struct Equations {
        var a: [Double], b: [Double]
        /// The pixels' summed weight and chroma-weighted change, and their count.
        var weight = 0.0, change = 0.0, count = 0

        static func + (l: Equations, r: Equations) -> Equations {
            Equations(
                a: zip(l.a, r.a).map(+), b: zip(l.b, r.b).map(+), weight: l.weight + r.weight,
                change: l.change + r.change, count: l.count + r.count)
        }
    }

    static func equations(_ x: [Float], _ y: [Float], _ pixels: [Int]) -> Equations {
        let n = HueShift.hues * HueShift.saturations.count
        var e = Equations(a: [Double](repeating: 0, count: n * 9), b: [Double](repeating: 0, count: n))
        let luma = SIMD3(Double(lumaWeights.r), Double(lumaWeights.g), Double(lumaWeights.b))
        for p in pixels {
            let v = SIMD3(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]))
            let after = SIMD3(Double(y[3 * p]), Double(y[3 * p + 1]), Double(y[3 * p + 2]))
            let chroma = v - SIMD3(repeating: (v * luma).sum())
            let w = (chroma * chroma).sum()
            let r = (chroma * (after - v)).sum()
            (e.weight, e.change, e.count) = (e.weight + w, e.change + r, e.count + 1)
            let clamped = v.clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
            let hsv = HueShift.hsv(clamped.x, clamped.y, clamped.z)
            HueShift.accumulate(&e.a, &e.b, hue: hsv.x, saturation: hsv.y, weight: w, weightedTarget: r)
        }
        return e
    }

    static func solve(_ e: Equations, smoothness: Double) -> ChromaGain {
        let scale = max(e.weight / Double(max(e.count, 1)), 1e-12)
        let overall = e.change / max(e.weight, 1e-12)
        let b = e.b.map { $0 + ridge * scale * overall }
        let gain = HueShift.solveGrid((e.a, b), smoothness: smoothness * scale, ridge: ridge * scale)
        return ChromaGain(grid: gain.map(Float.init))
    }

    /// Interleaved RGB (clamped to 0…1) with each pixel's chroma about its luma scaled by one plus
    /// the grid at its hue and saturation.
    func apply(to rgb: [Float], _ c: Compute) -> [Float] {
        let grid = self.grid.map(Double.init)
        let luma = SIMD3(Double(lumaWeights.r), Double(lumaWeights.g), Double(lumaWeights.b))
        return c.array(rgb.count, runs: rgb.count / 3, of: 1 << 14) { range, out in
            for p in range {
                func sample(_ k: Int) -> Double { Double(min(1, max(0, rgb[3 * p + k]))) }
                let v = SIMD3(sample(0), sample(1), sample(2))
                let hsv = HueShift.hsv(v.x, v.y, v.z)
                let (nodes, weights) = HueShift.corners(hue: hsv.x, saturation: hsv.y)
                var u = 0.0
                for k in 0..<4 { u += grid[nodes[k]] * weights[k] }
                let out3 = v + u * (v - SIMD3(repeating: (v * luma).sum()))
                for k in 0..<3 { out[3 * p + k] = Float(out3[k]) }
            }
        }
    }
}

extension ChromaGain: DeltaComponent {
    /// The gain minus one per hue and saturation node; all zero unless the colour step chose it.
    package static let layout = [(name: "color.chroma", shape: HueShift.shape)]
    package static let revision = 1
    package init(values: [[Float]]) { self.init(grid: values[0]) }
    package var values: [[Float]] { [grid] }
}
