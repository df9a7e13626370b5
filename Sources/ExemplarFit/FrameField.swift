import NodeKit
import TensorCore

/// An edit that varies across the frame — a vignette, a graduated filter, a spotlight — as a
/// smooth field over the frame: a gain of the fitted value (one for the three channels) and an
/// offset per channel, each on a bilinear grid of ``knots``² nodes over normalised position. The
/// fit's colour step and the learned operator see every pixel alike or through noisy features,
/// and the operator's correction fades on colours the exemplar lacked; a field depends on
/// position alone, so it carries to any photo at any size (Docs/exemplar-fit.md, "Frame field").
package struct FrameField: Equatable, Sendable {
    /// `[gain grid, red offset grid, green offset grid, blue offset grid]`, each `knots × knots`
    /// by rows from the top left.
    package var weights: [Float]

    static let knots = 9
    static let grids = 4
    static let weightCount = grids * knots * knots
    /// The smoothness penalty's weight (second differences of each grid along both axes),
    /// relative to the mean energy of one node: a node under few held-out pixels follows its
    /// neighbours instead of the few pixels it has.
    static let smoothness = 0.1
    /// Kept only where it leaves under a fifth of the fit's held-out error: a change of the frame
    /// is nearly all a smooth function of position, while a change that follows content filling
    /// part of the frame passes a looser test and does not carry (Docs/exemplar-fit.md, "Frame field").
    static let keepRatio = 0.2

    /// A field with no colour step beneath it is chosen unless a fit with one predicts held-out
    /// parts of the pair this much better: on one exemplar, position and colour are confounded
    /// (its corners have their own colours), and only the field carries to other photos' colours.
    static let simplerMargin = 1.5
    /// Added to the offsets' relative ridge. Where the exemplar shows one colour under the change,
    /// a darkening and a tint explain it alike and a plain ridge splits them; the split decides
    /// what other colours get. Leaning to the gain — what vignettes, graduated ND filters and
    /// spotlights are — carries them (Docs/exemplar-fit.md, "Frame field").
    static let offsetRidge = 0.1

    package static let none = FrameField(weights: [Float](repeating: 0, count: weightCount))

    package init(weights: [Float]) { self.weights = weights }

    package var isNone: Bool { weights.allSatisfy { $0 == 0 } }

    /// The knot below normalised position `x` in −1…1 along one axis, and how far past it.
    @inline(__always)
    static func axis(_ x: Float) -> (Int, Float) {
        let s = (min(1, max(-1, x)) + 1) * (Float(knots - 1) / 2)
        let k = min(Int(s), knots - 2)
        return (k, s - Float(k))
    }

    /// The four nodes around a position, given by its ``axis(_:)`` along u and t, and their
    /// bilinear weights.
    @inline(__always)
    static func taps(u: (Int, Float), t: (Int, Float)) -> (nodes: SIMD4<Int32>, weights: SIMD4<Float>) {
        let ((ku, fu), (kt, ft)) = (u, t)
        let base = Int32(kt * knots + ku)
        let n = Int32(knots)
        return (
            SIMD4(base, base + 1, base + n, base + n + 1),
            SIMD4((1 - fu) * (1 - ft), fu * (1 - ft), (1 - fu) * ft, fu * ft)
        )
    }

    /// The gain and the offsets at a position (its ``axis(_:)`` along u and t), from weights `g`.
    @inline(__always)
    static func change(_ g: UnsafeBufferPointer<Float>, u: (Int, Float), t: (Int, Float)) -> (
        gain: Float, offset: SIMD3<Float>
    ) {
        let plane = knots * knots
        let (nodes, hat) = taps(u: u, t: t)
        var gain: Float = 0
        var offset = SIMD3<Float>.zero
        for i in 0..<4 {
            let node = Int(nodes[i])
            gain += hat[i] * g[node]
            offset += hat[i] * SIMD3(g[plane + node], g[2 * plane + node], g[3 * plane + node])
        }
        return (gain, offset)
    }

    /// Each of `w` columns' ``axis(_:)``.
    static func columns(_ w: Int) -> [(Int, Float)] { (0..<w).map { axis(position($0, of: w)) } }

    /// Normalised position of pixel column `x` of `w` (the operator's convention).
    @inline(__always)
    static func position(_ x: Int, of w: Int) -> Float { Float(2 * x + 1) / Float(w) - 1 }
}

