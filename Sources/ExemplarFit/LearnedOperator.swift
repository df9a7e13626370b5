import Foundation
import ImageCodecs
import NodeKit
import TensorCore

/// What the fit cannot express, learned from the exemplar pair itself (METHOD.md §10): a
/// regression on random ReLU features of each pixel's neighbourhood at five scales, its position
/// and the fit's output, solved in closed form at encode time: on two cores a ridge solve beats
/// gradient training on held-out error per second (Docs/exemplar-fit.md).
///
/// One sample per pixel and channel, the channel's own neighbourhood as input and one weight set
/// for all three, so a per-channel edit (a posterisation, a median) is learned from three times
/// the data and generalises across colours. It predicts the after minus the fit, so with nothing
/// left to learn it learns nothing, and it is kept only where held-out parts of the exemplar — by
/// place and by colour — say it beats the fit alone. A photo's inputs are clamped to the range
/// the exemplar showed, and the correction fades where they left it: an operator never extrapolates.
package struct LearnedOperator: Equatable, Sendable {
    /// The readout: one weight per random feature, per input (the linear part), a constant, and
    /// per knot of the tone curves.
    package var readout: [Float]
    /// Each input's range on the exemplar (0.1 % and 99.9 % quantiles).
    package var low: [Float], high: [Float]

    static let inputCount = 57
    static let featureCount = 256
    /// Knots of each tone curve: of the channel's value (shared by the channels) and of the luma
    /// (one per channel). Hats draw a posterisation's steps or a solarisation's fold, which the
    /// random features draw only coarsely (measured in Docs/exemplar-fit.md, "Tone curves").
    static let curveKnots = 64
    static let denseCount = featureCount + inputCount + 1
    static let weightCount = denseCount + 4 * curveKnots
    /// The operator runs at this longest side (the exemplar's and every photo's copy), so its
    /// reach means the same share of the frame at 512 px and at 12 MP; larger photos get its
    /// output carried to full size by ``LocalAffine``.
    package static let workingSide = 512
    /// (pixel, channel) samples it is fitted on.
    static let sampleCount = 90_000
    /// Ridge weights tried, relative to each feature's own energy; the held-out test picks one.
    static let ridges: [Double] = [1e-3, 1e-2, 1e-1, 1, 10]
    /// It is kept only if it cuts the fit's held-out error by 20 % — one that cuts less gains a
    /// photo little where it carries and can cost one far more where it does not — and only
    /// where that error is over two levels of 8 bits (RMS): resampling to the working size alone
    /// leaves an exact fit about that far off, and no photo would show less (Docs/exemplar-fit.md).
    static let keepMargin = 0.8
    static let visibleError = 2.0 / 255
    /// Summed distance outside the exemplar's input ranges at which the correction is gone.
    static let fade: Float = 0.5
    /// Neighbourhood differences are scaled up to the unit range the features expect.
    static let differenceScale: Float = 4
    static let levels = 5

    package static let none = LearnedOperator(
        readout: [Float](repeating: 0, count: weightCount), low: [Float](repeating: 0, count: inputCount),
        high: [Float](repeating: 0, count: inputCount))

    package init(readout: [Float], low: [Float], high: [Float]) {
        (self.readout, self.low, self.high) = (readout, low, high)
    }

    package var isNone: Bool { readout.allSatisfy { $0 == 0 } }

    /// The random projection (`inputCount × featureCount`, row-major) and its biases: drawn once
    /// from a fixed seed, the same for every delta, so readouts add up as their corrections do.
    static let projection: (weights: [Float], biases: [Float]) = {
        var random = SeededRandom(seed: 0x6f70_6572_6174_6f72)
        let scale = Float(3.0 / Double(inputCount)).squareRoot()
        let weights = (0..<(inputCount * featureCount)).map { _ in (2 * random.nextUnit() - 1) * scale }
        let biases = (0..<featureCount).map { _ in 2 * random.nextUnit() - 1 }
        return (weights, biases)
    }()
}

