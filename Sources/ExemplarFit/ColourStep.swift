import ImageCodecs
import TensorCore

/// The colour part of an exemplar's fit, after its spatial filter: tone curves (of each channel,
/// or of the luma), a hue shift (a one-colour edit), a chroma gain (a selective saturation), or a
/// colour table (a global map), or none (an edit that is not about colour). Same as
/// `choose_colour` in Training/edit_data.py.
package struct ColourStep: Equatable, Sendable {
    package var curves: ColourCurves
    package var hue: HueShift
    package var chroma: ChromaGain
    package var table: ColorTable

    package static let none = ColourStep(hue: .none, table: .none)

    package init(curves: ColourCurves = .none, hue: HueShift, chroma: ChromaGain = .none, table: ColorTable) {
        self.curves = curves
        self.hue = hue
        self.chroma = chroma
        self.table = table
    }

    /// Which model follows the spatial filter.
    enum Choice: Equatable {
        case table, hue, chroma
        case curves(ColourCurves.Input)
        case unchanged
    }

    /// The hue shift must cut the table's held-out error by 10% to be used, the chroma gain the
    /// better of the two's.
    static let hueMargin = 0.9
    /// A model with more freedom (tone curves of each channel, of the luma, then the hue shift
    /// or table) must cut the simpler one's held-out error by 10% to be used.
    static let curveMargin = 0.9

    /// A colour step must cut the held-out error of none — the spatial filter alone — to this
    /// share, or the colours are left unchanged: a colour edit explains nearly all of its pair,
    /// while what a sharpen, blur, grain or spotlight leaves is explained in part by a table that
    /// then costs other photos dearly (Docs/exemplar-fit.md). Same as `COLOUR_GAIN` in
    /// Training/edit_data.py.
    static let colourGain = 0.3

    /// On the exemplar's ``HeldOut`` checkerboard, the hue shift alone is used only if it cuts the
    /// table's held-out error (`tableError`, the affine prior's) by ``hueMargin``: a table fitted
    /// after a hue shift learns the exemplar's colours both ways, which holds out the exemplar's
    /// own blocks but not other photos. Curves and that model within ``curveMargin`` of each
    /// other are told apart on colours held out (``HeldOut/colourHalves(_:)``). The choice is kept
    /// only if it passes ``colourGain`` on the checkerboard and on `texture`
    /// (``HeldOut/textureHalves(_:_:)``): a bright exemplar's clarity had been learned
    /// as a curve darkening the tones its edges alone showed (Docs/exemplar-fit.md).
    static func choice(_ x: [Float], _ y: [Float], width w: Int, height h: Int) -> Choice {
        choice(
            x, y, halves: HeldOut.halves(width: w, height: h),
            texture: HeldOut.textureHalves([(x, w, h)], Compute(threads: 1)))
    }

    static func choice(_ x: [Float], _ y: [Float], halves: [[Int]], texture: [[Int]], tableError: Double? = nil)
        -> Choice
    {
        guard !halves[0].isEmpty, !halves[1].isEmpty else { return .table }
        let table = tableError ?? ColorLUT.heldOutError(x, y, halves: halves, curves: false)
        let hue = heldOutError(.hue, x, y, halves: halves)
        var base = hue < hueMargin * table ? (Choice.hue, hue) : (.table, table)
        let chroma = heldOutError(.chroma, x, y, halves: halves)
        if chroma < hueMargin * base.1 { base = (.chroma, chroma) }
        // From the fewest curves on, each model used only where it cuts the simpler one's held-out
        // error by ``curveMargin``: curves, one input per output, carry to colours the exemplar
        // lacks, which neither the table nor the hue shift can.
        let curves = [ColourCurves.Input.shared, .channel, .luma].map { input in
            (Choice.curves(input), heldOutError(.curves(input), x, y, halves: halves))
        }
        var (choice, error) = curves[0]
        for (next, e) in curves.dropFirst() where e < curveMargin * error { (choice, error) = (next, e) }
        if base.1 < curveMargin * error {
            (choice, error) = base
        } else if base.1 * curveMargin < error, let colours = HeldOut.colourHalves(x),
            heldOutError(base.0, x, y, halves: colours) < heldOutError(choice, x, y, halves: colours)
        {
            // Where place cannot tell them apart, the colours the exemplar did not show decide: a
            // saturation or black-and-white exemplar that every model fits to 8-bit rounding had
            // chosen curves of the luma, which then cost its queries dearly (Docs/exemplar-fit.md).
            (choice, error) = base
        }
        // Predicting no change, each half's own before: the squared difference over the whole pair.
        let unchanged = zip(x, y).reduce(0.0) { sum, pair in
            let d = Double(pair.1 - pair.0)
            return sum + d * d
        }
        guard error < colourGain * unchanged else { return .unchanged }
        // A colour model says the change depends on the colour alone: in each tone, smooth pixels
        // must predict textured ones as well.
        if !texture[0].isEmpty, !texture[1].isEmpty,
            heldOutError(choice, x, y, halves: texture) >= colourGain * unchanged
        {
            return .unchanged
        }
        return choice
    }

    /// `model`'s held-out error on `halves`, each half's fit predicting the other.
    private static func heldOutError(_ model: Choice, _ x: [Float], _ y: [Float], halves: [[Int]]) -> Double {
        switch model {
        case .table, .unchanged: return ColorLUT.heldOutError(x, y, halves: halves, curves: false)
        case .hue:
            return HeldOut.error(x, y, halves: halves) { train, before in
                HueShift.fit(x, y, train).apply(to: before, Compute(threads: 1))
            }
        case .chroma:
            return HeldOut.error(x, y, halves: halves) { train, before in
                ChromaGain.fit(x, y, train).apply(to: before, Compute(threads: 1)).map(ColourCurves.clamped)
            }
        case .curves(let input):
            return HeldOut.error(x, y, halves: halves) { train, before in
                ColourCurves.fit(x, y, train, input: input).apply(to: before, Compute(threads: 1))
                    .map(ColourCurves.clamped)
            }
        }
    }

    /// Fitted on an exemplar's pair (`before` already through the spatial filter; both
    /// subsampled, ``ExemplarPair/subsampled(_:width:height:side:)``).
    package static func fit(_ before: Image, _ after: Image) -> ColourStep {
        fit([(before, after)])
    }

    /// Fitted on several pairs of one edit at once (each as for ``fit(_:_:)``): their pixels
    /// pooled, each pair held out on its own checkerboard (``HeldOut/halves(sizes:)``).
    package static func fit(_ pairs: [(before: Image, after: Image)]) -> ColourStep {
        let befores = pairs.map { ($0.before.floatSamples(), $0.before.width, $0.before.height) }
        let x = befores.flatMap(\.0)
        let y = pairs.flatMap { $0.after.floatSamples() }
        let halves = HeldOut.halves(sizes: pairs.map { ($0.before.width, $0.before.height) })
        let texture = HeldOut.textureHalves(befores, Compute(threads: 1))
        // The table's held-out error decides both the hue shift and the table's own prior.
        let tableError = ColorLUT.heldOutError(x, y, halves: halves, curves: false)
        switch choice(x, y, halves: halves, texture: texture, tableError: tableError) {
        case .curves(let input):
            return ColourStep(
                curves: ColourCurves.fit(x, y, Array(0..<(x.count / 3)), input: input), hue: .none, table: .none)
        case .hue:
            return ColourStep(hue: HueShift.fit(x, y, Array(0..<(x.count / 3))), table: .none)
        case .chroma:
            return ColourStep(hue: .none, chroma: ChromaGain.fit(x, y, Array(0..<(x.count / 3))), table: .none)
        case .table:
            return ColourStep(
                hue: .none, table: ColorTable(offsets: ColorLUT.fit(x, y, halves: halves, affineError: tableError)))
        case .unchanged: return .none
        }
    }

    /// Interleaved RGB through the curves, the hue shift, the chroma gain, then the table
    /// (clamped to 0…1 unless `clamped` is false).
    package func apply(to rgb: [Float], _ c: Compute, clamped: Bool = true) -> [Float] {
        let curved = curves.isNone ? rgb : curves.apply(to: rgb, c)
        let turned = hue.isNone ? curved : hue.apply(to: curved, c)
        return ColorLUT.apply(
            table.offsets, to: chroma.isNone ? turned : chroma.apply(to: turned, c), c, clamped: clamped)
    }
}
