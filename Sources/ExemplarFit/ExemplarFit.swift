import ImageCodecs
import TensorCore

/// The model-free part of an exemplar's edit, fitted on its pair: a spatial filter, then a colour
/// step, then an operator learned from the pair for what those two miss, then the grain the edit
/// added. Each part is fitted on what the parts before it leave, and each is kept only where it
/// explains the pair; an unedited pair fits nothing.
package struct ExemplarFit: Equatable, Sendable {
    package var spatial: SpatialFilter
    package var colour: ColourStep
    package var learned: LearnedOperator
    package var grain: Grain

    package static let none = ExemplarFit(spatial: .none, colour: .none, grain: .none)

    package init(spatial: SpatialFilter, colour: ColourStep, learned: LearnedOperator = .none, grain: Grain) {
        self.spatial = spatial
        self.colour = colour
        self.learned = learned
        self.grain = grain
    }

    /// Fits every part on `pair`.
    package static func fit(_ pair: ExemplarPair, _ c: Compute) -> ExemplarFit { fit([pair], c) }

    /// Fits every part on several pairs of one edit at once (a photographer's few hand-edited
    /// shots): one filter, colour step and operator for all of them, which see more colours and
    /// content than one pair shows; the grain is their grains' mean. The colour step reads each
    /// pair subsampled (every s-th pixel, so that after = f(before) holds exactly), the grain its
    /// centre at full resolution (neighbours matter); each full-size copy is let go as soon as it
    /// has been used (a 12-MP one is 144 MB).
    package static func fit(_ pairs: [ExemplarPair], _ c: Compute) -> ExemplarFit {
        guard !pairs.isEmpty else { return .none }
        let spatial = SpatialFilter.fit(pairs.map { ($0.before, $0.after) }, c)
        let side = ExemplarPair.colourFitSide
        var subsampled: [(before: Image, after: Image)] = []
        var centres: [(before: [Float], after: [Float], filtered: [Float], width: Int, height: Int)] = []
        for pair in pairs {
            let (w, h) = (pair.before.width, pair.before.height)
            let afterCentre: [Float]
            let afterSubsampled: Image
            let beforeCentre: [Float]
            let filtered: [Float]
            do {
                let after = pair.after.floatSamples()
                afterCentre = Grain.centre(after, width: w, height: h).samples
                afterSubsampled = ExemplarPair.subsampled(after, width: w, height: h, side: side)
            }
            do {
                let before = pair.before.floatSamples()
                beforeCentre = Grain.centre(before, width: w, height: h).samples
                filtered = spatial.apply(to: before, width: w, height: h, c)
            }
            subsampled.append((ExemplarPair.subsampled(filtered, width: w, height: h, side: side), afterSubsampled))
            let centre = Grain.centre(filtered, width: w, height: h)
            centres.append((beforeCentre, afterCentre, centre.samples, centre.width, centre.height))
        }
        let colour = ColourStep.fit(subsampled)
        let grains = centres.map { centre in
            Grain.fit(
                before: centre.before, after: centre.after, predicted: colour.apply(to: centre.filtered, c),
                width: centre.width, height: centre.height)
        }
        let grain = Grain(
            covariance: (0..<9).map { i in grains.reduce(0) { $0 + $1.covariance[i] } / Double(grains.count) },
            neighbours: (0..<9).map { i in grains.reduce(0) { $0 + $1.neighbours[i] } / Double(grains.count) })
        let partial = ExemplarFit(spatial: spatial, colour: colour, grain: grain)
        let examples = pairs.map { pair in
            let (before, after) = (
                pair.before.fitting(maxSide: LearnedOperator.workingSide),
                pair.after.fitting(maxSide: LearnedOperator.workingSide)
            )
            let rgb = before.floatSamples()
            return LearnedOperator.Example(
                before: rgb, fit: partial.apply(to: rgb, width: before.width, height: before.height, c),
                after: after.floatSamples(), width: before.width, height: before.height)
        }
        let learned = LearnedOperator.fit(examples, c)
        return ExemplarFit(spatial: spatial, colour: colour, learned: learned, grain: grain)
    }

    /// Interleaved RGB samples (`width × height`) through the spatial filter and the colour step,
    /// within 0…1 — what the edit models read; ``bands(of:_:)`` adds the learned operator, and the
    /// grain is drawn apart (``Grain/sample(_:width:height:seed:band:_:)``), last.
    package func apply(to rgb: [Float], width: Int, height: Int, _ c: Compute) -> [Float] {
        colour.apply(to: spatial.apply(to: rgb, width: width, height: height, c), c)
    }
}

extension ExemplarFit {
    /// The fit over a photo (any colour model, made RGB; any sample format) a band of rows at a
    /// time: those rows through the spatial filter, the colour step and the learned operator, with
    /// no full-size Float32 copy of the photo.
    package func bands(of photo: Image, _ c: Compute) -> (_ rows: Range<Int>) -> [Float] {
        let filtered = spatial.bands(of: photo, c)
        let fitted = { [colour] (rows: Range<Int>) in colour.apply(to: filtered(rows), c) }
        guard !learned.isNone else { return fitted }
        // The operator edits the photo's working-size copy; a larger photo gets that edit back as
        // local colour transforms of the fit (as the models' correction), keeping its own detail.
        let (w, h) = (photo.width, photo.height)
        let small = photo.fitting(maxSide: LearnedOperator.workingSide).converted(to: .rgb)
        let (sw, sh) = (small.width, small.height)
        let rgb = small.floatSamples()
        let lowFit = apply(to: rgb, width: sw, height: sh, c)
        let target = learned.edited(photo: rgb, fit: lowFit, width: sw, height: sh, c)
        if (sw, sh) == (w, h) {
            return { rows in Array(target[(3 * rows.lowerBound * w)..<(3 * rows.upperBound * w)]) }
        }
        let carry = LocalAffine.fit(guide: lowFit, target: target, outputs: 3, width: sw, height: sh)
        return { rows in carry.apply(to: fitted(rows), width: w, rows: rows, of: h, c).map { min(1, max(0, $0)) } }
    }
}