extension LearnedOperator {
    /// A photo's inputs: per channel, its value and blurred copies at σ 1, 2, 4 and 8 px (planar),
    /// with the photo's luma and the fit.
    struct Inputs {
        let width: Int, height: Int
        let rgb: [Float], fit: [Float]
        /// `levels[k][channel * w * h + p]`; level 0 is the photo itself.
        let levels: [[Float]]
        let luma: [Float]

        init(rgb: [Float], fit: [Float], width w: Int, height h: Int, _ c: Compute) {
            (width, height, self.rgb, self.fit) = (w, h, rgb, fit)
            var levels: [[Float]] = []
            for k in 0..<LearnedOperator.levels {
                let blurred =
                    k == 0 ? rgb : SpatialFilter.gaussian(rgb, width: w, height: h, sigma: 0.5 * Double(1 << k), c)
                levels.append(Self.planar(blurred, count: w * h))
            }
            self.levels = levels
            let (wr, wg, wb) = lumaWeights
            luma = (0..<(w * h)).map { p in wr * rgb[3 * p] + wg * rgb[3 * p + 1] + wb * rgb[3 * p + 2] }
        }

        static func planar(_ rgb: [Float], count: Int) -> [Float] {
            var out = [Float](repeating: 0, count: 3 * count)
            for p in 0..<count { for k in 0..<3 { out[k * count + p] = rgb[3 * p + k] } }
            return out
        }

        /// The inputs of `channel` at pixel `p` into `x` (``inputCount`` values), in the order
        /// Training/operator_fit.py lists them.
        func write(pixel p: Int, channel k: Int, into x: UnsafeMutablePointer<Float>) {
            let (w, h) = (width, height)
            let (px, py) = (p % w, p / w)
            let v = rgb[3 * p + k]
            let y = luma[p]
            let scale = LearnedOperator.differenceScale
            x[0] = 2 * v - 1
            x[1] = 2 * y - 1
            for j in 0..<3 { x[2 + j] = scale * (rgb[3 * p + j] - y) }
            var i = 5
            let plane = k * w * h
            for level in 0..<LearnedOperator.levels {
                let s = 1 << level
                let values = levels[level]
                for dy in stride(from: -s, through: s, by: s) {
                    let row = min(h - 1, max(0, py + dy)) * w
                    for dx in stride(from: -s, through: s, by: s) where level > 0 || dy != 0 || dx != 0 {
                        x[i] = scale * (values[plane + row + min(w - 1, max(0, px + dx))] - v)
                        i += 1
                    }
                }
            }
            let (u, t) = (Float(2 * px + 1) / Float(w) - 1, Float(2 * py + 1) / Float(h) - 1)
            x[i] = u
            x[i + 1] = t
            x[i + 2] = ((u * u + t * t) / 2).squareRoot()
            let f = fit[3 * p + k]
            x[i + 3] = 2 * f - 1
            x[i + 4] = scale * (f - v)
            for j in 0..<3 { x[i + 5 + j] = j == k ? 1 : 0 }
        }
    }

    /// Rows `[n × denseCount]` of the dense features for inputs `x` `[n × inputCount]`: ReLU of
    /// the projection, the inputs themselves, and a constant. The tone curves' hats follow them in
    /// the readout (``curveTaps(_:_:)``); kept sparse, they cost a few adds per sample rather than
    /// widening every GEMM to ``weightCount``.
    static func features(_ x: UnsafePointer<Float>, count n: Int, into phi: UnsafeMutablePointer<Float>) {
        let (f, d, stride) = (inputCount, featureCount, denseCount)
        projection.weights.withUnsafeBufferPointer { w in
            BLAS.gemm(
                m: n, n: d, k: f, x, lda: f, w.baseAddress!, ldb: d, into: phi, ldc: stride)
        }
        let biases = projection.biases
        for r in 0..<n {
            let row = phi + r * stride
            for j in 0..<d { row[j] = max(0, row[j] + biases[j]) }
            for j in 0..<f { row[d + j] = x[r * f + j] }
            row[d + f] = 1
        }
    }

