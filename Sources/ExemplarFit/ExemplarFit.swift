import ImageCodecs
import TensorCore

/// The model-free part of an exemplar's edit, fitted on its pair: a spatial filter, then a colour
/// step, then a field of the change across the frame, then an operator learned from the pair for
/// what those miss, then the grain the edit added. Each part is fitted on what the parts before it leave, and each is kept only where it
/// explains the pair; an unedited pair fits nothing.
package struct ExemplarFit: Equatable, Sendable {
    package var spatial: SpatialFilter
    package var colour: ColourStep
    package var field: FrameField
    package var learned: LearnedOperator
    package var grain: Grain

    package static let none = ExemplarFit(spatial: .none, colour: .none, grain: .none)

    package init(
        spatial: SpatialFilter, colour: ColourStep, field: FrameField = .none, learned: LearnedOperator = .none,
        grain: Grain
    ) {
        self.spatial = spatial
        self.colour = colour
        self.field = field
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
        var partial = ExemplarFit(spatial: spatial, colour: ColourStep.fit(subsampled), grain: .none)
        // Each pair at the working size, read once: the field's candidates each fit on them.
        let working = pairs.map { pair in
            let before = pair.before.fitting(maxSide: LearnedOperator.workingSide)
            return (
                before: before.floatSamples(), width: before.width, height: before.height,
                after: pair.after.fitting(maxSide: LearnedOperator.workingSide).floatSamples()
            )
        }
        func examples(_ fit: ExemplarFit) -> [LearnedOperator.Example] {
            working.map { pair in
                LearnedOperator.Example(
                    before: pair.before, fit: fit.apply(to: pair.before, width: pair.width, height: pair.height, c),
                    after: pair.after, width: pair.width, height: pair.height)
            }
        }
        // The colour step, fitted first, takes what it can of a change across the frame as a change
        // of colour (a vignette darkens the colours of the corners), which other photos' colours
        // do not share. Where it leaves a visible error, the field is fitted both over it and with
        // no colour step, and, where one is kept over the colour step, over the colour step
        // fitted again with that field undone. The fit with the least held-out error wins, a
        // field with no colour step unless another is clearly better (``FrameField/simplerMargin``).
        let plain = examples(partial)
        let first = FrameField.fitted(plain, c)
        var candidates = [(fit: partial, error: first.without)]
        func consider(_ colour: ColourStep, _ fitted: FrameField.Fitted) {
            guard !fitted.field.isNone else { return }
            let simpler = colour == .none && partial.colour != .none
            candidates.append(
                (
                    ExemplarFit(spatial: spatial, colour: colour, field: fitted.field, grain: .none),
                    simpler ? fitted.error / FrameField.simplerMargin : fitted.error
                ))
        }
        consider(partial.colour, first)
        if partial.colour != .none && first.visible {
            let spatialOnly = ExemplarFit(spatial: spatial, colour: .none, grain: .none)
            consider(.none, FrameField.fitted(examples(spatialOnly), c))
            if !first.field.isNone {
                let undone = subsampled.map { pair in
                    let (w, h) = (pair.after.width, pair.after.height)
                    let after = first.field.removed(from: pair.after.floatSamples(), width: w, height: h)
                    return (before: pair.before, after: Image(width: w, height: h, colorModel: .rgb, samples: after))
                }
                let colour = ColourStep.fit(undone)
                consider(
                    colour, FrameField.fitted(examples(ExemplarFit(spatial: spatial, colour: colour, grain: .none)), c))
            }
        }
        partial = candidates.min { $0.error < $1.error }!.fit
        partial.learned = LearnedOperator.fit(partial.field.isNone ? plain : examples(partial), c)
        return partial.withGrain(centres, c)
    }

    /// The grain the fit leaves of each pair's centre (full resolution), averaged over the pairs.
    private func withGrain(
        _ centres: [(before: [Float], after: [Float], filtered: [Float], width: Int, height: Int)], _ c: Compute
    ) -> ExemplarFit {
        let grains = centres.map { centre in
            Grain.fit(
                before: centre.before, after: centre.after, predicted: colour.apply(to: centre.filtered, c),
                width: centre.width, height: centre.height)
        }
        var fit = self
        fit.grain = Grain(
            covariance: (0..<9).map { i in grains.reduce(0) { $0 + $1.covariance[i] } / Double(grains.count) },
            neighbours: (0..<9).map { i in grains.reduce(0) { $0 + $1.neighbours[i] } / Double(grains.count) })
        return fit
    }

    /// Interleaved RGB samples (`width × height`) through the spatial filter, the colour step and
    /// the frame field, within 0…1 — what the edit models read; ``bands(of:_:)`` adds the learned
    /// operator, and the grain is drawn apart (``Grain/sample(_:width:height:seed:band:_:)``), last.
    package func apply(to rgb: [Float], width: Int, height: Int, _ c: Compute) -> [Float] {
        field.apply(
            to: colour.apply(to: spatial.apply(to: rgb, width: width, height: height, c), c), width: width,
            rows: 0..<height, of: height)
    }
}

extension ExemplarFit {
    /// The fit over a photo (any colour model, made RGB; any sample format) a band of rows at a
    /// time: those rows through the spatial filter, the colour step, the frame field and the
    /// learned operator, with no full-size Float32 copy of the photo.
    package func bands(of photo: Image, _ c: Compute) -> (_ rows: Range<Int>) -> [Float] {
        let filtered = spatial.bands(of: photo, c)
        let (w, h) = (photo.width, photo.height)
        let fitted = { [colour, field] (rows: Range<Int>) in
            field.apply(to: colour.apply(to: filtered(rows), c), width: w, rows: rows, of: h)
        }
        guard !learned.isNone else { return fitted }
        // The operator edits the photo's working-size copy; a larger photo gets that edit back as
        // local colour transforms of the fit (as the models' correction), keeping its own detail.
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
