import ImageCodecs
import TensorCore

/// A shift of hue per hue and saturation fitted on an exemplar pair: the selective-colour part of
/// an edit (one hue band recoloured). The 17³ ``ColorLUT`` is too coarse for it — its cells mix the
/// band with its neighbours, so it recolours what the edit left alone. Same as `fit_hue` and
/// `apply_hue` in Training/edit_data.py.
package struct HueShift: Equatable, Sendable {
    /// Hue nodes (every 5°, circular) and saturation nodes of the grid; bilinear between them.
    static let hues = 72
    static let saturations: [Double] = [0, 0.0625, 0.125, 0.1875, 0.25, 0.375, 0.5, 1]
    /// Pixels' worth of weight pulling each node's shift toward none.
    static let ridge = 1.0
    /// Pixels' worth of weight tying each node's shift to its neighbours' (along hue and
    /// saturation) where the exemplar reads as one turn of every hue; a hair of ridge then only
    /// fixes the level. Hues the exemplar lacks take their neighbours' shift instead of none.
    static let smoothness = 1000.0
    static let smoothRidge = 1e-3
    /// Runs of pixels (in the order given), alternately held out, that decide between the two
    /// readings; the local one must predict them this much better.
    static let run = 64
    static let localMargin = 0.5

    static var shape: [Int] { [hues, saturations.count] }

    /// Shifts in turns, `[hues, saturations]`, hue-major.
    let grid: [Float]

    static let none = HueShift(grid: [Float](repeating: 0, count: hues * saturations.count))
    var isNone: Bool { grid.allSatisfy { $0 == 0 } }

    /// sRGB (0…1) → hue (turns, 0..<1), saturation, value; as `edits.rgb_to_hsv`, ties to red, then green.
    static func hsv(_ r: Double, _ g: Double, _ b: Double) -> SIMD3<Double> {
        let mx = max(r, g, b)
        let d = mx - min(r, g, b)
        guard d > 0 else { return SIMD3(0, 0, mx) }
        var h = mx == r ? (g - b) / d : mx == g ? (b - r) / d + 2 : (r - g) / d + 4
        h -= 6 * (h / 6).rounded(.down)
        h /= 6
        return SIMD3(h - h.rounded(.down), d / mx, mx)
    }

    /// Hue, saturation, value → sRGB; as `edits.hsv_to_rgb`.
    static func rgb(_ hsv: SIMD3<Double>) -> SIMD3<Double> {
        let h = hsv.x - hsv.x.rounded(.down)
        let (s, v) = (hsv.y, hsv.z)
        func channel(_ n: Double) -> Double {
            var k = n + h * 6
            k -= 6 * (k / 6).rounded(.down)
            return v - v * s * min(1, max(0, min(k, 4 - k)))
        }
        return SIMD3(channel(5), channel(3), channel(1))
    }

    /// A colour's four grid nodes and their bilinear weights.
    static func corners(hue: Double, saturation: Double) -> (nodes: SIMD4<Int>, weights: SIMD4<Double>) {
        let scaled = hue * Double(hues)
        let floor = scaled.rounded(.down)
        let i0 = ((Int(floor) % hues) + hues) % hues
        let i1 = (i0 + 1) % hues
        let fh = scaled - floor
        let s = min(1, max(0, saturation))
        var j1 = 1
        while j1 < saturations.count - 1 && saturations[j1] <= s { j1 += 1 }
        let j0 = j1 - 1
        let fs = min(1, max(0, (saturation - saturations[j0]) / (saturations[j1] - saturations[j0])))
        let m = saturations.count
        return (
            SIMD4(i0 * m + j0, i0 * m + j1, i1 * m + j0, i1 * m + j1),
            SIMD4((1 - fh) * (1 - fs), (1 - fh) * fs, fh * (1 - fs), fh * fs)
        )
    }

    /// The shift from `pixels` of before `x` to after `y` (interleaved RGB), smooth across the hue
    /// circle (a turn of every hue: hues the exemplar lacks turn as its neighbours do) unless the
    /// local reading (one band recoloured, ``ridge`` toward none elsewhere) predicts alternate runs
    /// of ``run`` pixels from the others ``localMargin`` better: an exemplar that shows hues the
    /// edit left alone beside ones it turned is local, one whose hues all turned alike is smooth —
    /// and so is one of a single hue, as the 3D table's affine prior reads it (a hue rotation is
    /// close to a rotation about the grey axis).
    static func fit(_ x: [Float], _ y: [Float], _ pixels: [Int]) -> HueShift {
        let halves = runHalves(pixels)
        // The normal equations add over pixels: each half's are gathered once, the whole's summed.
        let parts = halves.map { normalEquations(x, y, $0) }
        let whole = (a: zip(parts[0].a, parts[1].a).map(+), b: zip(parts[0].b, parts[1].b).map(+))
        func solved(_ equations: (a: [Double], b: [Double]), local: Bool) -> HueShift {
            local
                ? solve(equations, smoothness: 0, ridge: ridge)
                : solve(equations, smoothness: smoothness, ridge: smoothRidge)
        }
        let smooth = smoothHolds(x, y, runs: halves) { trained, local, before in
            solved(parts[trained], local: local).apply(to: before, Compute(threads: 1))
        }
        return solved(whole, local: !smooth)
    }

    /// `pixels` (in the order given) in alternate runs of ``run``: the halves that decide between a
    /// grid's smooth and local readings.
    static func runHalves(_ pixels: [Int]) -> [[Int]] {
        var halves: [[Int]] = [[], []]
        for (i, p) in pixels.enumerated() { halves[i / run % 2].append(p) }
        return halves
    }

    /// Whether a grid's smooth reading holds: unless its local one, `predict(trained, true,
    /// before)`, predicts each run half from the other ``localMargin`` better.
    static func smoothHolds(
        _ x: [Float], _ y: [Float], runs halves: [[Int]],
        _ predict: (_ trained: Int, _ local: Bool, _ before: [Float]) -> [Float]
    ) -> Bool {
        func error(_ local: Bool) -> Double {
            HeldOut.error(x, y, halves: halves, byIndex: { trained, before in predict(trained, local, before) })
        }
        return halves[0].isEmpty || halves[1].isEmpty || localMargin * error(false) <= error(true)
    }

    /// Each node couples only with its 3×3 neighbourhood of nodes (hue circular): the normal
    /// equations are kept as 9 coefficients per node, slot (di + 1)·3 + (dj + 1). A slot past the
    /// saturation range keeps coefficient 0.
    static func normalEquations(_ x: [Float], _ y: [Float], _ pixels: [Int]) -> (a: [Double], b: [Double]) {
        let n = hues * saturations.count
        var a = [Double](repeating: 0, count: n * 9)
        var b = [Double](repeating: 0, count: n)
        for p in pixels {
            let hx = hsv(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]))
            let hy = hsv(Double(y[3 * p]), Double(y[3 * p + 1]), Double(y[3 * p + 2]))
            var r = hy.x - hx.x + 0.5
            r = r - r.rounded(.down) - 0.5
            let chroma = min(hx.y, hy.y) * min(hx.z, hy.z)
            let w = chroma * chroma
            guard w > 0 else { continue }
            accumulate(&a, &b, hue: hx.x, saturation: hx.y, weight: w, weightedTarget: w * r)
        }
        return (a, b)
    }

    /// Adds one pixel at `hue` and `saturation`, its weight `w` and weighted target `wr`, to
    /// normal equations kept as ``normalEquations(_:_:_:)`` keeps them.
    static func accumulate(
        _ a: inout [Double], _ b: inout [Double], hue: Double, saturation: Double, weight w: Double,
        weightedTarget wr: Double
    ) {
        // The four corners' places in the grid relative to the first, as `corners` orders them.
        let offsets = [(0, 0), (0, 1), (1, 0), (1, 1)]
        let (nodes, weights) = corners(hue: hue, saturation: saturation)
        for u in 0..<4 {
            b[nodes[u]] += weights[u] * wr
            for v in 0..<4 {
                let slot = (offsets[v].0 - offsets[u].0 + 1) * 3 + offsets[v].1 - offsets[u].1 + 1
                a[nodes[u] * 9 + slot] += w * weights[u] * weights[v]
            }
        }
    }

    /// The least-squares shift: each pixel's hue difference weighted by the square of its chroma
    /// (s·v: what a hue error costs in RGB), neighbouring nodes tied by `smoothness`, every node
    /// pulled toward none by `ridge`; solved by conjugate gradients.
    static func solve(_ equations: (a: [Double], b: [Double]), smoothness: Double, ridge: Double) -> HueShift {
        HueShift(grid: solveGrid(equations, smoothness: smoothness, ridge: ridge).map(Float.init))
    }

    /// Normal equations on the grid (as ``normalEquations(_:_:_:)`` keeps them) with neighbouring
    /// nodes tied by `smoothness` and every node pulled toward 0 by `ridge`, solved; shared by
    /// ``ChromaGain``.
    static func solveGrid(_ equations: (a: [Double], b: [Double]), smoothness: Double, ridge: Double) -> [Double] {
        let n = hues * saturations.count
        let m = saturations.count
        let neighbour = (0..<(n * 9)).map { index -> Int in
            let (node, di, dj) = (index / 9, index % 9 / 3 - 1, index % 3 - 1)
            let (i, j) = (node / m, node % m)
            return (0..<m).contains(j + dj) ? ((i + di + hues) % hues) * m + j + dj : node
        }
        var a = equations.a
        let b = equations.b
        for node in 0..<n {
            a[node * 9 + 4] += ridge
            // Links to the next hue (circular) and the next saturation, each counted at both ends.
            let (i, j) = (node / m, node % m)
            let next = ((i + 1) % hues) * m + j
            a[node * 9 + 4] += smoothness
            a[next * 9 + 4] += smoothness
            a[node * 9 + 7] -= smoothness  // (di, dj) = (1, 0)
            a[next * 9 + 1] -= smoothness  // (−1, 0)
            if j + 1 < m {
                a[node * 9 + 4] += smoothness
                a[node * 9 + 5] -= smoothness  // (0, 1)
                a[(node + 1) * 9 + 4] += smoothness
                a[(node + 1) * 9 + 3] -= smoothness  // (0, −1)
            }
        }
        func product(_ v: [Double]) -> [Double] {
            (0..<n).map { node -> Double in
                var sum = 0.0
                for slot in (node * 9)..<(node * 9 + 9) { sum += a[slot] * v[neighbour[slot]] }
                return sum
            }
        }
        // Jacobi-preconditioned conjugate gradients, to a residual far below Float's precision.
        let diagonal = (0..<n).map { a[$0 * 9 + 4] }
        var shift = [Double](repeating: 0, count: n)
        var residual = b
        var z = zip(residual, diagonal).map { $0 / $1 }
        var direction = z
        var rz = zip(residual, z).reduce(0) { $0 + $1.0 * $1.1 }
        let target = 1e-24 * max(b.reduce(0) { $0 + $1 * $1 }, 1e-300)
        for _ in 0..<(40 * n) {
            if residual.reduce(0, { $0 + $1 * $1 }) <= target { break }
            let q = product(direction)
            let step = rz / zip(direction, q).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<n {
                shift[i] += step * direction[i]
                residual[i] -= step * q[i]
            }
            z = zip(residual, diagonal).map { $0 / $1 }
            let next = zip(residual, z).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<n { direction[i] = z[i] + next / rz * direction[i] }
            rz = next
        }
        return shift
    }

    /// Interleaved RGB (clamped to 0…1) with each pixel's hue moved by the grid at its hue and saturation.
    func apply(to rgb: [Float], _ c: Compute) -> [Float] {
        let grid = self.grid.map(Double.init)
        return c.array(rgb.count, runs: rgb.count / 3, of: 1 << 14) { range, out in
            for p in range {
                func sample(_ k: Int) -> Double { Double(min(1, max(0, rgb[3 * p + k]))) }
                var colour = Self.hsv(sample(0), sample(1), sample(2))
                let (nodes, weights) = Self.corners(hue: colour.x, saturation: colour.y)
                for u in 0..<4 { colour.x += grid[nodes[u]] * weights[u] }
                let shifted = Self.rgb(colour)
                for k in 0..<3 { out[3 * p + k] = Float(shifted[k]) }
            }
        }
    }
}

extension HueShift: DeltaComponent {
    /// The shift in turns per hue and saturation node; all zero unless the colour step chose it.
    package static let layout = [(name: "color.hue", shape: shape)]
    /// Added, made an alternative to the table rather than a step before it, then smooth across
    /// the hue circle unless the exemplar shows it local.
    package static let revision = 3
    package init(values: [[Float]]) { self.init(grid: values[0]) }
    package var values: [[Float]] { [grid] }
}