    /// The non-zero hats of one input row `x`, as (index past ``denseCount``, value): two of the
    /// value's curve, and two of the luma's curve of the row's channel (its one-hot closes the inputs).
    static func curveTaps(_ x: UnsafePointer<Float>, _ body: (Int, Float) -> Void) {
        func hats(_ u: Float, weight: Float, curve: Int) {
            let t = (min(1, max(-1, u)) + 1) * (Float(curveKnots - 1) / 2)
            let knot = min(Int(t), curveKnots - 2)
            let frac = t - Float(knot)
            body(curve * curveKnots + knot, (1 - frac) * weight)
            body(curve * curveKnots + knot + 1, frac * weight)
        }
        hats(x[0], weight: 1, curve: 0)
        for k in 0..<3 where x[inputCount - 3 + k] != 0 {
            hats(x[1], weight: x[inputCount - 3 + k], curve: 1 + k)
        }
    }
}

extension LearnedOperator {
    /// Rows processed together when applying: a block of features stays in cache.
    static let block = 1024

    /// The correction (after minus fit, interleaved RGB) at each pixel of a photo at the working
    /// size, `rgb` the photo and `fit` the fit's output there.
    package func correction(photo rgb: [Float], fit: [Float], width w: Int, height h: Int, _ c: Compute) -> [Float] {
        let inputs = Inputs(rgb: rgb, fit: fit, width: w, height: h, c)
        let n = w * h
        let (f, stride) = (Self.inputCount, Self.denseCount)
        let denseReadout = Array(readout[0..<stride])
        // Only samples whose correction has not faded out go through the features.
        return c.array(3 * n, runs: n, of: Self.block) { pixels, out in
            var x = [Float](repeating: 0, count: 3 * pixels.count * f)
            var open: [(sample: Int, gate: Float)] = []
            x.withUnsafeMutableBufferPointer { x in
                for (r, p) in pixels.enumerated() {
                    for k in 0..<3 {
                        let row = x.baseAddress! + open.count * f
                        inputs.write(pixel: p, channel: k, into: row)
                        var outside: Float = 0
                        for j in 0..<f {
                            let clamped = min(high[j], max(low[j], row[j]))
                            outside += abs(row[j] - clamped)
                            row[j] = clamped
                        }
                        out[3 * pixels.lowerBound + 3 * r + k] = 0
                        if outside < Self.fade { open.append((3 * r + k, 1 - outside / Self.fade)) }
                    }
                }
            }
            guard !open.isEmpty else { return }
            var phi = [Float](repeating: 0, count: open.count * stride)
            x.withUnsafeBufferPointer { x in
                phi.withUnsafeMutableBufferPointer { phi in
                    Self.features(x.baseAddress!, count: open.count, into: phi.baseAddress!)
                }
            }
            let sums = BLAS.gemm(m: open.count, n: 1, k: stride, phi, denseReadout)
            x.withUnsafeBufferPointer { x in
                for (i, o) in open.enumerated() {
                    var sum = sums[i]
                    Self.curveTaps(x.baseAddress! + i * f) { sum += $1 * readout[stride + $0] }
                    out[3 * pixels.lowerBound + o.sample] = o.gate * sum
                }
            }
        }
    }

    /// `fit` plus the correction, within 0…1: the edit of a photo at the working size.
    package func edited(photo rgb: [Float], fit: [Float], width w: Int, height h: Int, _ c: Compute) -> [Float] {
        let residual = correction(photo: rgb, fit: fit, width: w, height: h, c)
        return zip(fit, residual).map { min(1, max(0, $0 + $1)) }
    }
}

