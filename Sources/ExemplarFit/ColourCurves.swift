import ImageCodecs
import TensorCore

/// Tone curves fitted on an exemplar pair at the 8-bit resolution of its values: each channel
/// through a curve of its own value, one for all (posterisation, solarisation, levels, gamma) or
/// one each (a gain per channel), or every channel through a curve of the luma after a pull
/// toward it (a threshold, a duotone, black and white, sepia). A photo covers each channel's or the luma's range far better than
/// the colour cube, and 256 knots keep a step sharp where the 17³ ``ColorLUT`` blurs it over a
/// sixteenth of the range. Same as `fit_curves` and `apply_curves` in Training/edit_data.py.
package struct ColourCurves: Equatable, Sendable {
    /// Knots at 0, 1/255, …, 1: an 8-bit exemplar's values fall on them exactly.
    static let knots = 256

    /// Per output channel, the curve of its own value minus that value, `[3, knots]`.
    package var channel: [Float]
    /// Per output channel, the curve of the luma (added to the pull toward it), `[3, knots]`.
    package var luma: [Float]
    /// How far each channel is pulled toward the luma before the luma's curves: 1 for an edit
    /// whose output depends on the luma alone.
    package var mix: Float

    package static let none = ColourCurves(
        channel: [Float](repeating: 0, count: 3 * knots), luma: [Float](repeating: 0, count: 3 * knots), mix: 0)

    package var isNone: Bool { mix == 0 && channel.allSatisfy { $0 == 0 } && luma.allSatisfy { $0 == 0 } }

    package init(channel: [Float], luma: [Float], mix: Float) {
        self.channel = channel
        self.luma = luma
        self.mix = mix
    }

    /// Which input the curves read: each channel its own value through one curve for all three
    /// (`shared`: a tone curve, seen over every channel's range) or a curve each, or the luma.
    enum Input { case shared, channel, luma }

    /// Beyond the exemplar's range of a curve's input the curve goes on with the slope of its last
    /// tenth of the range (its unclipped bins, or the longer stretch ``endLine(_:atStart:span:)``
    /// finds; clamped to ±``maxSlope``): a gain or a fold goes on as it went, a step stays flat —
    /// where holding the last offset brings back a darkened photo's blacks as greys.
    static let extrapolationSpan = 0.1
    static let maxSlope = 4.0
    /// Values within this of 0 or 1 are clipped: left out of the slope.
    static let clip = 0.5 / 255
    /// Knots the exemplar lacks read a line where one fits the seen bins around them to within
    /// this RMS (8-bit rounding): each seen bin's mean carries its own rounding, which a line
    /// through many of them averages away.
    static let lineFit = 0.5 / 255

    @inline(__always)
    static func lumaOf(_ r: Float, _ g: Float, _ b: Float) -> Float {
        lumaWeights.r * r + lumaWeights.g * g + lumaWeights.b * b
    }

    @inline(__always)
    static func clamped(_ v: Float) -> Float { min(1, max(0, v)) }

    /// The least-squares curves from `pixels` of before `x` to after `y` (interleaved RGB).
    static func fit(_ x: [Float], _ y: [Float], _ pixels: [Int], input: Input) -> ColourCurves {
        let mix = input == .luma ? pull(x, y, pixels) : 0
        let curves = extended(binned(x, y, pixels, input: input, mix: mix))
        let zero = [Float](repeating: 0, count: 3 * knots)
        return input == .luma
            ? ColourCurves(channel: zero, luma: curves, mix: Float(mix))
            : ColourCurves(channel: curves, luma: zero, mix: 0)
    }

    @inline(__always)
    static func bin(_ v: Float) -> Int { Int((clamped(v) * Float(knots - 1)).rounded()) }

    /// The pull toward the luma, from how the change varies with a channel's distance from the
    /// luma among pixels of one luma (within each bin, so the luma's curve cannot explain it).
    static func pull(_ x: [Float], _ y: [Float], _ pixels: [Int]) -> Double {
        var sums = [Double](repeating: 0, count: knots * 3 * 5)  // per bin and channel: count, d, r, dd, dr
        for p in pixels {
            let l = lumaOf(clamped(x[3 * p]), clamped(x[3 * p + 1]), clamped(x[3 * p + 2]))
            let k = bin(l)
            for c in 0..<3 {
                let d = Double(l - clamped(x[3 * p + c]))
                let change = Double(y[3 * p + c] - clamped(x[3 * p + c]))
                let s = (k * 3 + c) * 5
                sums[s] += 1
                sums[s + 1] += d
                sums[s + 2] += change
                sums[s + 3] += d * d
                sums[s + 4] += d * change
            }
        }
        var (dd, dr) = (0.0, 0.0)
        for s in stride(from: 0, to: sums.count, by: 5) where sums[s] > 0 {
            dd += sums[s + 3] - sums[s + 1] * sums[s + 1] / sums[s]
            dr += sums[s + 4] - sums[s + 1] * sums[s + 2] / sums[s]
        }
        return dd > 1e-9 ? min(1, max(0, dr / dd)) : 1
    }

    /// Per output channel, its seen bins of the input and the curve's value there: the mean after
    /// with the pull's part moved out (`shared`: the three channels' pixels pooled).
    static func binned(_ x: [Float], _ y: [Float], _ pixels: [Int], input: Input, mix: Double) -> [[(
        k: Int, value: Double
    )]] {
        let n = knots
        var count = [Double](repeating: 0, count: n * 3)
        var sum = [Double](repeating: 0, count: n * 3)
        for p in pixels {
            let v = (clamped(x[3 * p]), clamped(x[3 * p + 1]), clamped(x[3 * p + 2]))
            let l = lumaOf(v.0, v.1, v.2)
            for (c, value) in [v.0, v.1, v.2].enumerated() {
                let source = input == .luma ? l : value
                let k = bin(source)
                count[c * n + k] += 1
                sum[c * n + k] += Double(y[3 * p + c]) - (Double(value) + mix * Double(l - value)) + Double(source)
            }
        }
        if input == .shared {
            for k in 0..<n {
                let (c, s) = (
                    (0..<3).reduce(0.0) { $0 + count[$1 * n + k] }, (0..<3).reduce(0.0) { $0 + sum[$1 * n + k] }
                )
                for channel in 0..<3 { (count[channel * n + k], sum[channel * n + k]) = (c, s) }
            }
        }
        return (0..<3).map { c in
            (0..<n).filter { count[c * n + $0] > 0 }.map { (k: $0, value: sum[c * n + $0] / count[c * n + $0]) }
        }
    }

    /// The least-squares slope (per unit of input) of a curve's end over its unclipped bins;
    /// nil where they are clipped throughout (the values say only "at least this far").
    static func slope(_ window: ArraySlice<(k: Int, value: Double)>) -> Double? {
        let kept = window.filter { $0.value > clip && $0.value < 1 - clip }
        guard kept.count > 1 else { return kept.count < window.count ? nil : 1 }
        return min(maxSlope, max(-maxSlope, Line(kept).slope))
    }

    /// A straight stretch of a curve: its value at knot `k` (a seen bin's mean carries its own
    /// 8-bit rounding; the line through many averages it away).
    struct Line {
        var slope: Double  // per unit of input
        var mean: (k: Double, value: Double)
        func at(_ k: Int) -> Double { mean.value + slope * (Double(k) - mean.k) / Double(knots - 1) }

        /// The least-squares line through `bins` (at least two knots apart).
        init(_ bins: some Collection<(k: Int, value: Double)>) {
            let mean = bins.reduce(0.0) { $0 + Double($1.k) } / Double(bins.count)
            let meanValue = bins.reduce(0.0) { $0 + $1.value } / Double(bins.count)
            var (xx, xy) = (0.0, 0.0)
            for (k, v) in bins {
                xx += (Double(k) - mean) * (Double(k) - mean)
                xy += (Double(k) - mean) * (v - meanValue)
            }
            (slope, self.mean) = (xy / xx * Double(knots - 1), (mean, meanValue))
        }

        /// The RMS distance of `bins` from the line.
        func residual(_ bins: some Collection<(k: Int, value: Double)>) -> Double {
            let squares = bins.reduce(0.0) { sum, bin in
                let r = bin.value - at(bin.k)
                return sum + r * r
            }
            return (squares / Double(bins.count)).squareRoot()
        }
    }

    /// The least-squares line through `window`'s bins, or nil where there are fewer than three,
    /// any is clipped (it says only "at least this far"), or their RMS residual exceeds
    /// ``lineFit`` (a step, a fold or a bend).
    static func line(_ window: ArraySlice<(k: Int, value: Double)>) -> Line? {
        guard window.count > 2, window.allSatisfy({ $0.value > clip && $0.value < 1 - clip }) else { return nil }
        let line = Line(window)
        return line.residual(window) <= lineFit ? line : nil
    }

    /// The line of the longest stretch at one end of `seen` (its last `span` bins, doubled while
    /// a line still fits them), or nil: a gain read over its whole range carries far beyond it,
    /// where a slope read from its last tenth's rounded bins drifts off.
    static func endLine(_ seen: [(k: Int, value: Double)], atStart: Bool, span: Int) -> Line? {
        guard let first = seen.first?.k, let last = seen.last?.k else { return nil }
        var (found, width) = (Line?.none, span)
        while true {
            let window = atStart ? seen.prefix { $0.k <= first + width } : seen.drop { $0.k < last - width }
            guard let wider = line(window) else { return found }
            found = wider
            if window.count == seen.count { return found }
            width *= 2
        }
    }

    /// The curves over every knot, as offsets from the input: between seen bins interpolated (on
    /// a line where one fits the bins around the gap), beyond each end on with that end's slope
    /// (``endLine`` where one fits); an end clipped throughout takes the mean of the
    /// curves beyond it of the channels with a slope there (a gain clipped in one channel is the
    /// gain of the others), or stays flat with none to borrow from.
    static func extended(_ bins: [[(k: Int, value: Double)]]) -> [Float] {
        let n = knots
        let span = Int((extrapolationSpan * Double(n - 1)).rounded())
        let slopes = bins.map { seen -> [Double?] in
            guard let first = seen.first?.k, let last = seen.last?.k else { return [nil, nil] }
            return [slope(seen.prefix { $0.k <= first + span }), slope(seen.drop { $0.k < last - span })]
        }
        var own = [[Double]](repeating: (0..<n).map { Double($0) / Double(n - 1) }, count: 3)
        for (c, seen) in bins.enumerated() {
            guard let first = seen.first, let last = seen.last else { continue }
            for (a, b) in zip(seen, seen.dropFirst()) {
                own[c][a.k] = a.value
                guard b.k - a.k > 1 else { continue }
                let fitted = line(seen.filter { $0.k >= a.k - span / 2 && $0.k <= b.k + span / 2 }[...])
                for k in (a.k + 1)..<b.k {
                    own[c][k] = fitted?.at(k) ?? a.value + (b.value - a.value) * Double(k - a.k) / Double(b.k - a.k)
                }
            }
            own[c][last.k] = last.value
            for (atStart, beyond, end) in [(true, 0..<first.k, first), (false, (last.k + 1)..<n, last)] {
                let endSlope = slopes[c][atStart ? 0 : 1]
                var (from, slope) = (end.value, endSlope ?? 0)
                if endSlope != nil, let line = endLine(seen, atStart: atStart, span: span) {
                    (from, slope) = (line.at(end.k), min(maxSlope, max(-maxSlope, line.slope)))
                }
                for k in beyond { own[c][k] = from + slope * Double(k - end.k) / Double(n - 1) }
            }
        }
        var curves = [Float](repeating: 0, count: 3 * n)
        for (c, seen) in bins.enumerated() {
            var curve = own[c]
            if let first = seen.first?.k, let last = seen.last?.k {
                for (end, beyond) in [(0, 0..<first), (1, (last + 1)..<n)] where slopes[c][end] == nil {
                    let lenders = (0..<3).filter { slopes[$0][end] != nil && !bins[$0].isEmpty }
                    guard !lenders.isEmpty else { continue }
                    for k in beyond { curve[k] = lenders.reduce(0.0) { $0 + own[$1][k] } / Double(lenders.count) }
                }
            }
            for k in 0..<n { curves[c * n + k] = Float(curve[k] - Double(k) / Double(n - 1)) }
        }
        return curves
    }

    /// Interleaved RGB through the curves, unclamped (the colour step clamps at its end).
    package func apply(to rgb: [Float], _ c: Compute) -> [Float] {
        let n = Self.knots
        let (channel, luma, mix) = (self.channel, self.luma, self.mix)
        let usesLuma = mix != 0 || luma.contains { $0 != 0 }
        @inline(__always) func lookup(_ curve: [Float], _ offset: Int, _ v: Float) -> Float {
            let t = Self.clamped(v) * Float(n - 1)
            let k = min(n - 2, Int(t))
            let f = t - Float(k)
            return curve[offset + k] * (1 - f) + curve[offset + k + 1] * f
        }
        return c.array(rgb.count, runs: rgb.count / 3, of: 1 << 14) { range, out in
            for p in range {
                let l =
                    usesLuma
                    ? Self.lumaOf(Self.clamped(rgb[3 * p]), Self.clamped(rgb[3 * p + 1]), Self.clamped(rgb[3 * p + 2]))
                    : 0
                for k in 0..<3 {
                    let v = rgb[3 * p + k]
                    var o = v + lookup(channel, k * n, v)
                    if usesLuma { o += mix * (l - Self.clamped(v)) + lookup(luma, k * n, l) }
                    out[3 * p + k] = o
                }
            }
        }
    }
}

extension ColourCurves: DeltaComponent {
    /// All zero unless the colour step chose curves.
    package static let layout = [
        (name: "color.curves", shape: [3, knots]), (name: "color.luma_curves", shape: [3, knots]),
        (name: "color.luma_mix", shape: [1]),
    ]
    /// Revision 2: curves the place test cannot tell from the table are told apart on colours
    /// held out (so a black-and-white exemplar keeps the table). 3: the colour step (any model)
    /// kept only where it also passes with texture held out (``HeldOut/textureHalves(_:_:)``).
    /// 4: knots the exemplar lacks read the line of the bins around them where one fits
    /// (``endLine(_:atStart:span:)``).
    package static let revision = 4
    package init(values: [[Float]]) { self.init(channel: values[0], luma: values[1], mix: values[2][0]) }
    package var values: [[Float]] { [channel, luma, [mix]] }
}