extension FrameField {
    /// `rows` of a fitted image (interleaved RGB, `width` wide, `height` tall in all) with the
    /// field applied, within 0…1.
    package func apply(to fitted: [Float], width w: Int, rows: Range<Int>, of h: Int) -> [Float] {
        guard !isNone else { return fitted }
        var out = fitted
        // Each column's place on the grid worked out once, not once per pixel: the field runs on
        // every pixel of a 12-MP photo, in adapter_edit and again in predict_mask.
        let columns = Self.columns(w)
        weights.withUnsafeBufferPointer { g in
            out.withUnsafeMutableBufferPointer { out in
                for (r, y) in rows.enumerated() {
                    let t = Self.axis(Self.position(y, of: h))
                    for (x, u) in columns.enumerated() {
                        let (gain, offset) = Self.change(g, u: u, t: t)
                        let p = 3 * (r * w + x)
                        for k in 0..<3 { out[p + k] = min(1, max(0, out[p + k] * (1 + gain) + offset[k])) }
                    }
                }
            }
        }
        return out
    }

    /// What the colour step should map to if the field is to give `after` (interleaved RGB,
    /// `width × height`): the field undone, where its gain leaves anything to undo.
    package func removed(from after: [Float], width w: Int, height h: Int) -> [Float] {
        var out = after
        let columns = Self.columns(w)
        weights.withUnsafeBufferPointer { g in
            for y in 0..<h {
                let t = Self.axis(Self.position(y, of: h))
                for (x, u) in columns.enumerated() {
                    let (gain, offset) = Self.change(g, u: u, t: t)
                    let p = 3 * (y * w + x)
                    for k in 0..<3 { out[p + k] = min(1, max(0, (after[p + k] - offset[k]) / max(0.05, 1 + gain))) }
                }
            }
        }
        return out
    }

    /// Fitted on pairs at the operator's working size (`fit`: the colour step's output there):
    /// the least-squares field, smoothed and ridged. Held out pair by pair where there are
    /// several (a frame edit is where every shot puts it); on one pair, by place and by colour as
    /// the operator is (``LearnedOperator/heldOutGroup(pixel:_:)``), so that it is judged on
    /// content it did not see. ``none`` unless it leaves a fifth of the fit's held-out error
    /// (``keepRatio``) and that error is visible.
    package static func fit(_ examples: [LearnedOperator.Example], _ c: Compute) -> FrameField {
        fitted(examples, c).field
    }

    /// ``fit(_:_:)``'s field; the held-out squared error of the fit with it (without it, where it
    /// is not kept) and without it, by which two fits of one pair compare; and whether the fit
    /// alone leaves a visible error there.
    static func fitted(_ examples: [LearnedOperator.Example], _ c: Compute) -> Fitted {
        let examples = examples.filter { min($0.width, $0.height) >= 16 }
        guard !examples.isEmpty else { return Fitted(field: .none, error: 0, without: 0, visible: false) }
        // One pair: groups 0 and 1 predict each other, 2 (mixed) only trains.
        let held = examples.count == 1 ? 2 : examples.count
        var sums = [LearnedOperator.Sums](repeating: .zero(weightCount), count: held + 1)
        var samples = [Int](repeating: 0, count: held + 1)
        let plane = knots * knots
        var index = [Int](repeating: 0, count: 8)
        var value = [Double](repeating: 0, count: 8)
        for (e, example) in examples.enumerated() {
            let (w, h) = (example.width, example.height)
            let groups = examples.count == 1 ? Self.groups(example, c) : [Int](repeating: e, count: w * h)
            let columns = Self.columns(w)
            for y in 0..<h {
                let t = axis(position(y, of: h))
                for (x, u) in columns.enumerated() {
                    let group = groups[y * w + x]
                    let (nodes, hat) = taps(u: u, t: t)
                    for k in 0..<3 {
                        let p = 3 * (y * w + x) + k
                        let f = Double(example.fit[p])
                        let target = Double(example.after[p]) - f
                        // Eight features: the gain's four hats (times the value), the channel's
                        // offset's four.
                        for i in 0..<4 {
                            (index[i], value[i]) = (Int(nodes[i]), Double(hat[i]) * f)
                            (index[4 + i], value[4 + i]) = ((1 + k) * plane + Int(nodes[i]), Double(hat[i]))
                        }
                        sums[group].add(index, value, target)
                    }
                    samples[group] += 3
                }
            }
        }
        let all = sums.reduce(.zero(weightCount), +)
        let meanEnergy = (0..<weightCount).reduce(0) { $0 + all.gram[$1 * weightCount + $1] } / Double(weightCount)
        let penalty = smoothingPenalty.map { $0 * smoothness * meanEnergy }
        let total = Double(samples.reduce(0, +))
        let ridges = LearnedOperator.ridges
        var errors = [Double](repeating: 0, count: ridges.count)
        for test in 0..<held {
            let train = sums.indices.filter { $0 != test }.map { sums[$0] }.reduce(.zero(weightCount), +)
            let share = (total - Double(samples[test])) / total
            for (r, ridge) in ridges.enumerated() {
                errors[r] += sums[test].error(solve(train, penalty, share: share, ridge: ridge))
            }
        }
        let best = errors.indices.min { errors[$0] < errors[$1] }!
        let baseline = sums[..<held].reduce(0) { $0 + $1.energy }
        let heldOut = Double(samples[..<held].reduce(0, +))
        let threshold = LearnedOperator.visibleError
        let visible = baseline > threshold * threshold * heldOut
        guard errors[best] < keepRatio * baseline, visible else {
            return Fitted(field: .none, error: baseline, without: baseline, visible: visible)
        }
        return Fitted(
            field: FrameField(weights: solve(all, penalty, share: 1, ridge: ridges[best]).map { Float($0) }),
            error: errors[best], without: baseline, visible: true)
    }