extension LearnedOperator {
    /// Samples per chunk of the normal equations: a fixed size, so the sums (and the operator)
    /// do not depend on the thread count.
    static let chunk = 4096

    /// Fitted on an exemplar at the working size: `before`, the fit's output `fit` and `after`
    /// (interleaved RGB, `width × height`). ``none`` when it does not beat the fit on held-out
    /// parts of the pair.
    package static func fit(
        before: [Float], fit: [Float], after: [Float], width w: Int, height h: Int, _ c: Compute
    ) -> LearnedOperator {
        self.fit([Example(before: before, fit: fit, after: after, width: w, height: h)], c)
    }

    /// One pair of an exemplar at the working size, as ``fit(before:fit:after:width:height:_:)``
    /// takes it.
    package struct Example {
        package let before: [Float], fit: [Float], after: [Float]
        package let width: Int, height: Int

        package init(before: [Float], fit: [Float], after: [Float], width: Int, height: Int) {
            (self.before, self.fit, self.after, self.width, self.height) = (before, fit, after, width, height)
        }
    }

    /// Fitted on several pairs of one edit: the samples shared evenly between them, and held out
    /// pair by pair (each predicted from the others) — new content and new colours, as other
    /// photos will bring. One pair is held out by place and colour (``heldOutGroup(pixel:_:)``).
    package static func fit(_ examples: [Example], _ c: Compute) -> LearnedOperator {
        let examples = examples.filter { min($0.width, $0.height) >= 16 }
        guard !examples.isEmpty else { return .none }
        let f = inputCount
        var x: [Float] = []
        var targets: [Float] = []
        var groups: [Int] = []
        for (t, example) in examples.enumerated() {
            let (w, h) = (example.width, example.height)
            let inputs = Inputs(rgb: example.before, fit: example.fit, width: w, height: h, c)
            let n = min(sampleCount / examples.count, 3 * w * h)
            var random = SeededRandom(seed: 0x7361_6d70_6c65 &+ UInt64(t))
            let samples = (0..<n).map { _ in Int(random.next() % UInt64(3 * w * h)) }
            let start = x.count
            x.append(contentsOf: repeatElement(0, count: n * f))
            x.withUnsafeMutableBufferPointer { x in
                for (i, s) in samples.enumerated() {
                    inputs.write(pixel: s / 3, channel: s % 3, into: x.baseAddress! + start + i * f)
                }
            }
            let (after, fit) = (example.after, example.fit)
            targets += samples.map { s in after[3 * (s / 3) + s % 3] - fit[3 * (s / 3) + s % 3] }
            groups += samples.map { s in examples.count == 1 ? heldOutGroup(pixel: s / 3, inputs) : t }
        }
        // One pair: two held-out groups and the mixed samples (2), which train neither. Several:
        // one group per pair, each predicted from all the others.
        return fit(samples: x, targets: targets, groups: groups, held: examples.count == 1 ? 2 : examples.count, c)
    }

    /// The operator on samples `x` (rows of ``inputCount``) with their targets (after minus fit):
    /// groups `0..<held` each predicted from the others choose the ridge and decide whether it is
    /// kept; groups from `held` on only train. Training/operator_fit.py's `fit_samples`.
    package static func fit(samples x: [Float], targets: [Float], groups: [Int], held: Int, _ c: Compute)
        -> LearnedOperator
    {
        var x = x
        let (n, f) = (targets.count, inputCount)
        var (low, high) = ([Float](repeating: 0, count: f), [Float](repeating: 0, count: f))
        for j in 0..<f {
            let column = (0..<n).map { x[$0 * f + j] }.sorted()
            (low[j], high[j]) = (column[Int(0.001 * Double(n - 1))], column[Int(0.999 * Double(n - 1))])
        }
        for i in 0..<n { for j in 0..<f { x[i * f + j] = min(high[j], max(low[j], x[i * f + j])) } }
        let sums = (0...groups.max()!).map { group in
            let members = targets.indices.filter { groups[$0] == group }
            return Sums(members.flatMap { x[($0 * f)..<(($0 + 1) * f)] }, members.map { targets[$0] }, c)
        }
        var errors = [Double](repeating: 0, count: ridges.count)
        for test in 0..<held {
            let train = (0..<held).filter { $0 != test }.map { sums[$0] }.reduce(.zero, +)
            for (r, ridge) in ridges.enumerated() {
                errors[r] += sums[test].error(solve(train.gram, train.moment, ridge: ridge))
            }
        }
        let baseline = sums[..<held].reduce(0) { $0 + $1.energy }
        let best = errors.indices.min { errors[$0] < errors[$1] }!
        let heldOut = Double(groups.filter { $0 < held }.count)
        guard errors[best] < keepMargin * baseline, baseline > visibleError * visibleError * heldOut else {
            return .none
        }
        let all = sums.reduce(.zero, +)
        let beta = solve(all.gram, all.moment, ridge: ridges[best])
        return LearnedOperator(readout: beta.map { Float($0) }, low: low, high: high)
    }

    /// ``HeldOut/placeAndColour(x:y:width:height:colour:)`` of pixel `p`, its colour blurred by σ 4.
    static func heldOutGroup(pixel p: Int, _ inputs: Inputs) -> Int {
        let (w, plane) = (inputs.width, inputs.width * inputs.height)
        let blurred = inputs.levels[3]
        return HeldOut.placeAndColour(
            x: p % w, y: p / w, width: w, height: inputs.height,
            colour: SIMD3(blurred[p], blurred[plane + p], blurred[2 * plane + p]))
    }

    /// Σ φφᵀ, Σ φ·y and Σ y² over one group's samples, in Double.
    struct Sums {
        var gram: [Double], moment: [Double], energy: Double

        static var zero: Sums { zero(weightCount) }

        static func zero(_ m: Int) -> Sums {
            Sums(gram: [Double](repeating: 0, count: m * m), moment: [Double](repeating: 0, count: m), energy: 0)
        }

        /// One sample whose features are `values` at `indices` (zero elsewhere), with target `y`.
        mutating func add(_ indices: [Int], _ values: [Double], _ y: Double) {
            let m = moment.count
            for (a, va) in zip(indices, values) {
                for (b, vb) in zip(indices, values) { gram[a * m + b] += va * vb }
                moment[a] += va * y
            }
            energy += y * y
        }

        static func + (a: Sums, b: Sums) -> Sums {
            Sums(
                gram: zip(a.gram, b.gram).map { $0 + $1 }, moment: zip(a.moment, b.moment).map { $0 + $1 },
                energy: a.energy + b.energy)
        }

        /// Σ (φ·β − y)² over the group.
        func error(_ beta: [Double]) -> Double {
            let m = moment.count
            var quadratic = 0.0
            for i in 0..<m {
                var row = 0.0
                for j in 0..<m { row += gram[i * m + j] * beta[j] }
                quadratic += beta[i] * row
            }
            var linear = 0.0
            for i in 0..<m { linear += beta[i] * moment[i] }
            return quadratic - 2 * linear + energy
        }
    }

}