    struct Fitted {
        let field: FrameField
        let error: Double, without: Double
        let visible: Bool
    }

    /// One pair's held-out group per pixel: ``HeldOut/placeAndColour(x:y:width:height:colour:)``
    /// of its colour blurred by σ 4 px, as the operator's; by place alone where colour leaves one
    /// group under a quarter of the other (an exemplar of few colours), which would judge the
    /// field on a handful of pixels.
    static func groups(_ example: LearnedOperator.Example, _ c: Compute) -> [Int] {
        let (w, h) = (example.width, example.height)
        let blurred = SpatialFilter.gaussian(example.before, width: w, height: h, sigma: 4, c)
        var place = [Int](repeating: 0, count: w * h)
        var both = [Int](repeating: 2, count: w * h)
        var counts = [0, 0, 0]
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                place[p] = HeldOut.place(x: x, y: y, width: w, height: h)
                both[p] = HeldOut.placeAndColour(
                    x: x, y: y, width: w, height: h,
                    colour: SIMD3(blurred[3 * p], blurred[3 * p + 1], blurred[3 * p + 2]))
                counts[both[p]] += 1
            }
        }
        return 4 * min(counts[0], counts[1]) < max(counts[0], counts[1]) ? place : both
    }

    /// (G + share · S + ridge · diag(G + share · S) + 1e-8 I) β = b, S the smoothing penalty (in
    /// proportion to the samples trained on, as on all of them), the offsets' ridge raised by
    /// ``offsetRidge``.
    static func solve(_ sums: LearnedOperator.Sums, _ penalty: [Double], share: Double, ridge: Double) -> [Double] {
        let m = weightCount
        var a = zip(sums.gram, penalty).map { $0 + share * $1 }
        for i in 0..<m { a[i * m + i] += (i < knots * knots ? ridge : ridge + offsetRidge) * a[i * m + i] + 1e-8 }
        return Cholesky.solve(a, sums.moment, size: m)
    }

    /// DᵀD for D the second differences of every grid along each axis (`weightCount`², row-major).
    static let smoothingPenalty: [Double] = {
        let (m, n, plane) = (weightCount, knots, knots * knots)
        var p = [Double](repeating: 0, count: m * m)
        for grid in 0..<grids {
            for t in 0..<n {
                for u in 0..<n {
                    let node = grid * plane + t * n + u
                    var rows: [[Int]] = []
                    if u > 0 && u < n - 1 { rows.append([node - 1, node, node + 1]) }
                    if t > 0 && t < n - 1 { rows.append([node - n, node, node + n]) }
                    for row in rows {
                        let coefficients: [Double] = [1, -2, 1]
                        for (a, ca) in zip(row, coefficients) {
                            for (b, cb) in zip(row, coefficients) { p[a * m + b] += ca * cb }
                        }
                    }
                }
            }
        }
        return p
    }()
}

extension FrameField: DeltaComponent {
    package static let layout = [(name: "field.weights", shape: [grids, knots, knots])]
    package static let revision = 1
    package init(values: [[Float]]) { self.init(weights: values[0]) }
    package var values: [[Float]] { [weights] }
}