extension LearnedOperator.Sums {
    /// The sums over samples `x` (rows of ``inputCount``) with targets `y`, chunk by chunk in
    /// parallel, added in chunk order.
    init(_ x: [Float], _ y: [Float], _ c: Compute) {
        let (n, f, m) = (y.count, LearnedOperator.inputCount, LearnedOperator.weightCount)
        let (d, chunk) = (LearnedOperator.denseCount, LearnedOperator.chunk)
        var partial = [Self](repeating: .zero, count: (n + chunk - 1) / chunk)
        let lock = NSLock()
        c.parallel(partial.count) { piece, _ in
            let range = (piece * chunk)..<min(n, (piece + 1) * chunk)
            var phi = [Float](repeating: 0, count: range.count * d)
            x.withUnsafeBufferPointer { x in
                phi.withUnsafeMutableBufferPointer { phi in
                    LearnedOperator.features(
                        x.baseAddress! + range.lowerBound * f, count: range.count, into: phi.baseAddress!)
                }
            }
            let targets = Array(y[range])
            let dense = BLAS.gemm(m: d, n: d, k: range.count, phi, transposeA: true, phi)
            let denseMoment = BLAS.gemm(m: d, n: 1, k: range.count, phi, transposeA: true, targets)
            // The hats' rows and columns of the gram, sample by sample: four taps each.
            let curves = m - d
            var cross = [Float](repeating: 0, count: curves * d)
            var square = [Float](repeating: 0, count: curves * curves)
            var curveMoment = [Float](repeating: 0, count: curves)
            var taps: [(Int, Float)] = []
            x.withUnsafeBufferPointer { x in
                for (i, sample) in range.enumerated() {
                    taps.removeAll(keepingCapacity: true)
                    LearnedOperator.curveTaps(x.baseAddress! + sample * f) { taps.append(($0, $1)) }
                    for (a, va) in taps where va != 0 {
                        for j in 0..<d { cross[a * d + j] += va * phi[i * d + j] }
                        for (b, vb) in taps { square[a * curves + b] += va * vb }
                        curveMoment[a] += va * targets[i]
                    }
                }
            }
            var sums = Self.zero
            for i in 0..<d {
                for j in 0..<d { sums.gram[i * m + j] = Double(dense[i * d + j]) }
                sums.moment[i] = Double(denseMoment[i])
            }
            for a in 0..<curves {
                for j in 0..<d {
                    sums.gram[(d + a) * m + j] = Double(cross[a * d + j])
                    sums.gram[j * m + d + a] = Double(cross[a * d + j])
                }
                for b in 0..<curves { sums.gram[(d + a) * m + d + b] = Double(square[a * curves + b]) }
                sums.moment[d + a] = Double(curveMoment[a])
            }
            sums.energy = targets.reduce(0) { $0 + Double($1) * Double($1) }
            lock.withLock { partial[piece] = sums }
        }
        self = partial.reduce(.zero, +)
    }
}

extension LearnedOperator {
    /// (G + ridge · diag G + 1e-8 I) β = b.
    static func solve(_ gram: [Double], _ moment: [Double], ridge: Double) -> [Double] {
        let m = weightCount
        var a = gram
        for i in 0..<m { a[i * m + i] += ridge * gram[i * m + i] + 1e-8 }
        return Cholesky.solve(a, moment, size: m)
    }
}

extension LearnedOperator: DeltaComponent {
    package static let layout = [
        (name: "operator.readout", shape: [weightCount]), (name: "operator.low", shape: [inputCount]),
        (name: "operator.high", shape: [inputCount]),
    ]
    package static let revision = 2
    package init(values: [[Float]]) { self.init(readout: values[0], low: values[1], high: values[2]) }
    package var values: [[Float]] { [readout, low, high] }

    /// The readouts' weighted sum — the corrections' weighted sum, the projection being shared —
    /// within the union of the operators' input ranges.
    package static func combination(_ terms: [(part: LearnedOperator, weight: Double)]) -> LearnedOperator {
        let kept = terms.filter { !$0.part.isNone && $0.weight != 0 }
        guard let first = kept.first else { return .none }
        var combined = first.part
        combined.readout = Delta.weightedSum(kept.map { ($0.part.readout, $0.weight) })
        for term in kept.dropFirst() {
            for j in 0..<inputCount {
                combined.low[j] = min(combined.low[j], term.part.low[j])
                combined.high[j] = max(combined.high[j], term.part.high[j])
            }
        }
        return combined
    }
}
